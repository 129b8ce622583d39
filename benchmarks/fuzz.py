"""Fuzz every front door (tools/fuzzing.py), each input in a forked child so that crashes
and hangs are seen too; prints a table of outcomes per door and the first failing inputs,
saved under --save for replay (`lamina-opt`, `lamina-run`, ... on the saved file).

    .venv/bin/python -m lamina.benchmarks.fuzz --per-door 10000 --seed 1

Exits 1 when any input ends in a traceback, internal error, partial output, hang or crash.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hypothesis import given, seed

from lamina.tools.fuzzing import (
    DOORS,
    FAILURES,
    HANG_SECONDS,
    OUTCOMES,
    Door,
    Outcome,
    fuzz_settings,
)

_SHOWN_PER_KIND = 3


def run_in_child(door: Door, example: Any, limit: float) -> Outcome:
    """`door.run(example)` in a forked child; a child killed by a signal is a crash, one
    still running `limit` seconds later (past the door's own alarm) a hang."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report the outcome through the pipe, leave without cleanup
        os.close(read_end)
        outcome = door.run(example)
        os.write(write_end, json.dumps([outcome.kind, outcome.detail]).encode())
        os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + limit
    status = 0
    while time.monotonic() < deadline:
        finished, status = os.waitpid(pid, os.WNOHANG)
        if finished:
            break
        time.sleep(0.005)
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_end)
        return Outcome("hang", f"killed after {limit:.0f} s")
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read()
    if os.WIFSIGNALED(status):
        return Outcome("crash", f"signal {os.WTERMSIG(status)}")
    if not report:
        return Outcome("crash", f"exit {os.WEXITSTATUS(status)} without an outcome")
    kind, detail = json.loads(report)
    return Outcome(kind, detail)


def fuzz_door(door: Door, count: int, first_seed: int, save: Path) -> Counter[str]:
    """Run `count` generated inputs through `door`; save the first few failures per kind."""
    counts: Counter[str] = Counter()
    door.warm_up()

    @seed(first_seed)
    @fuzz_settings(count)
    @given(door.inputs)
    def one_input(example: Any) -> None:
        outcome = run_in_child(door, example, HANG_SECONDS + 10)
        counts[outcome.kind] += 1
        if outcome.kind in FAILURES and counts[outcome.kind] <= _SHOWN_PER_KIND:
            where = save / door.name / f"{outcome.kind}-{counts[outcome.kind]}"
            where.mkdir(parents=True, exist_ok=True)
            door.save(example, where)
            (where / "outcome.txt").write_text(f"{outcome.kind}: {outcome.detail}\n")
            print(f"{door.name} {outcome.kind}: {outcome.detail}\n  saved in {where}", flush=True)

    one_input()
    return counts


def print_table(results: dict[str, Counter[str]]) -> None:
    print(f"{'door':<12}" + "".join(f"{kind:>12}" for kind in OUTCOMES))
    for name, counts in results.items():
        print(f"{name:<12}" + "".join(f"{counts[kind]:>12}" for kind in OUTCOMES))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--per-door", type=int, default=10000, help="inputs per door")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--doors", default=",".join(DOORS), help="comma-separated door names")
    parser.add_argument("--save", type=Path, default=Path("fuzz-failures"))
    args = parser.parse_args(argv)
    names = [name for name in args.doors.split(",") if name]
    unknown = [name for name in names if name not in DOORS]
    if unknown:
        parser.error(f"unknown doors {unknown}; known: {', '.join(DOORS)}")
    start = time.perf_counter()
    results = {name: fuzz_door(DOORS[name], args.per_door, args.seed, args.save) for name in names}
    print_table(results)
    failures = sum(counts[kind] for counts in results.values() for kind in FAILURES)
    total = sum(sum(counts.values()) for counts in results.values())
    print(f"{failures} failures in {total} inputs ({time.perf_counter() - start:.0f} s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
