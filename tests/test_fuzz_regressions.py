"""Inputs the fuzzer (tools/fuzzing.py) found that once ended in a traceback, an "internal
error", a hang or a crash: each now ends in `place: error: message` or is accepted."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from helpers_cli import (
    DiagnosticOf,
    MlirFile,
    assert_close_at_scale,
    onnx_model,
    onnxruntime_outputs,
    saved,
    unary_model,
)
from onnx import helper

from lamina.compiler import compile as lamina_compile
from lamina.errors import ModelImportError
from lamina.tools.opt import main as opt_main
from lamina.tools.run import main as run_main
from lamina.tools.tflite_builder import TFLiteBuilder

GENERIC_WITH_UNCLOSED_STRING = """func.func @f(%a: tensor<4xf32>, %o: tensor<4xf32>) -> tensor<4xf32> {
  %r = top.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["par} ins(%a : tensor<4xf32>) outs(%o : tensor<4xf32>) {
  ^bb0(%x: f32, %y: f32):
    top.yield %x : f32
  } -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}
"""


def test_unclosed_string_in_a_long_line_lexes_in_linear_time(
    mlir_file: MlirFile, diagnostic_of: DiagnosticOf
):
    source = mlir_file(GENERIC_WITH_UNCLOSED_STRING)
    start = time.perf_counter()
    err = diagnostic_of(opt_main, source)
    assert time.perf_counter() - start < 10  # it backtracked for minutes before
    assert f"{source}:2:" in err
    assert "End of file reached before closing string literal" in err


def test_model_whose_conv_does_not_verify_is_refused_at_import():
    """It reached graph-fuse-activation, which blamed its rule for the invalid conv."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Relu", ["c"], ["y"]),
    ]
    weights = {"w": np.ones((16, 1, 2, 2), np.float32)}
    model = onnx_model(nodes, {"x": [2, 0, 13, 20]}, {"y": [2, 16, 12, 19]}, weights)
    with pytest.raises(ModelImportError, match=r"node 'conv': 'graph.conv' op .* has 0 channels"):
        lamina_compile(model)


@pytest.mark.parametrize(
    ("target", "message"),
    [("1", "column 1: Expected pass name here"), ("llvm{", "column 6: Expected argument name")],
)
def test_malformed_target_is_a_diagnostic(
    target: str, message: str, mlir_file: MlirFile, diagnostic_of: DiagnosticOf
):
    """xDSL parses `-t` as a spec and raises a BaseException, which escaped lamina-opt."""
    source = mlir_file("func.func @f() {\n  func.return\n}\n")
    assert f"error: bad target (-t): {message}" in diagnostic_of(opt_main, source, "-t", target)


def test_input_shape_with_a_zero_and_huge_dims_is_over_the_input_limit(
    tmp_path: Path, diagnostic_of: DiagnosticOf
):
    """numpy raised "array is too big" making the empty random input."""
    path = saved(unary_model("Relu", [4, 2, 2]), tmp_path / "relu.onnx")
    huge = 1 << 40
    err = diagnostic_of(run_main, path, "--input-shape", f"x=0x{huge}x{huge}", "--repeat", "1")
    assert "error: inputs too large" in err


@pytest.mark.parametrize("op_type", ["MaxPool", "AveragePool", "Conv"])
def test_stride_beyond_the_input_compiles_and_matches_onnxruntime(op_type: str):
    """A stride of 2**31 unrolled 2**31 phase planes at compile time (pool, depthwise conv)."""
    attrs: dict[str, list[int] | int] = {
        "kernel_shape": [3, 3],
        "pads": [1, 1, 1, 1],
        "strides": [1, 1 << 31],
    }
    weights: dict[str, np.ndarray] = {}
    if op_type == "Conv":
        weights = {"w": np.full((4, 1, 3, 3), 0.25, np.float32)}
        attrs = {**attrs, "group": 4}
    node = helper.make_node(op_type, ["x", *weights], ["y"])
    node.attribute.extend(helper.make_attribute(name, value) for name, value in attrs.items())
    model = onnx_model(
        [node], {"x": [1, 4, 6, 7]}, {"y": [1, 4, 6, 1]}, weights, name="huge_stride"
    )
    x = np.random.default_rng(0).standard_normal((1, 4, 6, 7)).astype(np.float32)
    assert_close_at_scale(lamina_compile(model)(x=x), onnxruntime_outputs(model, {"x": x}))


def test_dense_array_of_an_odd_integer_width_is_a_diagnostic(
    mlir_file: MlirFile, diagnostic_of: DiagnosticOf
):
    """xDSL packs dense arrays of 8/16/32/64-bit integers only: its NotImplementedError."""
    source = mlir_file(
        "func.func @f(%x: tensor<6xi64>) -> tensor<6xi64> {\n"
        '  %y = "graph.identity"(%x) {a = array<i65536: 0, 0>} : (tensor<6xi64>) -> tensor<6xi64>\n'
        "  func.return %y : tensor<6xi64>\n}\n"
    )
    err = diagnostic_of(opt_main, source)
    assert f"{source}:2:" in err and "not supported: a dense array element type" in err


@pytest.mark.parametrize("width", ["i16777216", "si4294967297", "ui99999999999999999999"])
def test_an_integer_type_wider_than_mlirs_limit_is_a_parse_error_at_it(
    width: str, mlir_file: MlirFile, diagnostic_of: DiagnosticOf
):
    """xDSL computed the bounds of any width as Python integers: seconds per attribute."""
    source = mlir_file(f"func.func @f(%x: tensor<2x{width}>) {{\n  func.return\n}}\n")
    err = diagnostic_of(opt_main, source)
    assert f"{source}:1:27: error: integer bitwidth is limited to 16777215 bits" in err


def test_tflite_operator_whose_output_shape_contradicts_it_is_refused_at_import():
    """A corrupt file gave SOFTMAX on 1x10 a rank-0 output: the graph verifier of
    shape-preserving ops names it at import instead of an IndexError in the lowering."""
    m = TFLiteBuilder()
    x = m.input("x", [1, 10])
    probs = m.tensor("probs", [])
    m.op("SOFTMAX", [x], [probs], "SoftmaxOptions", Beta=1.0)
    m.output(probs)
    with pytest.raises(
        ModelImportError, match=r"'graph.softmax' op result 0 .* should have shape 1x10"
    ):
        lamina_compile(m.finish())


def test_tflite_sum_whose_output_keeps_the_rank_it_reduces_is_refused_at_import():
    """A corrupt file gave SUM over every axis (keep_dims false) a rank-4 output: the
    reduce verifier names it at import, not a VerifyException from the loop level."""
    m = TFLiteBuilder()
    x = m.input("x", [1, 8, 8, 2])
    axes = m.constant("axes", np.array([0, 1, 2, 3], np.int32))
    total = m.tensor("total", [1, 8, 8, 4])
    m.op("SUM", [x, axes], [total], "ReducerOptions", KeepDims=False)
    m.output(total)
    with pytest.raises(ModelImportError, match=r"should have rank 0 \(4 minus 4 reduced axes\)"):
        lamina_compile(m.finish())
