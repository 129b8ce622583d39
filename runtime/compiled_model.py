"""What `lamina.compile` returns: a model compiled for a device this process runs, called
like a function on numpy arrays whatever runs it (the host JIT, OpenCL).

    model = CompiledModel(JitFunction(module), device, stats, ["x"])
    (y,) = model(x)             # or model(x=x)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import numpy as np

from lamina.codegen.compile_stats import CompileStats
from lamina.errors import LaminaError
from lamina.targets import Device

ModelFunction = TypeVar("ModelFunction", bound=Callable[..., list[np.ndarray]])
"""What runs the model: a callable on the graph inputs, in order, returning the outputs."""


class CompiledModel(Generic[ModelFunction]):
    """A compiled model: call it with numpy arrays (positional, in graph input order, or by
    name), get the list of outputs; `function` runs it, `stats` says what compiling cost."""

    def __init__(
        self, function: ModelFunction, device: Device, stats: CompileStats, input_names: list[str]
    ) -> None:
        self.function = function
        self.device = device
        self.stats = stats
        self.input_names = input_names

    def __call__(self, *inputs: np.ndarray, **named: np.ndarray) -> list[np.ndarray]:
        if named:
            if inputs:
                raise LaminaError("pass inputs either by position or by name, not both")
            missing = [n for n in self.input_names if n not in named]
            if missing or len(named) != len(self.input_names):
                raise LaminaError(
                    f"the model takes inputs {', '.join(self.input_names)}; got {', '.join(named)}"
                )
            inputs = tuple(named[n] for n in self.input_names)
        return self.function(*inputs)
