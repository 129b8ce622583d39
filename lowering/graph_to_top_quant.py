"""QuantizeLinear and DequantizeLinear (opsets 10-28) as exact elementwise `top.generic`s:

    dequantize_linear(x, scale, zp) = (f32(x) - f32(zp)) * scale
    quantize_linear(x, scale, zp)   = clamp(roundeven(x / scale) + zp, qmin, qmax)  integer y
                                    = cast(x / scale + zp, saturate)                 float8 / 4 y

computed in f32 (f16 / bf16 scales widen; the result is rounded once), ties rounded to even
and integers saturated, as ONNX defines them. The scale and zero point (same shape) are
per tensor (one element), per axis (1-D, one per index of dim `axis` of x) or blocked
(`block_size` > 0: x's rank, dim `axis` of size ceil(x[axis] / block_size)); their maps
read element d_axis, or d_axis floordiv block_size. A missing zero point is 0 (its type:
uint8, or `output_dtype`). These are the exact integer semantics every back end runs; the
int8 kernels of the devices are separate lowerings of fused quantized ops.

The integer ops accumulate exactly in i32 (wrapping, as ONNX allows), never in float:

    conv_integer(x, w, xz, wz)     = top.conv2d of i32(x) - i32(xz) by i32(w) - i32(wz)
        by constant 8-bit w (2-D, xz one element): the 8-bit top.conv2d of x' = x - sa
        padded with xz - sa by w' = w - sw into i32, corrected as below per output channel
        (K = C * KH * KW, rowsum(a') an 8-bit conv by ones); grouped (up to MAX_SPLIT_GROUPS
        groups of several channels) one such conv per group of x's channels, concatenated;
        depthwise, the i32 conv (top-to-loop's direct depthwise kernel takes i32)
    mat_mul_integer(a, b, az, bz)  = top.matmul of i32(a) - i32(az) and i32(b) - i32(bz);
        by a 2-D constant b: an 8-bit dot-product matmul (sdot / udot on AArch64) of
        a' = a - sa and b'^T = (b - sb)^T, sa / sb = 128 for uint8 (else 0), corrected
        sum_k (a - az)(b - bz) = P - az' colsum(b') - bz' rowsum(a') + K az' bz'
        with P = a' . b', az' = az - sa, bz' = bz - sb (rowsum is a dot product with ones)
    dynamic_quantize_linear(x)     = quantize_linear(x, s, z) with, over all of x,
        lo, hi = min(0, min x), max(0, max x); s = (hi - lo, or 1 if hi = lo) / 255
        z = saturate(roundeven(-lo / s))                                  (uint8)

A per-axis zero point of conv_integer's w is per output channel (dim 0); of
mat_mul_integer's a per row (dim -2), of b per column (dim -1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from math import prod
from typing import cast

import numpy as np
from xdsl.dialects import arith, math
from xdsl.dialects.builtin import (
    AnySignlessIntegerType,
    IntegerType,
    Signedness,
    TensorType,
    f32,
    i8,
    i32,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineExpr, AffineMap

from lamina.dialects import graph, top
from lamina.lowering.graph_to_top_common import (
    Body,
    Emitter,
    GraphLowering,
    broadcast_map,
    constant_value,
    elt_of,
    integer_type,
    is_none,
    is_unsigned,
    normalize_axis,
)
from lamina.lowering.graph_to_top_elementwise import convert
from lamina.lowering.graph_to_top_nn import convolution, matmul, window_attrs


def parameter_map(
    e: Emitter, x: Sequence[int], param: Sequence[int], axis: int, block: int
) -> AffineMap:
    """How a scale / zero point of shape `param` is read at each element of x (shape `x`):
    per tensor, per `axis`, in blocks along `axis`, or (x's rank) broadcast, as the graph
    verifier (dialects/graph_quant.py) admits them."""
    rank = len(x)
    if (prod(param) == 1 and len(param) <= 1) or (block == 0 and len(param) == rank > 1):
        return broadcast_map(param, x)
    axis = normalize_axis(e, axis, rank)
    if block > 0:
        dims: list[AffineExpr] = [AffineDimExpr(d) for d in range(rank)]
        dims[axis] = AffineDimExpr(axis) // block
        return AffineMap(rank, 0, tuple(dims))
    return AffineMap(rank, 0, (AffineDimExpr(axis),))


def _parameters(e: Emitter, op: Operation) -> tuple[list[SSAValue], list[AffineMap]]:
    """x, the scale and the zero point (when given) with their maps over x's shape."""
    x, scale, zero_point = op.operands
    attrs = e.attrs()
    xs, ss = e.static(x), e.static(scale)
    axis, block = int(cast(int, attrs["axis"])), int(cast(int, attrs["block_size"]))
    params, maps = [x, scale], [AffineMap.identity(len(xs)), parameter_map(e, xs, ss, axis, block)]
    if not is_none(zero_point):
        zs = e.static(zero_point)
        params.append(zero_point)
        maps.append(parameter_map(e, xs, zs, axis, block))
    return params, maps


def _to_f32(b: Body, value: SSAValue) -> SSAValue:
    return convert(b, value, f32)


ScaleFormula = Callable[[Body, SSAValue, SSAValue, Sequence[SSAValue]], SSAValue]
"""(body, x, scale, [zero point] or [] when absent), all f32 -> the result element."""


def _scale_generic(e: Emitter, op: Operation, formula: ScaleFormula, unsigned: bool) -> SSAValue:
    """The generic of a (de)quantize_linear `op`: `formula` at each element of x, with the
    scale and zero point read through their `_parameters` maps; `unsigned` as in `Body`."""
    result = e.static_result()
    inputs, maps = _parameters(e, op)

    def body(b: Body, values: Sequence[SSAValue]) -> SSAValue:
        x, scale, *zero_point = [_to_f32(b, b.signless(v)) for v in values]
        return formula(b, x, scale, zero_point)

    return e.generic(inputs, result, body, maps, unsigned=unsigned)


class DequantizeLinearLowering(GraphLowering):
    """dequantize_linear(x, scale, zp) -> top.generic of (f32(x) - f32(zp)) * scale."""

    source = (graph.DequantizeLinearOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        element = elt_of(op.results[0])

        def formula(
            b: Body, x: SSAValue, scale: SSAValue, zero_point: Sequence[SSAValue]
        ) -> SSAValue:
            shifted = b.sub(x, zero_point[0]) if zero_point else x
            return convert(b, b.mul(shifted, scale), element)

        return [_scale_generic(e, op, formula, is_unsigned(elt_of(op.operands[0])))]


class QuantizeLinearLowering(GraphLowering):
    """quantize_linear(x, scale, zp) -> top.generic of the module doc's formula."""

    source = (graph.QuantizeLinearOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        element = elt_of(op.results[0])
        saturate = bool(e.attrs()["saturate"])
        integer = integer_type(element)

        def formula(
            b: Body, x: SSAValue, scale: SSAValue, zero_point: Sequence[SSAValue]
        ) -> SSAValue:
            if integer is None:  # float8 / float4: the cast rounds and saturates
                scaled = b.div(x, scale)
                shifted = b.add(scaled, zero_point[0]) if zero_point else scaled
                return convert(b, shifted, element, saturate)
            return b.cast_to(_quantized(b, x, scale, zero_point, integer), element)

        unsigned = integer is not None and is_unsigned(integer)
        return [_scale_generic(e, op, formula, unsigned)]


def _quantized(
    b: Body,
    x: SSAValue,
    scale: SSAValue,
    zero_point: Sequence[SSAValue],
    integer: IntegerType[int, Signedness],
) -> SSAValue:
    """saturate(roundeven(x / scale) + zero_point) of f32 values, as signless `integer`."""
    rounded = b.emit(math.RoundEvenOp(b.div(x, scale)))
    shifted = b.add(rounded, zero_point[0]) if zero_point else rounded
    return _saturated(b, shifted, integer)


def _saturated(b: Body, value: SSAValue, integer: IntegerType[int, Signedness]) -> SSAValue:
    """The f32 `value` clamped to `integer`'s range (NaN gives 0, as onnxruntime's cast)
    and converted to it (signless, its bit pattern)."""
    bits = integer.bitwidth
    unsigned = integer.signedness.data == Signedness.UNSIGNED
    low, high = (0, (1 << bits) - 1) if unsigned else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    clamped = b.select(b.cmp("olt", value, b.like(low, value)), b.like(low, value), value)
    clamped = b.select(b.cmp("ogt", clamped, b.like(high, value)), b.like(high, value), clamped)
    clamped = b.select(b.cmp("uno", value, value), b.like(0, value), clamped)
    whole = b.emit(arith.FPToSIOp(clamped, IntegerType(32)))
    signless = cast(AnySignlessIntegerType, IntegerType(bits))
    return whole if bits == 32 else b.emit(arith.TruncIOp(whole, signless))


def _minus_zero_point(e: Emitter, value: SSAValue, zero_point: SSAValue, axis: int) -> SSAValue:
    """i32(value) - i32(zero_point) over value's shape; the zero point (of value's type) is
    absent or quantizes value per tensor or along dim `axis` (dialects/graph_quant.py)."""
    shape = e.static(value)
    inputs, maps = [value], [AffineMap.identity(len(shape))]
    if not is_none(zero_point):
        maps.append(parameter_map(e, shape, e.static(zero_point), axis, 0))
        inputs.append(zero_point)

    def body(b: Body, xs: Sequence[SSAValue]) -> SSAValue:
        v, *z = [convert(b, b.signless(x), i32) for x in xs]
        return b.sub(v, z[0]) if z else v

    unsigned = is_unsigned(elt_of(value))
    return e.generic(inputs, TensorType(i32, shape), body, maps, unsigned=unsigned)


MAX_SPLIT_GROUPS = 64
"""A grouped conv_integer of at most this many groups is one 8-bit conv per group."""


class ConvIntegerLowering(GraphLowering):
    """conv_integer -> top.conv2d over i32 operands less their zero points; a 2-D one by
    constant 8-bit weights (x's zero point one element; one group, or up to
    MAX_SPLIT_GROUPS groups of more than one channel) -> the 8-bit conv per group
    (`_dot_conv_integer`)."""

    source = (graph.ConvIntegerOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, w, x_zero_point, w_zero_point = op.operands
        weights, w_zero = constant_value(w), _constant_or_zero(w_zero_point)
        x_zero = _constant_or_zero(x_zero_point)
        groups = int(cast(int, e.attrs()["group"]))
        if (
            weights is not None
            and _are_bytes(x, weights)
            and weights.ndim == 4
            and w_zero is not None
            and (x_zero is not None or prod(e.static(x_zero_point)) == 1)
            and (x_zero is None or x_zero.size == 1)
            and _splits_into_dot_convs(groups, weights)
        ):
            zero = None if x_zero is None else int(x_zero.item())
            return [_grouped_dot_conv_integer(e, x, weights, (x_zero_point, zero), w_zero, groups)]
        xs = _minus_zero_point(e, x, x_zero_point, -1)
        ws = _minus_zero_point(e, w, w_zero_point, 0)
        return [convolution(e, xs, ws, None, e.static_result())]


class MatMulIntegerLowering(GraphLowering):
    """mat_mul_integer -> top.matmul over i32 operands less their zero points."""

    source = (graph.MatMulIntegerOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        a, b, a_zero_point, b_zero_point = op.operands
        weights, b_zero = constant_value(b), _constant_or_zero(b_zero_point)
        if (
            weights is not None
            and _are_bytes(a, weights)
            and weights.ndim == 2
            and len(e.static(a)) >= 2
            and b_zero is not None
            and (is_none(a_zero_point) or prod(e.static(a_zero_point)) == 1)
        ):
            return [_dot_mat_mul_integer(e, a, weights, a_zero_point, b_zero, e.static_result())]
        rows, columns = len(e.static(a)) - 2, len(e.static(b)) - 1
        a_less = _minus_zero_point(e, a, a_zero_point, rows)
        b_less = _minus_zero_point(e, b, b_zero_point, columns)
        return [matmul(e, a_less, b_less, e.static_result())]


def _are_bytes(x: SSAValue, weights: np.ndarray) -> bool:
    """x and the constant weights are 8-bit integers, what the dot-product kernels take."""
    integer = integer_type(elt_of(x))
    return integer is not None and integer.bitwidth == 8 and weights.dtype.itemsize == 1


def _constant_or_zero(zero_point: SSAValue) -> np.ndarray | None:
    """An absent zero point as 0, a constant one as its array, None if computed."""
    return np.zeros((), np.int32) if is_none(zero_point) else constant_value(zero_point)


def _signed_bytes(array: np.ndarray) -> tuple[np.ndarray, int]:
    """An 8-bit integer array as int8 less its shift (128 for uint8, else 0), and the shift."""
    shift = 128 if array.dtype == np.uint8 else 0
    return (array.astype(np.int16) - shift).astype(np.int8), shift


def _splits_into_dot_convs(groups: int, weights: np.ndarray) -> bool:
    """Whether a conv_integer of `groups` groups by `weights` [F, C/groups, KH, KW] is one
    8-bit conv per group: one group, or a few groups of more than one input channel each
    (a depthwise conv stays an i32 conv)."""
    return groups == 1 or (groups <= MAX_SPLIT_GROUPS and weights.shape[1] > 1)


def _grouped_dot_conv_integer(
    e: Emitter,
    x: SSAValue,
    weights: np.ndarray,
    x_zero: tuple[SSAValue, int | None],
    w_zero: np.ndarray,
    groups: int,
) -> SSAValue:
    """conv_integer of `x` in `groups` groups: `_dot_conv_integer` of each group's channel
    slice of x by its filters (and their zero points), concatenated along the channels."""
    result = e.static_result()
    if groups == 1:
        return _dot_conv_integer(e, x, weights, x_zero, w_zero, result)
    n, c, h, w = e.static(x)
    channels, filters = c // groups, weights.shape[0] // groups
    _, _, oh, ow = result.get_shape()
    parts: list[SSAValue] = []
    for g in range(groups):
        part = TensorType(elt_of(x), (n, channels, h, w))
        x_g = e.emit(top.SliceOp(x, part, offsets=[0, g * channels, 0, 0], strides=[1] * 4))
        rows = slice(g * filters, (g + 1) * filters)
        zero = w_zero if w_zero.size == 1 else w_zero.reshape(-1)[rows]
        y_g = TensorType(i32, (n, filters, oh, ow))
        parts.append(_dot_conv_integer(e, x_g, weights[rows], x_zero, zero, y_g))
    return e.emit(top.ConcatOp(parts, result, axis=1))


def _dot_conv_integer(
    e: Emitter,
    x: SSAValue,
    weights: np.ndarray,
    x_zero: tuple[SSAValue, int | None],
    w_zero: np.ndarray,
    result: TensorType[Attribute],
) -> SSAValue:
    """conv_integer of N x C x H x W `x` by the constant `weights` [F, C, KH, KW] (one group)
    into `result` as an 8-bit `top.conv2d` into i32 and its zero-point corrections
    (`_corrected`): x in signed bytes (`_signed`) padded with its zero point (so that
    padding adds nothing to the sums; `x_zero`: the operand, and its value when constant),
    the conv unpadded. The window attributes are the op's (`e.attrs()`)."""
    n, c, h, w = e.static(x)
    f, _, kh, kw = weights.shape
    strides, dilations, low, high = window_attrs(e, (n, c, h, w), (kh, kw))
    x, x_shift = _signed(e, x)
    x_zero_point, zero = x_zero
    if any(low + high):
        padded = TensorType(elt_of(x), (n, c, h + low[0] + high[0], w + low[1] + high[1]))
        value = None if zero is None else e.scalar(zero - x_shift, i8)
        x = e.emit(top.PadOp(x, padded, mode=top.PadMode.CONSTANT, low=[0, 0, *low],
                             high=[0, 0, *high], value=value))  # fmt: skip
        if zero is None:
            x = _fill_pads(e, x, (x_zero_point, x_shift), (h, w), low)
    signed, w_shift = _signed_bytes(weights)

    def conv(filter: np.ndarray, name: str, result_type: TensorType[Attribute]) -> SSAValue:
        constant = e.emit(graph.ConstantOp.from_array(filter, name))
        return e.emit(top.Conv2dOp(x, constant, result_type, layout=top.ConvLayout.NCHW_FCHW,
                                   strides=strides, dilations=dilations))  # fmt: skip

    product = conv(signed, "dot_filter", result)
    ones = np.ones((1, *weights.shape[1:]), np.int8)
    row_sums = partial(conv, ones, "dot_ones", TensorType(i32, (n, 1, *result.get_shape()[2:])))
    zero = (w_zero.astype(np.int32) - w_shift).reshape(-1)
    rows = signed.reshape(f, -1)
    return _corrected(e, product, row_sums, rows, zero, (x_zero_point, x_shift), 1)


def _fill_pads(
    e: Emitter,
    padded: SSAValue,
    zero: tuple[SSAValue, int],
    size: tuple[int, int],
    low: Sequence[int],
) -> SSAValue:
    """N x C x H' x W' `padded` (signed bytes) with its pads set to the computed one-element
    zero point less its shift (`zero`): a select on a constant H' x W' mask of the
    positions that came from the H x W input."""
    zero_point, shift = zero
    _, _, hp, wp = e.static(padded)
    inside = np.zeros((hp, wp), np.bool_)
    inside[low[0] : low[0] + size[0], low[1] : low[1] + size[1]] = True
    mask = e.emit(graph.ConstantOp.from_array(inside, "pad_mask"))
    d = [AffineDimExpr(i) for i in range(4)]
    scalar = tuple(AffineConstantExpr(0) for _ in e.static(zero_point))
    maps = [AffineMap.identity(4), AffineMap(4, 0, (d[2], d[3])), AffineMap(4, 0, scalar)]

    def select(b: Body, v: Sequence[SSAValue]) -> SSAValue:
        wide = convert(b, b.signless(v[2]), i32)
        pad = convert(b, b.sub(wide, b.like(shift, wide)), i8)
        return b.select(v[1], v[0], pad)

    unsigned = is_unsigned(elt_of(zero_point))
    inputs = [padded, mask, zero_point]
    return e.generic(inputs, TensorType(i8, e.static(padded)), select, maps, unsigned=unsigned)


def _dot_mat_mul_integer(
    e: Emitter,
    a: SSAValue,
    weights: np.ndarray,
    a_zero_point: SSAValue,
    b_zero: np.ndarray,
    result: TensorType[Attribute],
) -> SSAValue:
    """mat_mul_integer by the constant `weights` [K, N] as an int8 dot-product matmul (B
    transposed) and its zero-point corrections (`_corrected`), of type `result`."""
    k = weights.shape[0]
    a, a_shift = _signed(e, a)
    w, b_shift = _signed_bytes(weights)

    def matmul(matrix: np.ndarray, name: str, result_type: TensorType[Attribute]) -> SSAValue:
        columns = e.emit(graph.ConstantOp.from_array(matrix, name))
        return e.emit(top.MatmulOp(a, columns, result_type, transpose_rhs=True))

    product = matmul(np.ascontiguousarray(w.T), "dot_weights", result)
    row_type = TensorType(i32, (*result.get_shape()[:-1], 1))
    row_sums = partial(matmul, np.ones((1, k), np.int8), "dot_ones", row_type)
    zero = b_zero.astype(np.int32).reshape(-1) - b_shift
    rank = len(result.get_shape())
    columns = np.ascontiguousarray(w.T)
    return _corrected(e, product, row_sums, columns, zero, (a_zero_point, a_shift), rank - 1)


def _signed(e: Emitter, a: SSAValue) -> tuple[SSAValue, int]:
    """8-bit `a` as signed bytes: less 128 (a generic) when unsigned, and that shift."""
    if not is_unsigned(elt_of(a)):
        return a, 0

    def to_signed(b: Body, v: Sequence[SSAValue]) -> SSAValue:
        wide = convert(b, b.signless(v[0]), i32)
        return convert(b, b.sub(wide, b.like(128, wide)), i8)

    return e.generic([a], TensorType(i8, e.static(a)), to_signed, unsigned=True), 128


def _corrected(
    e: Emitter,
    product: SSAValue,
    row_sums: Callable[[], SSAValue],
    w: np.ndarray,
    b_zero: np.ndarray,
    a_zero: tuple[SSAValue, int],
    channel_axis: int,
) -> SSAValue:
    """The module doc's corrections of the 8-bit `product` P = a' . w' by output channel
    (dim `channel_axis` of P: 1 of an NCHW conv, the last of a matmul): `w` [F, K] the
    signed weights w' of each channel, `b_zero` bz' (one per channel or for all), `a_zero`
    (az, the shift of a);
    `row_sums()` emits rowsum(a') broadcastable against P, needed when bz' is not 0."""
    result = cast(TensorType[Attribute], product.type)
    rank, channels = len(result.get_shape()), w.shape[0]

    def per_channel(values: np.ndarray, name: str) -> SSAValue:
        shape = (channels, *[1] * (rank - 1 - channel_axis)) if values.size > 1 else (1,)
        return e.emit(graph.ConstantOp.from_array(values.reshape(shape), name))

    a_zero_point, a_shift = a_zero
    with_rows = bool(b_zero.any())  # the bz' rowsum(a') term
    with_columns = not is_none(a_zero_point) or a_shift != 0  # az' != 0: colsum, K terms
    terms: list[SSAValue] = [product]
    if with_rows:
        terms += [row_sums(), per_channel(b_zero, "dot_b_zero")]
    if with_columns:
        terms.append(per_channel(w.sum(axis=1, dtype=np.int32), "dot_column_sums"))
        if not is_none(a_zero_point):
            terms.append(a_zero_point)
    if len(terms) == 1:
        return product
    k = w.shape[1]

    def correct(b: Body, v: Sequence[SSAValue]) -> SSAValue:
        y, rest = v[0], list(v[1:])
        zb = None
        if with_rows:
            rows, zb, *rest = rest
            y = b.sub(y, b.mul(zb, rows))
        if with_columns:
            sums, *given = rest
            za = convert(b, b.signless(given[0]), i32) if given else b.like(0, y)
            za = b.sub(za, b.like(a_shift, y))
            y = b.sub(y, b.mul(za, sums))
            if zb is not None:
                y = b.add(y, b.mul(b.mul(za, zb), b.like(k, y)))
        return y

    unsigned = not is_none(a_zero_point) and is_unsigned(elt_of(a_zero_point))
    return e.generic(terms, result, correct, unsigned=unsigned)


class DynamicQuantizeLinearLowering(GraphLowering):
    """dynamic_quantize_linear -> top.reduce min / max over x, generics of the scale and
    zero point (module doc), and quantize_linear's generic."""

    source = (graph.DynamicQuantizeLinearOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x = op.operands[0]
        rank = len(e.static(x))
        y, scale, zero_point = (e.static_result(i) for i in range(3))
        if elt_of(x) != f32 or scale.element_type != f32:
            raise e.fail(f"a dynamic quantization of {x.type}")
        integer = integer_type(y.element_type)
        if integer is None or not is_unsigned(integer) or integer.bitwidth != 8:
            raise e.fail(f"a dynamic quantization to {y}")

        def extreme(kind: top.ReduceKind) -> SSAValue:
            if rank == 0:
                return x
            axes = list(range(rank))
            return e.emit(top.ReduceOp(x, scale, kind=kind, axes=axes, keepdims=False))

        low, high = extreme(top.ReduceKind.MIN), extreme(top.ReduceKind.MAX)

        def step(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            lo, hi = b.min(v[0], b.like(0, v[0])), b.max(v[1], b.like(0, v[1]))
            span = b.select(b.cmp("oeq", hi, lo), b.like(1, hi), b.sub(hi, lo))
            return b.div(span, b.like(255, span))

        y_scale = e.generic([low, high], scale, step)

        def zero(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            lo = b.min(v[0], b.like(0, v[0]))
            return b.cast_to(_quantized(b, b.neg(lo), v[1], [], integer), integer)

        y_zero_point = e.generic([low, y_scale], zero_point, zero, unsigned=True)

        def quantized(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            xf, s, z = v[0], v[1], _to_f32(b, b.signless(v[2]))
            return b.cast_to(_quantized(b, xf, s, [z], integer), integer)

        y_value = e.generic([x, y_scale, y_zero_point], y, quantized, unsigned=True)
        return [y_value, y_scale, y_zero_point]


QUANT_LOWERINGS: tuple[type[GraphLowering], ...] = (
    DequantizeLinearLowering,
    QuantizeLinearLowering,
    ConvIntegerLowering,
    MatMulIntegerLowering,
    DynamicQuantizeLinearLowering,
)
