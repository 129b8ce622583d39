"""Each threaded loop of a model on the thread pool against inline, the same machine code.

    .venv/bin/python -m lamina.benchmarks.parallel_sites --model ppocr-cls [--threads 2]
        [--repeat 15] [--top 30] [--realtime]

The model (a name `benchmarks/latency.py` knows) is compiled once at `--threads`, with
`lamina.parallel_for` (codegen/llvm_pool.py) resolved to a Python wrapper around this
process's pool: it times every call and, in alternate rounds, passes `threads = 1`, so
that the call runs its loop inline on the caller. A site is one body function with its
trip count (the nests of one family share the function: their calls merge). Printed per
site, the biggest inline time per model run first: its trips, its calls per run, the
median microseconds of a call inline and on the pool, and their ratio: a site at or above
1 is a loop the cost model (codegen/llvm_parallel_cost.py) threads where threads do not
pay. The wrapper's own microsecond or two is in both medians. The outputs of the inline
and the pooled rounds must be equal (threads never change results); a difference is
printed and the benchmark exits 1. `--realtime`: the timed rounds run SCHED_FIFO
(`realtime_threads`, benchmarks/latency.py), as if the machine had no other load.
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

PoolCall = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int32)
"""`lamina.parallel_for(fn, n, ctx, threads)` as ctypes calls it."""


@dataclass
class Site:
    """The calls of one body function over `trips` iterations: microseconds per call,
    inline (`threads = 1`) and on the pool."""

    trips: int
    inline_us: list[float] = field(default_factory=list[float])
    pooled_us: list[float] = field(default_factory=list[float])


@dataclass
class SiteProfile:
    """The sites in the order of their first call, the model runs of each kind, and
    whether the inline and the pooled outputs were equal."""

    sites: list[Site]
    runs: int
    equal: bool


def profile(name: str, threads: int, repeat: int, realtime: bool = False) -> SiteProfile:
    """Time the model `name`'s pool calls: `repeat` rounds, each 2 runs inline then 2 on
    the pool. Run it in a process of its own: the wrapper replaces the process's pool
    symbol for every module compiled after it."""
    import llvmlite.binding as llvm

    from lamina.benchmarks.latency import load, realtime_threads
    from lamina.codegen.llvm_pool import RUNTIME_NAME
    from lamina.compiler import compile as lamina_compile
    from lamina.runtime.jit import process_parallel_runtime
    from lamina.tools.models import random_inputs

    pool = PoolCall(process_parallel_runtime())
    sites: dict[tuple[int, int], Site] = {}
    state = {"inline": False, "timing": False}

    def timed_call(fn: int, n: int, ctx: int, wanted: int) -> None:
        start = time.perf_counter_ns()
        pool(fn, n, ctx, 1 if state["inline"] else wanted)
        spent = (time.perf_counter_ns() - start) / 1e3
        if state["timing"]:
            site = sites.setdefault((fn, n), Site(n))
            (site.inline_us if state["inline"] else site.pooled_us).append(spent)

    wrapper = PoolCall(timed_call)
    llvm.add_symbol(RUNTIME_NAME, ctypes.cast(wrapper, ctypes.c_void_p).value or 0)
    model = load(name)
    feeds = random_inputs(model)
    compiled = lamina_compile(model, "host", threads=threads)
    outputs: dict[bool, list[np.ndarray]] = {}
    for inline in (True, False):
        state["inline"] = inline
        outputs[inline] = compiled(**feeds)
    equal = all(
        np.array_equal(a, b, equal_nan=True)
        for a, b in zip(outputs[True], outputs[False], strict=True)
    )
    with realtime_threads(realtime):
        state["timing"] = True
        for _ in range(repeat):
            for inline in (True, False):
                state["inline"] = inline
                for _ in range(2):
                    compiled(**feeds)
        state["timing"] = False
    return SiteProfile(list(sites.values()), 2 * repeat, equal)


def report(found: SiteProfile, top: int) -> str:
    """A line per site (the `top` biggest inline time per run), then the totals per run."""
    lines = [f"{'site':>4} {'trips':>6} {'calls':>5} {'inline us':>10} {'pool us':>9} {'ratio':>6}"]
    per_run = {True: 0.0, False: 0.0}
    rows = []
    for k, site in enumerate(found.sites):
        calls = len(site.pooled_us) / found.runs
        inline, pooled = statistics.median(site.inline_us), statistics.median(site.pooled_us)
        per_run[True] += inline * calls
        per_run[False] += pooled * calls
        rows.append((inline * calls, k, site, calls, inline, pooled))
    for _, k, site, calls, inline, pooled in sorted(rows, key=lambda r: -r[0])[:top]:
        ratio = pooled / inline
        lines.append(
            f"{k:4d} {site.trips:6d} {calls:5.1f} {inline:10.1f} {pooled:9.1f} {ratio:6.2f}"
        )
    slower = sum(1 for row in rows if row[5] >= row[4])
    lines.append(
        f"{len(rows)} sites, {slower} no faster on the pool; per model run: inline"
        f" {per_run[True]:.0f} us, on the pool {per_run[False]:.0f} us"
    )
    if not found.equal:
        lines.append("FAILED: the outputs on the pool differ from those inline")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--realtime", action="store_true", help="time at SCHED_FIFO priority")
    args = parser.parse_args(argv)
    found = profile(args.model, args.threads, args.repeat, args.realtime)
    print(report(found, args.top))
    return 0 if found.equal else 1


if __name__ == "__main__":
    sys.exit(main())
