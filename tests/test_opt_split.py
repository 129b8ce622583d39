"""lamina-opt `--split-input-file`: line numbers after `// -----` markers with blank lines
around them, a file that starts with a marker, undefined values at their use (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lamina.tools.opt import main, split_input

VALID = "func.func @a() {\n  func.return\n}\n"
WRONG_RETURN = "func.func @g(%a: i32) -> i64 {\n  func.return %a : i32\n}\n"
UNDEFINED_B = 'func.func @u() {\n  "test.op"(%b) : (i32) -> ()\n  func.return\n}\n'


def _errors(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    source = tmp_path / "input.mlir"
    source.write_text(text)
    assert main([str(source), *args]) == 1
    return capsys.readouterr().err.replace(f"{source}:", "")


def test_blank_lines_around_markers_do_not_shift_later_chunks():
    text = "a\n\n// -----\n\n\nb\n\n// -----\n\nc\n"
    chunks = split_input(text, split=True)
    lines = text.splitlines()
    for chunk in chunks:
        first = chunk.text.splitlines()[0]
        assert lines[chunk.first_line - 1] == first


def test_errors_in_later_chunks_name_their_own_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    text = VALID + "\n// -----\n\n\n" + WRONG_RETURN + "\n// -----\n\n\n\n" + WRONG_RETURN
    errors = _errors(tmp_path, text, capsys, "--split-input-file").splitlines()
    assert [e.split(": error:")[0] for e in errors] == ["9:3", "17:3"]
    assert text.splitlines()[8] == text.splitlines()[16] == "  func.return %a : i32"


def test_file_starting_with_a_marker_parses(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    source = tmp_path / "input.mlir"
    source.write_text("// -----\n" + VALID)
    assert main([str(source), "--split-input-file"]) == 0
    assert "func.func @a" in capsys.readouterr().out


def test_undefined_value_is_reported_at_its_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert _errors(tmp_path, UNDEFINED_B, capsys).startswith(
        "2:13: error: value %b is used but never defined"
    )


def test_undefined_value_in_a_later_chunk_is_reported_at_its_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    text = VALID + "\n// -----\n\n" + UNDEFINED_B
    assert _errors(tmp_path, text, capsys, "--split-input-file").startswith("8:13: error:")


def test_expected_error_in_a_later_chunk_matches(tmp_path: Path):
    annotated = WRONG_RETURN.replace(
        "  func.return", "  // expected-error@+1 {{got [i32]}}\n  func.return"
    )
    source = tmp_path / "input.mlir"
    source.write_text(VALID + "\n// -----\n\n\n" + annotated)
    assert main([str(source), "--split-input-file", "--verify-diagnostics"]) == 0
