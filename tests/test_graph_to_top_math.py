"""The inverse / hyperbolic trigonometry, bitwise, IsInf / IsNaN, Shrink, ThresholdedRelu and
integer Pow lowerings (lowering/graph_to_top_math.py), compiled for the host and compared
with onnxruntime; the formulas built from exp / log / sqrt / atan's polynomial run on
OpenCL (PoCL) too. Tolerance at the output's scale: max|err| <= 1e-3 max|ref| + 1e-4 (the
formulas are within a few ulp in f32; the slack is the project's model tolerance)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import lamina
from lamina.compiler import compile_bundle
from lamina.errors import UnsupportedOpError
from lamina.runtime.qemu import run_bundle
from lamina.tests.test_graph_to_top import F, model

I32: int = TensorProto.INT32
U8: int = TensorProto.UINT8
BOOL: int = TensorProto.BOOL

DOMAINS: dict[str, tuple[float, float]] = {
    "Atan": (-50.0, 50.0),
    "Asin": (-1.0, 1.0),
    "Acos": (-1.0, 1.0),
    "Asinh": (-30.0, 30.0),
    "Acosh": (1.0, 30.0),
    "Atanh": (-0.999, 0.999),
    "Sinh": (-8.0, 8.0),
    "Cosh": (-8.0, 8.0),
    "Tan": (-1.5, 1.5),
}
"""Each function's inputs: its domain, or where f32 stays finite."""


def onnxruntime_outputs(m: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return [np.asarray(x) for x in session.run(None, feeds)]


def assert_at_scale(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape and got.dtype == want.dtype
    finite = np.isfinite(want)
    np.testing.assert_array_equal(got[~finite], want[~finite])
    error = np.abs(got[finite].astype(np.float64) - want[finite])
    assert error.max(initial=0) <= 1e-3 * np.abs(want[finite]).max(initial=0) + 1e-4


def compiled_matches_onnxruntime(
    m: onnx.ModelProto, feeds: dict[str, np.ndarray], device: str = "host"
) -> None:
    compiled = lamina.compile(m, device=device)
    assert compiled.stats.reads_inputs
    got = compiled(**feeds)
    for g, w in zip(got, onnxruntime_outputs(m, feeds), strict=True):
        assert_at_scale(np.asarray(g), w)


def unary(op: str, x: np.ndarray, out: int = F, **attrs: Any) -> onnx.ModelProto:
    node = helper.make_node(op, ["x"], ["y"], **attrs)
    return model([node], {"x": (list(x.shape), F)}, {"y": (None, out)})


def _grid(op: str, count: int = 4001) -> np.ndarray:
    low, high = DOMAINS[op]
    return np.linspace(low, high, count, dtype=np.float32)


@pytest.mark.parametrize("op", DOMAINS)
def test_trigonometry_over_its_domain_matches_onnxruntime(op: str):
    x = _grid(op)
    compiled_matches_onnxruntime(unary(op, x), {"x": x})


def test_atan_is_accurate_near_its_reduction_boundaries():
    boundaries = np.array([np.tan(np.pi / 8), np.tan(3 * np.pi / 8), 1.0], np.float64)
    x = (boundaries[:, None] * (1 + np.linspace(-1e-3, 1e-3, 101))).astype(np.float32)
    x = np.concatenate([x.ravel(), -x.ravel(), [0.0, np.inf, -np.inf]]).astype(np.float32)
    (got,) = lamina.compile(unary("Atan", x))(x)
    np.testing.assert_allclose(got, np.arctan(x.astype(np.float64)), rtol=3e-7, atol=1e-7)


@pytest.mark.parametrize("op", ["Atan", "Acos", "Asinh", "Tan"])
def test_trigonometry_on_opencl_matches_onnxruntime(op: str):
    x = _grid(op, 257)
    compiled_matches_onnxruntime(unary(op, x), {"x": x}, device="opencl")


@pytest.mark.parametrize("op", ["BitwiseAnd", "BitwiseOr", "BitwiseXor"])
@pytest.mark.parametrize(("elem", "dtype"), [(I32, np.int32), (U8, np.uint8)])
def test_bitwise_binary_ops_broadcast_like_onnxruntime(op: str, elem: int, dtype: type):
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, (2, 3, 4), dtype=dtype)
    b = rng.integers(info.min, info.max, (4,), dtype=dtype)
    node = helper.make_node(op, ["a", "b"], ["y"])
    m = model([node], {"a": ([2, 3, 4], elem), "b": ([4], elem)}, {"y": (None, elem)})
    compiled_matches_onnxruntime(m, {"a": a, "b": b})


def test_bitwise_not_of_uint8_flips_every_bit():
    x = np.array([0, 1, 127, 128, 255], np.uint8)
    node = helper.make_node("BitwiseNot", ["x"], ["y"])
    m = model([node], {"x": ([5], U8)}, {"y": (None, U8)})
    compiled_matches_onnxruntime(m, {"x": x})


@pytest.mark.parametrize(("positive", "negative"), [(1, 1), (1, 0), (0, 1)])
def test_isinf_detects_the_infinities_asked_for(positive: int, negative: int):
    x = np.array([np.inf, -np.inf, np.nan, 0.0, 3e38, -1.0], np.float32)
    m = unary("IsInf", x, BOOL, detect_positive=positive, detect_negative=negative)
    compiled_matches_onnxruntime(m, {"x": x})


def test_isnan_is_true_only_for_nan():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0], np.float32)
    compiled_matches_onnxruntime(unary("IsNaN", x, BOOL), {"x": x})


@pytest.mark.parametrize(("op", "attrs"), [("Shrink", {"lambd": 0.5, "bias": 0.25}),
                                           ("ThresholdedRelu", {"alpha": 0.3})])  # fmt: skip
def test_thresholding_ops_match_onnxruntime(op: str, attrs: dict[str, float]):
    x = np.linspace(-2, 2, 41, dtype=np.float32)
    compiled_matches_onnxruntime(unary(op, x, F, **attrs), {"x": x})


@pytest.mark.parametrize("exponent", [I32, F])
def test_integer_pow_truncates_like_onnxruntime(exponent: int):
    x = np.array([-3, -2, 0, 1, 2, 7], np.int32)
    y = np.array([3, 2, 5, 0, 10, 4], np.int32 if exponent == I32 else np.float32)
    node = helper.make_node("Pow", ["x", "y"], ["z"])
    m = model([node], {"x": ([6], I32), "y": ([6], exponent)}, {"z": (None, I32)})
    compiled_matches_onnxruntime(m, {"x": x, "y": y})


@pytest.mark.parametrize("shape", [[2, 2], [3, 3, 3], [2, 2, 4, 4], [1, 1]])
def test_det_matches_onnxruntime(shape: list[int]):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    compiled_matches_onnxruntime(unary("Det", x), {"x": x})


def test_det_of_a_large_matrix_is_not_supported():
    with pytest.raises(UnsupportedOpError, match="square matrices up to 4"):
        lamina.compile(unary("Det", np.zeros((5, 5), np.float32)))


def test_math_family_on_cortex_a76_under_qemu_matches_onnxruntime(tmp_path: Path):
    """One model with every formula of the family, as an AArch64 AOT bundle."""
    ops = ["Atan", "Asin", "Acos", "Asinh", "Acosh", "Atanh", "Sinh", "Cosh", "Tan"]
    x = np.linspace(-0.95, 0.95, 64, dtype=np.float32)
    nodes = [helper.make_node("Abs", ["x"], ["a"]), helper.make_node("Add", ["a", "one"], ["p"])]
    for op in ops:  # Acosh reads 1 + |x|, the others x
        nodes.append(helper.make_node(op, ["p" if op == "Acosh" else "x"], [op.lower()]))
    outputs = {op.lower(): (None, F) for op in ops}
    m = model(nodes, {"x": ([64], F)}, outputs, {"one": np.ones(1, np.float32)})
    compile_bundle(m, "cortex-a76", tmp_path / "bundle")
    run = run_bundle(tmp_path / "bundle", {"x": x})
    for got, want in zip(run.outputs, onnxruntime_outputs(m, {"x": x}), strict=True):
        assert_at_scale(np.asarray(got), want)
