"""Threads for `parallel` loops: the outermost `parallel` loop.for of a function, when its
work is big enough, runs its iterations split over the device's cores.

    loop.for %i = %c0 to %c64 step %c1 parallel { body }
 ->
    ; in the function: the captured values in a stack struct, then
    call void @lamina.parallel_for(ptr @f.par0, i64 64, ptr %captures)

    define internal void @f.par0(i64 %begin, i64 %end, ptr %captures)   ; loads, then calls
    define internal void @f.par0.impl(i64 %begin, i64 %end, <captures>)  ; alwaysinline
      ; loop.for over [lb + begin*step, min(lb + end*step, ub)) with the original body

`@lamina.parallel_for(fn, n, ctx)` (LLVM IR, emitted once per module) cuts [0, n) into
`threads` chunks, starts one pthread per chunk but the first (which the calling thread
runs), then joins them; a thread that cannot be created runs its chunk inline. pthread
symbols come from libc: the JIT process resolves them, AOT objects link with -lpthread.

Invariants: the loop nest's IR is unchanged (the same ops are emitted into the outlined
function); constants, globals and carves of a captured arena are rematerialised inside it
rather than captured, so alias analysis still sees constant offsets from the `noalias`
kernel arguments (which keep `noalias` on the `.impl` function). Loops whose bounds are not
constants, or whose estimated work is below `PARALLEL_MIN_WORK`, stay serial.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import llvmlite.ir as ir
from xdsl.dialects import arith
from xdsl.ir import Block, Operation, SSAValue

from lamina.dialects import loop

if TYPE_CHECKING:
    from lamina.codegen.llvm import FunctionEmitter

PARALLEL_MIN_WORK = 1 << 16
"""Estimated body ops x iterations below which a parallel loop stays serial: thread start
and join cost tens of microseconds, more than such a loop takes on one core."""

RUNTIME_NAME = "lamina.parallel_for"

i32 = ir.IntType(32)
i64 = ir.IntType(64)
ptr = ir.PointerType()


def constant_int(e: FunctionEmitter, value: SSAValue) -> int | None:
    """The value of an `arith.constant` integer/index operand, None otherwise."""
    owner = value.owner
    if isinstance(owner, arith.ConstantOp):
        llvm_value = e.values.get(value)
        if isinstance(llvm_value, ir.Constant) and isinstance(llvm_value.constant, int):
            return llvm_value.constant
    return None


def trip_count(e: FunctionEmitter, op: loop.ForOp) -> int | None:
    """Iterations of a loop with constant bounds and step, None if one is not constant."""
    lb, ub, step = (constant_int(e, v) for v in (op.lb, op.ub, op.step))
    if lb is None or ub is None or step is None or step <= 0:
        return None
    return max(0, -(-(ub - lb) // step))


def work_estimate(e: FunctionEmitter, block: Block) -> int:
    """Ops executed by one run of `block`, nested loops counted with their trip counts
    (a loop with unknown bounds counts as one iteration)."""
    total = 0
    for op in block.ops:
        if isinstance(op, loop.ForOp):
            total += (trip_count(e, op) or 1) * work_estimate(e, op.body.block)
        else:
            total += 1
    return total


def _in_parallel_loop(e: FunctionEmitter, op: Operation) -> bool:
    """Whether `op` is inside a parallel loop of more than one iteration (which would be
    the one to split: a trip count of 1, e.g. a batch of 1, does not count)."""
    parent = op.parent_op()
    while isinstance(parent, loop.ForOp):
        if parent.parallel and trip_count(e, parent) != 1:
            return True
        parent = parent.parent_op()
    return False


def should_run_threaded(e: FunctionEmitter, op: loop.ForOp) -> bool:
    """The outermost parallel loop of a nest (serial loops may enclose it), with constant
    bounds, at least two iterations and enough work per run, when threads > 1."""
    if e.threads <= 1 or not op.parallel:
        return False
    trips = trip_count(e, op)
    if trips is None or trips < 2 or _in_parallel_loop(e, op):
        return False
    return trips * work_estimate(e, op.body.block) >= PARALLEL_MIN_WORK


def _captures(e: FunctionEmitter, op: loop.ForOp) -> tuple[list[SSAValue], list[loop.CarveOp]]:
    """The values the loop reads from outside that must be passed in, and the carves to
    re-emit inside (outermost first); constants and globals are used as they are."""
    captured: dict[SSAValue, None] = {}
    carves: dict[loop.CarveOp, None] = {}

    def resolve(value: SSAValue) -> None:
        owner = value.owner
        if isinstance(owner, loop.CarveOp):
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


def emit_threaded_for(e: FunctionEmitter, op: loop.ForOp) -> None:
    """Emit `op` (see `should_run_threaded`) as an outlined body run by the thread runtime."""
    from lamina.codegen.llvm import FunctionEmitter, emit_loop

    captured, carves = _captures(e, op)
    types = [e.values[v].type for v in captured]
    index = sum(
        1 for g in e.module.globals if g.startswith(f"{e.fn.name}.par") and g.endswith(".impl")
    )
    name = f"{e.fn.name}.par{index}"
    impl = ir.Function(e.module, ir.FunctionType(ir.VoidType(), [i64, i64, *types]), f"{name}.impl")
    impl.linkage = "internal"
    impl.attributes.add("alwaysinline")
    impl.attributes.add("nounwind")
    for value, arg in zip(captured, impl.args[2:], strict=True):
        source = e.values[value]
        if isinstance(source, ir.Argument) and "noalias" in source.attributes:
            arg.add_attribute("noalias")

    sub = FunctionEmitter(e.module, e.functions, e.op, impl)
    sub.values = {
        k: v for k, v in e.values.items() if not isinstance(v, ir.Instruction | ir.Argument)
    }
    sub.values.update(zip(captured, impl.args[2:], strict=True))
    for carve in carves:
        sub.emit_carve(carve)
    lb, ub, step = (e.values[v].constant for v in (op.lb, op.ub, op.step))
    b = sub.builder
    first = b.add(ir.Constant(i64, lb), b.mul(impl.args[0], ir.Constant(i64, step)))
    last = b.add(ir.Constant(i64, lb), b.mul(impl.args[1], ir.Constant(i64, step)))
    last = b.select(b.icmp_signed("<", last, ir.Constant(i64, ub)), last, ir.Constant(i64, ub))
    emit_loop(sub, op, first, last, ir.Constant(i64, step))
    sub.builder.ret_void()
    sub.allocas.branch(impl.basic_blocks[1])

    struct = ir.LiteralStructType(types)
    trampoline = _trampoline(e.module, name, impl, struct)
    slot = _opaque(e.allocas.alloca(struct, name="captures"))
    slot.type = ptr  # llvmlite types it `{...}*`; with opaque pointers it is `ptr`
    for k, value in enumerate(captured):
        field = e.builder.gep(slot, [ir.Constant(i32, 0), ir.Constant(i32, k)], source_etype=struct)
        e.builder.store(e.values[value], field)
    runtime = parallel_runtime(e.module, e.threads)
    trips = trip_count(e, op)
    e.builder.call(runtime, [_Pointer(trampoline), ir.Constant(i64, trips), slot])


def _trampoline(
    module: ir.Module, name: str, impl: ir.Function, struct: ir.LiteralStructType
) -> ir.Function:
    """`void name(i64 begin, i64 end, ptr captures)`: unpack the struct, call `impl`."""
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [i64, i64, ptr]), name)
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


def parallel_runtime(module: ir.Module, threads: int) -> ir.Function:
    """`void lamina.parallel_for(ptr fn, i64 n, ptr ctx)` for `threads` threads, emitted once:
    fn(begin, end, ctx) on `threads` contiguous chunks of [0, n), chunk 0 on this thread."""
    existing = module.globals.get(RUNTIME_NAME)
    if isinstance(existing, ir.Function):
        return existing
    task = ir.LiteralStructType([ptr, i64, i64, ptr])  # fn, begin, end, ctx
    worker = _worker(module, task)
    create = ir.Function(module, ir.FunctionType(i32, [ptr, ptr, ptr, ptr]), "pthread_create")
    join = ir.Function(module, ir.FunctionType(i32, [i64, ptr]), "pthread_join")
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [ptr, i64, ptr]), RUNTIME_NAME)
    fn.linkage = "internal"
    body, n, ctx = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    helpers = threads - 1
    tasks = _opaque(b.alloca(ir.ArrayType(task, helpers), name="tasks"))
    tids = _opaque(b.alloca(ir.ArrayType(i64, helpers), name="tids"))
    started = _opaque(b.alloca(ir.ArrayType(ir.IntType(1), helpers), name="started"))
    chunk = b.sdiv(b.add(n, ir.Constant(i64, helpers)), ir.Constant(i64, threads), name="chunk")

    def bounds(t: int) -> tuple[Any, Any]:
        begin = b.mul(chunk, ir.Constant(i64, t))
        end = b.add(begin, chunk)
        end = b.select(b.icmp_signed("<", end, n), end, n)
        return begin, end

    def at(array: Any, element: ir.Type, t: int, *field: int) -> Any:
        indices = [ir.Constant(i32, 0), ir.Constant(i32, t), *(ir.Constant(i32, f) for f in field)]
        return b.gep(array, indices, source_etype=array.allocated_type)

    for t in range(1, threads):
        begin, end = bounds(t)
        for k, value in enumerate((body, begin, end, ctx)):
            b.store(value, at(tasks, task, t - 1, k))
        has_work = b.icmp_signed("<", begin, end)
        b.store(ir.Constant(ir.IntType(1), 0), at(started, ir.IntType(1), t - 1))
        with b.if_then(has_work):
            status = b.call(
                create,
                [
                    at(tids, i64, t - 1),
                    ir.Constant(ptr, None),
                    _Pointer(worker),
                    at(tasks, task, t - 1),
                ],
            )
            ok = b.icmp_signed("==", status, ir.Constant(i32, 0))
            b.store(ok, at(started, ir.IntType(1), t - 1))
            with b.if_then(b.not_(ok)):  # no thread: run the chunk here
                b.call(worker, [at(tasks, task, t - 1)])
    begin, end = bounds(0)
    b.call(_Pointer(body), [begin, end, ctx])
    for t in range(1, threads):
        with b.if_then(b.load(at(started, ir.IntType(1), t - 1), typ=ir.IntType(1))):
            b.call(join, [b.load(at(tids, i64, t - 1), typ=i64), ir.Constant(ptr, None)])
    b.ret_void()
    return fn


BODY_TYPE = ir.FunctionType(ir.VoidType(), [i64, i64, ptr])


class _Pointer:
    """A function as an opaque `ptr` operand, or a loaded function pointer as a callee (with
    the `function_type` llvmlite reads): llvmlite only knows typed function pointers."""

    function_type = BODY_TYPE
    type = ptr

    def __init__(self, value: Any) -> None:
        self.value = value

    def get_reference(self) -> str:
        return str(self.value.get_reference())


def _opaque(slot: Any) -> Any:
    slot.type = ptr  # llvmlite types an alloca `T*`; with opaque pointers it is `ptr`
    return slot


def _worker(module: ir.Module, task: ir.LiteralStructType) -> ir.Function:
    """`ptr lamina.parallel_worker(ptr task)`: a pthread start routine running one task."""
    fn = ir.Function(module, ir.FunctionType(ptr, [ptr]), "lamina.parallel_worker")
    fn.linkage = "internal"
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    (arg,) = fn.args
    fields = [
        b.load(b.gep(arg, [ir.Constant(i32, 0), ir.Constant(i32, k)], source_etype=task), typ=t)
        for k, t in enumerate(task.elements)
    ]
    body, begin, end, ctx = fields
    b.call(_Pointer(body), [begin, end, ctx])
    b.ret(ir.Constant(ptr, None))
    return fn
