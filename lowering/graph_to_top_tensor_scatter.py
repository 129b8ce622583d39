"""TensorScatter (opset 24, a KV-cache update) -> one `top.generic` whose init is the past
cache, reducing over the update's sequence index s:

    present[b, ..., t, ...] = update[b, ..., s, ...]   where w[b] + s == t
                                                       (circular: (w[b] + s) mod max == t)
                            = past[b, ..., t, ...]     where no s writes t

w = write_indices (zeros when absent); t and s index the sequence axis (`axis`).
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects import arith
from xdsl.dialects.builtin import TensorType, i64
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap

from lamina.dialects import graph, top
from lamina.lowering.graph_to_top_common import (
    Body,
    Emitter,
    GraphLowering,
    elt_of,
    is_none,
)
from lamina.lowering.graph_to_top_elementwise import convert
from lamina.lowering.graph_to_top_index import dim_map, iota


def _write_indices(e: Emitter, write: SSAValue, batch: int) -> SSAValue:
    """write_indices as [batch] i64 (zeros when absent)."""
    starts = TensorType(i64, (batch,))
    if is_none(write):
        return e.fill(starts)
    if elt_of(write) == i64:
        return write
    return e.generic([write], starts, lambda b, v: convert(b, v[0], i64))


class TensorScatterLowering(GraphLowering):
    """tensor_scatter(past, update, write_indices?) as in the module doc; loops: the
    present cache's dims, then s."""

    source = (graph.TensorScatterOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        past, update, write = op.operands
        ps, us = e.static(past), e.static(update)
        result = e.static_result()
        attrs = e.attrs()
        rank = len(ps)
        axis = e.axis_attr(rank)
        if axis == 0:
            raise e.fail("axis 0 (the batch dimension)")
        circular = attrs["mode"] == "circular"
        if attrs["mode"] not in ("linear", "circular"):
            raise e.fail(f"mode {attrs['mode']}")
        starts = _write_indices(e, write, ps[0])
        update_map = AffineMap(
            rank + 1, 0, tuple(AffineDimExpr(rank if d == axis else d) for d in range(rank))
        )
        inputs = [update, iota(e, us[axis]), iota(e, ps[axis]), starts]
        maps = [update_map, dim_map(rank + 1, rank), dim_map(rank + 1, axis),
                dim_map(rank + 1, 0)]  # fmt: skip
        block = Block(arg_types=[elt_of(update), i64, i64, i64, elt_of(past)])
        b = Body(block)
        value, s, t, start, acc = block.args
        slot = b.add(start, s)
        if circular:  # slot mod max, for slot >= 0
            slot = b.emit(arith.RemSIOp(slot, b.like(ps[axis], slot)))
        block.add_op(top.YieldOp(b.select(b.cmp("oeq", slot, t), value, acc)))
        identity = AffineMap(rank + 1, 0, tuple(AffineDimExpr(d) for d in range(rank)))
        iterators = [top.IteratorType.PARALLEL] * rank + [top.IteratorType.REDUCTION]
        generic = top.GenericOp(
            inputs, [past], Region(block), [*maps, identity], iterators, [result]
        )
        return [e.emit(generic)]


TENSOR_SCATTER_LOWERINGS: tuple[type[GraphLowering], ...] = (TensorScatterLowering,)
