"""SoC bundles: a model partitioned over the units of an SoC (graph-partition) as one AOT
bundle whose generated C scheduler runs the CPU segments' objects and launches the OpenCL
segments' kernels, with the transfers between them.

    bundle = compile_soc_bundle("squeezenet.onnx", "host", "out/", force=("Conv:gpu",))

`out/` holds what a CPU bundle holds (model.h, main.c, weights.bin, bundle.json; the same
C ABI, docs/bundle.md) and:

| file | what |
|---|---|
| `segment<k>.o` | CPU segment k, entry point `<name>__seg<k>` in the kernel ABI |
| `scheduler.c` | the entry point `<name>(...)`: the segments in the partition's order, one `run_segment<k>` per segment; an OpenCL segment uploads its inputs, enqueues its kernels (their source is in the file) and reads its outputs back; a transfer is a copy |
| `Makefile` | links `scheduler.c` and the segment objects into one `model.o`, then the driver `run` |

The scheduler opens OpenCL at the first call (`pthread_once`): the first device of the first
platform, through `dlopen("libOpenCL.so.1")` (no OpenCL headers or link library needed to
build); it uploads each OpenCL segment's weights then, so every call must pass the same
weights. An OpenCL failure prints the call and its error code and exits 1. The arena holds
every CPU segment's arena and every tensor that passes between segments.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType, ModuleOp, StringAttr, TensorType
from xdsl.ir import Attribute, BlockArgument, SSAValue
from xdsl.utils.hints import isa

from lamina.codegen import aot
from lamina.codegen.bundle import MANIFEST, Bundle, TensorSpec
from lamina.codegen.llvm_target import DEFAULT_OPT_LEVEL
from lamina.codegen.opencl import OpenCLRenderer
from lamina.dialects.isa import ocl
from lamina.dialects.loop import buffer_bytes
from lamina.dialects.partition import SegmentOp, TransferOp
from lamina.dialects.weights import numpy_dtype
from lamina.errors import UnsupportedError
from lamina.lowering.loop_to_ocl import kernel_functions
from lamina.targets import Device, device_file, is_opencl

_CL_RUNTIME = (Path(__file__).parent / "aot_soc_opencl.c.in").read_text()


@dataclass
class LoweredSegment:
    """A segment of the partitioned function and its unit's device and lowered module (at
    the loop level for a CPU, after convert-loop-to-ocl for OpenCL)."""

    op: SegmentOp
    device: Device
    module: ModuleOp


def _align(n: int) -> int:
    return -(-n // aot.ALIGNMENT) * aot.ALIGNMENT


def _tensor_bytes(value: SSAValue) -> int:
    t = value.type
    if not isa(t, TensorType[Attribute]) or any(d < 0 for d in t.get_shape()):
        raise UnsupportedError(f"a tensor of type {t} between SoC segments")
    return int(np.prod(t.get_shape(), dtype=np.int64)) * numpy_dtype(t.element_type).itemsize


class _Layout:
    """Offsets in the bundle's weights blob and arena, assigned in order."""

    def __init__(self) -> None:
        self.weights: list[bytes] = []
        self.weights_size = 0
        self.arena_size = 0

    def add_weights(self, blob: bytes) -> int:
        offset = self.weights_size
        self.weights.append(blob + bytes(_align(len(blob)) - len(blob)))
        self.weights_size += len(self.weights[-1])
        return offset

    def add_arena(self, size: int) -> int:
        offset = self.arena_size
        self.arena_size += _align(max(size, 1))
        return offset


def write_soc_bundle(
    function: func.FuncOp,
    segments: Sequence[LoweredSegment],
    out_dir: str | Path,
    *,
    name: str,
    soc: str,
    input_names: Sequence[str],
    output_names: Sequence[str],
    opt_level: int = DEFAULT_OPT_LEVEL,
) -> Bundle:
    """Write the SoC bundle of the partitioned `function` (its segments lowered in
    `segments`, in block order) into `out_dir` (see the module docstring)."""
    out = Path(out_dir)
    aot.check_destination(out)
    layout = _Layout()
    values: dict[SSAValue, str] = {
        arg: f"graph_inputs[{k}]" for k, arg in enumerate(function.body.block.args)
    }
    files: dict[str, bytes] = {}
    prologue: list[str] = []
    bodies: list[str] = []
    records: list[dict[str, Any]] = []
    renderer_cache: dict[str, OpenCLRenderer] = {}
    lowered = {segment.op: (k, segment) for k, segment in enumerate(segments)}
    calls: list[str] = []
    for op in function.body.block.ops:
        if isinstance(op, SegmentOp):
            k, segment = lowered[op]
            for result in op.outputs:
                values[result] = f"(arena + {layout.add_arena(_tensor_bytes(result))})"
            ins = [values[v] for v in op.inputs]
            outs = [values[v] for v in op.outputs]
            if segment.device.kind == "cpu":
                text, record = _cpu_segment(k, segment, name, layout, ins, outs, opt_level, files)
            elif is_opencl(segment.device):
                renderer = renderer_cache.setdefault(
                    segment.device.name, OpenCLRenderer(segment.device)
                )
                text, record = _opencl_segment(k, segment, renderer, layout, ins, outs)
            else:
                raise UnsupportedError(
                    f"{segment.device.kind} unit '{op.unit.data}' in an SoC bundle "
                    "(CPU and OpenCL units only)"
                )
            prologue.append(text[0])
            bodies.append(text[1])
            records.append(record)
            calls.append(f"    run_segment{k}(weights, arena);")
        elif isinstance(op, TransferOp):
            size = _tensor_bytes(op.output)
            values[op.output] = f"(arena + {layout.add_arena(size)})"
            calls.append(f"    memcpy({values[op.output]}, {values[op.input]}, {size});")
        elif isinstance(op, func.ReturnOp):
            for k, value in enumerate(op.operands):
                calls.append(f"    memcpy(out{k}, {values[value]}, {_tensor_bytes(value)});")
    bundle = _describe(function, segments, out, name, soc, input_names, output_names, layout)
    bundle.segments = records
    cpu = next(s.device for s in segments if s.device.kind == "cpu")
    cpu_objects = [f"segment{r['index']}.o" for r in records if r["kind"] == "cpu"]
    scheduler = _scheduler(bundle, prologue, bodies, calls, segments)
    files |= {
        "scheduler.c": scheduler.encode(),
        "model.h": aot.header(bundle).encode(),
        "weights.bin": b"".join(layout.weights),
        "main.c": aot.driver(bundle).encode(),
        "Makefile": aot.makefile(
            bundle, cpu, linked=("scheduler.c", cpu_objects), libraries=["-ldl"]
        ).encode(),
        MANIFEST: json.dumps(bundle.manifest(), indent=2).encode(),
    }
    aot.write_atomically(out, files)
    return bundle


def _cpu_segment(
    k: int,
    segment: LoweredSegment,
    name: str,
    layout: _Layout,
    ins: list[str],
    outs: list[str],
    opt_level: int,
    files: dict[str, bytes],
) -> tuple[tuple[str, str], dict[str, Any]]:
    kernel = aot.kernel_function(segment.module)
    symbol = f"{name}__seg{k}"
    kernel.sym_name = StringAttr(symbol)
    part = aot.describe_kernel(kernel, segment.device, Path("."), ins, outs)
    files[f"segment{k}.o"] = aot.emit_object(segment.module, segment.device, opt_level)
    weights = layout.add_weights(aot.weights_blob(kernel, part.weights_bytes).tobytes())
    arena = layout.add_arena(part.arena_bytes)
    params = ", ".join(["const void *", "void *", *(["void *"] * (len(ins) + len(outs)))])
    declaration = f"void {symbol}({params});"
    args = ", ".join([f"(const char *)weights + {weights}", f"arena + {arena}", *ins, *outs])
    body = (
        f"/* segment {k}: unit {segment.op.unit.data}, device {segment.device.name} */\n"
        f"static void run_segment{k}(const void *weights, char *arena) {{\n"
        f"    {symbol}({args});\n}}\n"
    )
    record = {
        "index": k,
        "unit": segment.op.unit.data,
        "device": segment.device.name,
        "kind": "cpu",
        "object": f"segment{k}.o",
    }
    return (declaration, body), record


def _opencl_segment(
    k: int,
    segment: LoweredSegment,
    renderer: OpenCLRenderer,
    layout: _Layout,
    ins: list[str],
    outs: list[str],
) -> tuple[tuple[str, str], dict[str, Any]]:
    (function,) = kernel_functions(segment.module)
    args = list(function.body.block.args)
    raw = [buffer_bytes(cast(MemRefType[Attribute], a.type)) or 0 for a in args]
    sizes = [max(1, n) for n in raw]
    weights = aot.weights_blob(function, raw[0]).tobytes()
    weights_offset = layout.add_weights(weights)
    kernels = [op for op in segment.module.ops if isinstance(op, ocl.KernelOp)]
    sources = [renderer.render_kernel(kr, name=f"s{k}_{kr.sym_name.data}") for kr in kernels]
    launches = [op for op in function.body.block.ops if isinstance(op, ocl.LaunchOp)]
    names = {kr.sym_name.data: f"s{k}_{kr.sym_name.data}" for kr in kernels}
    lines = [
        f"/* segment {k}: unit {segment.op.unit.data}, device {segment.device.name}:"
        f" {len(launches)} kernel launches */",
        f"static const char segment{k}_source[] = {_c_string(chr(10).join(sources))};",
        f"static cl_mem segment{k}_buffers[{len(args)}];",
        f"static cl_kernel segment{k}_kernels[{len(launches)}];",
        f"static const size_t segment{k}_sizes[{len(args)}] = {{{', '.join(map(str, sizes))}}};",
        f"static void init_segment{k}(const void *weights) {{",
        f"    cl_program program = cl_build(segment{k}_source);",
        f"    for (int b = 0; b < {len(args)}; b++) segment{k}_buffers[b] = cl_new_buffer(segment{k}_sizes[b]);",
    ]
    if weights:
        lines.append(
            f"    cl_write(segment{k}_buffers[0], (const char *)weights + {weights_offset}, "
            f"{len(weights)});"
        )
    for j, launch in enumerate(launches):
        lines.append(
            f'    segment{k}_kernels[{j}] = cl_new_kernel(program, "{names[launch.kernel.string_value()]}");'
        )
    lines.append("}")
    body = [
        f"static void run_segment{k}(const void *weights, char *arena) {{",
        "    (void)weights;",
    ]
    count_in = len(ins)
    for j, pointer in enumerate(ins):
        body.append(
            f"    cl_write(segment{k}_buffers[{2 + j}], {pointer}, segment{k}_sizes[{2 + j}]);"
        )
    for j, launch in enumerate(launches):
        bindings = []
        for buffer, offset in zip(launch.buffers, launch.byte_offsets, strict=True):
            assert isinstance(buffer, BlockArgument)
            bindings.append(f"{{{args.index(buffer)}, {offset}}}")
        table = f"(const struct binding[]){{{', '.join(bindings)}}}"
        dims = len(launch.global_sizes)
        glob = f"(const size_t[]){{{', '.join(map(str, launch.global_sizes))}}}"
        local = (
            f"(const size_t[]){{{', '.join(map(str, launch.local_sizes))}}}"
            if launch.local_sizes
            else "NULL"
        )
        body.append(
            f"    cl_launch(segment{k}_kernels[{j}], segment{k}_buffers, {table}, {len(bindings)}, "
            f"{dims}, {glob}, {local});"
        )
    for j, pointer in enumerate(outs):
        index = 2 + count_in + j
        body.append(
            f"    cl_read(segment{k}_buffers[{index}], {pointer}, segment{k}_sizes[{index}]);"
        )
    body.append("}")
    record = {
        "index": k,
        "unit": segment.op.unit.data,
        "device": segment.device.name,
        "kind": "opencl",
        "launches": len(launches),
    }
    return ("\n".join(lines), "\n".join(body) + "\n"), record


def _c_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=True).replace("?", "\\?")


def _describe(
    function: func.FuncOp,
    segments: Sequence[LoweredSegment],
    out: Path,
    name: str,
    soc: str,
    input_names: Sequence[str],
    output_names: Sequence[str],
    layout: _Layout,
) -> Bundle:
    def spec(value_type: Attribute, tensor_name: str) -> TensorSpec:
        assert isa(value_type, TensorType[Attribute])
        return TensorSpec(
            tensor_name, tuple(value_type.get_shape()), numpy_dtype(value_type.element_type).name
        )

    kinds = {s.device.name: s.device for s in segments}
    host = next((d for d in kinds.values() if d.kind == "cpu"), None)
    if host is None:
        raise UnsupportedError("an SoC bundle without a CPU segment (its scheduler runs on a CPU)")
    return Bundle(
        directory=out,
        name=name,
        device=soc,
        triple=host.triple,
        inputs=[
            spec(t, n) for t, n in zip(function.function_type.inputs, input_names, strict=True)
        ],
        outputs=[
            spec(t, n) for t, n in zip(function.function_type.outputs, output_names, strict=True)
        ],
        weights_bytes=layout.weights_size,
        arena_bytes=layout.arena_size,
        threads=host.cores,
        device_file=str(device_file(host.source or host.name).resolve()),
    )


def _scheduler(
    bundle: Bundle,
    prologue: list[str],
    bodies: list[str],
    calls: list[str],
    segments: Sequence[LoweredSegment],
) -> str:
    opencl = [k for k, s in enumerate(segments) if s.device.kind != "cpu"]
    count = max(1, len(bundle.inputs))
    store = [f"    graph_inputs[{k}] = (void *)in{k};" for k in range(len(bundle.inputs))]
    inits = "\n".join(f"    init_segment{k}(init_weights);" for k in opencl)
    return "\n".join(
        [
            f"/* lamina SoC bundle {bundle.name} for SoC {bundle.device}: the scheduler. Generated. */",
            "#include <pthread.h>",
            "#include <stddef.h>",
            "#include <stdint.h>",
            "#include <string.h>",
            '#include "model.h"',
            _CL_RUNTIME if opencl else "",
            f"static void *graph_inputs[{count}]; /* this call's inputs, for the segments */",
            *prologue,
            "",
            *bodies,
            "static const void *init_weights;",
            "static pthread_once_t initialized = PTHREAD_ONCE_INIT;",
            "static void initialize(void) {",
            "    open_opencl();" if opencl else "",
            inits,
            "}",
            "",
            f"void {aot.prototype(bundle).replace('void *arena', 'void *arena_memory')} {{",
            "    char *arena = arena_memory;",
            "    init_weights = weights;",
            "    pthread_once(&initialized, initialize);",
            *store,
            *calls,
            "}",
            "",
        ]
    )
