"""GatherND, ScatterND and ScatterElements -> `top.gather_nd` / `top.scatter_nd`, which
address elements by full index tuples (indices of shape [..., k]).

Positions the ONNX op implies are made explicit as extra tuple entries, concatenated in
front of (or around) the given indices:

    gather_nd(data, idx) {batch_dims = 1}   (data [B, ...], idx [B, m, k])
 -> top.gather_nd %data[concat(iota_B broadcast to [B, m, 1], idx) : [B, m, 1 + k]]
    scatter_elements(data, idx, upd) {axis = 1}   (idx [p, q])
 -> top.scatter_nd %data[concat(iota_p [p, q, 1], idx [p, q, 1]) : [p, q, 2]], %upd
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerType, TensorType, i64
from xdsl.ir import Operation, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap

from lamina.dialects import graph, top
from lamina.dialects.top_base import ScatterKind
from lamina.dialects.top_index import GatherNDOp, ScatterNDOp
from lamina.lowering.graph_to_top_common import (
    Body,
    Emitter,
    GraphLowering,
    elt_of,
    identity_map,
)
from lamina.lowering.graph_to_top_index import iota

_KINDS = {"none": ScatterKind.ASSIGN, "add": ScatterKind.ADD, "mul": ScatterKind.MUL,
          "max": ScatterKind.MAX, "min": ScatterKind.MIN}  # fmt: skip


def position_entry(e: Emitter, shape: Sequence[int], dim: int) -> SSAValue:
    """c[i..., 0] = i[dim] for i over `shape`: one tuple entry, the position along `dim`."""
    rank = len(shape)
    result = TensorType(i64, (*shape, 1))
    read = AffineMap(rank + 1, 0, (AffineDimExpr(dim),))
    return e.generic([iota(e, shape[dim])], result, lambda b, v: v[0], [read])


def _entries(e: Emitter, indices: SSAValue) -> SSAValue:
    """`indices` as i64 (a tuple of entries along its last dim)."""
    width = cast(IntegerType, elt_of(indices)).bitwidth
    if width == 64:
        return indices

    def widen(b: Body, v: Sequence[SSAValue]) -> SSAValue:
        return b.emit(arith.ExtSIOp(v[0], i64))

    shape = e.static(indices)
    return e.generic([indices], TensorType(i64, shape), widen, [identity_map(len(shape))])


def index_tuples(e: Emitter, parts: Sequence[SSAValue]) -> SSAValue:
    """The index tuples made of `parts` (each [..., n_i]) side by side along the last dim."""
    if len(parts) == 1:
        return parts[0]
    shapes = [e.static(p) for p in parts]
    width = sum(s[-1] for s in shapes)
    result = TensorType(i64, (*shapes[0][:-1], width))
    return e.emit(top.ConcatOp(parts, result, axis=len(shapes[0]) - 1))


class GatherNDLowering(GraphLowering):
    """gather_nd(data, idx, batch_dims b) -> top.gather_nd with the b batch positions
    prepended to each index tuple."""

    source = (graph.GatherNDOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        data, indices = op.operands
        e.static(data)
        shape, result = e.static_in_out(indices)
        batch = int(cast(int, e.attrs()["batch_dims"]))
        batches = [position_entry(e, shape[:-1], d) for d in range(batch)]
        tuples = index_tuples(e, [*batches, _entries(e, indices)])
        return [e.emit(GatherNDOp(data, tuples, result))]


class ScatterNDLowering(GraphLowering):
    """scatter_nd(data, idx, upd, reduction) -> top.scatter_nd <reduction>."""

    source = (graph.ScatterNDOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        data, indices, updates = op.operands
        e.check_static(data, updates, op.results[0])
        kind = _kind(e)
        return [e.emit(ScatterNDOp(data, _entries(e, indices), updates, kind=kind))]


class ScatterElementsLowering(GraphLowering):
    """scatter_elements(data, idx, upd, axis) -> top.scatter_nd with tuples that are each
    update's own position but idx along `axis`."""

    source = (graph.ScatterElementsOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        data, indices, updates = op.operands
        xs, shape = e.static(data), e.static(indices)
        e.static_result()
        if e.static(updates) != shape:
            raise e.fail(f"updates of shape {e.static(updates)} for indices of shape {shape}")
        axis = e.axis_attr(len(xs))
        along = e.reshape(_entries(e, indices), (*shape, 1))
        parts = [along if d == axis else position_entry(e, shape, d) for d in range(len(xs))]
        return [e.emit(ScatterNDOp(data, index_tuples(e, parts), updates, kind=_kind(e)))]


def _kind(e: Emitter) -> ScatterKind:
    reduction = str(e.attrs().get("reduction", "none"))
    if reduction not in _KINDS:
        raise e.fail(f"reduction '{reduction}'")
    return _KINDS[reduction]


SCATTER_LOWERINGS: tuple[type[GraphLowering], ...] = (
    GatherNDLowering,
    ScatterNDLowering,
    ScatterElementsLowering,
)
