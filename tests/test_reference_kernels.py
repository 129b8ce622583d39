"""The kernel layer of the reference interpreter: ONNX operators on numpy arrays, no IR.

The hand-written kernels are checked three ways: the ONNX node conformance cases of their
operators, a grid of attribute variants against onnxruntime, and their fall-back to
onnx.reference for the cases they decline.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from lamina.errors import UnsupportedOpError
from lamina.runtime.reference import HANDWRITTEN, run_onnx_op
from lamina.runtime.reference.kernel_conformance import node_cases, run_case

# the conformance cases of the operators with hand-written kernels
_HANDWRITTEN_CASES = (
    "test_conv_",
    "test_basic_conv",
    "test_maxpool",
    "test_averagepool",
    "test_globalaveragepool",
    "test_globalmaxpool",
    "test_gemm",
    "test_matmul_",
    "test_batchnorm",
    "test_relu",
    "test_concat",
    "test_reshape",
    "test_flatten",
    "test_softmax",
    "test_lrn",
    "test_dropout",
    "test_transpose",
    "test_identity",
    "test_add",
    "test_sub",
    "test_mul",
    "test_div",
)


def _cases() -> list[Any]:
    cases = [c for c in node_cases() if c.name.startswith(_HANDWRITTEN_CASES)]
    return [pytest.param(c, id=c.name) for c in cases]


@pytest.mark.parametrize("case", _cases())
def test_handwritten_operator_passes_node_conformance(case: Any) -> None:
    result = run_case(case)
    assert result.status == "pass", result.detail


def _ort(node: onnx.NodeProto, inputs: dict[str, np.ndarray], n_outputs: int = 1) -> list[Any]:
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, v.shape) for k, v in inputs.items()],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in node.output],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return list(session.run(None, inputs))


_RNG = np.random.default_rng(0)
_CONV_VARIANTS = [
    dict(strides=s, pads=p, dilations=d, group=g)
    for s, p, d, g in itertools.product(
        [[1, 1], [2, 1]], [[0, 0, 0, 0], [1, 2, 0, 1]], [[1, 1], [2, 1]], [1, 2]
    )
] + [dict(auto_pad=a, strides=[2, 2]) for a in ("SAME_UPPER", "SAME_LOWER", "VALID")]


@pytest.mark.parametrize("attrs", _CONV_VARIANTS, ids=str)
def test_conv_variant_matches_onnxruntime(attrs: dict[str, Any]) -> None:
    group = attrs.get("group", 1)
    x = _RNG.standard_normal((2, 4, 9, 8)).astype(np.float32)
    w = _RNG.standard_normal((6, 4 // group, 3, 2)).astype(np.float32)
    b = _RNG.standard_normal(6).astype(np.float32)
    (y,) = run_onnx_op("Conv", [x, w, b], attrs, 1)
    (expected,) = _ort(
        helper.make_node("Conv", ["x", "w", "b"], ["y"], **attrs), dict(x=x, w=w, b=b)
    )
    # float32 sums of 24 products in another order: a few ulps
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_depthwise_conv_1d_and_3d_match_onnxruntime() -> None:
    for shape, kernel in [((1, 3, 11), (3, 1, 3)), ((1, 3, 5, 6, 4), (3, 1, 2, 3, 2))]:
        x = _RNG.standard_normal(shape).astype(np.float32)
        w = _RNG.standard_normal(kernel).astype(np.float32)
        (y,) = run_onnx_op("Conv", [x, w], {"group": 3}, 1)
        (expected,) = _ort(helper.make_node("Conv", ["x", "w"], ["y"], group=3), dict(x=x, w=w))
        np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


_POOL_VARIANTS = [
    dict(kernel_shape=[3, 3], strides=s, pads=p, ceil_mode=c, dilations=d)
    for s, p, c, d in itertools.product(
        [[2, 2], [1, 2]], [[0, 0, 0, 0], [1, 1, 0, 1]], [0, 1], [[1, 1], [2, 1]]
    )
] + [dict(kernel_shape=[3, 2], strides=[2, 2], auto_pad=a) for a in ("SAME_UPPER", "SAME_LOWER")]


@pytest.mark.parametrize("attrs", _POOL_VARIANTS, ids=str)
@pytest.mark.parametrize("op_type", ["MaxPool", "AveragePool", "AveragePool+pads"])
def test_pool_variant_matches_onnxruntime(op_type: str, attrs: dict[str, Any]) -> None:
    if op_type == "AveragePool+pads":
        op_type, attrs = "AveragePool", {**attrs, "count_include_pad": 1}
    x = _RNG.standard_normal((1, 2, 10, 9)).astype(np.float32)
    (y,) = run_onnx_op(op_type, [x], attrs, 1)
    (expected,) = _ort(helper.make_node(op_type, ["x"], ["y"], **attrs), dict(x=x))
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6)


def test_global_lp_pool_matches_onnxruntime() -> None:
    x = _RNG.standard_normal((2, 3, 5, 4)).astype(np.float32)
    for p in (1, 2, 3):
        (y,) = run_onnx_op("GlobalLpPool", [x], {"p": p}, 1)
        (expected,) = _ort(helper.make_node("GlobalLpPool", ["x"], ["y"], p=p), dict(x=x))
        np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_declined_cases_fall_back_to_onnx_reference() -> None:
    x = np.arange(16, dtype=np.int8).reshape(1, 1, 4, 4)
    (y,) = run_onnx_op("MaxPool", [x], {"kernel_shape": [2, 2], "strides": [2, 2]}, 1)
    assert y.dtype == np.int8 and y.ravel().tolist() == [5, 7, 13, 15]
    f = x.astype(np.float32)
    y, indices = run_onnx_op("MaxPool", [f], {"kernel_shape": [2, 2], "strides": [2, 2]}, 2)
    assert indices.ravel().tolist() == [5, 7, 13, 15]
    assert run_onnx_op("Add", [np.array([7], np.int32), np.array([-9], np.int32)], {}, 1)[
        0
    ].tolist() == [-2]


def test_optional_outputs_the_operator_leaves_unset_are_none() -> None:
    x = _RNG.standard_normal((2, 3)).astype(np.float32)
    y, mask = run_onnx_op("Dropout", [x], {}, 2)
    np.testing.assert_array_equal(y, x)
    assert mask.dtype == np.bool_ and mask.all()


def test_long_tail_operators_run_through_onnx_reference() -> None:
    x = _RNG.standard_normal((1, 2, 3, 3)).astype(np.float32)
    assert "Pad" not in HANDWRITTEN and "Sigmoid" not in HANDWRITTEN
    (sig,) = run_onnx_op("Sigmoid", [x], {}, 1)
    np.testing.assert_allclose(sig, 1 / (1 + np.exp(-x)), rtol=1e-6)
    # a missing optional input in the middle (constant_value) and `axes`
    (padded,) = run_onnx_op(
        "Pad", [x, np.array([1, 2], np.int64), None, np.array([3], np.int64)], {}, 1
    )
    assert padded.shape == (1, 2, 3, 6)
    (cast,) = run_onnx_op("Cast", [x], {"to": TensorProto.FLOAT16}, 1)
    assert cast.dtype == np.float16


def test_operator_without_any_implementation_is_unsupported() -> None:
    x = _RNG.standard_normal((1, 1, 4, 4)).astype(np.float32)
    rois = np.array([[0, 0, 0, 3, 3]], np.float32)
    with pytest.raises(UnsupportedOpError, match="not supported: operator 'MaxRoiPool'"):
        run_onnx_op("MaxRoiPool", [x, rois], {"pooled_shape": [2, 2]}, 1)
