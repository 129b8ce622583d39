"""Passes on IR printed without `--print-weights`: what needs only shapes runs, what needs
the values of an elided weight fails at the weight's op, naming it (issue 17)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers_cli import onnx_model, run_tool, saved
from onnx import helper
from xdsl.parser import Parser

from lamina.context import make_context
from lamina.errors import LaminaError
from lamina.runtime.jit import JitFunction
from lamina.universe import parse_pass_pipeline

README_PIPELINE = (
    "apply-rules{set=graph-default},convert-graph-to-top,top-fuse-elementwise,"
    "convert-top-to-loop,plan-memory"
)

ELIDED_MATMUL = """
func.func @g(%x: tensor<2x4xf32>) -> tensor<2x8xf32> {
  %w = graph.constant dense_resource<never_stored_weight> : tensor<4x8xf32>
  %y = graph.mat_mul %x, %w : (tensor<2x4xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
  func.return %y : tensor<2x8xf32>
}
"""


def _save_model(path: Path, transpose_weight: bool) -> Path:
    nodes = [helper.make_node("Gemm", ["x", "W"], ["y"], transB=1)]
    if transpose_weight:
        nodes = [
            helper.make_node("Transpose", ["W"], ["Wt"], perm=[1, 0]),
            helper.make_node("MatMul", ["x", "Wt"], ["y"]),
        ]
    weights = {"W": np.ones((8, 4), np.float32)}
    return saved(onnx_model(nodes, {"x": [2, 4]}, {"y": [2, 8]}, weights), path)


def test_readme_pipeline_runs_on_elided_weights(tmp_path: Path):
    printed = run_tool("opt", _save_model(tmp_path / "m.onnx", transpose_weight=False))
    assert printed.returncode == 0, printed.stderr
    assert "dense_resource<W>" in printed.stdout and "dialect_resources" not in printed.stdout
    (tmp_path / "m.mlir").write_text(printed.stdout)
    lowered = run_tool("opt", tmp_path / "m.mlir", "-p", README_PIPELINE)
    assert lowered.returncode == 0, lowered.stderr
    assert "lamina.arena_size" in lowered.stdout


def _save_batch_norm(path: Path) -> Path:
    """BatchNormalization over 32 channels: its parameters are weights (dense_resource)."""
    rng = np.random.default_rng(0)
    params = {
        name: rng.random(32).astype(np.float32) + 0.5 for name in ("scale", "bias", "mean", "var")
    }
    norm = helper.make_node("BatchNormalization", ["x", *params], ["y"])
    shape = [1, 32, 4, 4]
    return saved(onnx_model([norm], {"x": shape}, {"y": shape}, params, name="bn"), path)


def test_lowering_that_folds_known_weights_computes_from_elided_ones(tmp_path: Path):
    printed = run_tool("opt", _save_batch_norm(tmp_path / "bn.onnx"))
    assert "dense_resource<scale>" in printed.stdout
    (tmp_path / "bn.mlir").write_text(printed.stdout)
    lowered = run_tool("opt", tmp_path / "bn.mlir", "-p", README_PIPELINE.split(",", 1)[1])
    assert lowered.returncode == 0, lowered.stderr
    assert "lamina.arena_size" in lowered.stdout


def test_folding_an_elided_weight_fails_at_its_op_naming_it(tmp_path: Path):
    printed = run_tool("opt", _save_model(tmp_path / "m.onnx", transpose_weight=True))
    (tmp_path / "m.mlir").write_text(printed.stdout)
    line = 1 + printed.stdout.splitlines().index(
        next(t for t in printed.stdout.splitlines() if "dense_resource<W>" in t)
    )
    folded = run_tool("opt", tmp_path / "m.mlir", "-p", "apply-rules{set=graph-default}")
    assert folded.returncode == 1
    assert f"m.mlir:{line}:5: error: " in folded.stderr
    assert "weights of 'W' were elided" in folded.stderr
    assert "Traceback" not in folded.stderr


def test_jit_of_elided_weights_names_them_instead_of_running_on_zeros():
    module = Parser(make_context(), ELIDED_MATMUL).parse_module()
    parse_pass_pipeline(README_PIPELINE).apply(make_context(), module)
    with pytest.raises(LaminaError, match="weights of 'never_stored_weight' were elided"):
        JitFunction(module)(np.ones((2, 4), np.float32))
