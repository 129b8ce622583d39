"""Latency with 1 and N threads, lamina against onnxruntime at the same thread counts.

    .venv/bin/python -m lamina.benchmarks.threads [--models squeezenet shufflenet resnet50]
        [--threads 2] [--handoff]

For each model: compile once per thread count (`lamina.compile(..., threads=t)`), check
that the outputs with t threads equal those with 1, then time every configuration
interleaved (round-robin, median of `--repeat` calls each) so that load from other users of
the machine hits all of them alike. Printed: medians, the t-thread speed-up of each engine,
and lamina / onnxruntime at each thread count; plus compile seconds (LLVM's share apart).

`--handoff` first measures the thread pool itself (codegen/llvm_pool.py): the time of
`lamina.parallel_for` on an empty body with 2+ threads minus with 1 thread (inline), with
the workers spinning (calls back to back) and parked (5 ms between calls), which is what
the host's `[threads] handoff_ns` (targets/host.toml, read by the per-nest cost model of
codegen/llvm_parallel_cost.py) is set from.
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import time
from collections.abc import Callable
from typing import Any

import llvmlite.binding as llvm
import llvmlite.ir as ir
import numpy as np

from lamina.benchmarks.latency import median_ms_in_turns, onnxruntime_session
from lamina.compiler import compile as lamina_compile
from lamina.tools.models import light_model, random_inputs

SPIN_STEPS = 256


def _spin_body(module: ir.Module) -> ir.Function:
    """`body(begin, end, ctx)`: `SPIN_STEPS` dependent multiply-adds per iteration, the
    result stored (so that LLVM keeps them) in a global; then, when the thread running it
    is not `caller` (a global `bench` sets), 1 added to the global `helped`."""
    from lamina.codegen.llvm_pool import BODY_TYPE

    i64 = ir.IntType(64)
    fn = ir.Function(module, BODY_TYPE, "body")
    b = ir.IRBuilder(fn.append_basic_block())
    slot, caller, helped = (_global(module, name) for name in ("sink", "caller", "helped"))
    entry, loop, done = b.block, fn.append_basic_block(), fn.append_basic_block()
    steps = b.mul(b.sub(fn.args[1], fn.args[0]), ir.Constant(i64, SPIN_STEPS))
    b.branch(loop)
    b.position_at_end(loop)
    k, x = b.phi(i64), b.phi(i64)
    k.add_incoming(ir.Constant(i64, 0), entry)
    x.add_incoming(fn.args[0], entry)
    x.add_incoming(b.add(b.mul(x, ir.Constant(i64, 6364136223846793005)), k), loop)
    k.add_incoming(b.add(k, ir.Constant(i64, 1)), loop)
    b.cbranch(b.icmp_signed("<", b.add(k, ir.Constant(i64, 1)), steps), loop, done)
    b.position_at_end(done)
    b.store(x, slot)
    itself = b.call(_pthread_self(module), [])
    with b.if_then(b.icmp_unsigned("!=", itself, b.load(caller))):
        b.atomic_rmw("add", helped, ir.Constant(i64, 1), "monotonic")
    b.ret_void()
    return fn


def _global(module: ir.Module, name: str) -> Any:
    i64 = ir.IntType(64)
    slot: Any = ir.GlobalVariable(module, i64, name)
    slot.initializer = ir.Constant(i64, 0)
    return slot


def _pthread_self(module: ir.Module) -> ir.Function:
    existing = module.globals.get("pthread_self")
    if isinstance(existing, ir.Function):
        return existing
    return ir.Function(module, ir.FunctionType(ir.IntType(64), []), "pthread_self")


class HandoffKernel:
    """`kernel(reps, threads)`: `reps` calls of the pool on a 64-iteration body (~2 us on
    one core); `helped` counts the chunks that threads other than the caller ran."""

    def __init__(self) -> None:
        from lamina.codegen.llvm_pool import parallel_runtime, process_pool
        from lamina.codegen.llvm_target import optimize, target_machine
        from lamina.runtime.jit import process_parallel_runtime
        from lamina.targets import load_device

        host = load_device("host")
        module = ir.Module(name="handoff")
        module.triple = host.triple
        i32, i64 = ir.IntType(32), ir.IntType(64)
        body = _spin_body(module)
        bench = ir.Function(module, ir.FunctionType(ir.VoidType(), [i64, i32]), "bench")
        b = ir.IRBuilder(bench.append_basic_block())
        with process_pool():
            runtime = parallel_runtime(module)
        b.store(b.call(_pthread_self(module), []), module.globals["caller"])
        entry, loop, done = b.block, bench.append_basic_block(), bench.append_basic_block()
        b.branch(loop)
        b.position_at_end(loop)
        k = b.phi(i64)
        k.add_incoming(ir.Constant(i64, 0), entry)
        none = ir.Constant(ir.PointerType(), None)
        b.call(runtime, [body, ir.Constant(i64, 64), none, bench.args[1]])
        k.add_incoming(b.add(k, ir.Constant(i64, 1)), loop)
        b.cbranch(b.icmp_signed("<", b.add(k, ir.Constant(i64, 1)), bench.args[0]), loop, done)
        b.position_at_end(done)
        b.ret_void()
        process_parallel_runtime()
        machine = target_machine(host, fresh=True)
        self.engine = llvm.create_mcjit_compiler(optimize(module, host), machine)
        self.engine.finalize_object()
        self.run = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_int32)(
            self.engine.get_function_address("bench")
        )
        address = self.engine.get_global_value_address("helped")
        self.helped = ctypes.c_int64.from_address(address)

    def __call__(self, reps: int, threads: int) -> None:
        self.run(reps, threads)


def bench_handoff(threads: int, reps: int = 2000, parked: int = 200) -> None:
    """Print the pool's handoff cost, spinning and parked workers: the time of a call with
    `threads` threads minus 1/threads of the time inline (what splitting could save), and
    the share of the pooled calls' chunks the workers ran: near (threads - 1) / threads
    when they had cores, near 0 when the caller ran them all (a busy machine), which makes
    the first figure the inline time / threads and says nothing of the handoff."""
    bench = HandoffKernel()
    hot: dict[int, list[float]] = {1: [], threads: []}
    helped = {"spinning": 0, "parked": 0}
    for _ in range(5):
        for t in hot:
            start, before = time.perf_counter(), bench.helped.value
            bench(reps, t)
            hot[t].append((time.perf_counter() - start) / reps * 1e9)
            helped["spinning"] += bench.helped.value - before
    cold: dict[int, list[float]] = {1: [], threads: []}
    for _ in range(parked):
        for t in cold:
            time.sleep(0.005)
            start, before = time.perf_counter(), bench.helped.value
            bench(1, t)
            cold[t].append((time.perf_counter() - start) * 1e9)
            helped["parked"] += bench.helped.value - before
    chunks = {"spinning": 5 * reps * threads, "parked": parked * threads}
    for name, table in (("spinning", hot), ("parked", cold)):
        inline, pooled = statistics.median(table[1]), statistics.median(table[threads])
        print(
            f"handoff ({name} workers, x{threads}): {pooled - inline / threads:8.0f} ns per call"
            f" (body {inline:.0f} ns inline, {pooled:.0f} ns pooled;"
            f" workers ran {helped[name] / chunks[name]:.0%} of the chunks)"
        )


def bench_model(name: str, threads: int, repeat: int) -> None:
    model = light_model(name)
    feeds = random_inputs(model)
    inputs = [feeds[i.name] for i in model.graph.input if i.name in feeds]
    runs: dict[str, Callable[[], object]] = {}
    outputs: dict[int, list[np.ndarray]] = {}
    for t in sorted({1, threads}):
        start = time.perf_counter()
        compiled = lamina_compile(model, threads=t)
        total = time.perf_counter() - start
        print(
            f"{name}: compile ({t} thread(s)) {total:.2f} s, llvm {compiled.stats.seconds['llvm']:.2f} s"
        )
        outputs[t] = compiled(*inputs)
        runs[f"lamina x{t}"] = lambda c=compiled: c(*inputs)
        session = onnxruntime_session(model, t)
        runs[f"onnxruntime x{t}"] = lambda r=session: r(feeds)
    for a, b in zip(outputs[1], outputs[threads], strict=True):
        if not np.array_equal(a, b):
            print(f"{name}: WARNING outputs differ with {threads} threads")
    median = median_ms_in_turns(runs, warmup=1, repeat=repeat)
    for key, ms in median.items():
        print(f"{name}: {key:18s} {ms:9.2f} ms")
    for engine in ("lamina", "onnxruntime"):
        speedup = median[f"{engine} x1"] / median[f"{engine} x{threads}"]
        print(f"{name}: {engine} speed-up x{threads} / x1 = {speedup:.2f}")
    for t in sorted({1, threads}):
        ratio = median[f"lamina x{t}"] / median[f"onnxruntime x{t}"]
        print(f"{name}: lamina / onnxruntime at {t} thread(s) = {ratio:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description="lamina vs onnxruntime latency, 1 and N threads")
    parser.add_argument("--models", nargs="*", default=["squeezenet", "shufflenet", "resnet50"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--handoff", action="store_true", help="measure the pool's handoff")
    args = parser.parse_args()
    if args.handoff:
        bench_handoff(args.threads)
    for name in args.models:
        bench_model(name, args.threads, args.repeat)


if __name__ == "__main__":
    main()
