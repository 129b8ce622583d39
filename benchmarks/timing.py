"""Wall-clock timing of a call for the benchmarks: one warm-up call (page-in, JIT and
thread-pool start-up stay out), then `repeats` timed calls."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def call_seconds(call: Callable[[], object], repeats: int) -> list[float]:
    """The seconds of each of `repeats` calls of `call` after one untimed call."""
    call()
    times: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def best_seconds(call: Callable[[], object], repeats: int) -> float:
    return min(call_seconds(call, repeats))


def median_seconds(call: Callable[[], object], repeats: int) -> float:
    return statistics.median(call_seconds(call, repeats))
