"""The compile pipeline as one call: a model in, a callable on numpy arrays out.

    model = lamina.compile("squeezenet.onnx", device="host")
    (probs,) = model(image)

`pipeline(device)` is the pass list (the same names `lamina-opt -p` takes); `lower` runs it
on a module down to the loop level in the kernel ABI (docs/pipeline.md); `compile` adds
the host JIT.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field

import numpy as np
import onnx
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, MemRefType, ModuleOp, NameLoc
from xdsl.ir import Attribute
from xdsl.utils.exceptions import VerifyException

from lamina.codegen.llvm_target import DEFAULT_OPT_LEVEL
from lamina.context import make_context
from lamina.errors import LaminaError, ModelImportError
from lamina.limits import ARENA, WEIGHTS
from lamina.parser.tflite import import_tflite, is_tflite_model
from lamina.targets import Device, load_device
from lamina.universe import parse_pass_pipeline

ModelSource = str | os.PathLike[str] | bytes | onnx.ModelProto | ModuleOp
OPENCL_KINDS = ("opencl", "gpu")
"""Device kinds that compile to OpenCL kernels (runtime/opencl.py) instead of the host JIT."""


def pipeline(device: Device) -> str:
    """The pass pipeline from the graph level to the loop level for `device`: the common
    passes, then the device's own loop-level passes (the `passes` list of its description,
    e.g. `passes = ['loop-to-neon{device="cortex-a76"}']`), which run before codegen."""
    return ",".join(
        [
            "apply-rules{set=graph-default}",
            "convert-graph-to-top",
            "top-fuse-elementwise",
            f"convert-top-to-loop{{vector_bits={lowering_vector_bits(device)}}}",
            "plan-memory",
            "loop-expand-float-formats",
            *device_passes(device),
        ]
    )


def lowering_vector_bits(device: Device) -> int:
    """The vector width convert-top-to-loop targets: the device's `float_vector_bits` where
    its vectors hold no floats (Hexagon HVX v66: the int8 kernels use HVX directly), else
    its `vector_bits`."""
    width = device.extra.get("float_vector_bits", device.vector_bits)
    if not isinstance(width, int) or width <= 0:
        raise LaminaError(f"device '{device.name}': `float_vector_bits` must be a positive int")
    return width


def device_passes(device: Device) -> list[str]:
    """The extra pass specs of a device description (`passes`: a list of strings)."""
    passes = device.extra.get("passes", [])
    if not isinstance(passes, list) or not all(isinstance(p, str) for p in passes):
        raise LaminaError(f"device '{device.name}': `passes` must be a list of pass specs")
    return [str(p) for p in passes]


@dataclass
class CompileStats:
    """What compiling one model cost and produced."""

    seconds: dict[str, float] = field(default_factory=dict[str, float])
    arena_bytes: int = 0
    arena_lower_bound: int = 0
    reads_inputs: bool = True
    """False when no kernel function reads a graph input: every output was computed at
    compile time (folded), so running the model exercises no generated compute."""


def lower(module: ModuleOp, device: Device, stats: CompileStats | None = None) -> ModuleOp:
    """Run the graph-to-loop pipeline on `module` in place and return it."""
    passes = parse_pass_pipeline(pipeline(device)).passes
    ctx = make_context()
    for compile_pass in passes:
        start = time.perf_counter()
        try:
            compile_pass.apply(ctx, module)
        except LaminaError as e:
            raise on_device(e, device) from None
        if stats is not None:
            stats.seconds[compile_pass.name] = time.perf_counter() - start
    module.verify()
    functions = [f for f in module.walk() if isinstance(f, func.FuncOp)]
    arena_bytes = sum(_int_attr(f, "lamina.arena_size") for f in functions)
    ARENA.check(arena_bytes, f"compiling for device '{device.name}'")
    if stats is not None:
        stats.arena_bytes += arena_bytes
        stats.arena_lower_bound += sum(_int_attr(f, "lamina.arena_lower_bound") for f in functions)
        stats.reads_inputs = any(_reads_inputs(f) for f in functions)
    return module


def _reads_inputs(function: func.FuncOp) -> bool:
    """Whether a kernel-ABI function (weights, arena, inputs..., outputs...) uses an input;
    an input with no element counts as read (there is nothing in it to read, and the ops on
    it leave no loop nest, so its outputs were not computed at compile time either)."""
    if function.body.blocks.first is None:
        return False
    num_outputs = _int_attr(function, "lamina.num_outputs")
    inputs = function.args[2 : len(function.args) - num_outputs]
    return any(arg.uses or _is_empty(arg.type) for arg in inputs)


def _is_empty(buffer: Attribute) -> bool:
    return isinstance(buffer, MemRefType) and 0 in buffer.get_shape()


def on_device(error: LaminaError, device: Device) -> LaminaError:
    """The error with the device it was compiling for named at the end of its first line."""
    if f"device '{device.name}'" not in error.message:
        first, newline, rest = error.message.partition("\n")
        error.message = f"{first} (compiling for device '{device.name}'){newline}{rest}"
        error.args = (error.message,)
    return error


def _int_attr(op: func.FuncOp, name: str) -> int:
    attr = op.attributes.get(name)
    return attr.value.data if isinstance(attr, IntegerAttr) else 0


def import_model(model: ModelSource, input_shapes: dict[str, list[int]] | None = None) -> ModuleOp:
    """A graph-level module from an ONNX or TFLite model (path, bytes, ModelProto) or a
    module; a TFLite file is told by its file identifier, not its extension."""
    if isinstance(model, ModuleOp):
        return model
    if is_tflite_model(model):
        check_weight_size(model)
        if input_shapes:
            raise ModelImportError("--input-shape: a TFLite model's input shapes are fixed")
        module = import_tflite(model)
        verify_imported(module)
        return module
    from lamina.parser.onnx import import_onnx

    check_weight_size(model)
    module = import_onnx(model, input_shapes=input_shapes)
    verify_imported(module)
    return module


def verify_imported(module: ModuleOp) -> None:
    """Refuse a model whose nodes do not verify (a channel count that does not match the
    weights, say) before any pass sees it: rewrites assume verified input."""
    for op in module.walk():
        try:
            op.verify(verify_nested_ops=False)
        except VerifyException as e:
            node = f"node '{op.location.desc.data}': " if isinstance(op.location, NameLoc) else ""
            raise ModelImportError(f"{node}'{op.name}' op {e}", op=op) from None


def check_weight_size(model: str | os.PathLike[str] | bytes | onnx.ModelProto) -> None:
    """The weights limit (limits.WEIGHTS), before the model is read: a file's size, or the
    declared sizes of a ModelProto's initializers."""
    if isinstance(model, onnx.ModelProto):
        sizes = (
            math.prod(t.dims) * onnx.helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
            if t.data_type in onnx.helper.get_all_tensor_dtypes()
            else 0
            for t in model.graph.initializer
        )
        WEIGHTS.check(sum(sizes))
    elif isinstance(model, bytes):
        WEIGHTS.check(len(model))
    elif os.path.isfile(model):
        WEIGHTS.check(os.path.getsize(model), where=os.fspath(model))


class CompiledModel:
    """A model compiled for the host: call it with numpy arrays (positional, in graph input
    order, or by name), get the list of outputs."""

    def __init__(
        self,
        module: ModuleOp,
        device: Device,
        stats: CompileStats,
        input_names: list[str],
        opt_level: int = DEFAULT_OPT_LEVEL,
        threads: int | None = None,
    ) -> None:
        from lamina.runtime.jit import JitFunction

        start = time.perf_counter()
        self.function = JitFunction(
            module, device=device.source or device.name, opt_level=opt_level, threads=threads
        )
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
    opt_level: int = DEFAULT_OPT_LEVEL,
    threads: int | None = None,
    fallback: str | None = None,
) -> CompiledModel:
    """Compile an ONNX model (or a graph-level module) for `device` and JIT it here;
    `opt_level` (0-3) is LLVM's (default 2: O3 compiles slower and ran no faster on the
    light models; 1 compiles faster still, e.g. for conformance runs); parallel
    loops run on `threads` threads (default: $LAMINA_NUM_THREADS, else the device's cores).
    Devices of kind `opencl`/`gpu` run through runtime/opencl.py; with `fallback="cpu"` a
    machine without an OpenCL platform compiles for `host` instead of failing."""
    target = load_device(device)
    if target.kind in OPENCL_KINDS:
        from lamina.runtime.opencl import opencl_available

        if fallback == "cpu" and not opencl_available():
            target = load_device("host")
    stats = CompileStats()
    start = time.perf_counter()
    module = import_model(model, input_shapes)
    stats.seconds["import"] = time.perf_counter() - start
    names = graph_input_names(module)
    lower(module, target, stats)
    if target.kind in OPENCL_KINDS:
        from lamina.runtime.opencl import opencl_model

        # pyright sees lamina.compiler (imported there) and this file as two modules
        return opencl_model(module, target, stats, names)  # pyright: ignore[reportReturnType, reportArgumentType]
    return CompiledModel(module, target, stats, names, opt_level, threads)
