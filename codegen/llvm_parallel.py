"""Threads for `parallel` loops: the outermost `parallel` loop.for of a function, when its
work pays for the handoff, runs its iterations split over a persistent thread pool.

    loop.for %i = %lb to %ub step %c1 parallel { body }      ; %lb, %ub constant or not
 ->
    ; in the function: the captured values in a stack struct, then
    call void @lamina.parallel_for(ptr @f.par0, i64 %trips, ptr %captures, i32 %threads)

    define internal void @f.par0(i64 %begin, i64 %end, ptr %captures)   ; loads, then calls
    define internal void @f.par0.impl(i64 %begin, i64 %end, <captures>)  ; alwaysinline
      ; loop.for over [lb + begin*step, min(lb + end*step, ub)) with the original body

The pool (`lamina.parallel_for(fn, n, ctx, threads)`, LLVM IR emitted once per module,
`linkonce_odr` so that a linker keeps one copy): the first call creates the workers
(`threads - 1`, detached, at most MAX_THREADS - 1). A call publishes the job, bumps the
generation word of each worker it needs, then claims and runs chunks itself like the
workers do (a CAS on one word), and waits for an atomic countdown of unfinished chunks: a
worker that has not woken yet (on a loaded machine) is never waited for. Idle workers and
the waiting caller spin (`pause` / `yield`) for SPIN_ITERATIONS, then sleep on a pthread
condition variable (a waker only locks the mutex when someone sleeps). Chunks are
contiguous and balanced: n = q*c + r iterations over c = min(threads, n) chunks give the
first r chunks q + 1 iterations, the others q. A call that finds the pool busy (a nested
parallel loop run by a chunk, or a second caller thread) runs its loop inline: one pool,
one job at a time. A thread that cannot be created leaves fewer chunks. A forked child
resets the pool (pthread_atfork; in the JIT, Python's os.register_at_fork).

Shutdown: workers are never joined; they park on the condition variable. In an AOT
bundle they die with the process (no atexit needed). The JIT emits within
`process_pool()`, so that its modules only declare `lamina.parallel_for`, and defines it
once per process from `process_runtime` in an engine it never frees (runtime/jit.py):
workers of a disposed JitModule would otherwise park inside freed code, and every
compiled module (every split nest) would own idle threads.

Invariants: the loop nest's IR is unchanged (the same ops are emitted into the outlined
function); constants, globals and carves of a captured arena are rematerialised inside it
rather than captured, so alias analysis still sees constant offsets from the `noalias`
kernel arguments (which keep `noalias` on the `.impl` function). The step must be a
constant; bounds known only at run time are passed in, and such a loop goes to the pool
only when its run-time trip count times its body's work reaches `PARALLEL_MIN_WORK`
(otherwise `threads = 1`: the call runs it inline).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import llvmlite.ir as ir
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerAttr
from xdsl.ir import Block, Operation, SSAValue

from lamina.dialects import loop

if TYPE_CHECKING:
    from lamina.codegen.llvm import FunctionEmitter

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
MAX_THREADS = 64
SPIN_ITERATIONS = 1 << 12
"""`pause` iterations (~20-60 ns each) before a waiting thread sleeps."""
RUNTIME_NAME = "lamina.parallel_for"
AFTER_FORK_NAME = "lamina.parallel_after_fork"

i1 = ir.IntType(1)
i32 = ir.IntType(32)
i64 = ir.IntType(64)
ptr = ir.PointerType()
BODY_TYPE = ir.FunctionType(ir.VoidType(), [i64, i64, ptr])
RUNTIME_TYPE = ir.FunctionType(ir.VoidType(), [ptr, i64, ptr, i32])


# ---------------------------------------------------------------------------------------
# Which loops, and their work


def _constant(value: SSAValue) -> int | None:
    owner = value.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, IntegerAttr):
        return owner.value.value.data
    return None


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
    return _constant(value)


def _lower(value: SSAValue) -> int:
    """A lower bound of an index value, assuming index values are non-negative."""
    owner = value.owner
    if isinstance(owner, arith.MaxSIOp | arith.MaxUIOp):
        return max(_lower(v) for v in owner.operands)
    return max(_constant(value) or 0, 0)


def trip_count(op: loop.ForOp) -> int | None:
    """Iterations of a loop with constant bounds and step, None if one is not constant."""
    lb, ub, step = (_constant(v) for v in (op.lb, op.ub, op.step))
    if lb is None or ub is None or step is None or step <= 0:
        return None
    return max(0, -(-(ub - lb) // step))


def max_trip_count(op: loop.ForOp) -> int | None:
    """An upper bound of the iterations (`_upper` of ub, `_lower` of lb), None if unknown."""
    upper, step = _upper(op.ub), _constant(op.step)
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
        if parent.parallel and trip_count(parent) != 1:
            return True
        parent = parent.parent_op()
    return False


def should_run_threaded(e: FunctionEmitter, op: loop.ForOp) -> bool:
    """The outermost parallel loop of a nest (serial loops may enclose it), with a constant
    step, when threads > 1 and its work can reach PARALLEL_MIN_WORK (at least two
    iterations for a constant trip count; for run-time bounds, the check is repeated at
    run time)."""
    if e.threads <= 1 or not op.parallel or (_constant(op.step) or 0) <= 0:
        return False
    if _in_parallel_loop(op):
        return False
    trips = trip_count(op)
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
    slot = _opaque(e.allocas.alloca(struct, name="captures"))
    for k, value in enumerate(captured):
        field = e.builder.gep(slot, [ir.Constant(i32, 0), ir.Constant(i32, k)], source_etype=struct)
        e.builder.store(e.values[value], field)
    trips, threads = _trips_and_threads(e, op)
    e.builder.call(parallel_runtime(e.module), [_Pointer(trampoline), trips, slot, threads])


def _trips_and_threads(e: FunctionEmitter, op: loop.ForOp) -> tuple[Any, Any]:
    """The trip count and thread count to call the pool with: constants when the bounds are,
    else computed here, with 1 thread when the run-time trip count is too small to pay."""
    exact = trip_count(op)
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
    slot.type = ptr  # llvmlite types an alloca or global `T*`; with opaque pointers it is `ptr`
    return slot


# ---------------------------------------------------------------------------------------
# The pool


_PROCESS_POOL: ContextVar[bool] = ContextVar("lamina_process_pool", default=False)


@contextmanager
def process_pool() -> Iterator[None]:
    """Within it, emitted modules only declare `lamina.parallel_for`: the process (the JIT,
    from `process_runtime`) defines it, one pool for all the modules it loads."""
    token = _PROCESS_POOL.set(True)
    try:
        yield
    finally:
        _PROCESS_POOL.reset(token)


def parallel_runtime(module: ir.Module) -> ir.Function:
    """`void lamina.parallel_for(ptr fn, i64 n, ptr ctx, i32 threads)` (see the module
    docstring), declared once per module; defined (`linkonce_odr`) unless within
    `process_pool()`."""
    existing = module.globals.get(RUNTIME_NAME)
    if isinstance(existing, ir.Function):
        return existing
    if _PROCESS_POOL.get():
        return ir.Function(module, RUNTIME_TYPE, RUNTIME_NAME)
    fn = _Pool(module, atfork=True).entry()
    fn.linkage = "linkonce_odr"
    return fn


def process_runtime(triple: str) -> ir.Module:
    """The module defining the pool of a JIT process: `lamina.parallel_for` and
    `lamina.parallel_after_fork` (what the forked child calls: libc's pthread_atfork is
    not resolvable in a JIT; Python's os.register_at_fork is)."""
    module = ir.Module(name="lamina.pool")
    module.triple = triple
    pool = _Pool(module, atfork=False)
    pool.entry()
    pool.child(AFTER_FORK_NAME)
    return module


class _Pool:
    """Emits the pool's state (internal globals) and functions into one module."""

    def __init__(self, module: ir.Module, atfork: bool) -> None:
        self.module = module
        self.atfork = atfork
        self.busy, self.ready, self.registered = (
            self._var(n, i32) for n in ("busy", "ready", "registered")
        )
        self.workers, self.epoch, self.sleepers, self.waiting = (
            self._var(n, i64) for n in ("workers", "epoch", "sleepers", "waiting")
        )
        self.pending = self._var("pending", ir.ArrayType(i64, 8), align=64)
        self.generations = self._var(
            "generations", ir.ArrayType(ir.ArrayType(i64, 8), MAX_THREADS), 64
        )
        self.claim = self._var("claim", ir.ArrayType(i64, 8), align=64)
        self.job = self._var("job", ir.LiteralStructType([ptr, i64, ptr, i64]))
        # pthread_mutex_t / pthread_cond_t are at most 48 bytes on the Linux ABIs we target
        self.mutex, self.wake_cv, self.done_cv = (
            self._var(n, ir.ArrayType(ir.IntType(8), 64), align=64)
            for n in ("mutex", "wake_cv", "done_cv")
        )
        self.chunk = self._chunk()
        self.await_ = self._await()
        self.wake = self._wake()
        self.participate = self._participate()

    # helpers -------------------------------------------------------------------------

    def _var(self, name: str, typ: ir.Type, align: int = 8) -> Any:
        g: Any = ir.GlobalVariable(self.module, typ, f"lamina.pool.{name}")
        g.linkage = "internal"
        g.initializer = ir.Constant(typ, None)
        g.align = align
        return _opaque(g)

    def libc(self, name: str, result: ir.Type, *args: ir.Type) -> ir.Function:
        existing = self.module.globals.get(name)
        if isinstance(existing, ir.Function):
            return existing
        return ir.Function(self.module, ir.FunctionType(result, list(args)), name)

    def _function(self, name: str, typ: ir.FunctionType) -> tuple[ir.Function, Any]:
        fn = ir.Function(self.module, typ, f"lamina.pool.{name}")
        fn.linkage = "internal"
        fn.attributes.add("nounwind")
        return fn, ir.IRBuilder(fn.append_basic_block("entry"))

    def _pause(self, b: Any) -> None:
        arch = self.module.triple.split("-")[0]
        if arch in ("x86_64", "i386", "i686"):
            b.call(self.libc("llvm.x86.sse2.pause", ir.VoidType()), [])
        elif arch in ("aarch64", "arm64"):
            b.call(self.libc("llvm.aarch64.hint", ir.VoidType(), i32), [ir.Constant(i32, 1)])

    def _generation(self, b: Any, k: Any) -> Any:
        indices = [ir.Constant(i32, 0), k, ir.Constant(i32, 0)]
        return b.gep(self.generations, indices, source_etype=self.generations.value_type)

    def _field(self, b: Any, k: int) -> Any:
        return b.gep(
            self.job, [ir.Constant(i32, 0), ir.Constant(i32, k)], source_etype=self.job.value_type
        )

    def _locked(self, b: Any, body: Callable[[], None]) -> None:
        b.call(self.libc("pthread_mutex_lock", i32, ptr), [self.mutex])
        body()
        b.call(self.libc("pthread_mutex_unlock", i32, ptr), [self.mutex])

    # functions -----------------------------------------------------------------------

    def _chunk(self) -> ir.Function:
        """`chunk(fn, n, ctx, c, k)`: run chunk k of c balanced contiguous chunks of [0, n)."""
        fn, b = self._function("chunk", ir.FunctionType(ir.VoidType(), [ptr, i64, ptr, i64, i64]))
        body, n, ctx, chunks, k = fn.args
        q, r = b.udiv(n, chunks), b.urem(n, chunks)
        below = b.icmp_unsigned("<", k, r)
        begin = b.add(b.mul(k, q), b.select(below, k, r))
        end = b.add(b.add(begin, q), b.zext(below, i64))
        b.call(_Pointer(body), [begin, end, ctx])
        b.ret_void()
        return fn

    def _await(self) -> ir.Function:
        """`await(word, value, while_equal, sleepers, cv)`: return once `*word == value`
        differs from `while_equal`; spin first, then sleep on `cv` counted in `*sleepers`."""
        typ = ir.FunctionType(ir.VoidType(), [ptr, i64, i1, ptr, ptr])
        fn, b = self._function("await", typ)
        word, value, while_equal, sleepers, cv = fn.args
        spin, pause, sleep, check, wait, woken, done = (
            fn.append_basic_block(n)
            for n in ("spin", "pause", "sleep", "check", "wait", "woken", "done")
        )

        def blocked() -> Any:
            now = b.load_atomic(word, "seq_cst", 8, typ=i64)
            return b.icmp_unsigned("==", b.icmp_unsigned("==", now, value), while_equal)

        entry = b.block
        b.branch(spin)
        b.position_at_end(spin)
        count = b.phi(i64)
        count.add_incoming(ir.Constant(i64, 0), entry)
        b.cbranch(blocked(), pause, done)
        b.position_at_end(pause)
        self._pause(b)
        count.add_incoming(b.add(count, ir.Constant(i64, 1)), pause)
        b.cbranch(b.icmp_unsigned("<", count, ir.Constant(i64, SPIN_ITERATIONS)), spin, sleep)
        b.position_at_end(sleep)
        b.call(self.libc("pthread_mutex_lock", i32, ptr), [self.mutex])
        b.atomic_rmw("add", sleepers, ir.Constant(i64, 1), "seq_cst")
        b.branch(check)
        b.position_at_end(check)
        b.cbranch(blocked(), wait, woken)
        b.position_at_end(wait)
        b.call(self.libc("pthread_cond_wait", i32, ptr, ptr), [cv, self.mutex])
        b.branch(check)
        b.position_at_end(woken)
        b.atomic_rmw("sub", sleepers, ir.Constant(i64, 1), "seq_cst")
        b.call(self.libc("pthread_mutex_unlock", i32, ptr), [self.mutex])
        b.branch(done)
        b.position_at_end(done)
        b.ret_void()
        return fn

    def _wake(self) -> ir.Function:
        """`wake(sleepers, cv)`: broadcast `cv` if anyone sleeps on it (after the caller's
        seq_cst store of the word they wait on: a sleeper counted itself under the mutex
        before checking that word, so either it sees the store or this sees it)."""
        fn, b = self._function("wake", ir.FunctionType(ir.VoidType(), [ptr, ptr]))
        sleepers, cv = fn.args
        anyone = b.load_atomic(sleepers, "seq_cst", 8, typ=i64)
        with b.if_then(b.icmp_unsigned("!=", anyone, ir.Constant(i64, 0))):
            self._locked(b, lambda: b.call(self.libc("pthread_cond_broadcast", i32, ptr), [cv]))
        b.ret_void()
        return fn

    def _participate(self) -> ir.Function:
        """`participate()`: claim and run chunks of the current job until none is left.
        A chunk is claimed by a CAS on `claim` (epoch << 16 | next chunk) from the value read
        before the job's fields: success proves the job was still open, so the fields were
        not yet overwritten by the next job (published only once every chunk is done)."""
        fn, b = self._function("participate", ir.FunctionType(ir.VoidType(), []))
        again, run, done = (fn.append_basic_block(n) for n in ("again", "run", "done"))
        b.branch(again)
        b.position_at_end(again)
        claim = b.load_atomic(self.claim, "acquire", 8, typ=i64)
        fields = self.job.value_type.elements
        body, n, ctx, chunks = (b.load(self._field(b, f), typ=t) for f, t in enumerate(fields))
        k = b.and_(claim, ir.Constant(i64, 0xFFFF))
        open_ = b.icmp_unsigned("<", k, chunks)
        with b.if_then(open_):
            pair = b.cmpxchg(
                self.claim, claim, b.add(claim, ir.Constant(i64, 1)), "acq_rel", "acquire"
            )
            b.cbranch(b.extract_value(pair, 1), run, again)
        b.branch(done)
        b.position_at_end(run)
        b.call(self.chunk, [body, n, ctx, chunks, k])
        left = b.atomic_rmw("sub", self.pending, ir.Constant(i64, 1), "seq_cst")
        with b.if_then(b.icmp_unsigned("==", left, ir.Constant(i64, 1))):
            b.call(self.wake, [self.waiting, self.done_cv])
        b.branch(again)
        b.position_at_end(done)
        b.ret_void()
        return fn

    def _worker(self) -> ir.Function:
        """`worker(k)`: forever wait for generation k to change, then help with the job."""
        fn, b = self._function("worker", ir.FunctionType(ptr, [ptr]))
        word = self._generation(b, b.ptrtoint(fn.args[0], i64))
        entry, again = b.block, fn.append_basic_block("again")
        b.branch(again)
        b.position_at_end(again)
        seen = b.phi(i64)
        seen.add_incoming(ir.Constant(i64, 0), entry)
        b.call(self.await_, [word, seen, ir.Constant(i1, 1), self.sleepers, self.wake_cv])
        seen.add_incoming(b.load_atomic(word, "acquire", 8, typ=i64), again)
        b.call(self.participate, [])
        b.branch(again)
        return fn

    def _grow(self) -> ir.Function:
        """`grow(wanted)`: initialise the pool once, create workers up to `wanted` (a worker
        starts at generation 0); returns how many exist. Called holding `busy`."""
        fn, b = self._function("grow", ir.FunctionType(i64, [i64]))
        header, create, created, done = (
            fn.append_basic_block(n) for n in ("header", "create", "created", "done")
        )
        tid = _opaque(b.alloca(i64, name="tid"))
        with b.if_then(b.icmp_unsigned("==", b.load(self.ready, typ=i32), ir.Constant(i32, 0))):
            for lock in (self.mutex,):
                b.call(
                    self.libc("pthread_mutex_init", i32, ptr, ptr), [lock, ir.Constant(ptr, None)]
                )
            for cv in (self.wake_cv, self.done_cv):
                b.call(self.libc("pthread_cond_init", i32, ptr, ptr), [cv, ir.Constant(ptr, None)])
            b.store(ir.Constant(i32, 1), self.ready)
            if self.atfork:
                self._register_atfork(b)
        b.branch(header)
        b.position_at_end(header)
        have = b.load(self.workers, typ=i64)
        b.cbranch(b.icmp_unsigned("<", have, fn.args[0]), create, done)
        b.position_at_end(create)
        k = b.add(have, ir.Constant(i64, 1))
        b.atomic_rmw("xchg", self._generation(b, k), ir.Constant(i64, 0), "seq_cst")
        start = self.libc("pthread_create", i32, ptr, ptr, ptr, ptr)
        status = b.call(
            start, [tid, ir.Constant(ptr, None), _Pointer(self._worker()), b.inttoptr(k, ptr)]
        )
        b.cbranch(b.icmp_unsigned("==", status, ir.Constant(i32, 0)), created, done)
        b.position_at_end(created)
        b.call(self.libc("pthread_detach", i32, i64), [b.load(tid, typ=i64)])
        b.store(k, self.workers)
        b.branch(header)
        b.position_at_end(done)
        b.ret(b.load(self.workers, typ=i64))
        return fn

    def _register_atfork(self, b: Any) -> None:
        registered = b.load(self.registered, typ=i32)
        with b.if_then(b.icmp_unsigned("==", registered, ir.Constant(i32, 0))):
            atfork = self.libc("pthread_atfork", i32, ptr, ptr, ptr)
            none = ir.Constant(ptr, None)
            handler = self.child("lamina.pool.child")
            handler.linkage = "internal"
            b.call(atfork, [none, none, _Pointer(handler)])
            b.store(ir.Constant(i32, 1), self.registered)

    def child(self, name: str) -> ir.Function:
        """The fork child handler: the child has no workers; start afresh."""
        fn = ir.Function(self.module, ir.FunctionType(ir.VoidType(), []), name)
        fn.attributes.add("nounwind")
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        for var, typ in (
            (self.busy, i32),
            (self.ready, i32),
            (self.workers, i64),
            (self.sleepers, i64),
            (self.waiting, i64),
        ):
            b.store(ir.Constant(typ, 0), var)
        b.ret_void()
        return fn

    def entry(self) -> ir.Function:
        """`lamina.parallel_for(fn, n, ctx, threads)`: the pool's entry."""
        fn = ir.Function(self.module, RUNTIME_TYPE, RUNTIME_NAME)
        fn.attributes.add("nounwind")
        body, n, ctx, threads = fn.args
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        inline, publish, release = (
            fn.append_basic_block(x) for x in ("inline", "publish", "release")
        )
        few = b.or_(
            b.icmp_signed("<", threads, ir.Constant(i32, 2)),
            b.icmp_signed("<", n, ir.Constant(i64, 2)),
        )
        with b.if_then(few):
            b.branch(inline)
        pair = b.cmpxchg(
            self.busy, ir.Constant(i32, 0), ir.Constant(i32, 1), "acquire", "monotonic"
        )
        with b.if_then(b.not_(b.extract_value(pair, 1))):
            b.branch(inline)
        wanted = b.zext(threads, i64)
        for limit in (n, ir.Constant(i64, MAX_THREADS)):
            wanted = b.select(b.icmp_unsigned("<", limit, wanted), limit, wanted)
        wanted = b.sub(wanted, ir.Constant(i64, 1))
        workers = b.call(self._grow(), [wanted])
        helpers = b.select(b.icmp_unsigned("<", workers, wanted), workers, wanted)
        b.cbranch(b.icmp_unsigned("==", helpers, ir.Constant(i64, 0)), release, publish)
        b.position_at_end(release)
        b.atomic_rmw("xchg", self.busy, ir.Constant(i32, 0), "release")
        b.branch(inline)
        b.position_at_end(publish)
        chunks = b.add(helpers, ir.Constant(i64, 1))
        for f, value in enumerate((body, n, ctx, chunks)):
            b.store(value, self._field(b, f))
        b.atomic_rmw("xchg", self.pending, chunks, "seq_cst")
        epoch = b.add(b.load(self.epoch, typ=i64), ir.Constant(i64, 1))
        b.store(epoch, self.epoch)
        b.atomic_rmw("xchg", self.claim, b.shl(epoch, ir.Constant(i64, 16)), "seq_cst")
        self._signal(b, fn, helpers, epoch)
        b.call(self.wake, [self.sleepers, self.wake_cv])
        b.call(self.participate, [])
        b.call(
            self.await_,
            [self.pending, ir.Constant(i64, 0), ir.Constant(i1, 0), self.waiting, self.done_cv],
        )
        b.atomic_rmw("xchg", self.busy, ir.Constant(i32, 0), "release")
        b.ret_void()
        b.position_at_end(inline)
        b.call(_Pointer(body), [ir.Constant(i64, 0), n, ctx])
        b.ret_void()
        return fn

    def _signal(self, b: Any, fn: ir.Function, helpers: Any, epoch: Any) -> None:
        """Store `epoch` into the generation words of workers 1..helpers."""
        entry, loop_block, done = (
            b.block,
            fn.append_basic_block("signal"),
            fn.append_basic_block("signalled"),
        )
        b.branch(loop_block)
        b.position_at_end(loop_block)
        k = b.phi(i64)
        k.add_incoming(ir.Constant(i64, 1), entry)
        b.atomic_rmw("xchg", self._generation(b, k), epoch, "seq_cst")
        k.add_incoming(b.add(k, ir.Constant(i64, 1)), loop_block)
        b.cbranch(b.icmp_unsigned("<", k, helpers), loop_block, done)
        b.position_at_end(done)
