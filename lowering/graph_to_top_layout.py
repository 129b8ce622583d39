"""Layout and simple data-movement graph ops -> existing top ops: Tile (reshape, broadcast,
reshape),
CenterCropPad (slice, pad), Compress with a constant condition (gather of the kept
positions), ReverseSequence (a `select_sum` over time), OneHot (a compare with an iota) and
EyeLike (a constant: it reads only its input's shape).

Every shape-deciding operand (Tile's repeats, CenterCropPad's shape, OneHot's depth,
Compress's condition) must be a constant; a computed one raises "not supported".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
from xdsl.dialects.builtin import TensorType, i64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineMap

from lamina.dialects import graph, top
from lamina.dialects.weights import numpy_dtype
from lamina.lowering.graph_to_top_common import (
    Body,
    Emitter,
    GraphLowering,
    elt_of,
    ints,
    normalize_axis,
)
from lamina.lowering.graph_to_top_elementwise import convert
from lamina.lowering.graph_to_top_index import dim_map, iota, select_sum


class TileLowering(GraphLowering):
    """tile(x: s0 s1 .., r) = reshape(broadcast(reshape(x, 1 s0 1 s1 ..), r0 s0 r1 s1 ..))."""

    source = (graph.TileOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, repeats_v = op.operands
        xs = e.static(x)
        repeats = ints(e.constant(repeats_v, "repeats").reshape(-1).tolist())
        result = e.static_result()
        if len(repeats) != len(xs):
            raise e.fail(f"{len(repeats)} repeats for rank {len(xs)}")
        if all(r == 1 for r in repeats):
            return [x]
        spread = e.reshape(x, [d for s in xs for d in (1, s)])
        wide = [d for s, r in zip(xs, repeats, strict=True) for d in (r, s)]
        tiled = e.emit(top.BroadcastOp(spread, TensorType(elt_of(x), wide)))
        return [e.reshape(tiled, result.get_shape())]


class CenterCropPadLowering(GraphLowering):
    """center_crop_pad(x, shape): per axis a centred top.slice where x is larger, then one
    top.pad (zeros) where it is smaller; the crop starts at (in - out) / 2 rounded down,
    the pad puts (out - in) / 2 rounded down before."""

    source = (graph.CenterCropPadOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, shape_v = op.operands
        xs = e.static(x)
        rank = len(xs)
        target = ints(e.constant(shape_v, "shape").reshape(-1).tolist())
        axes_attr = e.attrs().get("axes")
        axes = list(range(rank)) if axes_attr is None else ints(axes_attr)
        wanted = list(xs)
        for axis, size in zip(axes, target, strict=True):
            wanted[normalize_axis(e, axis, rank)] = size
        cropped = [min(s, t) for s, t in zip(xs, wanted, strict=True)]
        starts = [(s - c) // 2 for s, c in zip(xs, cropped, strict=True)]
        y = x
        if cropped != list(xs):
            sliced = TensorType(elt_of(x), cropped)
            y = e.emit(top.SliceOp(x, sliced, offsets=starts, strides=[1] * rank))
        low = [(t - c) // 2 for t, c in zip(wanted, cropped, strict=True)]
        high = [t - c - lo for t, c, lo in zip(wanted, cropped, low, strict=True)]
        if any(low + high):
            padded = TensorType(elt_of(x), wanted)
            y = e.emit(top.PadOp(y, padded, mode=top.PadMode.CONSTANT, low=low, high=high))
        return [y]


class CompressLowering(GraphLowering):
    """compress(x, condition) with a constant condition: top.gather of the positions where
    it is true, along `axis` (without one: of the flattened x)."""

    source = (graph.CompressOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, condition_v = op.operands
        xs = e.static(x)
        condition = e.constant(condition_v, "condition (the result shape depends on it)")
        kept = np.flatnonzero(condition.reshape(-1)).astype(np.int64)
        axis_attr = e.attrs().get("axis")
        if axis_attr is None:
            x = e.reshape(x, [int(np.prod(xs))])
            axis = 0
        else:
            axis = normalize_axis(e, int(cast(int, axis_attr)), len(xs))
        indices = e.emit(graph.ConstantOp.from_array(kept, "compress_indices"))
        return [e.emit(top.GatherOp(x, indices, e.static_result(), axis=axis))]


class ReverseSequenceLowering(GraphLowering):
    """reverse_sequence(x, lens): y[b, t] = x[b, t < lens[b] ? lens[b] - 1 - t : t] (over the
    batch and time axes): the source positions are computed into a [B, T] tensor, then a
    `select_sum` over time picks them."""

    source = (graph.ReverseSequenceOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, lens = op.operands
        xs = e.static(x)
        e.static(lens)
        rank = len(xs)
        batch = e.axis_attr(rank, "batch_axis", 1)
        time = e.axis_attr(rank, "time_axis", 0)
        source_type = TensorType(i64, [xs[batch], xs[time]])

        def position(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            length, t = convert(b, v[0], i64), v[1]
            reversed_t = b.sub(b.sub(length, b.like(1, t)), t)
            return b.select(b.cmp("olt", t, length), reversed_t, t)

        maps = [dim_map(2, 0), dim_map(2, 1)]
        source = e.generic([lens, iota(e, xs[time])], source_type, position, maps)
        key_map = AffineMap(rank + 1, 0, (AffineDimExpr(batch), AffineDimExpr(time)))
        result = e.static_result()
        return [select_sum(e, x, time, result, (source, key_map), "oeq")]


class OneHotLowering(GraphLowering):
    """one_hot(indices, depth, [off, on]) with a constant depth: y = (i mod depth == d) ?
    on : off, d an iota along the new `axis`; an index outside [-depth, depth) is off."""

    source = (graph.OneHotOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        indices, depth_v, values = op.operands
        shape = e.static(indices)
        depth = int(e.constant(depth_v, "depth").reshape(-1)[0])
        result = e.static_result()
        rank = len(shape) + 1
        axis = e.axis_attr(rank, default=-1)
        element = result.get_element_type()
        pair = [self._value(e, values, k, element) for k in (0, 1)]
        index_map = AffineMap(rank, 0, tuple(AffineDimExpr(d) for d in range(rank) if d != axis))
        first = AffineMap(rank, 0, (AffineConstantExpr(0),))

        def body(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            index, d, off, on = convert(b, v[0], i64), v[1], v[2], v[3]
            wrapped = b.select(b.cmp("olt", index, b.like(0, index)),
                               b.add(index, b.like(depth, index)), index)  # fmt: skip
            return b.select(b.cmp("oeq", wrapped, d), on, off)

        inputs = [indices, iota(e, depth), *pair]
        return [e.generic(inputs, result, body, [index_map, dim_map(rank, axis), first, first])]

    @staticmethod
    def _value(e: Emitter, values: SSAValue, k: int, element: Attribute) -> SSAValue:
        """values[k] as a 1-element tensor."""
        one = TensorType(element, [1])
        return e.emit(top.SliceOp(values, one, offsets=[k], strides=[1]))


class EyeLikeLowering(GraphLowering):
    """eye_like(x, k): a constant with ones on diagonal k (it reads only x's shape)."""

    source = (graph.EyeLikeOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        rows, cols = e.static(op.operands[0])
        result = e.static_result()
        k = int(cast(int, e.attrs().get("k", 0)))
        eye = np.eye(rows, cols, k, dtype=numpy_dtype(result.get_element_type()))
        return [e.emit(graph.ConstantOp.from_array(eye, "eye"))]


LAYOUT_LOWERINGS: tuple[type[GraphLowering], ...] = (
    TileLowering,
    CenterCropPadLowering,
    CompressLowering,
    ReverseSequenceLowering,
    OneHotLowering,
    EyeLikeLowering,
)
