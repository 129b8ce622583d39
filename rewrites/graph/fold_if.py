"""`graph.if` on a constant condition -> the ops of the branch it takes.

    %y = graph.if %true then_branch {A; graph.yield %a} else_branch {B}   ->   A; %y = %a

A Python pattern, not a rule: the rewrite language matches and builds ops, but cannot move
a region's ops out of it. Part of graph-fold-constants (so of graph-default), where shape
tests folded to constants decide the branch.
"""

from __future__ import annotations

from xdsl.dialects.builtin import TensorType, UnrankedTensorType
from xdsl.ir import Attribute, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern, op_type_rewrite_pattern
from xdsl.rewriter import InsertPoint

from lamina.dialects.graph import ConstantOp, IfOp


def _at_least_as_static(new: Attribute, old: Attribute) -> bool:
    """Whether `new` keeps what `old` says of a tensor (a ranked old wants a ranked new)."""
    if isinstance(old, UnrankedTensorType) or new == old:
        return True
    return (
        isinstance(new, TensorType)
        and isinstance(old, TensorType)
        and (len(new.get_shape()) == len(old.get_shape()))
    )


class InlineConstantIf(RewritePattern):
    """Inlines the taken branch of a `graph.if` whose condition is a `graph.constant`."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: IfOp, rewriter: PatternRewriter) -> None:
        cond = op.cond.owner
        if not isinstance(cond, ConstantOp):
            return
        region = op.then_branch if bool(cond.to_array().reshape(-1)[0]) else op.else_branch
        terminator = region.block.last_op
        assert terminator is not None
        yielded: list[SSAValue] = list(terminator.operands)
        if not all(
            _at_least_as_static(v.type, r.type) for v, r in zip(yielded, op.results, strict=True)
        ):
            return  # keep the better-typed If until its branch values are typed
        rewriter.erase(terminator)
        rewriter.inline_block(region.block, InsertPoint.before(op))
        rewriter.replace(op, [], yielded)
