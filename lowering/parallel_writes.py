"""Parallel loops that write a shared buffer: a check of what `loop.for ... parallel` claims.

A `parallel` loop.for promises that its iterations are independent: codegen hands its
iterations to threads (codegen/llvm_parallel.py) and its innermost loops to the vectorizer.
A write inside it to a buffer defined outside, at indices that do not depend on the loop's
induction variable, breaks the promise: every iteration writes the same elements, e.g. a
GEMM's packing panel allocated once and filled per batch, and two threads that fill it at
once corrupt each other's operands.

`shared_writes(root)` lists each such (loop, write). It is a necessary condition only: writes
whose indices do depend on the induction variable may still overlap (i // 2). Loops of one
iteration are skipped (they run once, however marked).

    for loop_op, write in shared_writes(module): ...
"""

from __future__ import annotations

from xdsl.ir import Operation, SSAValue

from lamina.dialects import loop
from lamina.dialects.loop_access import BufferWrite


def shared_writes(root: Operation) -> list[tuple[loop.ForOp, BufferWrite]]:
    """The (parallel loop, write) pairs under `root` where the write's buffer is defined
    outside the loop and none of its indices depends on the loop's induction variable."""
    found: list[tuple[loop.ForOp, BufferWrite]] = []
    for op in root.walk():
        if isinstance(op, loop.ForOp) and op.parallel and op.constant_trip_count() != 1:
            found.extend((op, write) for write in _independent_writes(op))
    return found


def _independent_writes(op: loop.ForOp) -> list[BufferWrite]:
    """The writes inside `op` to buffers from outside it at indices that do not depend on
    its induction variable, in one walk that also tracks which values depend on it: results
    of ops with a dependent operand, and the induction variables and iter_args of nested
    loops whose bounds or initial values are dependent (program order defines operands
    before uses, so a write's indices are classified by the time the walk meets it)."""
    dependent: set[SSAValue] = {op.induction_var}
    writes: list[BufferWrite] = []
    for inner in op.walk():
        if inner is op:
            continue
        if (
            isinstance(inner, BufferWrite)
            and dependent.isdisjoint(inner.indices)
            and not _defined_inside(inner.buffer, op)
        ):
            writes.append(inner)
        if not dependent.isdisjoint(inner.operands):
            dependent.update(inner.results)
            if isinstance(inner, loop.ForOp):
                dependent.update(inner.body.block.args)
    return writes


def _defined_inside(value: SSAValue, op: Operation) -> bool:
    owner = value.owner
    parent = owner if isinstance(owner, Operation) else owner.parent_op()
    return parent is not None and op.is_ancestor(parent)
