"""TopK -> `top.topk` (the selection runs at the loop level, lowering/top_to_loop_index.py).

    values, indices = graph.top_k(x, k = [2]) {axis = -1, largest = 1}
 -> values, indices = top.topk %x axis 1 largest : tensor<3x4xf32> -> tensor<3x2xf32>, ...

k must be a constant (it decides the result shape). Results are always sorted, which
`sorted = 0` (any order) allows.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.ir import Operation, SSAValue

from lamina.dialects import graph
from lamina.dialects.top_index import TopKOp
from lamina.lowering.graph_to_top_common import Emitter, GraphLowering


class TopKLowering(GraphLowering):
    """top_k(x, k) -> top.topk along the normalized axis."""

    source = (graph.TopKOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, k_value = op.operands
        xs = e.static(x)
        attrs = e.attrs()
        axis = e.axis_attr(len(xs))
        k = int(e.constant(k_value, "k").reshape(-1)[0])
        if not 0 <= k <= xs[axis]:
            raise e.fail(f"k = {k} for a dim of {xs[axis]}")
        topk = TopKOp(x, k, axis=axis, largest=bool(attrs["largest"]))
        e.emit(topk)
        for result, value in zip(op.results, topk.results, strict=True):
            if e.static_result(result.index) != value.type:
                raise e.fail(f"result type {result.type}, expected {value.type}")
        return list(topk.results)


SORT_LOWERINGS: tuple[type[GraphLowering], ...] = (TopKLowering,)
