"""The thread pool of parallel loops: `lamina.parallel_for`, written in LLVM IR over
pthreads (what codegen/llvm_parallel.py calls).

The pool (`lamina.parallel_for(fn, n, ctx, threads)`, LLVM IR emitted once per module,
`linkonce_odr` so that a linker keeps one copy): the first call creates the workers
(`threads - 1`, detached, at most MAX_THREADS - 1). A call publishes the job, bumps the
generation word of each worker it needs, then claims and runs chunks itself like the
workers do (a CAS on one word), and waits for an atomic countdown of unfinished chunks: a
worker that has not woken yet (on a loaded machine) is never waited for. Idle workers and
the waiting caller spin (`pause`) for SPIN_NS by the monotonic clock, which they read
every CHECK_EVERY pauses, then also calling `sched_yield` (a spinner never keeps a thread
that shares its core from running: the caller, the worker it waits for, another
process), then sleep on a pthread condition variable (a waker only locks the mutex when
someone sleeps). A time, not a count of pauses: a `pause` takes ~10 ns on some x86 cores
and ~40 on others. Chunks are contiguous and balanced: n = q*c + r iterations over
c = min(threads, n) chunks give the first r chunks q + 1 iterations, the others q. A call that finds the pool busy (a nested
parallel loop run by a chunk, or a second caller thread) runs its loop inline: one pool,
one job at a time. A thread that cannot be created leaves fewer chunks. A forked child
resets the pool (pthread_atfork; in the JIT, Python's os.register_at_fork).

Shutdown: workers are never joined; they park on the condition variable. In an AOT
bundle they die with the process (no atexit needed). The JIT emits within
`process_pool()`, so that its modules only declare `lamina.parallel_for`, and defines it
once per process from `process_runtime` in an engine it never frees (runtime/jit.py):
workers of a disposed JitModule would otherwise park inside freed code, and every
compiled module (every split nest) would own idle threads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import llvmlite.ir as ir

MAX_THREADS = 64
SPIN_NS = 1_000_000
"""How long a waiting thread spins before it sleeps: waking a sleeper costs more than a
short spin (in a VM, ~20 us of the waker's time and a worker that arrives after a small
loop is done), so a caller that runs its model in a loop with up to ~1 ms between calls,
or a model with serial stretches between its parallel loops, finds its workers awake."""
CHECK_EVERY = 64
"""A spinning thread reads the clock and calls `sched_yield` every this many `pause`s (a
power of 2): on a busy host a runnable thread sharing its core (the caller, or the worker
it waits for) runs at once instead of when the spinner's time slice ends."""
CLOCK_MONOTONIC = 1
"""Its number in Linux's <time.h> (every architecture)."""
RUNTIME_NAME = "lamina.parallel_for"
AFTER_FORK_NAME = "lamina.parallel_after_fork"

i1 = ir.IntType(1)
i32 = ir.IntType(32)
i64 = ir.IntType(64)
ptr = ir.PointerType()
BODY_TYPE = ir.FunctionType(ir.VoidType(), [i64, i64, ptr])
"""`void body(i64 begin, i64 end, ptr captures)`: what the pool runs a chunk with."""
RUNTIME_TYPE = ir.FunctionType(ir.VoidType(), [ptr, i64, ptr, i32])


class Pointer:
    """A function as an opaque `ptr` operand, or a loaded function pointer as a callee (with
    the `function_type` llvmlite reads): llvmlite only knows typed function pointers."""

    function_type = BODY_TYPE
    type = ptr

    def __init__(self, value: Any) -> None:
        self.value = value

    def get_reference(self) -> str:
        return str(self.value.get_reference())


def opaque(slot: Any) -> Any:
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
        self.clock = self._clock()
        self.await_ = self._await()
        self.wake = self._wake()
        self.participate = self._participate()

    # helpers -------------------------------------------------------------------------

    def _var(self, name: str, typ: ir.Type, align: int = 8) -> Any:
        g: Any = ir.GlobalVariable(self.module, typ, f"lamina.pool.{name}")
        g.linkage = "internal"
        g.initializer = ir.Constant(typ, None)
        g.align = align
        return opaque(g)

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
        b.call(Pointer(body), [begin, end, ctx])
        b.ret_void()
        return fn

    def _clock(self) -> ir.Function:
        """`clock()`: CLOCK_MONOTONIC in ns (`clock_gettime`, through the vDSO on Linux)."""
        fn, b = self._function("clock", ir.FunctionType(i64, []))
        timespec = ir.LiteralStructType([i64, i64])
        ts = opaque(b.alloca(timespec, name="ts"))
        b.call(self.libc("clock_gettime", i32, i32, ptr), [ir.Constant(i32, CLOCK_MONOTONIC), ts])
        fields = [
            b.load(
                b.gep(ts, [ir.Constant(i32, 0), ir.Constant(i32, k)], source_etype=timespec),
                typ=i64,
            )
            for k in (0, 1)
        ]
        b.ret(b.add(b.mul(fields[0], ir.Constant(i64, 1_000_000_000)), fields[1]))
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

        since = opaque(b.alloca(i64, name="since"))
        entry = b.block
        b.branch(spin)
        b.position_at_end(spin)
        count = b.phi(i64)
        count.add_incoming(ir.Constant(i64, 0), entry)
        b.cbranch(blocked(), pause, done)
        b.position_at_end(pause)
        with b.if_then(b.icmp_unsigned("==", count, ir.Constant(i64, 0))):
            b.store(b.call(self.clock, []), since)
        self._pause(b)
        next_count = b.add(count, ir.Constant(i64, 1))
        turn = b.and_(count, ir.Constant(i64, CHECK_EVERY - 1))
        checking = b.icmp_unsigned("==", turn, ir.Constant(i64, CHECK_EVERY - 1))
        between_checks = b.block
        check_clock = fn.append_basic_block("clock")
        b.cbranch(checking, check_clock, spin)
        count.add_incoming(next_count, between_checks)
        b.position_at_end(check_clock)
        b.call(self.libc("sched_yield", i32), [])
        spent = b.sub(b.call(self.clock, []), b.load(since, typ=i64))
        count.add_incoming(next_count, b.block)
        b.cbranch(b.icmp_signed("<", spent, ir.Constant(i64, SPIN_NS)), spin, sleep)
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
        tid = opaque(b.alloca(i64, name="tid"))
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
            start, [tid, ir.Constant(ptr, None), Pointer(self._worker()), b.inttoptr(k, ptr)]
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
            b.call(atfork, [none, none, Pointer(handler)])
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
        b.call(Pointer(body), [ir.Constant(i64, 0), n, ctx])
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
