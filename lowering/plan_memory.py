"""`plan-memory`: static memory planning. Every `loop.alloc` becomes a `loop.carve` at a
static offset into one arena per memory space, offsets chosen from liveness. A
`loop.alloc` of dynamic size (and its `loop.dealloc`) stays: codegen makes it a heap
allocation.

    %t = loop.alloc() : memref<64xf32>   ...   loop.dealloc %t : memref<64xf32>
 ->
    %t = loop.carve %arena[256] : memref<512xi8> -> memref<64xf32>

- Liveness: a buffer lives from its `loop.alloc` to the last op (of the function's body)
  that uses it or a `loop.view` of it; deallocs only mark the end and are dropped. The
  bytes of a view (a concat's slice) live only from the view on, those no view covers from
  the alloc: other buffers may use a concat's later slices until their producers run. A
  view of a carved buffer (a planned one or a weight) becomes a carve at the sum of the
  offsets; a view of anything else (a function argument) is not supported. Buffers
  allocated in the two branches of one `loop.if` are never live together (only one branch
  runs), so they may share bytes.
- Placement: greedy by size (TFLite's planner): buffers in decreasing size each take the
  lowest 64-byte aligned offset at which none of its bytes meets a byte of a placed buffer
  live at the same time (pieces widened to 64-byte boundaries); both first fit and best
  fit (the smallest fitting gap) are tried, the smaller arena wins.
- The global arena is the kernel ABI's `%arena` argument (resized to the plan); other
  spaces get a `loop.arena` op. The function gets `lamina.arena_size` (bytes, what the
  caller allocates) and `lamina.arena_lower_bound` (the largest total size of the buffers
  live at one time: no placement can need less).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, MemRefType, ModuleOp, i8, i64
from xdsl.ir import Attribute, Block, BlockArgument, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.hints import isa

from lamina.dialects.loop import (
    AllocOp,
    ArenaOp,
    CarveOp,
    DeallocOp,
    MemorySpace,
    ViewOp,
    buffer_bytes,
    memory_space_of,
    uses_through_views,
)
from lamina.dialects.loop_control import IfOp
from lamina.errors import UnsupportedOpError

ARENA_ALIGNMENT = 64

Piece = tuple[int, int, int]
"""(byte offset in the buffer, bytes, the op from which on they are live)."""


@dataclass
class PlannedBuffer:
    """One buffer: its bytes (rounded up to the alignment), live op range and offset."""

    alloc: AllocOp
    size: int
    start: int
    end: int
    offset: int = -1
    branches: dict[Operation, int] = field(default_factory=dict[Operation, int])
    """The `loop.if`s the buffer is allocated in, with the branch (0 then, 1 else)."""
    pieces: list[Piece] = field(default_factory=list[Piece])
    """Byte ranges live from a later op than `start` on (until `end`): a concat's slices,
    each from its producer's view on. Empty: every byte lives from `start`."""

    def parts(self, alignment: int = 1) -> list[Piece]:
        """The pieces (the whole buffer if none), widened to `alignment` boundaries."""
        if not self.pieces:
            return [(0, self.size, self.start)]
        return [
            (
                at // alignment * alignment,
                _round_up(at + size, alignment) - at // alignment * alignment,
                start,
            )
            for at, size, start in self.pieces
        ]

    def overlaps_in_time(self, other: PlannedBuffer) -> bool:
        if self.start > other.end or other.start > self.end:
            return False  # the cheap test first: most pairs of a model's buffers fail it
        # in the two branches of one loop.if: never live together
        return all(other.branches.get(op, k) == k for op, k in self.branches.items())

    def clashes(self, other: PlannedBuffer) -> bool:
        """Whether some byte of each is live at the same time at the same address."""
        return self.overlaps_in_time(other) and any(
            a_start <= other.end
            and b_start <= self.end
            and self.offset + a < other.offset + b + b_size
            and other.offset + b < self.offset + a + a_size
            for a, a_size, a_start in self.parts()
            for b, b_size, b_start in other.parts()
        )

    def live_bytes(self, t: int) -> int:
        """Bytes live at op `t` (within `start`..`end`)."""
        return sum(size for _, size, start in self.parts() if start <= t)


@dataclass
class MemoryPlan:
    """The placement of one memory space's buffers: `arena_size` vs `lower_bound`."""

    space: MemorySpace
    buffers: list[PlannedBuffer] = field(default_factory=list[PlannedBuffer])
    arena_size: int = 0
    lower_bound: int = 0

    def conflicts(self) -> list[tuple[PlannedBuffer, PlannedBuffer]]:
        """Pairs of buffers live at the same time in overlapping bytes (always empty)."""
        return [
            (a, b)
            for i, a in enumerate(self.buffers)
            for b in self.buffers[i + 1 :]
            if a.size and b.size and a.clashes(b)
        ]


def _round_up(size: int, alignment: int) -> int:
    return -(-size // alignment) * alignment


def _live_ranges(block: Block, alignment: int) -> list[PlannedBuffer]:
    order = {op: i for i, op in enumerate(block.ops)}
    buffers: list[PlannedBuffer] = []
    for op in block.walk():
        if not isinstance(op, AllocOp):
            continue
        size = buffer_bytes(op.buffer.type)  # pyright: ignore[reportArgumentType]
        if size is None:
            continue  # dynamic: a heap allocation at run time (codegen/llvm_shape.py)
        top = block.find_ancestor_op_in_block(op)
        assert top is not None
        start = end = order[top]
        for operation in uses_through_views(op.buffer):
            user = block.find_ancestor_op_in_block(operation)
            if user is not None and not isinstance(operation, DeallocOp):
                end = max(end, order[user])
        planned = PlannedBuffer(op, _round_up(size, alignment), start, end, branches=_branches(op))
        views = [
            (at, n, order[user])
            for at, n, view in _views(op.buffer, 0)
            if n and (user := block.find_ancestor_op_in_block(view))
        ]
        direct = [
            order[user]
            for use in op.buffer.uses
            if not isinstance(use.operation, ViewOp | DeallocOp)
            and (user := block.find_ancestor_op_in_block(use.operation))
        ]
        if views and direct:  # a use of the whole buffer: every byte live from there on
            views.append((0, planned.size, min(direct)))
        if views:
            planned.pieces = _pieces(views, planned.size, start)
        buffers.append(planned)
    return buffers


def _views(buffer: SSAValue, offset: int) -> list[tuple[int, int, ViewOp]]:
    """(byte offset in the buffer, bytes, op) of each `loop.view` of `buffer`, views of views too."""
    found: list[tuple[int, int, ViewOp]] = []
    for use in buffer.uses:
        if isinstance(view := use.operation, ViewOp):
            at = offset + view.offset.value.data
            found.append((at, buffer_bytes(view.buffer.type) or 0, view))  # pyright: ignore[reportArgumentType]
            found += _views(view.buffer, at)
    return found


def _pieces(views: list[Piece], size: int, start: int) -> list[Piece]:
    """A buffer's bytes cut where views begin and end: each cut live from the first of the
    views covering it, bytes no view covers from `start`."""
    cuts = sorted({0, size, *(at for at, _, _ in views), *(at + n for at, n, _ in views)})
    pieces: list[Piece] = []
    for low, high in pairwise(cuts):
        first = min((s for at, n, s in views if at <= low and high <= at + n), default=start)
        if pieces and pieces[-1][2] == first and pieces[-1][0] + pieces[-1][1] == low:
            pieces[-1] = (pieces[-1][0], high - pieces[-1][0], first)
        else:
            pieces.append((low, high - low, first))
    return pieces


def _branches(op: Operation) -> dict[Operation, int]:
    """The `loop.if`s enclosing `op`, each with the index of the branch `op` is in."""
    found: dict[Operation, int] = {}
    region = op.parent_region()
    while region is not None and (parent := region.parent_op()) is not None:
        if isinstance(parent, IfOp):
            found[parent] = 0 if region is parent.then_region else 1
        region = parent.parent_region()
    return found


def _unsupported(what: str, op: Operation) -> UnsupportedOpError:
    error = UnsupportedOpError(what)
    vars(error)["op"] = op
    return error


Fit = Callable[[list[tuple[int, int]]], int]


def _first_fit(gaps: list[tuple[int, int]]) -> int:
    return gaps[0][0]


def _best_fit(gaps: list[tuple[int, int]]) -> int:
    return min(gaps, key=lambda gap: (gap[1], gap[0]))[0]


def _place(buffers: list[PlannedBuffer], fit: Fit, base: int, alignment: int) -> int:
    """Greedy by size; returns the arena size. Gaps are (first offset, number of offsets)
    of the runs of offsets at which no piece of this buffer meets a piece, live at the
    same time, of a buffer already placed; the last one unbounded."""
    placed: list[PlannedBuffer] = []
    end = base
    for buffer in sorted(buffers, key=lambda b: (-b.size, b.start)):
        taken: list[tuple[int, int]] = []  # offsets [low, high) the buffer may not take
        for other in placed:
            if not other.overlaps_in_time(buffer):
                continue
            for at, size, start in buffer.parts(alignment):
                for other_at, other_size, other_start in other.parts(alignment):
                    if start <= other.end and other_start <= buffer.end:
                        low = other.offset + other_at - at - size + 1
                        taken.append((low, other.offset + other_at + other_size - at))
        gaps: list[tuple[int, int]] = []
        free = base
        for low, high in sorted(taken):
            if low > free:
                gaps.append((free, low - free))
            free = max(free, high)
        gaps.append((free, 1 << 62))
        buffer.offset = fit(gaps)
        placed.append(buffer)
        end = max(end, buffer.offset + buffer.size)
    return end


def plan_buffers(
    buffers: list[PlannedBuffer],
    space: MemorySpace,
    base: int = 0,
    alignment: int = ARENA_ALIGNMENT,
) -> MemoryPlan:
    """Offsets for `buffers` (set in place) from `base` on, the better of two fits."""
    plan = MemoryPlan(space, buffers)
    best: tuple[int, list[int]] | None = None
    for fit in (_best_fit, _first_fit):
        size = _place(buffers, fit, base, alignment)
        if best is None or size < best[0]:
            best = (size, [b.offset for b in buffers])
    assert best is not None
    plan.arena_size = best[0]
    for buffer, offset in zip(buffers, best[1], strict=True):
        buffer.offset = offset
    times = {t for b in buffers for t in (b.start, b.end)}
    plan.lower_bound = base + max((_live_bytes(buffers, t) for t in times), default=0)
    return plan


def _live_bytes(buffers: list[PlannedBuffer], t: int) -> int:
    """Bytes that must coexist at op `t`: every buffer outside a branch, and the largest one
    inside (buffers of different branches never coexist)."""
    live = [b for b in buffers if b.start <= t <= b.end]
    outside = sum(b.live_bytes(t) for b in live if not b.branches)
    return outside + max((b.live_bytes(t) for b in live if b.branches), default=0)


def _abi_arena(function: func.FuncOp) -> BlockArgument | None:
    if "lamina.abi" not in function.attributes or len(function.args) < 2:
        return None
    return function.args[1]


def _arena_bytes(arena: SSAValue) -> int:
    assert isa(arena.type, MemRefType[Attribute])
    return arena.type.get_shape()[0]


def plan_function(function: func.FuncOp, alignment: int = ARENA_ALIGNMENT) -> list[MemoryPlan]:
    """Plan and rewrite one function: every `loop.alloc` becomes a `loop.carve`, every
    `loop.dealloc` goes. Returns one plan per memory space used."""
    block = function.body.block
    by_space: dict[MemorySpace, list[PlannedBuffer]] = {}
    for buffer in _live_ranges(block, alignment):
        space = memory_space_of(buffer.alloc.buffer.type)  # pyright: ignore[reportArgumentType]
        if space is None:
            raise _unsupported("buffers in a memory space other than #loop.space", buffer.alloc)
        by_space.setdefault(space, []).append(buffer)
    abi_arena = _abi_arena(function)
    plans: list[MemoryPlan] = []
    for space, buffers in by_space.items():
        arena: SSAValue | None = abi_arena if space == MemorySpace.GLOBAL else None
        base = _round_up(_arena_bytes(arena), alignment) if arena is not None else 0
        plan = plan_buffers(buffers, space, base, alignment)
        plans.append(plan)
        if arena is not None:
            arena = _resize_arena(function, plan.arena_size)
        else:
            arena_op = ArenaOp(plan.arena_size, alignment, space)
            Rewriter.insert_op(arena_op, InsertPoint.at_start(block))
            arena = arena_op.arena
        for buffer in buffers:
            carve = CarveOp(arena, buffer.offset, buffer.alloc.buffer.type)  # pyright: ignore
            carve.buffer.name_hint = buffer.alloc.buffer.name_hint
            Rewriter.replace_op(buffer.alloc, carve)
            _fold_views(carve)
    for op in list(block.walk()):
        if isinstance(op, DeallocOp) and not isinstance(op.buffer.owner, AllocOp):
            Rewriter.erase_op(op)
        elif isinstance(op, CarveOp):
            _fold_views(op)
        elif isinstance(op, ViewOp) and op.parent is not None:
            raise _unsupported("a loop.view of a buffer that memory planning does not place", op)
    global_plan = next((p for p in plans if p.space == MemorySpace.GLOBAL), None)
    if abi_arena is not None:
        size = _arena_bytes(function.args[1])
        bound = global_plan.lower_bound if global_plan else 0
        function.attributes["lamina.arena_size"] = IntegerAttr(size, i64)
        function.attributes["lamina.arena_lower_bound"] = IntegerAttr(bound, i64)
    return plans


def _fold_views(carve: CarveOp) -> None:
    """Each `loop.view` of `carve` (and of those views) becomes a carve of the same arena at
    the sum of the offsets."""
    for use in list(carve.buffer.uses):
        view = use.operation
        if isinstance(view, ViewOp):
            offset = carve.offset.value.data + view.offset.value.data
            inner = CarveOp(carve.arena, offset, view.buffer.type)  # pyright: ignore[reportArgumentType]
            inner.buffer.name_hint = view.buffer.name_hint
            Rewriter.replace_op(view, inner)
            _fold_views(inner)


def _resize_arena(function: func.FuncOp, size: int) -> BlockArgument:
    """Give the ABI's `%arena` argument the planned size."""
    block = function.body.block
    old = function.args[1]
    new = block.insert_arg(MemRefType(i8, [size], memory_space=old.type.memory_space), 1)  # pyright: ignore
    new.name_hint = old.name_hint
    old.replace_all_uses_with(new)
    block.erase_arg(old)
    function.update_function_type()
    return new


@dataclass(frozen=True)
class PlanMemoryPass(ModulePass):
    """Places every buffer in an arena.

    Afterwards: no static `loop.alloc` or its `loop.dealloc` and no `loop.view` remains (dynamic ones stay, for
    codegen's heap); each static buffer is a `loop.carve` at
    a static, `alignment`-aligned offset into the kernel ABI's `%arena` argument (global
    space, resized to the plan) or a `loop.arena` op (other spaces); two buffers live at
    the same time never share a byte. Kernel-ABI functions carry `lamina.arena_size` and
    `lamina.arena_lower_bound` (bytes).
    """

    name = "plan-memory"

    alignment: int = ARENA_ALIGNMENT

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for function in [f for f in op.walk() if isinstance(f, func.FuncOp)]:
            if not function.is_declaration:
                plan_function(function, self.alignment)


__all__ = ["MemoryPlan", "PlanMemoryPass", "PlannedBuffer", "plan_buffers", "plan_function"]
