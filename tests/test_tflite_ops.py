"""Each TFLite builtin the importer maps, in a one- or two-operator model built with the
schema's flatbuffers builder, compiled for the host and checked against LiteRT at the
output's scale: max|err| <= 1e-3 * max|ref| + 1e-4."""

from __future__ import annotations

import struct
from collections.abc import Callable

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

import lamina
from lamina.tools.tflite_builder import TFLiteBuilder

RNG = np.random.default_rng(7)


def normal(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def litert(data: bytes, feeds: list[np.ndarray]) -> list[np.ndarray]:
    interpreter = Interpreter(model_content=data, num_threads=1)
    interpreter.allocate_tensors()
    for detail, value in zip(interpreter.get_input_details(), feeds, strict=True):
        interpreter.set_tensor(detail["index"], value)
    interpreter.invoke()
    return [np.array(interpreter.get_tensor(d["index"])) for d in interpreter.get_output_details()]


def check(m: TFLiteBuilder, feeds: list[np.ndarray]) -> None:
    data = m.finish()
    want = litert(data, feeds)
    got = lamina.compile(data)(*feeds)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype
        scale = float(np.abs(w).max(initial=0))
        assert float(np.abs(g.astype(np.float64) - w).max(initial=0)) <= 1e-3 * scale + 1e-4


def unary(name: str, options: str | None = None, **attrs: object) -> Callable[[], None]:
    def build() -> None:
        m = TFLiteBuilder()
        x, y = m.input("x", [2, 5, 6]), m.tensor("y", [2, 5, 6])
        m.op(name, [x], [y], options, **attrs)  # pyright: ignore[reportArgumentType]
        m.output(y)
        check(m, [normal(2, 5, 6) * 4])

    return build


UNARY = ["RELU", "RELU6", "RELU_N1_TO_1", "LOGISTIC", "TANH", "HARD_SWISH", "EXP", "ABS", "NEG",
         "FLOOR", "CEIL", "SIN", "COS", "SQUARE", "ELU", "ROUND", "RELU_0_TO_1"]  # fmt: skip


@pytest.mark.parametrize("name", UNARY)
def test_unary_activation_matches_litert(name: str) -> None:
    unary(name)()


def test_leaky_relu_and_gelu_match_litert() -> None:
    unary("LEAKY_RELU", "LeakyReluOptions", Alpha=0.2)()
    unary("GELU", "GeluOptions", Approximate=True)()


BINARY = [(op, act) for op in ("ADD", "SUB", "MUL", "DIV") for act in (0, 1, 3)]
"""Arithmetic with no, RELU and RELU6 fused activations; MAXIMUM / MINIMUM have none."""


@pytest.mark.parametrize(("name", "activation"), [*BINARY, ("MAXIMUM", 0), ("MINIMUM", 0)])
def test_broadcast_binary_with_fused_activation_matches_litert(name: str, activation: int) -> None:
    m = TFLiteBuilder()
    a, b, y = m.input("a", [1, 4, 4, 3]), m.input("b", [1, 1, 1, 3]), m.tensor("y", [1, 4, 4, 3])
    options = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions", "DIV": "DivOptions"}
    if name in options:
        m.op(name, [a, b], [y], options[name], FusedActivationFunction=activation)
    else:
        m.op(name, [a, b], [y])
    m.output(y)
    rhs = normal(1, 1, 1, 3) + (3.0 if name == "DIV" else 0.0)
    check(m, [normal(1, 4, 4, 3) * 3, rhs])


@pytest.mark.parametrize(
    ("padding", "stride", "dilation"), [(0, 1, 1), (0, 2, 1), (1, 2, 1), (0, 1, 2)]
)
def test_conv_2d_matches_litert(padding: int, stride: int, dilation: int) -> None:
    m = TFLiteBuilder()
    x = m.input("x", [1, 10, 9, 3])
    w, b = m.constant("w", normal(5, 3, 3, 3)), m.constant("b", normal(5))
    out = (-(-10 // stride), -(-9 // stride)) if padding == 0 else (
        (10 - 2 * dilation - 1) // stride + 1, (9 - 2 * dilation - 1) // stride + 1)  # fmt: skip
    y = m.tensor("y", [1, *out, 5])
    m.op("CONV_2D", [x, w, b], [y], "Conv2DOptions", Padding=padding, StrideW=stride,
         StrideH=stride, DilationWFactor=dilation, DilationHFactor=dilation,
         FusedActivationFunction=1)  # fmt: skip
    m.output(y)
    check(m, [normal(1, 10, 9, 3)])


@pytest.mark.parametrize(("multiplier", "stride"), [(1, 1), (2, 2)])
def test_depthwise_conv_2d_matches_litert(multiplier: int, stride: int) -> None:
    m = TFLiteBuilder()
    x = m.input("x", [1, 9, 9, 4])
    w, b = m.constant("w", normal(1, 3, 3, 4 * multiplier)), m.constant("b", normal(4 * multiplier))
    size = -(-9 // stride)
    y = m.tensor("y", [1, size, size, 4 * multiplier])
    m.op("DEPTHWISE_CONV_2D", [x, w, b], [y], "DepthwiseConv2DOptions", Padding=0,
         StrideW=stride, StrideH=stride, DepthMultiplier=multiplier, FusedActivationFunction=3)  # fmt: skip
    m.output(y)
    check(m, [normal(1, 9, 9, 4)])


def test_float16_weights_through_dequantize_match_litert() -> None:
    m = TFLiteBuilder()
    x = m.input("x", [1, 6, 6, 2])
    half = m.constant("w16", normal(3, 3, 3, 2).astype(np.float16))
    w, b = m.tensor("w", [3, 3, 3, 2]), m.constant("b", normal(3))
    m.op("DEQUANTIZE", [half], [w])
    y = m.tensor("y", [1, 6, 6, 3])
    m.op("CONV_2D", [x, w, b], [y], "Conv2DOptions", Padding=0, StrideW=1, StrideH=1)
    m.output(y)
    check(m, [normal(1, 6, 6, 2)])


def test_transpose_conv_matches_litert() -> None:
    m = TFLiteBuilder()
    shape = m.constant("shape", np.array([1, 8, 8, 3], np.int32))
    w, x = m.constant("w", normal(3, 3, 3, 4)), m.input("x", [1, 4, 4, 4])
    y = m.tensor("y", [1, 8, 8, 3])
    m.op("TRANSPOSE_CONV", [shape, w, x], [y], "TransposeConvOptions", Padding=0, StrideW=2,
         StrideH=2)  # fmt: skip
    m.output(y)
    check(m, [normal(1, 4, 4, 4)])


def test_fully_connected_flattens_and_keeps_bias_matches_litert() -> None:
    m = TFLiteBuilder()
    x = m.input("x", [2, 3, 4])
    w, b = m.constant("w", normal(5, 12)), m.constant("b", normal(5))
    y = m.tensor("y", [2, 5])
    m.op("FULLY_CONNECTED", [x, w, b], [y], "FullyConnectedOptions", FusedActivationFunction=1)
    m.output(y)
    check(m, [normal(2, 3, 4)])


@pytest.mark.parametrize("name", ["MAX_POOL_2D", "AVERAGE_POOL_2D"])
@pytest.mark.parametrize("padding", [0, 1])
def test_pool_matches_litert(name: str, padding: int) -> None:
    m = TFLiteBuilder()
    x = m.input("x", [1, 7, 7, 3])
    size = 4 if padding == 0 else 3
    y = m.tensor("y", [1, size, size, 3])
    m.op(name, [x], [y], "Pool2DOptions", Padding=padding, StrideW=2, StrideH=2, FilterWidth=3,
         FilterHeight=3)  # fmt: skip
    m.output(y)
    check(m, [normal(1, 7, 7, 3)])


@pytest.mark.parametrize(("name", "keep"), [("MEAN", True), ("MEAN", False), ("SUM", False),
                                            ("REDUCE_MAX", True), ("REDUCE_MIN", False),
                                            ("REDUCE_PROD", True)])  # fmt: skip
def test_reduction_matches_litert(name: str, keep: bool) -> None:
    m = TFLiteBuilder()
    x, axes = m.input("x", [1, 5, 6, 3]), m.constant("axes", np.array([1, 2], np.int32))
    y = m.tensor("y", [1, 1, 1, 3] if keep else [1, 3])
    m.op(name, [x, axes], [y], "ReducerOptions", KeepDims=keep)
    m.output(y)
    check(m, [normal(1, 5, 6, 3)])


def test_pad_reshape_concat_transpose_match_litert() -> None:
    m = TFLiteBuilder()
    x, z = m.input("x", [1, 3, 4, 2]), m.input("z", [1, 5, 6, 1])
    pads = m.constant("pads", np.array([[0, 0], [1, 1], [2, 0], [0, 0]], np.int32))
    padded = m.tensor("padded", [1, 5, 6, 2])
    m.op("PAD", [x, pads], [padded])
    joined = m.tensor("joined", [1, 5, 6, 3])
    m.op("CONCATENATION", [padded, z], [joined], "ConcatenationOptions", Axis=3)
    perm = m.constant("perm", np.array([0, 3, 1, 2], np.int32))
    swapped = m.tensor("swapped", [1, 3, 5, 6])
    m.op("TRANSPOSE", [joined, perm], [swapped])
    shape = m.constant("shape", np.array([3, 30], np.int32))
    y = m.tensor("y", [3, 30])
    m.op("RESHAPE", [swapped, shape], [y])
    m.output(y)
    check(m, [normal(1, 3, 4, 2), normal(1, 5, 6, 1)])


def test_softmax_with_beta_matches_litert() -> None:
    unary("SOFTMAX", "SoftmaxOptions", Beta=0.5)()


@pytest.mark.parametrize(
    ("begin", "end", "strides", "masks", "shape"),
    [
        ([0, 1, 0], [2, 5, 6], [1, 2, 3], {}, [2, 2, 2]),
        ([0, 0, 5], [0, 0, 0], [1, 1, -2], {"BeginMask": 3, "EndMask": 7}, [2, 5, 3]),
        ([1, 0, 2], [2, 5, 3], [1, 1, 1], {"ShrinkAxisMask": 5}, [5]),
    ],
)
def test_strided_slice_matches_litert(begin, end, strides, masks, shape) -> None:  # noqa: ANN001
    m = TFLiteBuilder()
    x = m.input("x", [2, 5, 6])
    bounds = [m.constant(n, np.array(v, np.int32)) for n, v in
              (("begin", begin), ("end", end), ("strides", strides))]  # fmt: skip
    y = m.tensor("y", shape)
    m.op("STRIDED_SLICE", [x, *bounds], [y], "StridedSliceOptions", **masks)
    m.output(y)
    check(m, [normal(2, 5, 6)])


def test_slice_split_gather_match_litert() -> None:
    m = TFLiteBuilder()
    x = m.input("x", [4, 6])
    begin, size = (
        m.constant("b", np.array([1, 0], np.int32)),
        m.constant("s", np.array([3, -1], np.int32)),
    )
    part = m.tensor("part", [3, 6])
    m.op("SLICE", [x, begin, size], [part])
    axis = m.constant("axis", np.array(1, np.int32))
    halves = [m.tensor("h0", [3, 3]), m.tensor("h1", [3, 3])]
    m.op("SPLIT", [axis, part], halves, "SplitOptions", NumSplits=2)
    index = m.constant("index", np.array([2, 0, 2], np.int32))
    y = m.tensor("y", [3, 3])
    m.op("GATHER", [halves[1], index], [y], "GatherOptions", Axis=0)
    m.output(halves[0])
    m.output(y)
    check(m, [normal(4, 6)])


@pytest.mark.parametrize("name", ["RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"])
@pytest.mark.parametrize(("align", "half"), [(False, False), (True, False), (False, True)])
def test_resize_matches_litert(name: str, align: bool, half: bool) -> None:
    m = TFLiteBuilder()
    x, size = m.input("x", [1, 4, 5, 2]), m.constant("size", np.array([7, 10], np.int32))
    y = m.tensor("y", [1, 7, 10, 2])
    options = (
        "ResizeBilinearOptions" if name == "RESIZE_BILINEAR" else "ResizeNearestNeighborOptions"
    )
    m.op(name, [x, size], [y], options, AlignCorners=align, HalfPixelCenters=half)
    m.output(y)
    check(m, [normal(1, 4, 5, 2)])


@pytest.mark.parametrize("name", ["DEPTH_TO_SPACE", "SPACE_TO_DEPTH"])
def test_depth_space_matches_litert(name: str) -> None:
    m = TFLiteBuilder()
    shapes = (
        ([1, 2, 3, 8], [1, 4, 6, 2]) if name == "DEPTH_TO_SPACE" else ([1, 4, 6, 2], [1, 2, 3, 8])
    )
    x, y = m.input("x", shapes[0]), m.tensor("y", shapes[1])
    options = "DepthToSpaceOptions" if name == "DEPTH_TO_SPACE" else "SpaceToDepthOptions"
    m.op(name, [x], [y], options, BlockSize=2)
    m.output(y)
    check(m, [normal(*shapes[0])])


def test_prelu_with_per_channel_alpha_matches_litert() -> None:
    m = TFLiteBuilder()
    x, alpha = m.input("x", [1, 3, 3, 4]), m.constant("alpha", normal(1, 1, 4))
    y = m.tensor("y", [1, 3, 3, 4])
    m.op("PRELU", [x, alpha], [y])
    m.output(y)
    check(m, [normal(1, 3, 3, 4)])


def test_pack_unpack_batch_matmul_match_litert() -> None:
    m = TFLiteBuilder()
    a, b = m.input("a", [3, 4]), m.input("b", [3, 4])
    packed = m.tensor("packed", [2, 3, 4])
    m.op("PACK", [a, b], [packed], "PackOptions", ValuesCount=2, Axis=0)
    rows = [m.tensor(f"row{i}", [2, 4]) for i in range(3)]
    m.op("UNPACK", [packed], rows, "UnpackOptions", Num=3, Axis=1)
    product = m.tensor("product", [2, 3, 3])
    m.op("BATCH_MATMUL", [packed, packed], [product], "BatchMatMulOptions", AdjY=True)
    m.output(rows[2])
    m.output(product)
    check(m, [normal(3, 4), normal(3, 4)])


def test_tile_broadcast_arg_max_match_litert() -> None:
    m = TFLiteBuilder()
    x = m.input("x", [2, 1, 3])
    repeats = m.constant("repeats", np.array([1, 2, 2], np.int32))
    tiled = m.tensor("tiled", [2, 2, 6])
    m.op("TILE", [x, repeats], [tiled])
    shape = m.constant("shape", np.array([2, 4, 3], np.int32))
    wide = m.tensor("wide", [2, 4, 3])
    m.op("BROADCAST_TO", [x, shape], [wide], version=2)
    axis = m.constant("axis", np.array([2], np.int32))
    best = m.tensor("best", [2, 2], np.int32)
    m.op("ARG_MAX", [tiled, axis], [best], "ArgMaxOptions", OutputType=2)
    m.output(wide)
    m.output(best)
    check(m, [normal(2, 1, 3)])


def test_per_axis_int8_weights_through_dequantize_match_litert() -> None:
    m = TFLiteBuilder()
    x = m.input("x", [2, 6])
    q = RNG.integers(-127, 128, (4, 6)).astype(np.int8)
    scales = [0.01, 0.02, 0.05, 0.1]
    weights8 = m.constant("w8", q, quantization=(scales, [0, 0, 0, 0], 0))
    w = m.tensor("w", [4, 6])
    m.op("DEQUANTIZE", [weights8], [w], version=2)
    y = m.tensor("y", [2, 4])
    m.op("FULLY_CONNECTED", [x, w, -1], [y], "FullyConnectedOptions")
    m.output(y)
    check(m, [normal(2, 6)])


@pytest.mark.parametrize("name", ["SQRT", "RSQRT", "LOG"])
def test_positive_domain_unary_matches_litert(name: str) -> None:
    m = TFLiteBuilder()
    x, y = m.input("x", [3, 7]), m.tensor("y", [3, 7])
    m.op(name, [x], [y])
    m.output(y)
    check(m, [np.abs(normal(3, 7)) + 0.1])


def test_squared_difference_pow_log_softmax_match_litert() -> None:
    m = TFLiteBuilder()
    a, b = m.input("a", [2, 5]), m.input("b", [2, 5])
    diff, power, logp = (
        m.tensor("diff", [2, 5]),
        m.tensor("power", [2, 5]),
        m.tensor("logp", [2, 5]),
    )
    m.op("SQUARED_DIFFERENCE", [a, b], [diff])
    m.op("POW", [diff, b], [power])
    m.op("LOG_SOFTMAX", [a], [logp], "LogSoftmaxOptions")
    for t in (diff, power, logp):
        m.output(t)
    check(m, [normal(2, 5), normal(2, 5).round()])


def test_split_v_padv2_mirror_pad_squeeze_expand_cast_match_litert() -> None:
    m = TFLiteBuilder()
    x = m.input("x", [1, 5, 4])
    sizes, axis = (
        m.constant("sizes", np.array([2, -1], np.int32)),
        m.constant("axis", np.array(1, np.int32)),
    )
    parts = [m.tensor("p0", [1, 2, 4]), m.tensor("p1", [1, 3, 4])]
    m.op("SPLIT_V", [x, sizes, axis], parts, "SplitVOptions", NumSplits=2)
    pads = m.constant("pads", np.array([[0, 0], [1, 2], [0, 1]], np.int32))
    fill = m.constant("fill", np.array([2.5], np.float32))
    padded = m.tensor("padded", [1, 5, 5])
    m.op("PADV2", [parts[0], pads, fill], [padded])
    mirror_pads = m.constant("mirror_pads", np.array([[0, 0], [1, 1], [2, 1]], np.int32))
    mirrored = m.tensor("mirrored", [1, 5, 7])
    m.op("MIRROR_PAD", [parts[1], mirror_pads], [mirrored], "MirrorPadOptions", Mode=0)
    squeezed = m.tensor("squeezed", [5, 7])
    m.op("SQUEEZE", [mirrored], [squeezed], "SqueezeOptions")
    dim = m.constant("dim", np.array(2, np.int32))
    expanded = m.tensor("expanded", [5, 7, 1])
    m.op("EXPAND_DIMS", [squeezed, dim], [expanded])
    whole = m.tensor("whole", [5, 7, 1], np.int32)
    m.op("CAST", [expanded], [whole])
    for t in (padded, expanded, whole):
        m.output(t)
    check(m, [normal(1, 5, 4) * 5])


@pytest.mark.parametrize(
    "name", ["LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL"]
)
def test_comparison_then_select_matches_litert(name: str) -> None:
    m = TFLiteBuilder()
    a, b = m.input("a", [3, 4]), m.input("b", [1, 4])
    mask, picked = m.tensor("mask", [3, 4], np.bool_), m.tensor("picked", [3, 4])
    m.op(name, [a, b], [mask])
    m.op("SELECT_V2", [mask, a, b], [picked])
    negated, both = m.tensor("negated", [3, 4], np.bool_), m.tensor("both", [3, 4], np.bool_)
    m.op("LOGICAL_NOT", [mask], [negated])
    m.op("LOGICAL_AND", [mask, negated], [both])
    m.output(picked)
    m.output(both)
    check(m, [normal(3, 4).round(), normal(1, 4).round()])


def test_l2_normalization_fill_shape_zeros_embedding_match_litert() -> None:
    m = TFLiteBuilder()
    x, ids = m.input("x", [2, 3, 5]), m.input("ids", [4], np.int32)
    normed = m.tensor("normed", [2, 3, 5])
    m.op("L2_NORMALIZATION", [x], [normed], "L2NormOptions")
    dims, value = (
        m.constant("dims", np.array([2, 3], np.int32)),
        m.constant("value", np.array(1.5, np.float32)),
    )
    filled = m.tensor("filled", [2, 3])
    m.op("FILL", [dims, value], [filled])
    size = m.tensor("size", [3], np.int32)
    m.op("SHAPE", [x], [size], "ShapeOptions", OutType=2)
    zeros = m.tensor("zeros", [2, 3, 5])
    m.op("ZEROS_LIKE", [x], [zeros])
    table = m.constant("table", normal(6, 3))
    rows = m.tensor("rows", [4, 3])
    m.op("EMBEDDING_LOOKUP", [ids, table], [rows])
    for t in (normed, filled, size, zeros, rows):
        m.output(t)
    check(m, [normal(2, 3, 5), np.array([5, 0, 2, 2], np.int32)])


@pytest.mark.parametrize(("padding", "size"), [(1, 8), (2, 9)])
def test_mediapipe_transpose_conv_bias_custom_op_matches_litert(padding: int, size: int) -> None:
    """Convolution2DTransposeBias: options are int32 padding (1 SAME, 2 VALID), strides."""
    m = TFLiteBuilder()
    x, w, b = (
        m.input("x", [1, 4, 4, 3]),
        m.constant("w", normal(2, 3, 3, 3)),
        m.constant("b", normal(2)),
    )
    y = m.tensor("y", [1, size, size, 2])
    params = struct.pack("<3i", padding, 2, 2)
    m.op("CUSTOM", [x, w, b], [y], custom="Convolution2DTransposeBias", custom_options=params)
    m.output(y)
    check(m, [normal(1, 4, 4, 3)])


def test_sparse_weights_through_densify_match_litert() -> None:
    m = TFLiteBuilder()
    x = m.input("x", [2, 8])
    dense = normal(5, 8) * (RNG.random((5, 8)) < 0.3)
    w = m.tensor("w", [5, 8])
    m.op("DENSIFY", [m.sparse_constant("w_sparse", dense)], [w])
    y = m.tensor("y", [2, 5])
    m.op("FULLY_CONNECTED", [x, w, -1], [y], "FullyConnectedOptions")
    m.output(y)
    check(m, [normal(2, 8)])
