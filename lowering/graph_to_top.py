"""`convert-graph-to-top`: the graph dialect (one op per ONNX operator) to the top dialect
(structured tensor ops).

The patterns live by family: elementwise ops (`graph_to_top_elementwise`), neural-network
ops (`graph_to_top_nn`) and data movement / shape ops (`graph_to_top_shape`).
`graph_to_top_patterns()` lists them all so pipelines can compose them.

After the pass: no graph op remains but `graph.constant` (weights, which the top level
reads as they are; the next lowering packs them) and `graph.none`; constants and `none`s
left without uses are erased. Static shapes are required: a dynamic dim, an unsupported
attribute value or an op without a lowering raises `UnsupportedOpError`
("not supported: ...") naming the op and its ONNX node.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriteWalker,
    RewritePattern,
)

from lamina.dialects import graph
from lamina.lowering.graph_to_top_common import GraphLowering, unsupported
from lamina.lowering.graph_to_top_elementwise import ElementwiseLowering
from lamina.lowering.graph_to_top_nn import NN_LOWERINGS
from lamina.lowering.graph_to_top_shape import SHAPE_LOWERINGS

_KEPT = (graph.ConstantOp, graph.NoneOp)
"""Graph ops that stay after the pass."""


def graph_to_top_patterns() -> list[RewritePattern]:
    """Every graph -> top lowering pattern, one per source op family."""
    lowerings: list[type[GraphLowering]] = [ElementwiseLowering, *NN_LOWERINGS, *SHAPE_LOWERINGS]
    return [lowering() for lowering in lowerings]


def lowered_op_types() -> frozenset[type[Operation]]:
    """The graph op classes `convert-graph-to-top` lowers."""
    lowerings: list[type[GraphLowering]] = [ElementwiseLowering, *NN_LOWERINGS, *SHAPE_LOWERINGS]
    return frozenset(t for lowering in lowerings for t in lowering.source)


def _is_graph_op(op: Operation) -> bool:
    return op.name.startswith("graph.")


@dataclass(frozen=True)
class ConvertGraphToTopPass(ModulePass):
    """Lowers every graph op but `graph.constant` / `graph.none` to top ops."""

    name = "convert-graph-to-top"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        lowered = lowered_op_types()
        for child in op.walk():  # fail before rewriting anything
            if _is_graph_op(child) and not isinstance(child, _KEPT) and type(child) not in lowered:
                raise unsupported(child, "no lowering to the top dialect")
        PatternRewriteWalker(
            GreedyRewritePatternApplier(graph_to_top_patterns()), apply_recursively=False
        ).rewrite_module(op)
        for child in op.walk():
            if _is_graph_op(child) and not isinstance(child, _KEPT):
                raise unsupported(child, "left after convert-graph-to-top")
        for child in reversed(list(op.walk())):
            if isinstance(child, _KEPT) and not child.results[0].uses:
                child.detach()
                child.erase()
