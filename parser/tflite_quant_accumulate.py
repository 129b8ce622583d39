"""The accumulating 8-bit operators (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED) summed on
the integers, as LiteRT's XNNPACK kernels sum them: the int8 / uint8 activations with their
zero point and the constant 8-bit weights (per output channel) become `ConvInteger` /
`MatMulInteger`, the int32 bias is added in int32 (wrapping as LiteRT's accumulator does),
and the sum is defined as an f32 stand-in, `f32(acc)`, which parser/tflite_quant.py
requantizes as XNNPACK's fp32 requantization does: `acc * (sx * sw / sy)` in f32, clamped,
rounded half to even, plus the output zero point.

Which kernel each takes (lowering/graph_to_top_quant.py): a CONV_2D (group 1) and a
FULLY_CONNECTED the 8-bit dot-product conv / GEMM (`vpdpbusd`, `sdot`, `vrmpy`); a
DEPTHWISE_CONV_2D its product sums in f32 levels on the NHWC depthwise kernels where they
are bounded below 2^24 (so exact; cast to i32 before the bias), else the exact i32 conv
loops.
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import TensorType, f32, i32
from xdsl.ir import SSAValue

from lamina.dialects.graph import NhwcConvOp
from lamina.parser.tflite_graph import GraphBuilder
from lamina.parser.tflite_model import TENSOR_DTYPES, Operator, Tensor
from lamina.parser.tflite_ops import window

ONNX_FLOAT, ONNX_INT32 = 1, 6
NHWC_TO_NCHW, NCHW_TO_NHWC = (0, 3, 1, 2), (0, 2, 3, 1)


EXACT_IN_F32 = 1 << 24
"""Integers below this in magnitude are exact in f32, and so are their sums below it."""


def sums_on_integers(g: GraphBuilder, op: Operator) -> bool:
    """x run-time 8-bit per tensor, w constant 8-bit, bias (if any) a constant int32."""
    x, w = g.tensor(op, 0), g.tensor(op, 1)
    eight_bit = (np.dtype(np.int8), np.dtype(np.uint8))
    if np.dtype(TENSOR_DTYPES[x.type_code]) not in eight_bit or x.index in g.arrays:
        return False
    if np.dtype(TENSOR_DTYPES[w.type_code]) not in eight_bit or w.index not in g.arrays:
        return False
    if g.has_input(op, 2):
        b = g.tensor(op, 2)
        return b.index in g.arrays and np.dtype(TENSOR_DTYPES[b.type_code]) == np.int32
    return True


def largest_product_sum(weights: np.ndarray, w: Tensor) -> int:
    """A bound on |sum of (x - zx)(w - zw)| over a depthwise filter 1 x KH x KW x C, as
    |x - zx| <= 255."""
    q = w.quantization
    assert q is not None
    levels = np.abs(weights.astype(np.int64) - np.array(q.zero_point, np.int64))
    return int((levels.reshape(-1, weights.shape[-1]).sum(axis=0) * 255).max(initial=0))


def _zero_points(g: GraphBuilder, tensor: Tensor) -> SSAValue:
    """`tensor`'s zero point as a constant of its type: one element, or one per channel."""
    q = tensor.quantization
    assert q is not None
    zero = np.array(q.zero_point, np.int64).astype(TENSOR_DTYPES[tensor.type_code])
    return g.constant(zero.reshape(()) if zero.size == 1 else zero, f"{tensor.name}.zero_point")


def _sum_defined(g: GraphBuilder, op: Operator, acc: SSAValue, out: Tensor) -> None:
    """acc (i32, out's shape) plus the int32 bias, defined as `out`'s f32 stand-in."""
    if g.has_input(op, 2):
        acc = g.emit1("Add", [acc, g.value(op, 2)], acc.type)
    g.define(out, g.emit1("Cast", [acc], TensorType(f32, out.shape), to=ONNX_FLOAT))


def integer_conv(g: GraphBuilder, op: Operator) -> None:
    """CONV_2D / DEPTHWISE_CONV_2D as ConvInteger between NHWC <-> NCHW transposes (the
    filter OHWI, 1HWC for a depthwise one, re-laid OIHW at import); a pointwise one (1x1,
    stride 1, unpadded) as MatMulInteger."""
    x, w, out = g.tensor(op, 0), g.tensor(op, 1), g.output(op)
    weights = g.const_array(op, 1, "filter")
    depthwise = op.name == "DEPTHWISE_CONV_2D"
    if len(x.shape) != 4 or weights.ndim != 4 or (depthwise and weights.shape[0] != 1):
        g.fail(op, f"input {list(x.shape)} does not match filter {list(weights.shape)}")
    filt = np.transpose(weights, (3, 0, 1, 2) if depthwise else NHWC_TO_NCHW)
    channels = filt.shape[1]
    if channels == 0 or x.shape[3] % channels:
        g.fail(op, f"input {list(x.shape)} does not match filter {list(weights.shape)}")
    kernel = list(filt.shape[2:])
    strides, dilations, pads = window(op, g, x.shape[1:3], kernel)
    if not depthwise and kernel == strides == [1, 1] and not any(pads):
        # pointwise: the NHWC pixels as rows by the filter F x C, no transposes
        _integer_rows_by(g, op, filt.reshape(filt.shape[:2]), out)
        return
    if depthwise and largest_product_sum(weights, w) < EXACT_IN_F32:
        _depthwise_in_levels(g, op, weights, (strides, dilations, pads), out)
        return
    nchw = [out.shape[0], out.shape[3], out.shape[1], out.shape[2]]
    acc = g.emit1(
        "ConvInteger",
        [
            g.transpose(g.value(op, 0), NHWC_TO_NCHW),
            g.constant(np.ascontiguousarray(filt), f"{g.label}.filter"),
            _zero_points(g, x),
            _zero_points(g, w),
        ],
        TensorType(i32, nchw),
        strides=strides,
        dilations=dilations,
        pads=pads,
        group=x.shape[3] // channels,
        kernel_shape=kernel,
    )
    _sum_defined(g, op, g.transpose(acc, NCHW_TO_NHWC), out)


def _integer_rows_by(g: GraphBuilder, op: Operator, weights: np.ndarray, out: Tensor) -> None:
    """x as rows of weights.shape[1] by the weights (units x in) transposed, as `out`."""
    x, w = g.tensor(op, 0), g.tensor(op, 1)
    rows = int(np.prod(x.shape)) // weights.shape[1]
    acc = g.emit1(
        "MatMulInteger",
        [
            g.reshape(g.value(op, 0), (rows, weights.shape[1])),
            g.constant(np.ascontiguousarray(weights.T), f"{g.label}.weights"),
            _zero_points(g, x),
            _zero_points(g, w),
        ],
        TensorType(i32, [rows, weights.shape[0]]),
    )
    _sum_defined(g, op, g.reshape(acc, out.shape), out)


def _depthwise_in_levels(
    g: GraphBuilder,
    op: Operator,
    weights: np.ndarray,
    window_attrs: tuple[list[int], list[int], list[int]],
    out: Tensor,
) -> None:
    """The product sums of a depthwise conv in f32 levels (the NHWC depthwise kernels; exact:
    bounded below 2^24), cast to i32 before the bias is added there."""
    x, w = g.tensor(op, 0), g.tensor(op, 1)
    strides, dilations, pads = window_attrs
    one = g.constant(np.array(1.0, np.float32), f"{x.name}.unit")
    x_levels = g.emit1(
        "DequantizeLinear", [g.value(op, 0), one, _zero_points(g, x)], TensorType(f32, x.shape)
    )
    q = w.quantization
    assert q is not None
    levels = (weights.astype(np.float32) - np.array(q.zero_point, np.float32)).astype(np.float32)
    kh, kw, c = weights.shape[1:]
    filt = g.constant(levels.reshape(kh, kw, 1, c), f"{g.label}.filter")
    sums = g.emit1(NhwcConvOp, [x_levels, filt, None], TensorType(f32, out.shape),
                   strides=strides, dilations=dilations, pads=pads, group=x.shape[3],
                   kernel_shape=[kh, kw])  # fmt: skip
    _sum_defined(g, op, g.emit1("Cast", [sums], TensorType(i32, out.shape), to=ONNX_INT32), out)


def integer_fully_connected(g: GraphBuilder, op: Operator) -> None:
    """FULLY_CONNECTED as MatMulInteger of x as rows by the weights transposed (in x units)."""
    x, out = g.tensor(op, 0), g.output(op)
    weights = g.const_array(op, 1, "weights")
    if weights.ndim != 2 or weights.shape[1] == 0 or int(np.prod(x.shape)) % weights.shape[1]:
        g.fail(op, f"input {list(x.shape)} does not match weights {list(weights.shape)}")
    _integer_rows_by(g, op, weights, out)
