"""The compile pipeline as one call: a model in, a callable on numpy arrays out.

    model = lamina.compile("squeezenet.onnx", device="host")
    (probs,) = model(image)

`pipeline(device)` is the pass list (the same names `lamina-opt -p` takes); `lower` runs it
on a module down to the loop level in the kernel ABI (docs/pipeline.md); `compile` adds
the host JIT.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np
import onnx
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, NameLoc
from xdsl.passes import PassPipeline

from lamina.context import make_context
from lamina.errors import LaminaError
from lamina.targets import Device, load_device
from lamina.universe import LAMINA_PASSES

ModelSource = str | os.PathLike[str] | bytes | onnx.ModelProto | ModuleOp


def pipeline(device: Device) -> str:
    """The pass pipeline from the graph level to the loop level for `device`."""
    return ",".join(
        [
            "apply-rules{set=graph-default}",
            "convert-graph-to-top",
            f"convert-top-to-loop{{vector_bits={device.vector_bits}}}",
            "plan-memory",
        ]
    )


@dataclass
class CompileStats:
    """What compiling one model cost and produced."""

    seconds: dict[str, float] = field(default_factory=dict[str, float])
    arena_bytes: int = 0
    arena_lower_bound: int = 0


def lower(module: ModuleOp, device: Device, stats: CompileStats | None = None) -> ModuleOp:
    """Run the graph-to-loop pipeline on `module` in place and return it."""
    passes = PassPipeline.parse_spec(LAMINA_PASSES, pipeline(device)).passes
    ctx = make_context()
    for compile_pass in passes:
        start = time.perf_counter()
        compile_pass.apply(ctx, module)
        if stats is not None:
            stats.seconds[compile_pass.name] = time.perf_counter() - start
    module.verify()
    if stats is not None:
        for function in module.walk():
            if isinstance(function, func.FuncOp):
                stats.arena_bytes += _int_attr(function, "lamina.arena_size")
                stats.arena_lower_bound += _int_attr(function, "lamina.arena_lower_bound")
    return module


def _int_attr(op: func.FuncOp, name: str) -> int:
    attr = op.attributes.get(name)
    return attr.value.data if isinstance(attr, IntegerAttr) else 0


def import_model(model: ModelSource, input_shapes: dict[str, list[int]] | None = None) -> ModuleOp:
    """A graph-level module from an ONNX model (path, bytes, ModelProto) or a module."""
    if isinstance(model, ModuleOp):
        return model
    from lamina.parser.onnx import import_onnx

    return import_onnx(model, input_shapes=input_shapes)


class CompiledModel:
    """A model compiled for the host: call it with numpy arrays (positional, in graph input
    order, or by name), get the list of outputs."""

    def __init__(
        self, module: ModuleOp, device: Device, stats: CompileStats, input_names: list[str]
    ) -> None:
        from lamina.runtime.jit import JitFunction

        start = time.perf_counter()
        self.function = JitFunction(module, device=device.name)
        stats.seconds["llvm"] = time.perf_counter() - start
        self.stats = stats
        self.device = device
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


def graph_input_names(module: ModuleOp) -> list[str]:
    """The ONNX names of the graph-level function's inputs (kept as argument locations)."""
    function = next(op for op in module.walk() if isinstance(op, func.FuncOp))
    return [
        arg.location.desc.data if isinstance(arg.location, NameLoc) else arg.name_hint or f"in{i}"
        for i, arg in enumerate(function.args)
    ]


def compile(  # noqa: A001 (the public name users expect: lamina.compile)
    model: ModelSource,
    device: str = "host",
    *,
    input_shapes: dict[str, list[int]] | None = None,
) -> CompiledModel:
    """Compile an ONNX model (or a graph-level module) for `device` and JIT it here."""
    target = load_device(device)
    stats = CompileStats()
    start = time.perf_counter()
    module = import_model(model, input_shapes)
    stats.seconds["import"] = time.perf_counter() - start
    names = graph_input_names(module)
    lower(module, target, stats)
    return CompiledModel(module, target, stats, names)
