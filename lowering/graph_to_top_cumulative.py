"""CumProd (opset 26) -> one `top.generic` reducing over a second index along the axis:

    y[..., i, ...] = prod over k of (k <= i ? x[..., k, ...] : 1)

with k < i (exclusive), k >= i (reverse) or k > i (both); an empty product is 1.
"""

from __future__ import annotations

from xdsl.ir import Block, Region, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap

from lamina.dialects import graph, top
from lamina.lowering.graph_to_top_common import Body, Emitter, GraphLowering, elt_of, shape_of
from lamina.lowering.graph_to_top_index import CumulativeLowering, dim_map, iota


class CumProdLowering(CumulativeLowering):
    """cum_prod as in the module doc; loops: the result's dims, then k."""

    source = (graph.CumProdOp,)

    def accumulate(self, e: Emitter, x: SSAValue, axis: int, predicate: str) -> SSAValue:
        xs = shape_of(x)
        rank = len(xs)
        x_map = AffineMap(
            rank + 1, 0, tuple(AffineDimExpr(rank if d == axis else d) for d in range(rank))
        )
        positions = iota(e, xs[axis])
        block = Block(arg_types=[elt_of(x), elt_of(positions), elt_of(positions), elt_of(x)])
        b = Body(block)
        element, k, i, acc = block.args
        factor = b.select(b.cmp(predicate, k, i), element, b.like(1, element))
        block.add_op(top.YieldOp(b.mul(acc, factor)))
        iterators = [top.IteratorType.PARALLEL] * rank + [top.IteratorType.REDUCTION]
        maps = [x_map, dim_map(rank + 1, rank), dim_map(rank + 1, axis)]
        out_map = AffineMap(rank + 1, 0, tuple(AffineDimExpr(d) for d in range(rank)))
        generic = top.GenericOp(
            [x, positions, positions],
            [e.fill(e.static_result(), 1)],
            Region(block),
            [*maps, out_map],
            iterators,
        )
        return e.emit(generic)


CUMULATIVE_LOWERINGS: tuple[type[GraphLowering], ...] = (CumProdLowering,)
