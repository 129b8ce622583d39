"""TFLite compute operators -> graph ops: convolutions, fully connected, pools, activations,
elementwise arithmetic and softmax.

TFLite data is N x H x W x C and stays so: CONV_2D and DEPTHWISE_CONV_2D become
`graph.nhwc_conv` (filters re-laid to KH x KW x C/group x F at import), the pools
`graph.nhwc_*_pool`. SAME padding becomes explicit pads (the extra one at the end, as
TFLite pads). TRANSPOSE_CONV has no NHWC graph op: it is an NCHW ConvTranspose between
transposes.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
from xdsl.ir import SSAValue

from lamina.dialects.graph import NhwcAveragePoolOp, NhwcConvOp, NhwcMaxPoolOp
from lamina.dialects.graph_layout import NCHW_TO_NHWC, NHWC_TO_NCHW
from lamina.parser.tflite_graph import Converter, GraphBuilder
from lamina.parser.tflite_model import Operator

SAME, VALID = 0, 1


def same_pads(
    sizes: Sequence[int], kernel: Sequence[int], strides: Sequence[int], dilations: Sequence[int]
) -> list[int]:
    """ONNX pads (begins, then ends) of TFLite SAME padding: out = ceil(in / stride)."""
    begins: list[int] = []
    ends: list[int] = []
    for size, k, s, d in zip(sizes, kernel, strides, dilations, strict=True):
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        begins.append(total // 2)
        ends.append(total - total // 2)
    return begins + ends


def window(op: Operator, g: GraphBuilder, sizes: Sequence[int], kernel: Sequence[int]):
    strides = [op.options["StrideH"], op.options["StrideW"]]
    dilations = [op.options.get("DilationHFactor", 1), op.options.get("DilationWFactor", 1)]
    padding = op.options["Padding"]
    if min(*strides, *dilations, *kernel) < 1:
        g.fail(
            op, f"strides {strides}, dilations {dilations} and window {list(kernel)} must be >= 1"
        )
    if padding not in (SAME, VALID):
        g.unsupported(op, f"padding {padding}")
    pads = same_pads(sizes, kernel, strides, dilations) if padding == SAME else [0] * 4
    return strides, dilations, pads


def conv_2d(g: GraphBuilder, op: Operator) -> None:
    """filter F x KH x KW x C (OHWI) -> KH x KW x C x F."""
    x, out = g.tensor(op, 0), g.output(op)
    w = g.array(op, 1)
    filt = g.constant(np.transpose(w, (1, 2, 3, 0)), f"{g.label}.filter") if w is not None else (
        g.transpose(g.value(op, 1), (1, 2, 3, 0))
    )  # fmt: skip
    kernel = list(g.tensor(op, 1).shape[1:3])
    c = g.tensor(op, 1).shape[3]
    if len(x.shape) != 4 or c == 0 or x.shape[3] % c:
        g.fail(
            op, f"input shape {list(x.shape)} does not match filter {list(g.tensor(op, 1).shape)}"
        )
    _nhwc_conv(g, op, filt, kernel, x.shape[3] // c, out)


def depthwise_conv_2d(g: GraphBuilder, op: Operator) -> None:
    """filter 1 x KH x KW x C*M -> KH x KW x 1 x C*M, group C."""
    x, out = g.tensor(op, 0), g.output(op)
    fshape = g.tensor(op, 1).shape
    if len(x.shape) != 4 or len(fshape) != 4 or fshape[0] != 1:
        g.fail(op, f"input {list(x.shape)} and filter {list(fshape)} are not NHWC and 1HWC")
    filt = g.reshape(g.value(op, 1), (fshape[1], fshape[2], 1, fshape[3]))
    _nhwc_conv(g, op, filt, list(fshape[1:3]), x.shape[3], out)


def _nhwc_conv(g: GraphBuilder, op: Operator, filt: SSAValue, kernel: list[int], group: int, out):
    x = g.tensor(op, 0)
    strides, dilations, pads = window(op, g, x.shape[1:3], kernel)
    bias = g.value(op, 2) if g.has_input(op, 2) else None
    y = g.emit1(NhwcConvOp, [g.value(op, 0), filt, bias], g.type_of(out), strides=strides,
                dilations=dilations, pads=pads, group=group, kernel_shape=kernel)  # fmt: skip
    g.define(out, g.activate(op, y, op.options["FusedActivationFunction"]))


def _pool(kind: type[NhwcMaxPoolOp] | type[NhwcAveragePoolOp]) -> Converter:
    def convert(g: GraphBuilder, op: Operator) -> None:
        x, out = g.tensor(op, 0), g.output(op)
        kernel = [op.options["FilterHeight"], op.options["FilterWidth"]]
        strides, _, pads = window(op, g, x.shape[1:3], kernel)
        y = g.emit1(kind, [g.value(op, 0)], g.type_of(out), kernel_shape=kernel, strides=strides,
                    pads=pads)  # fmt: skip
        g.define(out, g.activate(op, y, op.options["FusedActivationFunction"]))

    return convert


def fully_connected(g: GraphBuilder, op: Operator) -> None:
    """y = reshape(x, [-1, in]) · Wᵀ + b (W is units x in), reshaped to the output."""
    x, out = g.tensor(op, 0), g.output(op)
    wshape = g.tensor(op, 1).shape
    if len(wshape) != 2 or wshape[1] == 0 or int(np.prod(x.shape)) % wshape[1]:
        g.fail(op, f"input {list(x.shape)} does not match weights {list(wshape)}")
    rows = int(np.prod(x.shape)) // wshape[1]
    flat = g.reshape(g.value(op, 0), (rows, wshape[1]))
    bias = g.value(op, 2) if g.has_input(op, 2) else None
    otype = g.type_of(out)
    gemm_type = type(otype)(otype.element_type, [rows, wshape[0]])
    y = g.emit1("Gemm", [flat, g.value(op, 1), bias], gemm_type, transB=1)
    y = g.activate(op, y, op.options["FusedActivationFunction"])
    g.define(out, g.reshape(y, out.shape))


def _binary(op_type: str) -> Converter:
    def convert(g: GraphBuilder, op: Operator) -> None:
        out = g.output(op)
        y = g.emit1(op_type, [g.value(op, 0), g.value(op, 1)], g.type_of(out))
        g.define(out, g.activate(op, y, op.options.get("FusedActivationFunction", 0)))

    return convert


def _unary(op_type: str, **attributes: object) -> Converter:
    def convert(g: GraphBuilder, op: Operator) -> None:
        out = g.output(op)
        g.define(out, g.emit1(op_type, [g.value(op, 0)], g.type_of(out), **attributes))

    return convert


def _clip(low: float, high: float) -> Converter:
    def convert(g: GraphBuilder, op: Operator) -> None:
        out, x = g.output(op), g.value(op, 0)
        bounds = [g.scalar(low, x, "min"), g.scalar(high, x, "max")]
        g.define(out, g.emit1("Clip", [x, *bounds], g.type_of(out)))

    return convert


def leaky_relu(g: GraphBuilder, op: Operator) -> None:
    out = g.output(op)
    alpha = float(op.options["Alpha"])
    g.define(out, g.emit1("LeakyRelu", [g.value(op, 0)], g.type_of(out), alpha=alpha))


def prelu(g: GraphBuilder, op: Operator) -> None:
    out = g.output(op)
    g.define(out, g.emit1("PRelu", [g.value(op, 0), g.value(op, 1)], g.type_of(out)))


def gelu(g: GraphBuilder, op: Operator) -> None:
    out = g.output(op)
    approximate = "tanh" if op.options.get("Approximate") else "none"
    g.define(out, g.emit1("Gelu", [g.value(op, 0)], g.type_of(out), approximate=approximate))


def squared_difference(g: GraphBuilder, op: Operator) -> None:
    out = g.output(op)
    diff = g.emit1("Sub", [g.value(op, 0), g.value(op, 1)], g.type_of(out))
    g.define(out, g.emit1("Mul", [diff, diff], g.type_of(out)))


def rsqrt(g: GraphBuilder, op: Operator) -> None:
    out = g.output(op)
    root = g.emit1("Sqrt", [g.value(op, 0)], g.type_of(out))
    g.define(out, g.emit1("Reciprocal", [root], g.type_of(out)))


def square(g: GraphBuilder, op: Operator) -> None:
    out, x = g.output(op), g.value(op, 0)
    g.define(out, g.emit1("Mul", [x, x], g.type_of(out)))


def not_equal(g: GraphBuilder, op: Operator) -> None:
    out = g.output(op)
    equal = g.emit1("Equal", [g.value(op, 0), g.value(op, 1)], g.type_of(out))
    g.define(out, g.emit1("Not", [equal], g.type_of(out)))


def select(g: GraphBuilder, op: Operator) -> None:
    """SELECT / SELECT_V2(condition, x, y): numpy broadcasting, like ONNX Where."""
    out = g.output(op)
    operands = [g.value(op, i) for i in range(3)]
    g.define(out, g.emit1("Where", operands, g.type_of(out)))


def l2_normalization(g: GraphBuilder, op: Operator) -> None:
    """x / max(sqrt(sum(x^2, last axis)), 1e-6), TFLite's epsilon."""
    x, out = g.tensor(op, 0), g.output(op)
    value, otype = g.value(op, 0), g.type_of(out)
    norm_type = type(otype)(otype.element_type, [*x.shape[:-1], 1])
    norm = g.emit1("ReduceL2", [value, g.ints([len(x.shape) - 1], "axes")], norm_type, keepdims=1)
    norm = g.emit1("Max", [norm, g.scalar(1e-6, value, "epsilon")], norm_type)
    y = g.emit1("Div", [value, norm], otype)
    g.define(out, g.activate(op, y, op.options.get("FusedActivationFunction", 0)))


def softmax(g: GraphBuilder, op: Operator) -> None:
    """softmax(beta * x) over the last axis."""
    out, x = g.output(op), g.value(op, 0)
    beta = float(op.options.get("Beta", 1.0))
    if beta != 1.0:
        x = g.emit1("Mul", [x, g.scalar(beta, x, "beta")], x.type)
    g.define(out, g.emit1("Softmax", [x], g.type_of(out), axis=-1))


def transpose_conv(g: GraphBuilder, op: Operator) -> None:
    """TRANSPOSE_CONV(output_shape, filter, x, bias?)."""
    strides = [op.options["StrideH"], op.options["StrideW"]]
    _transposed_conv(g, op, (2, 1, 3), strides, op.options.get("FusedActivationFunction", 0))


def transpose_conv_bias(g: GraphBuilder, op: Operator) -> None:
    """MediaPipe's custom Convolution2DTransposeBias(x, filter, bias); its options are a
    TfLiteTransposeConvParams struct: int32 padding, stride_width, stride_height."""
    if len(op.custom_options) < 12:
        g.fail(op, f"custom options of {len(op.custom_options)} bytes, expected 12")
    _, stride_w, stride_h = struct.unpack("<3i", op.custom_options[:12])
    _transposed_conv(g, op, (0, 1, 2), [stride_h, stride_w], 0)


def _transposed_conv(
    g: GraphBuilder, op: Operator, positions: tuple[int, int, int], strides: list[int], act: int
) -> None:
    """(x, filter O x KH x KW x I, bias?) at `positions` -> NCHW ConvTranspose with filter
    I x O x KH x KW between transposes; pads follow from the output shape (SAME/VALID)."""
    xi, wi, bi = positions
    x, out = g.tensor(op, xi), g.output(op)
    fshape = g.tensor(op, wi).shape
    if len(x.shape) != 4 or len(fshape) != 4 or len(out.shape) != 4 or min(strides) < 1:
        g.fail(op, "transpose convolution needs 4-D input, filter and output, strides >= 1")
    w = g.const_array(op, wi, "the filter")
    pads = _transpose_pads(x.shape[1:3], fshape[1:3], strides, out.shape[1:3])
    if pads is None:
        g.fail(op, f"output shape {list(out.shape)} does not follow from input {list(x.shape)}")
    filt = g.constant(np.transpose(w, (3, 0, 1, 2)), f"{g.label}.filter")
    bias = g.value(op, bi) if g.has_input(op, bi) else None
    otype = g.type_of(out)
    nchw = type(otype)(otype.element_type, [out.shape[i] for i in NHWC_TO_NCHW])
    xt = g.transpose(g.value(op, xi), NHWC_TO_NCHW)
    y = g.emit1("ConvTranspose", [xt, filt, bias], nchw, strides=strides, pads=pads,
                kernel_shape=list(fshape[1:3]))  # fmt: skip
    g.define(out, g.activate(op, g.transpose(y, NCHW_TO_NHWC), act))


def _transpose_pads(sizes, kernel, strides, outs) -> list[int] | None:
    begins: list[int] = []
    ends: list[int] = []
    for size, k, s, o in zip(sizes, kernel, strides, outs, strict=True):
        total = (size - 1) * s + k - o
        if total < 0:
            return None
        begins.append(total // 2)
        ends.append(total - total // 2)
    return begins + ends


NN_CONVERTERS: dict[str, Converter] = {
    "CONV_2D": conv_2d,
    "DEPTHWISE_CONV_2D": depthwise_conv_2d,
    "TRANSPOSE_CONV": transpose_conv,
    "FULLY_CONNECTED": fully_connected,
    "MAX_POOL_2D": _pool(NhwcMaxPoolOp),
    "AVERAGE_POOL_2D": _pool(NhwcAveragePoolOp),
    "ADD": _binary("Add"),
    "SUB": _binary("Sub"),
    "MUL": _binary("Mul"),
    "DIV": _binary("Div"),
    "MAXIMUM": _binary("Max"),
    "MINIMUM": _binary("Min"),
    "POW": _binary("Pow"),
    "SQUARED_DIFFERENCE": squared_difference,
    "RELU": _unary("Relu"),
    "RELU6": _clip(0.0, 6.0),
    "RELU_N1_TO_1": _clip(-1.0, 1.0),
    "RELU_0_TO_1": _clip(0.0, 1.0),
    "LOGISTIC": _unary("Sigmoid"),
    "TANH": _unary("Tanh"),
    "HARD_SWISH": _unary("HardSwish"),
    "ELU": _unary("Elu", alpha=1.0),
    "LEAKY_RELU": leaky_relu,
    "PRELU": prelu,
    "GELU": gelu,
    "EXP": _unary("Exp"),
    "LOG": _unary("Log"),
    "SQRT": _unary("Sqrt"),
    "RSQRT": rsqrt,
    "SQUARE": square,
    "ABS": _unary("Abs"),
    "NEG": _unary("Neg"),
    "FLOOR": _unary("Floor"),
    "CEIL": _unary("Ceil"),
    "ROUND": _unary("Round"),
    "SIN": _unary("Sin"),
    "COS": _unary("Cos"),
    "LESS": _binary("Less"),
    "LESS_EQUAL": _binary("LessOrEqual"),
    "GREATER": _binary("Greater"),
    "GREATER_EQUAL": _binary("GreaterOrEqual"),
    "EQUAL": _binary("Equal"),
    "NOT_EQUAL": not_equal,
    "LOGICAL_AND": _binary("And"),
    "LOGICAL_OR": _binary("Or"),
    "LOGICAL_NOT": _unary("Not"),
    "SELECT": select,
    "SELECT_V2": select,
    "L2_NORMALIZATION": l2_normalization,
    "SOFTMAX": softmax,
    "LOG_SOFTMAX": _unary("LogSoftmax", axis=-1),
}

CUSTOM_CONVERTERS: dict[str, Converter] = {
    "Convolution2DTransposeBias": transpose_conv_bias,
}
"""Custom ops of the common model collections that LiteRT's delegates implement."""
