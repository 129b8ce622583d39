"""What compiling one model cost and produced: filled by the compile pipeline
(compiler.py), carried by what it returns (a runtime `CompiledModel`, an AOT `Bundle`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class CompileStats:
    """Wall seconds per pass and per codegen step, and the arena the model needs."""

    seconds: dict[str, float] = field(default_factory=dict[str, float])
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
