"""What compiling one model cost and produced: filled by the compile pipeline
(compiler.py), carried by what it returns (a runtime `CompiledModel`, an AOT `Bundle`)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


def cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have ended (compile workers):
    on a shared machine this moves far less with others' load than wall time does."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@dataclass
class CompileStats:
    """Wall and CPU seconds per pass and per codegen step, and the arena the model needs."""

    seconds: dict[str, float] = field(default_factory=dict[str, float])
    cpu_seconds: dict[str, float] = field(default_factory=dict[str, float])
    """CPU seconds (`cpu_seconds()`) of the stages timed with `stage`."""
    arena_bytes: int = 0
    arena_lower_bound: int = 0
    reads_inputs: bool = True
    """False when no kernel function reads a graph input: every output was computed at
    compile time (folded), so running the model exercises no generated compute."""
    on_stage: Callable[[str, float], None] | None = field(default=None, compare=False)
    """Told each stage (`import`, a pass name, `llvm`) and its seconds as it finishes."""

    def record(self, stage: str, seconds: float) -> None:
        """Count `seconds` for `stage` and tell `on_stage`."""
        self.seconds[stage] = seconds
        if self.on_stage is not None:
            self.on_stage(stage, seconds)

    @contextlib.contextmanager
    def stage(self, stage: str) -> Iterator[None]:
        """Time the body as `stage`: its wall seconds `record`ed, its CPU seconds kept."""
        wall, cpu = time.perf_counter(), cpu_seconds()
        yield
        self.cpu_seconds[stage] = cpu_seconds() - cpu
        self.record(stage, time.perf_counter() - wall)
