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
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import cast

from xdsl.dialects import arith, math
from xdsl.dialects.builtin import AnySignlessIntegerType, IntegerType, Signedness, f32
from xdsl.ir import Operation, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineExpr, AffineMap

from lamina.dialects import graph
from lamina.lowering.graph_to_top_common import (
    Body,
    Emitter,
    GraphLowering,
    broadcast_map,
    elt_of,
    integer_type,
    is_none,
    is_unsigned,
    normalize_axis,
)
from lamina.lowering.graph_to_top_elementwise import convert


def parameter_map(
    e: Emitter, x: Sequence[int], param: Sequence[int], axis: int, block: int
) -> AffineMap:
    """How a scale / zero point of shape `param` is read at each element of x (shape `x`)."""
    rank = len(x)
    if prod(param) == 1 and len(param) <= 1:
        return broadcast_map(param, x)
    axis = normalize_axis(e, axis, rank)
    if block > 0:
        if len(param) != rank or param[axis] != -(-x[axis] // block):
            raise e.fail(
                f"a blocked scale of shape {list(param)} for x {list(x)}, block_size {block}"
            )
        dims: list[AffineExpr] = [AffineDimExpr(d) for d in range(rank)]
        dims[axis] = AffineDimExpr(axis) // block
        return AffineMap(rank, 0, tuple(dims))
    if len(param) != 1 or param[0] != x[axis]:
        raise e.fail(f"a per-axis scale of shape {list(param)} for x {list(x)} on axis {axis}")
    return AffineMap(rank, 0, (AffineDimExpr(axis),))


def _parameters(e: Emitter, op: Operation) -> tuple[list[SSAValue], list[AffineMap]]:
    """x, the scale and the zero point (when given) with their maps over x's shape."""
    x, scale, zero_point = op.operands
    attrs = e.attrs()
    xs, ss = e.static(x), e.static(scale)
    axis, block = int(cast(int, attrs["axis"])), int(cast(int, attrs["block_size"]))
    if block < 0:
        raise e.fail(f"block_size {block}")
    params, maps = [x, scale], [AffineMap.identity(len(xs)), parameter_map(e, xs, ss, axis, block)]
    if not is_none(zero_point):
        zs = e.static(zero_point)
        if zs != ss and not prod(zs) == prod(ss) == 1:
            raise e.fail(
                f"a zero point {zero_point.type} of another shape than the scale {scale.type}"
            )
        params.append(zero_point)
        maps.append(parameter_map(e, xs, zs, axis, block))
    return params, maps


def _to_f32(b: Body, value: SSAValue) -> SSAValue:
    return convert(b, value, f32)


class DequantizeLinearLowering(GraphLowering):
    """dequantize_linear(x, scale, zp) -> top.generic of (f32(x) - f32(zp)) * scale."""

    source = (graph.DequantizeLinearOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        result = e.static_result()
        inputs, maps = _parameters(e, op)
        element = result.get_element_type()

        def body(b: Body, xs: Sequence[SSAValue]) -> SSAValue:
            x, scale, *zero_point = [_to_f32(b, b.signless(v)) for v in xs]
            shifted = b.sub(x, zero_point[0]) if zero_point else x
            return convert(b, b.mul(shifted, scale), element)

        unsigned = is_unsigned(elt_of(op.operands[0]))
        return [e.generic(inputs, result, body, maps, unsigned=unsigned)]


class QuantizeLinearLowering(GraphLowering):
    """quantize_linear(x, scale, zp) -> top.generic of the module doc's formula."""

    source = (graph.QuantizeLinearOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        result = e.static_result()
        inputs, maps = _parameters(e, op)
        element = result.get_element_type()
        saturate = bool(e.attrs()["saturate"])
        integer = integer_type(element)

        def body(b: Body, xs: Sequence[SSAValue]) -> SSAValue:
            x, scale, *zero_point = [_to_f32(b, b.signless(v)) for v in xs]
            scaled = b.div(x, scale)
            if integer is None:  # float8 / float4: the cast rounds and saturates
                shifted = b.add(scaled, zero_point[0]) if zero_point else scaled
                return convert(b, shifted, element, saturate)
            rounded = b.emit(math.RoundEvenOp(scaled))
            shifted = b.add(rounded, zero_point[0]) if zero_point else rounded
            return b.cast_to(_saturated(b, shifted, integer), element)

        unsigned = integer is not None and is_unsigned(integer)
        return [e.generic(inputs, result, body, maps, unsigned=unsigned)]


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


QUANT_LOWERINGS: tuple[type[GraphLowering], ...] = (
    DequantizeLinearLowering,
    QuantizeLinearLowering,
)
