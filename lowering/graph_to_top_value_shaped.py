"""Graph ops whose result shape depends on the values of a computed operand: NonZero,
NonMaxSuppression, Unique. With static shapes only, such a result has no type before
run time, so they are lowered only when `graph-fold-constants` computed them from
constants (then they are constants and never reach this pass); otherwise the lowering
says so instead of the generic "no lowering".
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.ir import Operation, SSAValue

from lamina.dialects import graph
from lamina.lowering.graph_to_top_common import Emitter, GraphLowering


class ValueShapedLowering(GraphLowering):
    """Raises "not supported: data-dependent output shape of <op>"."""

    source = (graph.NonZeroOp, graph.NonMaxSuppressionOp, graph.UniqueOp)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        op_type = getattr(type(op), "onnx_op_type", op.name)
        raise e.fail(
            f"data-dependent output shape of {op_type} (its input is computed at run time)"
        )


VALUE_SHAPED_LOWERINGS: tuple[type[GraphLowering], ...] = (ValueShapedLowering,)
