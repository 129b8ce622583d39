"""Data-movement graph ops -> top reshape / concat / transpose / broadcast / pad / gather,
slices as copy generics, and shape computations folded into constants.

    reshape / flatten / squeeze / unsqueeze  ->  top.reshape to the (static) result type
    identity / dropout (inference)           ->  the input itself
    concat                                   ->  top.concat (axis resolved)
    transpose                                ->  top.transpose (default: reversed dims)
    expand                                   ->  top.broadcast
    slice / split                            ->  top.slice (constant starts / steps)
    pad (constant pads)                      ->  top.pad (a computed value: a select on a mask;
                                                 wrap: concat of slices)
    gather                                   ->  top.gather
    shape / size                             ->  graph.constant (static shapes)
    constant_of_shape (static result)        ->  top.fill
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineMap

from lamina.dialects import graph, top
from lamina.dialects.weights import numpy_dtype
from lamina.lowering.graph_to_top_common import (
    Emitter,
    GraphLowering,
    constant_value,
    elt_of,
    identity_map,
    ints,
    is_none,
    normalize_axis,
    shape_of,
    tensor_type,
)


class ReshapeLowering(GraphLowering):
    """Reshape, Flatten, Squeeze, Unsqueeze: the result type (static after shape inference)
    says the new shape; Reshape's 0 / -1 are resolved from the constant shape otherwise."""

    source = (graph.ReshapeOp, graph.FlattenOp, graph.SqueezeOp, graph.UnsqueezeOp)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x = op.operands[0]
        xs = e.static(x)
        result = op.results[0]
        described = str(result.type)
        if isinstance(result.type, TensorType) and -1 not in tensor_type(result).get_shape():
            return [e.reshape(x, tensor_type(result).get_shape())]
        if not isinstance(op, graph.ReshapeOp):
            raise e.fail(f"dynamic shape {described}")
        shape = ints(e.constant(op.operands[1], "the shape").tolist())
        if not e.attrs()["allowzero"]:
            shape = [xs[i] if d == 0 else d for i, d in enumerate(shape)]
        if -1 in shape:
            known = int(np.prod([d for d in shape if d != -1]))
            shape[shape.index(-1)] = int(np.prod(xs)) // max(known, 1)
        return [e.reshape(x, shape)]


class IdentityLowering(GraphLowering):
    """Identity, and Dropout that keeps every element: at inference (no training_mode, or a
    constant false one) or with a constant ratio of 0; its mask is then all true."""

    source = (graph.IdentityOp, graph.DropoutOp)
    dynamic_dims = True

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        if not isinstance(op, graph.DropoutOp):
            return [op.operands[0]]
        _, ratio, training = op.operands
        if not is_none(training):
            value = constant_value(training)
            if value is None:
                raise e.fail("Dropout with a computed training_mode")
            ratio_value = 0.5 if is_none(ratio) else constant_value(ratio)
            if bool(value.reshape(())) and (ratio_value is None or float(ratio_value) != 0):
                raise e.fail("Dropout in training mode with a ratio other than 0 (random)")
        mask = op.results[1]
        keep_all = e.fill(e.static_result(1), 1) if mask.uses else None
        return [op.operands[0], keep_all]


class ConcatLowering(GraphLowering):
    source = (graph.ConcatOp,)
    dynamic_dims = True

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        for value in op.operands:
            e.static(value)
        result = e.static_result()
        axis = e.axis_attr(len(result.get_shape()))
        if len(op.operands) == 1:
            return [op.operands[0]]
        return [e.emit(top.ConcatOp(list(op.operands), result, axis=axis))]


class TransposeLowering(GraphLowering):
    source = (graph.TransposeOp,)
    dynamic_dims = True

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        xs = e.static(op.operands[0])
        perm = ints(e.attrs().get("perm") or list(range(len(xs)))[::-1])
        return [e.emit(top.TransposeOp(op.operands[0], perm, e.static_result()))]


class ExpandLowering(GraphLowering):
    source = (graph.ExpandOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        e.static(op.operands[0])
        result = e.static_result()
        if shape_equal(op.operands[0], result):
            return [op.operands[0]]
        return [e.emit(top.BroadcastOp(op.operands[0], result))]


def shape_equal(value: SSAValue, type: TensorType[Attribute]) -> bool:
    return tensor_type(value).get_shape() == type.get_shape()


def _slice(
    e: Emitter, x: SSAValue, result: TensorType[Attribute], offsets: Sequence[int],
    strides: Sequence[int],
) -> SSAValue:  # fmt: skip
    """result[i] = x[offset + stride * i] per dim."""
    if shape_equal(x, result) and all(s == 1 for s in strides):
        return x
    return e.emit(top.SliceOp(x, result, offsets=offsets, strides=strides))


class SliceLowering(GraphLowering):
    """Slice with constant starts / ends / axes / steps (ONNX clamping rules)."""

    source = (graph.SliceOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, starts_v, ends_v, axes_v, steps_v = op.operands
        xs, result = e.static_in_out(x)
        starts = ints(e.constant(starts_v, "starts").tolist())
        ends = ints(e.constant(ends_v, "ends").tolist())
        axes = (
            list(range(len(starts)))
            if is_none(axes_v)
            else ints(e.constant(axes_v, "axes").tolist())
        )
        steps = (
            [1] * len(starts) if is_none(steps_v) else ints(e.constant(steps_v, "steps").tolist())
        )
        first, step_of = [0] * len(xs), [1] * len(xs)
        for axis, start, step in zip(axes, starts, steps, strict=True):
            axis = normalize_axis(e, axis, len(xs))
            size = xs[axis]
            if step == 0:
                raise e.fail("step 0")
            start = start + size if start < 0 else start
            start = min(max(start, 0), size) if step > 0 else min(max(start, 0), size - 1)
            first[axis], step_of[axis] = start, step
        del ends  # the result type already holds each extent
        return [_slice(e, x, result, first, step_of)]


class SplitLowering(GraphLowering):
    """Split along `axis` into consecutive slices, one top.slice per output."""

    source = (graph.SplitOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x = op.operands[0]
        xs = e.static(x)
        axis = e.axis_attr(len(xs))
        outputs: list[SSAValue | None] = []
        offset = 0
        for index in range(len(op.results)):
            result = e.static_result(index)
            starts = [offset if d == axis else 0 for d in range(len(xs))]
            outputs.append(_slice(e, x, result, starts, [1] * len(xs)))
            offset += result.get_shape()[axis]
        return outputs


class PadLowering(GraphLowering):
    """Pad with constant pads (non-negative), optional constant value and axes."""

    source = (graph.PadOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, pads_v, value_v, axes_v = op.operands
        xs, result = e.static_in_out(x)
        mode = str(e.attrs()["mode"])
        if mode not in ("constant", "reflect", "edge", "wrap"):
            raise e.fail(f"pad mode {mode}")
        pads = ints(e.constant(pads_v, "pads").tolist())
        axes = (
            list(range(len(xs))) if is_none(axes_v) else ints(e.constant(axes_v, "axes").tolist())
        )
        low, high = [0] * len(xs), [0] * len(xs)
        for i, axis in enumerate(axes):
            axis = normalize_axis(e, axis, len(xs))
            low[axis], high[axis] = pads[i], pads[i + len(axes)]
        if min(low + high) < 0:
            raise e.fail("negative pads")
        if mode == "wrap":
            return [_wrap(e, x, low, high)]
        computed = mode == "constant" and not is_none(value_v) and constant_value(value_v) is None
        value = None
        if mode == "constant" and not is_none(value_v) and not computed:
            array = e.constant(value_v, "constant_value")
            scalar = array.reshape(-1)[0].item() if array.size else 0
            if scalar != 0:
                value = e.scalar(scalar, elt_of(x))
        padded = e.emit(top.PadOp(x, result, mode=top.PadMode(mode), low=low, high=high,
                                  value=value))  # fmt: skip
        return [_fill_pads(e, padded, value_v, xs, low) if computed else padded]


def _wrap(e: Emitter, x: SSAValue, low: Sequence[int], high: Sequence[int]) -> SSAValue:
    """Pad mode wrap, one axis at a time: concat(x[size - low:], x, x[:high])."""
    for axis, (lo, hi) in enumerate(zip(low, high, strict=True)):
        shape = list(shape_of(x))
        if max(lo, hi) > shape[axis]:
            raise e.fail(f"wrap pads {lo}, {hi} larger than dim {axis} ({shape[axis]})")
        parts: list[SSAValue] = []
        for start, size in ((shape[axis] - lo, lo), (0, shape[axis]), (0, hi)):
            if size:
                part = [size if d == axis else s for d, s in enumerate(shape)]
                offsets = [start if d == axis else 0 for d in range(len(shape))]
                parts.append(_slice(e, x, TensorType(elt_of(x), part), offsets, [1] * len(shape)))
        if len(parts) > 1:
            shape[axis] += lo + hi
            x = e.emit(top.ConcatOp(parts, TensorType(elt_of(x), shape), axis=axis))
    return x


def _fill_pads(
    e: Emitter, padded: SSAValue, value: SSAValue, xs: Sequence[int], low: Sequence[int]
) -> SSAValue:
    """`padded` with its pads set to the computed one-element tensor `value`: a select
    between the two on a constant mask of the positions that came from the input."""
    size = int(np.prod(e.static(value)))
    if size != 1:
        raise e.fail(f"constant_value of {size} elements")
    ys = shape_of(padded)
    inside = np.zeros(ys, np.bool_)
    inside[tuple(slice(lo, lo + s) for lo, s in zip(low, xs, strict=True))] = True
    mask = e.emit(graph.ConstantOp.from_array(inside, "pad_mask"))
    rank = len(ys)
    first = AffineMap(rank, 0, tuple(AffineConstantExpr(0) for _ in shape_of(value)))
    maps = [identity_map(rank), identity_map(rank), first]
    return e.generic(
        [padded, mask, value], tensor_type(padded), lambda b, v: b.select(v[1], v[0], v[2]), maps
    )


class GatherLowering(GraphLowering):
    source = (graph.GatherOp,)
    dynamic_dims = True

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        data, indices = op.operands
        xs = e.static(data)
        e.static(indices)
        axis = e.axis_attr(len(xs))
        return [e.emit(top.GatherOp(data, indices, e.static_result(), axis=axis))]


class ShapeLowering(GraphLowering):
    """Shape / Size of a static tensor: a constant."""

    source = (graph.ShapeOp, graph.SizeOp)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        xs = e.static(op.operands[0])
        if isinstance(op, graph.SizeOp):
            array = np.array(int(np.prod(xs)), np.int64)
        else:
            attrs = e.attrs()
            start, end = int(cast(int, attrs["start"])), attrs.get("end")
            array = np.array(xs[slice(start, None if end is None else int(cast(int, end)))])
            array = array.astype(np.int64)
        return [e.emit(graph.ConstantOp.from_array(array, "shape"))]


class ConstantOfShapeLowering(GraphLowering):
    """ConstantOfShape with a static result: top.fill of its value (default 0.0)."""

    source = (graph.ConstantOfShapeOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        result = e.static_result()
        value = e.attrs().get("value")
        dtype = numpy_dtype(result.element_type)
        scalar = np.asarray(value, dtype).reshape(-1)[0].item() if value is not None else 0
        return [e.fill(result, scalar)]


SHAPE_LOWERINGS: tuple[type[GraphLowering], ...] = (
    ReshapeLowering,
    IdentityLowering,
    ConcatLowering,
    TransposeLowering,
    ExpandLowering,
    SliceLowering,
    SplitLowering,
    PadLowering,
    GatherLowering,
    ShapeLowering,
    ConstantOfShapeLowering,
)
