"""The compile pipeline, once: import → graph passes → lowering → codegen, for every way a
model leaves lamina.

    model = lamina.compile("squeezenet.onnx", device="host")         # host JIT / OpenCL
    (probs,) = model(image)                       # or model(data_0=image), model({"data_0": image})
    (probs,) = model.run(None, {"data_0": image})  # like onnxruntime's InferenceSession
    bundle = compile_bundle("squeezenet.onnx", "cortex-a76", "out/")  # an AOT bundle

`pipeline(device)` is the pass list (the same names `lamina-opt -p` takes); `lower` runs it
on a module down to the loop level in the kernel ABI (docs/pipeline.md); `lower_model`
imports a model and lowers it. What follows the loop level is codegen's and the runtime's,
each handed the lowered module: `compile` JITs it here (runtime/jit.py) or runs it on
OpenCL (runtime/opencl.py), `compile_bundle` writes an AOT bundle (codegen/aot.py, which
only writes files), `FLEET` is what a fleet build (codegen/fleet.py) calls for a bundle
per device class and
`compile_hetero` runs the segments of a partitioned model on the units of an SoC
(runtime/hetero.py).
"""

from __future__ import annotations

import contextlib
import gc
import math
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, TypedDict, Unpack

import onnx
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, MemRefType, ModuleOp, NameLoc
from xdsl.ir import Attribute
from xdsl.utils.exceptions import VerifyException

from lamina.codegen.aot import check_bundle_target, check_destination, entry_name, write_bundle
from lamina.codegen.aot_fat import check_variants, write_fat_bundle
from lamina.codegen.aot_soc import LoweredSegment, write_soc_bundle
from lamina.codegen.bundle import Bundle, BundleOptions
from lamina.codegen.compile_stats import CompileStats
from lamina.codegen.fleet import FleetCompiler
from lamina.codegen.llvm_target import DEFAULT_OPT_LEVEL
from lamina.context import make_context
from lamina.dialects.partition import SegmentOp
from lamina.errors import LaminaError, ModelImportError, UnsupportedError
from lamina.limits import ARENA, WEIGHTS
from lamina.lowering.loop_to_ocl import ConvertLoopToOCLPass
from lamina.lowering.parallel_writes import shared_writes
from lamina.lowering.partition import GraphPartitionPass
from lamina.parser.onnx import import_onnx
from lamina.parser.tflite import import_tflite, is_tflite_model
from lamina.plugins import plugin_names, plugin_runtime
from lamina.runtime.compiled_model import CompiledModel
from lamina.runtime.hetero import HeteroModel, Kernel, segment_module
from lamina.runtime.hexagon import HexagonModule
from lamina.runtime.jit import JitFunction, JitModule
from lamina.runtime.opencl import OpenCLFunction, opencl_available
from lamina.targets import Device, is_opencl, load_device
from lamina.targets.soc import load_soc
from lamina.targets.threads import thread_count
from lamina.universe import parse_pass_pipeline

ModelSource = str | os.PathLike[str] | bytes | onnx.ModelProto | ModuleOp


YOUNG_COLLECTIONS = (10_000, 1_000, 1_000)
"""The collector's thresholds while a compile runs (Python's default: 700, 10, 10)."""
_COLLECTOR = threading.Lock()
_COMPILING: list[tuple[int, ...]] = []
"""The thresholds to restore, once per compile running."""


@contextlib.contextmanager
def young_collections() -> Iterator[None]:
    """Python's cyclic collector held to collections of young objects while the body runs:
    a model's IR is millions of objects that outlive the passes, and every full collection
    walks them all (DenseNet-121: 2.1 of 10 CPU seconds in the collector with the default
    thresholds, 0.3 s with these, which leave ~15 MB more garbage until after the
    compile). Nested or concurrent compiles restore the thresholds when the last ends."""
    with _COLLECTOR:
        _COMPILING.append(gc.get_threshold() if not _COMPILING else _COMPILING[0])
        gc.set_threshold(*YOUNG_COLLECTIONS)
    try:
        yield
    finally:
        with _COLLECTOR:
            saved = _COMPILING.pop()
            if not _COMPILING:
                gc.set_threshold(*saved)


def pipeline(device: Device) -> str:
    """The pass pipeline from the graph level to the loop level for `device`: the common
    passes, then the device's own loop-level passes (the `passes` list of its description,
    e.g. `passes = ['loop-to-neon{device="cortex-a76"}']`), which run before codegen; the
    device's own graph rule sets (`graph_rules`, e.g. `['graph-fuse-quantized-conv']` where
    it has an int8 dot-product kernel) run before graph-default."""
    return ",".join(
        [
            *(f"apply-rules{{set={name}}}" for name in device_strings(device, "graph_rules")),
            "apply-rules{set=graph-default}",
            "convert-graph-to-top",
            "top-fuse-elementwise",
            f"convert-top-to-loop{{{top_to_loop_options(device)}}}",
            "plan-memory",
            "loop-expand-float-formats",
            *device_strings(device, "passes"),
        ]
    )


def top_to_loop_options(device: Device) -> str:
    """convert-top-to-loop's options for `device`: its vector width and data caches, the
    threads of a CPU of more than one core (`cores`: the threads its parallel loops run
    on), and the int8 GEMM where its description says `int8_gemm = true` (its ISA pass
    forms `loop.byte_dot`)."""
    int8_gemm = device.extra.get("int8_gemm", False)
    if not isinstance(int8_gemm, bool):
        raise LaminaError(f"device '{device.name}': `int8_gemm` must be true or false")
    caches = device.caches
    options = (
        f"vector_bits={lowering_vector_bits(device)} l1d_bytes={caches.l1d} l2_bytes={caches.l2}"
    )
    if device.kind == "cpu" and device.cores > 1:
        options += f" threads={device.cores}"
    return f"{options} int8_gemm=true" if int8_gemm else options


def lowering_vector_bits(device: Device) -> int:
    """The vector width convert-top-to-loop targets: the device's `float_vector_bits` where
    its vectors hold no floats (Hexagon HVX v66: the int8 kernels use HVX directly), else
    its `vector_bits`."""
    width = device.extra.get("float_vector_bits", device.vector_bits)
    if not isinstance(width, int) or width <= 0:
        raise LaminaError(f"device '{device.name}': `float_vector_bits` must be a positive int")
    return width


def device_strings(device: Device, key: str) -> list[str]:
    """A list of strings of a device description (`passes`: pass specs, `graph_rules`: rule
    set names); absent is empty."""
    values = device.extra.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise LaminaError(f"device '{device.name}': `{key}` must be a list of strings")
    return [str(v) for v in values]


def lower(
    module: ModuleOp, device: Device, stats: CompileStats | None = None, *, verify: bool = True
) -> ModuleOp:
    """Run the graph-to-loop pipeline on `module` in place and return it; `stats` gets the
    stages `pass-pipeline` (the passes built, their rule files compiled), one per pass, and
    `verify` (`verify_lowered`; with `verify=False` the caller runs it)."""
    stats = stats if stats is not None else CompileStats()
    with stats.stage("pass-pipeline"):
        passes = parse_pass_pipeline(pipeline(device)).passes
        ctx = make_context()
    for compile_pass in passes:
        with stats.stage(compile_pass.name):
            try:
                compile_pass.apply(ctx, module)
            except LaminaError as e:
                raise on_device(e, device) from None
    if verify:
        verify_lowered(module, stats)
    functions = [f for f in module.walk() if isinstance(f, func.FuncOp)]
    arena_bytes = sum(_int_attr(f, "lamina.arena_size") for f in functions)
    ARENA.check(arena_bytes, f"compiling for device '{device.name}'")
    stats.arena_bytes += arena_bytes
    stats.arena_lower_bound += sum(_int_attr(f, "lamina.arena_lower_bound") for f in functions)
    stats.reads_inputs = any(_reads_inputs(f) for f in functions)
    return module


def verify_lowered(module: ModuleOp, stats: CompileStats) -> None:
    """The loop-level module verified and its parallel loops checked (timed as `verify`)."""
    with stats.stage("verify"):
        module.verify()
        check_parallel_loops(module)


def check_parallel_loops(module: ModuleOp) -> None:
    """Fail (a compiler bug, not the model's) where a `parallel` loop writes a buffer from
    outside at the same elements in every iteration (lowering/parallel_writes.py): threads
    would race on it."""
    for parallel_loop, write in shared_writes(module):
        buffer = write.buffer.name_hint or str(write.buffer.type)
        raise LaminaError(
            f"internal error: a parallel loop writes '{buffer}' at indices that do not depend "
            "on its iterations (its iterations would race)",
            op=parallel_loop,
        )


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


def graph_input_names(module: ModuleOp) -> list[str]:
    """The ONNX names of the graph-level function's inputs (kept as argument locations)."""
    function = next(op for op in module.walk() if isinstance(op, func.FuncOp))
    return [
        arg.location.desc.data if isinstance(arg.location, NameLoc) else arg.name_hint or f"in{i}"
        for i, arg in enumerate(function.args)
    ]


def graph_output_names(module: ModuleOp, model: ModelSource | None = None) -> list[str]:
    """Names of the graph-level function's results: the ONNX graph's output names when
    `model` is an ONNX model, else the results' SSA name hints (which xDSL may shorten)."""
    if model is not None and not isinstance(model, ModuleOp) and not is_tflite_model(model):
        return onnx_output_names(model)
    function = next(op for op in module.walk() if isinstance(op, func.FuncOp))
    ret = function.body.block.last_op if function.body.blocks else None
    operands = ret.operands if isinstance(ret, func.ReturnOp) else ()
    return [v.name_hint or f"out{i}" for i, v in enumerate(operands)]


def onnx_output_names(model: str | os.PathLike[str] | bytes | onnx.ModelProto) -> list[str]:
    """The ONNX graph's output names (the model read again: call it once it imported)."""
    if isinstance(model, onnx.ModelProto):
        proto = model
    elif isinstance(model, bytes):
        proto = onnx.ModelProto.FromString(model)
    else:
        proto = onnx.load(str(model), load_external_data=False)
    return [value.name for value in proto.graph.output]


@dataclass
class LoweredModel:
    """A model brought to the loop level for `device` (the kernel ABI of docs/pipeline.md),
    with the names of its graph's inputs and results (`graph_input_names`,
    `graph_output_names`) and what compiling it has cost so far."""

    module: ModuleOp
    device: Device
    input_names: list[str]
    output_names: list[str]
    stats: CompileStats


def lower_model(
    model: ModelSource,
    device: Device,
    input_shapes: dict[str, list[int]] | None = None,
    on_stage: Callable[[str, float], None] | None = None,
    *,
    verify: bool = True,
) -> LoweredModel:
    """The front half of every compile: import `model` (timed as `import`), then `lower`
    (`verify` as there); `on_stage` is told each stage and its seconds as it finishes
    (CompileStats.record)."""
    stats = CompileStats(on_stage=on_stage)
    with stats.stage("import"):
        module = import_model(model, input_shapes)
    lowered = LoweredModel(
        module, device, graph_input_names(module), graph_output_names(module, model), stats
    )
    lower(module, device, stats, verify=verify)
    return lowered


def jit_model(
    lowered: LoweredModel,
    opt_level: int = DEFAULT_OPT_LEVEL,
    threads: int | None = None,
    *,
    verified: bool = True,
) -> CompiledModel[JitFunction]:
    """The lowered model JIT-compiled for this machine (codegen timed as `llvm`). A module
    lowered with `verify=False` (`verified=False`) is verified once its nests are emitted,
    while the workers compile them (`verify_lowered`, inside `llvm`): the same verdict, and
    where emitting a module that does not verify fails, the verifier's error is raised."""
    device, module = lowered.device, lowered.module
    verify = None if verified else partial(verify_lowered, module, lowered.stats)
    with lowered.stats.stage("llvm"):
        try:
            jit = JitModule(
                module,
                device=device.source or device.name,
                opt_level=opt_level,
                threads=threads,
                after_emit=verify,
            )
        except Exception:
            if verify is not None and "verify" not in lowered.stats.seconds:
                verify()  # the emitter failed: the verifier's error first, if it has one
            raise
        function = JitFunction(jit, input_names=lowered.input_names)
    return CompiledModel(function, device, lowered.stats, lowered.input_names, lowered.output_names)


def opencl_model(lowered: LoweredModel) -> CompiledModel[OpenCLFunction]:
    """The lowered model converted to OpenCL kernels (`convert-loop-to-ocl`) and run on the
    first OpenCL device here (timed as `opencl`)."""
    with lowered.stats.stage("opencl"):
        device = lowered.device.source or lowered.device.name
        ConvertLoopToOCLPass(device=device).apply(make_context(), lowered.module)
        function = OpenCLFunction(lowered.module, lowered.device)
    return CompiledModel(
        function, lowered.device, lowered.stats, lowered.input_names, lowered.output_names
    )


@young_collections()
def compile(  # noqa: A001 (the public name users expect: lamina.compile)
    model: ModelSource,
    device: str = "host",
    *,
    input_shapes: dict[str, list[int]] | None = None,
    opt_level: int = DEFAULT_OPT_LEVEL,
    threads: int | None = None,
    fallback: str | None = None,
) -> CompiledModel[Any]:
    """Compile an ONNX model (or a graph-level module) for `device` and JIT it here;
    `opt_level` (0-3) is LLVM's (default 2: O3 compiles slower and ran no faster on the
    light models; 1 compiles faster still, e.g. for conformance runs); parallel
    loops run on `threads` threads (default: $LAMINA_NUM_THREADS, else the device's cores),
    the count the lowering is told (the device's `cores`). Devices of kind `opencl`/`gpu`
    run through runtime/opencl.py; with `fallback="cpu"` a machine without an OpenCL
    platform compiles for `host` instead of failing."""
    target = load_device(device)
    if is_opencl(target) and fallback == "cpu" and not opencl_available():
        target = load_device("host")
    if is_opencl(target):
        return opencl_model(lower_model(model, target, input_shapes))
    # lowered for the threads its loops run on, as bundles are (`_lower_for_bundle`)
    target = replace(target, cores=thread_count(target.source or target.name, threads))
    lowered = lower_model(model, target, input_shapes, verify=False)  # verified in jit_model
    return jit_model(lowered, opt_level, threads, verified=False)


class BundleKeywords(TypedDict, total=False):
    """The keywords `compile_bundle` and `compile_fat_bundle` take, each optional: the
    entry point `name` (default: derived from the model's name), `input_shapes`, LLVM's
    `opt_level` (2, as the JIT's), the `threads` parallel loops run on, fixed in the
    object (default: $LAMINA_NUM_THREADS, else the device's cores), `cflags` appended to
    the CPU driver's CFLAGS, which also link it (e.g. `-fsanitize=address,undefined`;
    Hexagon takes none), and `on_stage`, told each stage and its seconds as it finishes."""

    name: str | None
    input_shapes: dict[str, list[int]] | None
    opt_level: int
    threads: int | None
    cflags: Sequence[str]
    on_stage: Callable[[str, float], None] | None


@young_collections()
def compile_bundle(
    model: ModelSource, device: str, out_dir: str | Path, **options: Unpack[BundleKeywords]
) -> Bundle:
    """Compile `model` for `device` into the AOT bundle directory `out_dir` (codegen/aot.py).
    What the bundle cannot take is refused before anything is compiled."""
    (target,), (lowered,), written = _lower_for_bundle(model, [device], out_dir, options)
    return write_bundle(lowered.module, target, out_dir, written)


@young_collections()
def compile_fat_bundle(
    model: ModelSource,
    devices: Sequence[str],
    out_dir: str | Path,
    **options: Unpack[BundleKeywords],
) -> Bundle:
    """Compile `model` once per device of `devices` (CPU variants of one triple, listed
    from the baseline up) into one fat bundle that runs the best of them this CPU supports
    (codegen/aot_fat.py). The variants are checked before anything is compiled."""
    targets, lowered, written = _lower_for_bundle(model, devices, out_dir, options, fat=True)
    variants = [(target, variant.module) for target, variant in zip(targets, lowered, strict=True)]
    return write_fat_bundle(variants, out_dir, written)


def _lower_for_bundle(
    model: ModelSource,
    devices: Sequence[str],
    out_dir: str | Path,
    options: BundleKeywords,
    *,
    fat: bool = False,
) -> tuple[list[Device], list[LoweredModel], BundleOptions]:
    """`model` lowered for each device of a bundle, after every refusal that needs no
    compiling (`fat`: the devices as variants of one fat bundle); the writer's options."""
    if unknown := options.keys() - BundleKeywords.__optional_keys__:
        raise TypeError(f"unexpected bundle keywords: {', '.join(sorted(unknown))}")
    targets = [
        replace(load_device(d), cores=thread_count(d, options.get("threads"))) for d in devices
    ]
    if fat:
        check_variants(targets)
    cflags = options.get("cflags", ())
    for target in targets:
        check_bundle_target(target, cflags)
    check_destination(Path(out_dir))
    name = options.get("name")
    symbol = entry_name(name if name is not None else _default_name(model), explicit=bool(name))
    shapes, on_stage = options.get("input_shapes"), options.get("on_stage")
    lowered = [lower_model(model, target, shapes, on_stage) for target in targets]
    first = lowered[0]
    written = BundleOptions(
        symbol,
        first.input_names,
        first.output_names,
        options.get("opt_level", DEFAULT_OPT_LEVEL),
        cflags,
        first.stats,
    )
    return targets, lowered, written


def _default_name(model: ModelSource) -> str:
    """The model file's stem, an ONNX model's graph name, else `model`."""
    if isinstance(model, onnx.ModelProto) and model.graph.name:
        return model.graph.name
    return Path(model).stem if isinstance(model, str | Path) else "model"


@young_collections()
def compile_soc_bundle(
    model: ModelSource,
    soc: str,
    out_dir: str | Path,
    *,
    force: Sequence[str] = (),
    name: str | None = None,
    input_shapes: dict[str, list[int]] | None = None,
    opt_level: int = DEFAULT_OPT_LEVEL,
) -> Bundle:
    """Partition `model` over SoC `soc` as `compile_hetero` does and write one AOT bundle
    whose C scheduler runs every segment on its unit (codegen/aot_soc.py): CPU segments as
    objects, OpenCL segments as kernels it launches."""
    check_destination(Path(out_dir))
    symbol = entry_name(name if name is not None else _default_name(model), explicit=bool(name))
    description = load_soc(soc)
    module = import_model(model, input_shapes)
    for rule_pass in parse_pass_pipeline("apply-rules{set=graph-default}").passes:
        rule_pass.apply(make_context(), module)
    GraphPartitionPass(soc=soc, force=tuple(force)).apply(make_context(), module)
    module.verify()
    (function,) = [op for op in module.ops if isinstance(op, func.FuncOp)]
    segments: list[LoweredSegment] = []
    for op in function.body.block.ops:
        if isinstance(op, SegmentOp):
            device = load_device(description.units[op.unit.data].device)
            lowered = lower_model(segment_module(op), device).module
            if is_opencl(device):
                ConvertLoopToOCLPass(device=device.source or device.name).apply(
                    make_context(), lowered
                )
            segments.append(LoweredSegment(op, device, lowered))
    return write_soc_bundle(
        function,
        segments,
        out_dir,
        name=symbol,
        soc=description.name,
        input_names=graph_input_names(module),
        output_names=graph_output_names(module, model),
        opt_level=opt_level,
    )


def _plugin_kernel(module: ModuleOp, device: Device) -> Kernel:
    name = str(device.extra.get("runtime", ""))
    runtime = plugin_runtime(name)
    if runtime is None:
        installed = ", ".join(plugin_names()) or "none"
        raise UnsupportedError(
            f"device '{device.name}' runs on the runtime '{name}', which no installed backend "
            f"plugin provides (installed: {installed})"
        )
    return runtime(module, device)


FLEET = FleetCompiler(pipeline=pipeline, bundle=compile_bundle)
"""The compile pipeline as a fleet build (codegen/fleet.py `build_fleet`) drives it: each
device's pass pipeline (its bundles' cache key) and `compile_bundle` per target."""


@young_collections()
def compile_hetero(
    model: ModelSource,
    soc: str = "host",
    force: Sequence[str] = (),
    *,
    run_on: Mapping[str, str] | None = None,
    input_shapes: dict[str, list[int]] | None = None,
    opt_level: int = DEFAULT_OPT_LEVEL,
) -> HeteroModel:
    """Partition `model` over SoC `soc` (placement forced by `force`, see graph-partition)
    and compile each segment for its unit (runtime/hetero.py): import, the graph-default
    rules, `graph-partition`, then `segment_kernel` per segment."""
    description = load_soc(soc)
    unknown = set(run_on or {}) - set(description.units)
    if unknown:
        raise LaminaError(f"run_on names units {sorted(unknown)} that SoC '{soc}' lacks")
    module = import_model(model, input_shapes)
    for rule_pass in parse_pass_pipeline("apply-rules{set=graph-default}").passes:
        rule_pass.apply(make_context(), module)
    GraphPartitionPass(soc=soc, force=tuple(force)).apply(make_context(), module)
    module.verify()
    compile_segment = partial(segment_kernel, opt_level=opt_level)
    return HeteroModel(
        module, description, run_on or {}, compile_segment, graph_input_names(module)
    )


def segment_kernel(module: ModuleOp, device: Device, opt_level: int) -> Kernel:
    """A callable running the graph-level `module` on `device` from this process: CPUs this
    machine runs and OpenCL through `compile`, Hexagon DSPs under qemu-hexagon, a device
    of kind `runtime` through the backend plugin runtime it names (plugins.py)."""
    if device.kind == "runtime":
        return _plugin_kernel(module, device)
    if device.kind == "dsp":
        return HexagonModule(lower_model(module, device).module, device=device).kernel()
    if device.kind == "cpu" and device.triple != load_device("host").triple:
        raise UnsupportedError(
            f"running device '{device.name}' ({device.triple}) in this process "
            "(map its unit to a local device with run_on)"
        )
    return compile(module, device.name, opt_level=opt_level)
