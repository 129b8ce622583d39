"""Threads for `parallel` loops: the outermost `parallel` loop.for of a function, when its
work pays for the handoff, runs its iterations split over a persistent thread pool.

    loop.for %i = %lb to %ub step %c1 parallel { body }      ; %lb, %ub constant or not
 ->
    ; in the function: the captured values in a stack struct, then
    call void @lamina.parallel_for(ptr @f.par0, i64 %trips, ptr %captures, i32 %threads)

    define internal void @f.par0(i64 %begin, i64 %end, ptr %captures)   ; loads, then calls
    define internal void @f.par0.impl(i64 %begin, i64 %end, <captures>)  ; alwaysinline
      ; loop.for over [lb + begin*step, min(lb + end*step, ub)) with the original body

The pool that runs the chunks is codegen/llvm_pool.py.

Invariants: the loop nest's IR is unchanged (the same ops are emitted into the outlined
function); constants, globals and carves of a captured arena are rematerialised inside it
rather than captured, so alias analysis still sees constant offsets from the `noalias`
kernel arguments (which keep `noalias` on the `.impl` function); a captured memref with
dynamic dims brings its run-time extents (codegen/llvm_shape.py). The step must be a
constant; bounds known only at run time are passed in, and such a loop goes to the pool
only when its run-time trip count times its body's work reaches `PARALLEL_MIN_WORK`
(otherwise `threads = 1`: the call runs it inline).
"""

from __future__ import annotations

from typing import Any

import llvmlite.ir as ir
from xdsl.dialects import arith
from xdsl.ir import Block, Operation, SSAValue

from lamina.codegen import llvm_shape
from lamina.codegen.llvm_core import FunctionEmitter, emit_loop
from lamina.codegen.llvm_pool import BODY_TYPE, Pointer, opaque, parallel_runtime
from lamina.dialects import loop
from lamina.dialects.loop_for import constant_index

HANDOFF_NS = 10_000
"""What handing a loop to the pool costs against running it inline, measured with a
~4 us body (`benchmarks/threads.py --handoff`, 2 threads): ~10 us on the shared 2-core
Zen4 machine under load (load average ~7, so workers wait for a core), ~15 us with
parked workers."""
OPS_PER_NS = 4
"""Loop-level ops one core runs per ns in the models' loop bodies (vector ops count once)."""
PARALLEL_MIN_WORK = 2 * HANDOFF_NS * OPS_PER_NS
"""Estimated ops of a loop below which it stays serial: splitting it in two saves at most
half its time, which must exceed the handoff."""

i32 = ir.IntType(32)
i64 = ir.IntType(64)


# ---------------------------------------------------------------------------------------
# Which loops, and their work


def _upper(value: SSAValue) -> int | None:
    """An upper bound of an index value from constants, min, select and add; None if
    unknown."""
    owner = value.owner
    if isinstance(owner, arith.MinSIOp | arith.MinUIOp):
        known = [u for u in map(_upper, owner.operands) if u is not None]
        return min(known) if known else None
    bounds = [_upper(v) for v in owner.operands[1:]] if isinstance(owner, arith.SelectOp) else []
    if isinstance(owner, arith.AddiOp):
        bounds = [_upper(v) for v in owner.operands]
    if bounds and all(b is not None for b in bounds):
        return (max if isinstance(owner, arith.SelectOp) else sum)(b or 0 for b in bounds)
    return constant_index(value)


def _lower(value: SSAValue) -> int:
    """A lower bound of an index value, assuming index values are non-negative."""
    owner = value.owner
    if isinstance(owner, arith.MaxSIOp | arith.MaxUIOp):
        return max(_lower(v) for v in owner.operands)
    return max(constant_index(value) or 0, 0)


def max_trip_count(op: loop.ForOp) -> int | None:
    """An upper bound of the iterations (`_upper` of ub, `_lower` of lb), None if unknown."""
    upper, step = _upper(op.ub), constant_index(op.step)
    if upper is None or step is None or step <= 0:
        return None
    return max(0, -(-(upper - _lower(op.lb)) // step))


def work_estimate(block: Block) -> int:
    """Ops executed by one run of `block`, nested loops counted with their (bound on the)
    trip counts; a loop whose bound is unknown counts as one iteration."""
    total = 0
    for op in block.ops:
        if isinstance(op, loop.ForOp):
            total += (max_trip_count(op) or 1) * work_estimate(op.body.block)
        else:
            total += 1
    return total


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
    step, when threads > 1 and its work can reach PARALLEL_MIN_WORK (at least two
    iterations for a constant trip count; for run-time bounds, the check is repeated at
    run time)."""
    if e.threads <= 1 or not op.parallel or (constant_index(op.step) or 0) <= 0:
        return False
    if _in_parallel_loop(op):
        return False
    trips = op.constant_trip_count()
    if trips is not None and trips < 2:
        return False
    bound = trips if trips is not None else max_trip_count(op)
    return bound is None or bound * work_estimate(op.body.block) >= PARALLEL_MIN_WORK


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
    lb, ub, step = (sub.values[v] for v in (op.lb, op.ub, op.step))
    b = sub.builder
    first = b.add(lb, b.mul(impl.args[0], step))
    last = b.add(lb, b.mul(impl.args[1], step))
    last = b.select(b.icmp_signed("<", last, ub), last, ub)
    emit_loop(sub, op, first, last, step)
    sub.builder.ret_void()
    sub.allocas.branch(impl.basic_blocks[1])

    struct = ir.LiteralStructType(types)
    trampoline = _trampoline(e.module, name, impl, struct)
    slot = opaque(e.allocas.alloca(struct, name="captures"))
    for k, value in enumerate(passed):
        field = e.builder.gep(slot, [ir.Constant(i32, 0), ir.Constant(i32, k)], source_etype=struct)
        e.builder.store(value, field)
    trips, threads = _trips_and_threads(e, op)
    e.builder.call(parallel_runtime(e.module), [Pointer(trampoline), trips, slot, threads])


def _trips_and_threads(e: FunctionEmitter, op: loop.ForOp) -> tuple[Any, Any]:
    """The trip count and thread count to call the pool with: constants when the bounds are,
    else computed here, with 1 thread when the run-time trip count is too small to pay."""
    exact = op.constant_trip_count()
    if exact is not None:
        return ir.Constant(i64, exact), ir.Constant(i32, e.threads)
    b = e.builder
    lb, ub, step = (e.values[v] for v in (op.lb, op.ub, op.step))
    span = b.sub(ub, lb)
    span = b.select(b.icmp_signed(">", span, ir.Constant(i64, 0)), span, ir.Constant(i64, 0))
    trips = b.udiv(b.add(span, b.sub(step, ir.Constant(i64, 1))), step, name="trips")
    work = max(1, work_estimate(op.body.block))
    enough = b.icmp_unsigned(">=", trips, ir.Constant(i64, -(-PARALLEL_MIN_WORK // work)))
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
