"""The int8 GEMM of `convert-top-to-loop{int8_gemm}` (lowering/top_to_loop_byte_gemm.py,
top_to_loop_byte_conv.py) on the host: MatMulInteger and ConvInteger by constant weights
against ONNX's reference evaluator, bit for bit, in the shapes that reach its edges (one
row and a few rows of activations, K not a multiple of four, N not a multiple of the
vector, strides, dilations and uneven pads, signed and unsigned bytes); and the integer
max pools around it (unsigned ones with the top bit flipped, on phase planes)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import lamina
from lamina.compiler import import_model, lower
from lamina.targets import load_device


def model_of(node: onnx.NodeProto, x: np.ndarray, constants: dict[str, np.ndarray]):
    """A one-node model of input `x` (named x) and constant initializers, output y."""
    graph = helper.make_graph(
        [node],
        node.op_type,
        [helper.make_tensor_value_info("x", helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.UNDEFINED, None)],
        [numpy_helper.from_array(v, k) for k, v in constants.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    return onnx.shape_inference.infer_shapes(model)


def byte_dots_in(model: onnx.ModelProto) -> int:
    """The loop.byte_dot ops of `model` lowered for the host without its ISA passes."""
    host = load_device("host")
    device = dataclasses.replace(host, extra={**host.extra, "passes": []})
    return sum(op.name == "loop.byte_dot" for op in lower(import_model(model), device).walk())


def assert_exact(model: onnx.ModelProto, x: np.ndarray) -> None:
    (want,) = ReferenceEvaluator(model).run(None, {"x": x})
    assert isinstance(want, np.ndarray)
    (got,) = lamina.compile(model)(x=x)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("rows", "a_type", "b_type"),
    [(1, np.uint8, np.int8), (5, np.int8, np.int8), (19, np.uint8, np.uint8)],
    ids=["one-row-u8s8", "few-rows-s8s8", "tiles-u8u8"],
)
def test_int8_matmul_on_the_byte_gemm_is_exact(rows: int, a_type: Any, b_type: Any):
    """M = 1 and 5: a tile of all rows by four vectors; 19: 8-row tiles, the last one
    padded; K = 301 ends in a partial word; N = 120 in padded panels."""
    rng = np.random.default_rng(11)
    a_info, b_info = np.iinfo(a_type), np.iinfo(b_type)
    x = rng.integers(a_info.min, a_info.max, (rows, 301), a_type, endpoint=True)
    b = rng.integers(b_info.min, b_info.max, (301, 120), b_type, endpoint=True)
    x[0], b[:, 0] = a_info.max, b_info.min  # the extreme products
    constants = {
        "b": b,
        "az": np.array(a_info.max // 3, a_type),
        "bz": rng.integers(b_info.min, b_info.max, 120, b_type),
    }
    model = model_of(helper.make_node("MatMulInteger", ["x", *constants], ["y"]), x, constants)
    assert byte_dots_in(model) > 0
    assert_exact(model, x)


@pytest.mark.parametrize("x_type", [np.uint8, np.int8])
def test_int8_conv_on_the_byte_gemm_is_exact(x_type: Any):
    """A 5 -> 12 channel 3x3 conv (K = 45 bytes: a partial last word), stride 1 x 2 (rows
    of 19 outputs: a vector of 16 from every other byte of 32, three alone), dilation
    1 x 2, uneven pads filled with the zero point, per-channel weight zero points."""
    rng = np.random.default_rng(12)
    info = np.iinfo(x_type)
    x = rng.integers(info.min, info.max, (1, 5, 23, 41), x_type, endpoint=True)
    constants = {
        "w": rng.integers(-128, 127, (12, 5, 3, 3), np.int8, endpoint=True),
        "xz": np.array(info.min + 100, x_type),
        "wz": rng.integers(-128, 127, 12, np.int8),
    }
    node = helper.make_node(
        "ConvInteger", ["x", *constants], ["y"], strides=[1, 2], dilations=[1, 2], pads=[1, 0, 2, 1]
    )
    model = model_of(node, x, constants)
    assert byte_dots_in(model) > 0
    assert_exact(model, x)


@pytest.mark.parametrize("pads", [[0, 0, 0, 0], [1, 0, 1, 1]], ids=["unpadded", "padded"])
@pytest.mark.parametrize("x_type", [np.uint8, np.int8])
def test_integer_max_pools_match_onnxruntime(x_type: Any, pads: list[int]):
    """Unsigned bytes pool with their top bit flipped (order kept), on the phase planes
    also when no window leaves x; 3x3 windows, stride 2."""
    info = np.iinfo(x_type)
    x = np.random.default_rng(13).integers(
        info.min, info.max, (1, 4, 11, 13), x_type, endpoint=True
    )
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=pads)
    model = model_of(node, x, {})
    want = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    np.testing.assert_array_equal(lamina.compile(model)(x=x)[0], want)
