"""What `lamina.compile` returns: a model compiled for a device this process runs, called
like a function on numpy arrays whatever runs it (the host JIT, OpenCL).

    model = CompiledModel(JitFunction(module), device, stats, ["x"])
    (y,) = model(x)             # or model(x=x), model({"x": x})
    (y,) = model.run(None, {"x": x})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Generic, TypeVar

import numpy as np

from lamina.codegen.compile_stats import CompileStats
from lamina.errors import LaminaError
from lamina.targets import Device

ModelFunction = TypeVar("ModelFunction", bound=Callable[..., list[np.ndarray]])
"""What runs the model: a callable on the graph inputs, in order, returning the outputs."""


class CompiledModel(Generic[ModelFunction]):
    """A compiled model: call it with numpy arrays (positional, in graph input order, by
    keyword, or as one dict of name -> array), get the list of outputs; or
    `run(output_names, input_feed)` as with onnxruntime's `InferenceSession`. `function`
    runs it, `stats` says what compiling cost."""

    def __init__(
        self,
        function: ModelFunction,
        device: Device,
        stats: CompileStats,
        input_names: list[str],
        output_names: list[str] | None = None,
    ) -> None:
        self.function = function
        self.device = device
        self.stats = stats
        self.input_names = input_names
        self.output_names = output_names or []
        """The graph's output names, in the order of the outputs."""

    def __call__(
        self, *inputs: np.ndarray | Mapping[str, np.ndarray], **named: np.ndarray
    ) -> list[np.ndarray]:
        if len(inputs) == 1 and isinstance(inputs[0], Mapping) and not named:
            named, inputs = dict(inputs[0]), ()
        if named:
            if inputs:
                raise LaminaError("pass inputs either by position or by name, not both")
            missing = [n for n in self.input_names if n not in named]
            if missing or len(named) != len(self.input_names):
                raise LaminaError(
                    f"the model takes inputs {', '.join(self.input_names)}; got {', '.join(named)}"
                )
            return self.function(*(np.asarray(named[n]) for n in self.input_names))
        if any(isinstance(x, Mapping) for x in inputs):
            raise LaminaError("pass one dict of inputs by name, or arrays by position")
        return self.function(*(np.asarray(x) for x in inputs))

    def run(
        self, output_names: Sequence[str] | None, input_feed: Mapping[str, np.ndarray]
    ) -> list[np.ndarray]:
        """The outputs named in `output_names` (all when None) for the inputs by name."""
        outputs = self(dict(input_feed))
        if output_names is None:
            return outputs
        unknown = [n for n in output_names if n not in self.output_names]
        if unknown:
            raise LaminaError(
                f"the model has no output '{unknown[0]}' (outputs: {', '.join(self.output_names)})"
            )
        return [outputs[self.output_names.index(n)] for n in output_names]
