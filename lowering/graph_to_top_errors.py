"""Collecting what `convert-graph-to-top` cannot lower, so one error lists every op.

not supported: 3 nodes:
  'graph.det' (node 'det'): no lowering to the top dialect
  'graph.conv' (node 'conv'): auto_pad 'VALID' with ...
"""

from __future__ import annotations

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.pattern_rewriter import PatternRewriter, PatternRewriteWalker, RewritePattern

from lamina.errors import UnsupportedError


class CollectUnsupported(RewritePattern):
    """Applies `pattern`; an op it raises `UnsupportedError` for stays as it is (the
    lowerings emit nothing before they succeed) and the error is kept in `errors`."""

    def __init__(self, pattern: RewritePattern) -> None:
        self.pattern = pattern
        self.errors: list[UnsupportedError] = []

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        try:
            self.pattern.match_and_rewrite(op, rewriter)
        except UnsupportedError as error:
            self.errors.append(error)

    def failed_ops(self) -> set[Operation]:
        return {error.op for error in self.errors if isinstance(error.op, Operation)}


def errors_on_a_copy(module: ModuleOp, pattern: RewritePattern) -> list[UnsupportedError]:
    """The errors `pattern` raises on a copy of `module`, pointing at `module`'s ops: what
    else is unsupported, found without changing `module`."""
    copy = module.clone()
    original = dict(zip(copy.walk(), module.walk(), strict=True))
    collect = CollectUnsupported(pattern)
    PatternRewriteWalker(collect, apply_recursively=False).rewrite_module(copy)
    for error in collect.errors:
        if isinstance(error.op, Operation):
            error.op = original.get(error.op, error.op)
    return collect.errors


def outermost(errors: list[UnsupportedError]) -> list[UnsupportedError]:
    """`errors` without those about ops inside another erring op (a `graph.yield` in the
    region of a `graph.if` without a lowering says nothing new)."""
    failed = {error.op for error in errors if isinstance(error.op, Operation)}

    def inside_failed(op: object) -> bool:
        parent = op.parent_op() if isinstance(op, Operation) else None
        while parent is not None:
            if parent in failed:
                return True
            parent = parent.parent_op()
        return False

    return [error for error in errors if not inside_failed(error.op)]
