"""What compiling one model cost and produced: filled by the compile pipeline
(compiler.py), carried by what it returns (a runtime `CompiledModel`, an AOT `Bundle`)."""

from __future__ import annotations

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
