"""Inputs the fuzzer (tools/fuzzing.py) found that once ended in a traceback, an "internal
error", a hang or a crash: each now ends in `place: error: message` or is accepted."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lamina.tools.opt import main as opt_main

GENERIC_WITH_UNCLOSED_STRING = """func.func @f(%a: tensor<4xf32>, %o: tensor<4xf32>) -> tensor<4xf32> {
  %r = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["par} ins(%a : tensor<4xf32>) outs(%o : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32):
    top.yield %x : f32
  } -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}
"""


def error_of(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err, err
    return err


def test_unclosed_string_in_a_long_line_lexes_in_linear_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    source = tmp_path / "f.mlir"
    source.write_text(GENERIC_WITH_UNCLOSED_STRING)
    start = time.perf_counter()
    assert opt_main([str(source)]) == 1
    assert time.perf_counter() - start < 10  # it backtracked for minutes before
    assert f"{source}:2:" in (err := error_of(capsys))
    assert "End of file reached before closing string literal" in err
