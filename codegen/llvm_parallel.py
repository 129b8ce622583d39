"""Threads for `parallel` loops: the outermost `parallel` loop.for of a function, when the
per-nest cost model (codegen/llvm_parallel_cost.py) says the split pays for the handoff,
runs its iterations split over a persistent thread pool.

    loop.for %i = %lb to %ub step %c1 parallel { body }      ; %lb, %ub constant or not
 ->
    ; in the function: the captured values in a stack struct, then
    call void @lamina.parallel_for(ptr @f.par0, i64 %trips, ptr %captures, i32 %threads)

    define internal void @f.par0(i64 %begin, i64 %end, ptr %captures)   ; loads, then calls
    define internal void @f.par0.impl(i64 %begin, i64 %end, <captures>)  ; alwaysinline
      ; loop.for over [lb + begin*step, min(lb + end*step, ub)) with the original body

When the loop's body is one parallel loop of constant trips (and `arith` ops) that splits
more evenly, or as evenly and over the block the nest packed or more of the data read
(`split_loop`), the chunks divide that inner loop instead: `.impl` runs all of the outer
loop's iterations, the inner loop over its chunk. The pool that runs the chunks is
codegen/llvm_pool.py.

Invariants: the loop nest's IR is unchanged (the same ops are emitted into the outlined
function); constants, globals and carves of a captured arena are rematerialised inside it
rather than captured, so alias analysis still sees constant offsets from the `noalias`
kernel arguments (which keep `noalias` on the `.impl` function); a captured memref with
dynamic dims brings its run-time extents (codegen/llvm_shape.py). The step must be a
constant; bounds known only at run time are passed in, and such a loop goes to the pool
only when its run-time trip count reaches the fewest trips that pay (`min_parallel_trips`;
otherwise `threads = 1`: the call runs it inline).
"""

from __future__ import annotations

from math import prod
from typing import Any, cast

import llvmlite.ir as ir
from xdsl.dialects import arith
from xdsl.dialects.builtin import MemRefType
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.utils.hints import isa

from lamina.codegen import llvm_shape
from lamina.codegen.llvm_core import FunctionEmitter, emit_loop
from lamina.codegen.llvm_parallel_cost import (
    NestCost,
    imbalance,
    max_trip_count,
    min_parallel_trips,
    nest_cost,
    parallel_gain_ns,
)
from lamina.codegen.llvm_pool import BODY_TYPE, Pointer, opaque, parallel_runtime
from lamina.dialects import loop
from lamina.dialects.loop_access import BufferRead, BufferWrite
from lamina.dialects.loop_for import constant_index

i32 = ir.IntType(32)
i64 = ir.IntType(64)


# ---------------------------------------------------------------------------------------
# Which loops, and their work


def _in_parallel_loop(op: Operation) -> bool:
    """Whether `op` is inside a parallel loop of more than one iteration (which would be
    the one to split: a trip count of 1, e.g. a batch of 1, does not count)."""
    parent = op.parent_op()
    while isinstance(parent, loop.ForOp):
        if parent.parallel and parent.constant_trip_count() != 1:
            return True
        parent = parent.parent_op()
    return False


def should_run_threaded(e: FunctionEmitter, op: loop.ForOp) -> bool:
    """The outermost parallel loop of a nest (serial loops may enclose it), with a constant
    step, when threads > 1 and the cost model (codegen/llvm_parallel_cost.py) says threads
    pay: for a constant trip count (at least 2), split as `split_loop` splits it; for
    run-time bounds, when some trip count up to the bound pays (checked again at run
    time)."""
    if e.threads <= 1 or not op.parallel or (constant_index(op.step) or 0) <= 0:
        return False
    if _in_parallel_loop(op):
        return False
    trips = op.constant_trip_count()
    if trips is not None:
        if trips < 2:
            return False
        split = split_loop(op, e.threads)
        cost = nest_cost(op.body.block)
        whole = NestCost()
        whole.add(cost, trips)
        split_trips = split.constant_trip_count() or trips
        return parallel_gain_ns(whole, split_trips, e.threads, e.thread_costs) > 0
    bound = max_trip_count(op)
    least = min_parallel_trips(nest_cost(op.body.block), bound, e.threads, e.thread_costs)
    return least is not None and (bound is None or least <= bound)


# ---------------------------------------------------------------------------------------
# Which loop the chunks divide


def split_loop(op: loop.ForOp, threads: int) -> loop.ForOp:
    """The loop whose iterations the pool divides into chunks: `op`, or the parallel loop
    `inner` that is all of op's body but `arith` ops, of constant trip count, when `inner`
    splits more evenly over `threads` (by more than BALANCE_TOLERANCE), or as evenly and the
    buffers read only along inner's iterations are the ones the nest itself writes (a block
    packed at run time, still in the caches of the threads that packed it) while op's are
    not, or else hold more elements than those read only along op's: a GEMM over 2 pixel
    tiles and 64 channel tiles splits the weights (each thread reads half of them) rather
    than the pixels. Each thread then runs all of op's iterations, each over its chunk of
    inner's: the same iterations, so the same results."""
    inner = _sole_parallel_loop(op)
    outer_trips = op.constant_trip_count()
    if inner is None or outer_trips is None:
        return op
    inner_trips = inner.constant_trip_count() or 0
    outer_cost, inner_cost = (imbalance(t, threads) for t in (outer_trips, inner_trips))
    if inner_cost < outer_cost - BALANCE_TOLERANCE:
        return inner
    if inner_cost > outer_cost + BALANCE_TOLERANCE:
        return op
    outer_reads, inner_reads = _reads_along(op, op.body.block.args[0], inner.body.block.args[0])
    written = _written_in_nest(op)
    outer_packed, inner_packed = (not written.isdisjoint(r) for r in (outer_reads, inner_reads))
    if outer_packed != inner_packed:
        return inner if inner_packed else op
    return inner if sum(inner_reads.values()) > sum(outer_reads.values()) else op


BALANCE_TOLERANCE = 0.05
"""How much more evenly (in `imbalance`) the inner loop must split to be chosen whatever
the data each thread reads."""


def _sole_parallel_loop(op: loop.ForOp) -> loop.ForOp | None:
    """The parallel loop of constant trip count >= 2 that is op's only op with a region
    or memory effect (the others are `arith`), if any."""
    found: loop.ForOp | None = None
    for inner in op.body.block.ops:
        if isinstance(inner, loop.ForOp) and found is None and not inner.results:
            found = inner
        elif not (isinstance(inner, loop.YieldOp) or inner.name.startswith("arith.")):
            return None
    if found is None or not found.parallel or (found.constant_trip_count() or 0) < 2:
        return None
    return found


def _written_in_nest(op: loop.ForOp) -> set[SSAValue]:
    """The buffers that the outermost loop around `op` (its nest) writes."""
    nest: Operation = op
    while isinstance(nest.parent_op(), loop.ForOp):
        nest = cast(Operation, nest.parent_op())
    return {o.buffer for o in nest.walk() if isinstance(o, BufferWrite)}


def _reads_along(
    op: loop.ForOp, outer_iv: SSAValue, inner_iv: SSAValue
) -> tuple[dict[SSAValue, int], dict[SSAValue, int]]:
    """Per statically shaped buffer, the elements that one run of `op` (the outer loop)
    reads at indices depending on `outer_iv` and not `inner_iv`, and those the other way
    round: per read, the product over its indices of the index's span (`_span`, the whole
    dim when unknown), the largest read of each buffer."""
    memo: dict[SSAValue, frozenset[SSAValue]] = {outer_iv: frozenset([outer_iv])}
    memo[inner_iv] = frozenset([inner_iv])

    def ivs(value: SSAValue) -> frozenset[SSAValue]:
        if value not in memo:
            owner = value.owner
            found: frozenset[SSAValue] = frozenset()
            if isinstance(owner, Operation):
                for operand in owner.operands:
                    found |= ivs(operand)
            memo[value] = found
        return memo[value]

    spans: dict[SSAValue, tuple[int, int] | None] = {}
    reads: dict[SSAValue, dict[SSAValue, int]] = {outer_iv: {}, inner_iv: {}}
    for inner in op.walk():
        if not isinstance(inner, BufferRead) or not isa(inner.buffer.type, MemRefType[Attribute]):
            continue
        shape = inner.buffer.type.get_shape()
        along = frozenset().union(*(ivs(index) for index in inner.indices))
        if len(along) != 1 or any(d < 0 for d in shape):
            continue
        elements = prod(
            min(d, _span(index, op, spans) or d)
            for d, index in zip(shape, inner.indices, strict=True)
        )
        seen = reads[next(iter(along))]
        seen[inner.buffer] = max(seen.get(inner.buffer, 0), elements)
    return reads[outer_iv], reads[inner_iv]


def _span(
    value: SSAValue, op: loop.ForOp, memo: dict[SSAValue, tuple[int, int] | None]
) -> int | None:
    """How many values `value` takes in one run of `op`: its range (`_range`) + 1."""
    found = _range(value, op, memo)
    return None if found is None else found[1] - found[0] + 1


def _range(
    value: SSAValue, op: loop.ForOp, memo: dict[SSAValue, tuple[int, int] | None]
) -> tuple[int, int] | None:
    """The range of `value` over one run of `op`, relative to its value at the first
    iteration of every loop (a value defined outside `op` is fixed: (0, 0)); from the ivs
    of the loops in `op` (0 to (max trips - 1) * step), `arith` add, sub of a fixed value,
    mul and divui by constants, min / max / select (their hull) and casts; None if
    unknown."""
    if value in memo:
        return memo[value]
    memo[value] = None  # a cycle (none in loop bodies) stays unknown
    owner = value.owner
    found: tuple[int, int] | None = None
    if isinstance(owner, Block):
        parent = owner.parent_op()
        if not (isinstance(parent, Operation) and op.is_ancestor(parent)):
            found = (0, 0)
        elif isinstance(parent, loop.ForOp) and value is owner.args[0]:
            trips, step = max_trip_count(parent), constant_index(parent.step)
            found = None if trips is None or step is None else (0, max(trips - 1, 0) * step)
    elif not op.is_ancestor(owner):
        found = (0, 0)
    else:
        ranges = [_range(v, op, memo) for v in owner.operands]
        found = _combine(owner, ranges)
    memo[value] = found
    return found


def _combine(owner: Operation, ranges: list[tuple[int, int] | None]) -> tuple[int, int] | None:
    """`_range` of an op's result from its operands' ranges."""
    if isinstance(owner, arith.ConstantOp):
        return (0, 0)
    if isinstance(owner, arith.SelectOp):
        ranges = ranges[1:]  # which of the two: the hull covers both
    if not ranges or any(r is None for r in ranges):
        return None
    known = [r for r in ranges if r is not None]
    if isinstance(owner, arith.AddiOp):
        return (known[0][0] + known[1][0], known[0][1] + known[1][1])
    if isinstance(owner, arith.SubiOp) and known[1] == (0, 0):
        return known[0]
    if isinstance(owner, arith.MuliOp | arith.DivUIOp):
        constants = [constant_index(v) for v in owner.operands]
        factor = constants[1] if constants[1] is not None else constants[0]
        varying = known[0] if constants[1] is not None else known[1]
        if (
            factor is None
            or factor <= 0
            or isinstance(owner, arith.DivUIOp)
            and constants[1] is None
        ):
            return None
        if isinstance(owner, arith.MuliOp):
            return (varying[0] * factor, varying[1] * factor)
        return (varying[0] // factor, varying[1] // factor + 1)
    if isinstance(owner, arith.MinSIOp | arith.MaxSIOp | arith.SelectOp | arith.IndexCastOp):
        return (min(r[0] for r in known), max(r[1] for r in known))
    return None


# ---------------------------------------------------------------------------------------
# Outlining


def _captures(e: FunctionEmitter, op: loop.ForOp) -> tuple[list[SSAValue], list[loop.CarveOp]]:
    """The values the loop (bounds included) reads from outside that must be passed in, and
    the carves to re-emit inside (outermost first); constants and globals are used as they
    are. A carve whose arena this function does not know (a split nest's argument) is
    captured."""
    captured: dict[SSAValue, None] = {}
    carves: dict[loop.CarveOp, None] = {}

    def resolve(value: SSAValue) -> None:
        owner = value.owner
        if isinstance(owner, loop.CarveOp) and _known_carve(e, owner):
            resolve(owner.arena)
            carves[owner] = None
        elif isinstance(e.values[value], ir.Instruction | ir.Argument):
            captured[value] = None

    for inner in op.walk():
        for operand in inner.operands:
            owner = operand.owner
            parent = owner if isinstance(owner, Operation) else owner.parent_op()
            if parent is not None and not op.is_ancestor(parent):
                resolve(operand)
    return list(captured), list(carves)


def _known_carve(e: FunctionEmitter, op: loop.CarveOp) -> bool:
    arena = op.arena.owner
    if isinstance(arena, loop.CarveOp):
        return _known_carve(e, arena)
    return op.arena in e.values


def emit_threaded_for(e: FunctionEmitter, op: loop.ForOp) -> None:
    """Emit `op` (see `should_run_threaded`) as an outlined body run by the pool."""
    captured, carves = _captures(e, op)
    passed = llvm_shape.passed_values(e, captured)  # with dynamic memrefs' extents
    types = [value.type for value in passed]
    index = sum(
        1 for g in e.module.globals if g.startswith(f"{e.fn.name}.par") and g.endswith(".impl")
    )
    name = f"{e.fn.name}.par{index}"
    impl = ir.Function(e.module, ir.FunctionType(ir.VoidType(), [i64, i64, *types]), f"{name}.impl")
    impl.linkage = "internal"
    impl.attributes.add("alwaysinline")
    impl.attributes.add("nounwind")
    for source, arg in zip(passed, impl.args[2:], strict=True):
        if isinstance(source, ir.Argument) and "noalias" in source.attributes:
            arg.add_attribute("noalias")

    sub = FunctionEmitter(e.module, e.functions, e.op, impl, e.emit_op)
    sub.values = {
        k: v for k, v in e.values.items() if not isinstance(v, ir.Instruction | ir.Argument)
    }
    llvm_shape.bind_passed(e, sub, captured, passed, impl.args[2:])
    for carve in carves:
        sub.emit_carve(carve)
    split = split_loop(op, e.threads)
    bounds = (split.lb, split.ub, split.step)
    if split is op:
        lb, ub, step = (sub.values[v] for v in bounds)
    else:  # constants, maybe defined in op's body
        lb, ub, step = (ir.Constant(i64, constant_index(v)) for v in bounds)
    b = sub.builder
    first = b.add(lb, b.mul(impl.args[0], step))
    last = b.add(lb, b.mul(impl.args[1], step))
    last = b.select(b.icmp_signed("<", last, ub), last, ub)
    if split is op:
        emit_loop(sub, op, first, last, step)
    else:
        sub.chunks[split] = (first, last)
        emit_loop(sub, op, *(sub.values[v] for v in (op.lb, op.ub, op.step)))
    sub.builder.ret_void()
    sub.allocas.branch(impl.basic_blocks[1])

    struct = ir.LiteralStructType(types)
    trampoline = _trampoline(e.module, name, impl, struct)
    slot = opaque(e.allocas.alloca(struct, name="captures"))
    for k, value in enumerate(passed):
        field = e.builder.gep(slot, [ir.Constant(i32, 0), ir.Constant(i32, k)], source_etype=struct)
        e.builder.store(value, field)
    trips, threads = _trips_and_threads(e, split)
    e.builder.call(parallel_runtime(e.module), [Pointer(trampoline), trips, slot, threads])


def _trips_and_threads(e: FunctionEmitter, op: loop.ForOp) -> tuple[Any, Any]:
    """The trip count and thread count to call the pool with: constants when the bounds are,
    else computed here, with 1 thread when the run-time trip count is too small to pay
    (below `min_parallel_trips`)."""
    exact = op.constant_trip_count()
    if exact is not None:
        return ir.Constant(i64, exact), ir.Constant(i32, e.threads)
    b = e.builder
    lb, ub, step = (e.values[v] for v in (op.lb, op.ub, op.step))
    span = b.sub(ub, lb)
    span = b.select(b.icmp_signed(">", span, ir.Constant(i64, 0)), span, ir.Constant(i64, 0))
    trips = b.udiv(b.add(span, b.sub(step, ir.Constant(i64, 1))), step, name="trips")
    body = nest_cost(op.body.block)
    least = min_parallel_trips(body, max_trip_count(op), e.threads, e.thread_costs)
    enough = b.icmp_unsigned(">=", trips, ir.Constant(i64, least or 2**62))
    return trips, b.select(enough, ir.Constant(i32, e.threads), ir.Constant(i32, 1))


def _trampoline(
    module: ir.Module, name: str, impl: ir.Function, struct: ir.LiteralStructType
) -> ir.Function:
    """`void name(i64 begin, i64 end, ptr captures)`: unpack the struct, call `impl`."""
    fn = ir.Function(module, BODY_TYPE, name)
    fn.linkage = "internal"
    fn.attributes.add("nounwind")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    begin, end, captures = fn.args
    values = [
        b.load(
            b.gep(captures, [ir.Constant(i32, 0), ir.Constant(i32, k)], source_etype=struct), typ=t
        )
        for k, t in enumerate(struct.elements)
    ]
    b.call(impl, [begin, end, *values])
    b.ret_void()
    return fn
