"""Lowerings of the shape ops whose results have dynamic dims: their sizes come from the
symbolic shapes of the function (graph_dims.py) rather than from the result types. They
run before the static lowerings of the same ops and leave static ops to those.

    %y = graph.reshape %x, %shape : (tensor<1x?x32xf32>, tensor<4xi64>) -> tensor<1x?x4x8xf32>
 ->
    %n = top.dim %ids, 1 : tensor<1x?xi64>
    %y = top.reshape %x(%n) : tensor<1x?x32xf32> -> tensor<1x?x4x8xf32>

Shape of a tensor with dynamic dims is built at run time (each dim a one-element
`top.fill`, joined by `top.concat`); what reads it as a shape operand (Reshape, Slice,
Expand, ...) uses the symbolic value instead, so the built tensor is often left unused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from xdsl.dialects import arith
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    AnyFloat,
    IntegerType,
    TensorType,
    UnrankedTensorType,
    i64,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineExpr, AffineMap
from xdsl.pattern_rewriter import PatternRewriter

from lamina.dialects import graph, top
from lamina.dialects.top_shape import IndexOp
from lamina.lowering.graph_dims import has_dynamic_dims
from lamina.lowering.graph_dims_rules import slice_axes_steps
from lamina.lowering.graph_to_top_common import (
    Body,
    Emitter,
    GraphLowering,
    broadcast_map,
    constant_value,
    elt_of,
    is_none,
)


class DynamicLowering(GraphLowering):
    """A lowering for ops with a dynamic operand or result; static ones are left to the
    static lowering of the same op."""

    dynamic_dims = True

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        values = (*op.operands, *op.results)
        if any(isinstance(v.type, UnrankedTensorType) for v in values):
            return  # the static lowering says what it says of unranked tensors
        if any(has_dynamic_dims(v) for v in values):
            super().match_and_rewrite(op, rewriter)


class DynamicReshapeLowering(DynamicLowering):
    """Reshape, Flatten, Squeeze, Unsqueeze: `top.reshape` with the result's symbolic dims."""

    source = (graph.ReshapeOp, graph.FlattenOp, graph.SqueezeOp, graph.UnsqueezeOp)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        result = op.results[0]
        shape = e.static(result)
        return [e.reshape(op.operands[0], shape, e.dims(result))]


class DynamicShapeLowering(DynamicLowering):
    """Shape of a tensor with dynamic dims: the i64 tensor of its dims at run time."""

    source = (graph.ShapeOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x = op.operands[0]
        rank = len(e.static(x))
        attrs = e.attrs()
        start, end = int(cast(int, attrs["start"])), attrs.get("end")
        picked = range(rank)[slice(start, None if end is None else int(cast(int, end)))]
        one = TensorType(i64, [1])
        parts = [
            e.emit(top.FillOp(e.emit(arith.IndexCastOp(e.size(e.dims(x)[axis]), i64)), one))
            for axis in picked
        ]
        if len(parts) == 1:
            return parts
        result = TensorType(i64, [len(parts)])
        return [e.emit(top.ConcatOp(parts, result, axis=0))]


class DynamicSliceLowering(DynamicLowering):
    """Slice with constant starts and positive steps of a dynamic tensor, or with ends
    that are sizes (`Shape` arithmetic): a copy reading `x[start + step * i]`."""

    source = (graph.SliceOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, result = op.operands[0], op.results[0]
        xs, shape = e.static(x), e.static(result)
        shapes = e.shapes
        if shapes is None:
            raise e.fail("a dynamic Slice outside a function with dynamic inputs")
        starts = shapes.value(op.operands[1])
        if starts is None or not all(isinstance(s, int) and s >= 0 for s in starts):
            raise e.fail("a Slice of a dynamic dim whose starts are not non-negative constants")
        rank = len(xs)
        axes, steps = slice_axes_steps(op, shapes, rank, len(starts))
        if any(s <= 0 for s in steps):
            raise e.fail("a Slice of a dynamic dim with a negative step")
        exprs: list[AffineExpr] = [AffineDimExpr(d) for d in range(rank)]
        for axis, start, step in zip(axes, starts, steps, strict=True):
            exprs[axis] = AffineDimExpr(axis) * step + AffineConstantExpr(int(cast(int, start)))
        result_type = TensorType(elt_of(x), shape)
        read = AffineMap(rank, 0, tuple(exprs))
        return [e.generic([x], result_type, lambda b, v: v[0], [read], dims=e.dims(result))]


class DynamicExpandLowering(DynamicLowering):
    """Expand to a shape computed from dims: a copy reading `x` broadcast (numpy rules)."""

    source = (graph.ExpandOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, result = op.operands[0], op.results[0]
        shape = e.static(result)
        result_type = TensorType(elt_of(x), shape)
        read = broadcast_map(e.static(x), shape)
        return [e.generic([x], result_type, lambda b, v: v[0], [read], dims=e.dims(result))]


class DynamicSplitLowering(DynamicLowering):
    """Split into parts of constant sizes along `axis`: one copy per part, reading `x`
    from the part's (constant) offset on; the other dims may be dynamic."""

    source = (graph.SplitOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x = op.operands[0]
        rank = len(e.static(x))
        axis = e.axis_attr(rank)
        parts: list[SSAValue | None] = []
        offset = 0
        for result in op.results:
            shape = e.static(result)
            if shape[axis] == DYNAMIC_INDEX:
                raise e.fail("a Split into parts of dynamic size")
            exprs: list[AffineExpr] = [AffineDimExpr(d) for d in range(rank)]
            exprs[axis] = AffineDimExpr(axis) + AffineConstantExpr(offset)
            read = AffineMap(rank, 0, tuple(exprs))
            result_type = TensorType(elt_of(x), shape)
            copy = e.generic([x], result_type, lambda b, v: v[0], [read], dims=e.dims(result))
            parts.append(copy)
            offset += shape[axis]
        return parts


class DynamicRangeLowering(DynamicLowering):
    """Range of a length computed from dims: start + i * delta over `top.index`."""

    source = (graph.RangeOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        start, _, delta = op.operands
        result = op.results[0]
        result_type = TensorType(elt_of(start), e.static(result))
        scalar = AffineMap(1, 0, ())

        def body(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            position = b.emit(IndexOp(0))
            element: Attribute = v[0].type
            if isinstance(element, IntegerType):
                step = b.emit(arith.IndexCastOp(position, cast(IntegerType, element)))
            else:
                count = b.emit(arith.IndexCastOp(position, i64))
                step = b.emit(arith.SIToFPOp(count, cast(AnyFloat, element)))
            return b.add(v[0], b.mul(step, v[1]))

        return [e.generic([start, delta], result_type, body, [scalar, scalar], dims=e.dims(result))]


class DynamicResizeLowering(DynamicLowering):
    """Nearest Resize by integer scales of a dynamic tensor where the source of output i is
    i floordiv scale (asymmetric + floor, or half_pixel + round_prefer_floor)."""

    source = (graph.ResizeOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, _, scales, _ = op.operands
        result = op.results[0]
        attrs = e.attrs()
        mode, nearest = attrs.get("mode"), attrs.get("nearest_mode")
        transform = attrs.get("coordinate_transformation_mode")
        floor_like = (transform, nearest) in {
            ("asymmetric", "floor"),
            ("half_pixel", "round_prefer_floor"),
        }
        given = constant_value(scales) if not is_none(scales) else None
        if mode != "nearest" or not floor_like or given is None or attrs.get("axes"):
            raise e.fail(
                "a Resize of a dynamic tensor other than nearest by constant integer scales "
                "(asymmetric + floor, or half_pixel + round_prefer_floor)"
            )
        factors = [float(f) for f in given.reshape(-1)]
        if any(f != int(f) or f < 1 for f in factors):
            raise e.fail(f"a Resize of a dynamic tensor by scales {factors} (integers only)")
        exprs: list[AffineExpr] = [
            AffineDimExpr(d) if f == 1 else AffineDimExpr(d) // int(f)
            for d, f in enumerate(factors)
        ]
        read = AffineMap(len(factors), 0, tuple(exprs))
        result_type = TensorType(elt_of(x), e.static(result))
        return [e.generic([x], result_type, lambda b, v: v[0], [read], dims=e.dims(result))]


DYNAMIC_LOWERINGS: tuple[type[GraphLowering], ...] = (
    DynamicReshapeLowering,
    DynamicShapeLowering,
    DynamicSliceLowering,
    DynamicExpandLowering,
    DynamicSplitLowering,
    DynamicRangeLowering,
    DynamicResizeLowering,
)

__all__ = ["DYNAMIC_LOWERINGS", "DynamicLowering"]
