"""The time of each loop nest of a model, at 1 and N threads.

    .venv/bin/python -m lamina.benchmarks.nest_times --model resnet50 [--threads 1,2]
        [--repeat 10] [--top 30] [--realtime]

The model (a name `benchmarks/latency.py` knows) is lowered once and JIT-compiled once per
thread count with `TimedNests`: `main` reads the cycle counter (`llvm.readcyclecounter`)
around each call of a nest and adds the difference to that call's slot of a global array,
so a threaded nest's time includes its handoff and the wait for the slowest chunk. The
thread counts run in turns (`repeat` calls each); per nest call the best time is printed in
microseconds (the counter calibrated against `time.perf_counter`), the biggest first,
with its label: `par <trips>` for a nest whose outer parallel loop has that constant trip
count (`par ?`: run-time bounds), `serial` for one without a threaded loop, and its
symbol. Totals split the time between threaded and serial nests, and `main` apart. The
best of the calls, not their median: the machine is shared, and load only adds time (a
threaded nest whose worker lost its core waits for it). `--realtime`: the timed rounds run
SCHED_FIFO (`realtime_threads`, benchmarks/latency.py), as if the machine had no other load.
"""

from __future__ import annotations

import argparse
import ctypes
import re
import time
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import llvmlite.ir as ir
import numpy as np
from llvmlite.ir.instructions import CallInstr

from lamina.codegen.llvm_pool import RUNTIME_NAME
from lamina.codegen.llvm_split import SplitNests
from lamina.errors import LaminaError
from lamina.runtime.jit import JitFunction, JitModule

if TYPE_CHECKING:
    from lamina.codegen.llvm_core import FunctionEmitter

MAX_NESTS = 1 << 14
COUNTERS = "lamina.nest_cycles"
CLOCK = "lamina.nest_clock"
i64 = ir.IntType(64)
_PARALLEL_CALL = re.compile(rf'call void @"?{re.escape(RUNTIME_NAME)}"?\(ptr @[^,]*, i64 ([^,]*),')


@dataclass
class TimedNests(SplitNests):
    """`SplitNests` that times each nest call in `main` (see the module docstring);
    call k (`timed[k]`, of a nest of kind `kinds[k]`) adds its cycles to
    `lamina.nest_cycles[k]`."""

    kinds: list[str] = field(default_factory=list[str])
    timed: list[CallInstr] = field(default_factory=list[CallInstr])

    def repeat(self, e: FunctionEmitter, key: Hashable, args: list[ir.Value]) -> bool:
        return False  # every call timed around a call of its own nest's emitted text

    def call(
        self, e: FunctionEmitter, nest: FunctionEmitter, args: list[ir.Value], key: Hashable | None
    ) -> None:
        index = self.calls
        if index >= MAX_NESTS:
            raise LaminaError(f"not supported: timing more than {MAX_NESTS} nest calls")
        counters, clock = _timing_globals(e.module)
        b = e.builder
        start = b.call(clock, [])
        super().call(e, nest, args, key)
        self.timed.append(b.block.instructions[-1])
        self.kinds.append(_kind(str(nest.fn.module)))
        stop = b.call(clock, [])
        slot = b.gep(counters, [ir.Constant(i64, 0), ir.Constant(i64, index)])
        b.store(b.add(b.load(slot, typ=i64), b.sub(stop, start)), slot)


def _timing_globals(module: ir.Module) -> tuple[Any, ir.Function]:
    """The counters array and `lamina.nest_clock()` (the cycle counter, also what the
    calibration calls), made once per module."""
    existing = module.globals.get(COUNTERS)
    if existing is not None:
        return existing, module.globals[CLOCK]
    typ = ir.ArrayType(i64, MAX_NESTS)
    counters: Any = ir.GlobalVariable(module, typ, COUNTERS)
    counters.initializer = ir.Constant(typ, None)
    counters.align = 64
    cycle = ir.Function(module, ir.FunctionType(i64, []), "llvm.readcyclecounter")
    clock = ir.Function(module, ir.FunctionType(i64, []), CLOCK)
    b = ir.IRBuilder(clock.append_basic_block())
    b.ret(b.call(cycle, []))
    return counters, clock


def _kind(text: str) -> str:
    """`par <trips>,...` (one per threaded loop of the nest; `?` when known at run time
    only) or `serial`."""
    trips = [t if t.isdigit() else "?" for t in _PARALLEL_CALL.findall(text)]
    return f"par {','.join(trips)}" if trips else "serial"


class NestProfile:
    """A JIT-compiled kernel-ABI module whose nest calls are timed: `run(*inputs)` returns
    the outputs and the cycles of each nest call; `cycles_per_us` converts."""

    def __init__(self, module: Any, threads: int, input_names: list[str]) -> None:
        self.jit = JitModule(module, threads=threads, nest_sink=TimedNests)
        self.function = JitFunction(self.jit, input_names=input_names)
        self.labels = _labels(self.jit)
        address = self.jit.engine.get_global_value_address(COUNTERS)
        self.counters = np.ctypeslib.as_array((ctypes.c_uint64 * MAX_NESTS).from_address(address))
        self.clock = ctypes.CFUNCTYPE(ctypes.c_uint64)(self.jit.address(CLOCK))
        self.cycles_per_us = self._calibrate()

    def run(self, *inputs: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        self.counters[:] = 0
        outputs = self.function(*inputs)
        return outputs, self.counters[: len(self.labels)].copy()

    def _calibrate(self, seconds: float = 0.05) -> float:
        start, cycles = time.perf_counter(), self.clock()
        time.sleep(seconds)
        return (self.clock() - cycles) / ((time.perf_counter() - start) * 1e6)


def _labels(jit: JitModule) -> list[str]:
    """The labels of the timed nest calls, in call order (what the sink recorded; a
    nest whose family shares a function is named by the function `main` calls)."""
    sink = jit.llvm_module.sink
    if not isinstance(sink, TimedNests):
        raise LaminaError("the module was not compiled with TimedNests")
    names = [call.operands[0].name for call in sink.timed]  # set by `close`
    return [f"{kind} {name}" for kind, name in zip(sink.kinds, names, strict=True)]


def profile(
    model_name: str, threads: list[int], repeat: int, realtime: bool = False
) -> tuple[list[str], dict[int, np.ndarray], dict[int, float]]:
    """Per thread count: the best microseconds of each nest call and of whole calls."""
    from lamina.benchmarks.latency import load, realtime_threads
    from lamina.compiler import lower_model
    from lamina.targets import load_device
    from lamina.tools.models import random_inputs

    model = load(model_name)
    feeds = random_inputs(model)
    lowered = lower_model(model, load_device("host"))
    inputs = [feeds[n] for n in lowered.input_names]
    profiles = {t: NestProfile(lowered.module, t, lowered.input_names) for t in threads}
    reference, _ = profiles[threads[0]].run(*inputs)
    for t, p in profiles.items():
        for got, want in zip(p.run(*inputs)[0], reference, strict=True):
            if not np.array_equal(got, want):
                print(f"{model_name}: WARNING outputs at {t} threads differ from {threads[0]}")
    nests: dict[int, list[np.ndarray]] = {t: [] for t in threads}
    walls: dict[int, list[float]] = {t: [] for t in threads}
    with realtime_threads(realtime):
        for _ in range(repeat):
            for t, p in profiles.items():
                time.sleep(0.02)  # the other configuration's workers park
                p.run(*inputs)
                start = time.perf_counter()
                _, cycles = p.run(*inputs)
                walls[t].append((time.perf_counter() - start) * 1e6)
                nests[t].append(cycles / p.cycles_per_us)
    labels = profiles[threads[-1]].labels
    best = {t: np.min(np.stack(nests[t]), axis=0) for t in threads}
    return labels, best, {t: min(walls[t]) for t in threads}


def report(
    labels: list[str], best: dict[int, np.ndarray], walls: dict[int, float], top: int
) -> str:
    threads = sorted(best)
    base = best[threads[0]]
    head = " ".join(f"{t}T us".rjust(10) for t in threads)
    ratios = " ".join(f"{t}T/{threads[0]}T".rjust(7) for t in threads[1:])
    lines = [f"{'call':>5} {head} {ratios}  label"]
    for k in np.argsort(-base)[:top]:
        times = " ".join(f"{best[t][k]:10.1f}" for t in threads)
        shares = " ".join(f"{best[t][k] / max(base[k], 1e-9):7.2f}" for t in threads[1:])
        lines.append(f"{k:5d} {times} {shares}  {labels[k]}")
    for kind in ("par", "serial"):
        picked = [k for k, label in enumerate(labels) if label.startswith(kind)]
        sums = " ".join(f"{best[t][picked].sum():10.1f}" for t in threads)
        lines.append(f"{'':5} {sums} {'':{8 * len(threads[1:])}} {kind} nests ({len(picked)})")
    rest = " ".join(f"{walls[t] - best[t].sum():10.1f}" for t in threads)
    lines.append(f"{'':5} {rest} {'':{8 * len(threads[1:])}} outside the nests")
    lines.append(f"{'':5} " + " ".join(f"{walls[t]:10.1f}" for t in threads) + "   whole call")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="time of each loop nest at 1 and N threads")
    parser.add_argument("--model", required=True)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--realtime", action="store_true", help="time at SCHED_FIFO priority")
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    labels, best, walls = profile(args.model, threads, args.repeat, args.realtime)
    print(report(labels, best, walls, args.top))


if __name__ == "__main__":
    main()
