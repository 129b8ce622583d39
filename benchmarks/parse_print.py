"""How fast lamina reads, verifies and prints large modules (issue: `lamina-opt` on a
20,000-op graph-level file in at most 3 s wall, start-up included).

Builds a `graph` module of N ops (a chain of graph.add / graph.relu on small tensors) and
times, in this process, parsing it through lamina-opt's parser, verifying every op as
lamina-opt does and printing it back (CPU seconds, best of `--repeats`), with each phase's
share; checks that the printed text parses to the same text. Then runs the real command
line, `python -m lamina.tools.opt chain.mlir` and the same on a one-op file (its start-up),
as subprocesses: best wall time of `--repeats` runs and the CPU seconds of that run.
The machine may be shared: CPU seconds are the steadier figure.

Usage: python -m lamina.benchmarks.parse_print [N] [--repeats 3]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from io import StringIO
from pathlib import Path

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.printer import Printer

from lamina.context import make_context
from lamina.tools.opt import LocatingParser

TARGET_SECONDS = 3.0
"""The issue's bound on the command line's wall time for 20,000 ops."""


def chain_module(n_ops: int) -> str:
    """Text of a func with `n_ops` graph ops alternating add and relu."""
    t = "tensor<1x16xf32>"
    lines = [f"func.func @chain(%x: {t}) -> {t} {{"]
    previous = "%x"
    for i in range(n_ops - 1):
        if i % 2 == 0:
            lines.append(f"  %v{i} = graph.add {previous}, %x : {t}")
        else:
            lines.append(f"  %v{i} = graph.relu {previous} : {t}")
        previous = f"%v{i}"
    lines.append(f"  func.return {previous} : {t}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def parse(ctx: Context, text: str) -> ModuleOp:
    return LocatingParser(ctx, text, "chain.mlir").parse_module()


def verify(module: ModuleOp) -> None:
    """Every op on its own, as lamina-opt verifies (one diagnostic per failing op)."""
    for op in module.walk():
        op.verify(verify_nested_ops=False)


def print_text(module: ModuleOp) -> str:
    out = StringIO()
    Printer(stream=out).print_op(module)
    return out.getvalue()


def best_cpu_seconds(call: Callable[[], object], repeats: int) -> float:
    """The fewest CPU seconds (this process) of `repeats` calls of `call`."""
    times: list[float] = []
    for _ in range(repeats):
        start = time.process_time()
        call()
        times.append(time.process_time() - start)
    return min(times)


def best_cli_run(path: Path, repeats: int) -> tuple[float, float]:
    """(wall, CPU) seconds of the fastest of `repeats` runs of lamina-opt on `path`; its
    output goes to /dev/null (printed all the same)."""
    runs: list[tuple[float, float]] = []
    command = [sys.executable, "-m", "lamina.tools.opt", str(path)]
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        runs.append((wall, cpu))
    return min(runs)


def main() -> None:
    arguments = argparse.ArgumentParser(description="lamina-opt read / verify / print throughput")
    arguments.add_argument("n_ops", nargs="?", type=int, default=20_000)
    arguments.add_argument("--repeats", type=int, default=3)
    args = arguments.parse_args()
    n_ops, repeats = args.n_ops, args.repeats
    text = chain_module(n_ops)
    ctx = make_context()

    module = parse(ctx, text)
    printed = print_text(module)
    assert print_text(parse(ctx, printed)) == printed, "print -> parse -> print is not stable"
    phases = {
        "parse": best_cpu_seconds(lambda: parse(ctx, text), repeats),
        "verify": best_cpu_seconds(lambda: verify(module), repeats),
        "print": best_cpu_seconds(lambda: print_text(module), repeats),
    }
    total = sum(phases.values())
    print(f"ops: {n_ops} (in process, CPU seconds, best of {repeats})")
    for phase, seconds in phases.items():
        rate = f"{n_ops / seconds:,.0f} ops/s" if seconds else "-"
        print(f"  {phase:7} {seconds:5.2f} s  {seconds / total:4.0%}  ({rate})")
    print(f"  total   {total:5.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        chain, tiny = Path(tmp, "chain.mlir"), Path(tmp, "tiny.mlir")
        chain.write_text(text)
        tiny.write_text(chain_module(1))
        startup_wall, startup_cpu = best_cli_run(tiny, repeats)
        wall, cpu = best_cli_run(chain, repeats)
    print(f"lamina-opt (subprocess, best wall of {repeats}, CPU of that run)")
    print(f"  start-up (1 op)     {startup_wall:5.2f} s wall  {startup_cpu:5.2f} s CPU")
    verdict = "met" if wall <= TARGET_SECONDS else "MISSED"
    print(
        f"  {n_ops} ops         {wall:5.2f} s wall  {cpu:5.2f} s CPU"
        f"  (target <= {TARGET_SECONDS:.0f} s wall: {verdict})"
    )


if __name__ == "__main__":
    main()
