"""AOT bundles: a model compiled ahead of time for a device, built and run without Python.

    bundle = compile_bundle("squeezenet.onnx", "cortex-a76", "out/")   # lamina.compiler
    bundle = write_bundle(module, device, "out/", BundleOptions(name, input_names, output_names))

`lamina.compiler.compile_bundle` runs the compile pipeline and hands the loop-level module
(one function in the kernel ABI of docs/pipeline.md) to `write_bundle`, which only
writes files: it emits an object file for the device's triple, CPU and features through
llvmlite and writes, into `out/`:

| file | what |
|---|---|
| `model.o` | the entry point `void <name>(const void *weights, void *arena, const float *in0, ..., float *out0)` in the kernel ABI of docs/pipeline.md |
| `model.h` | its prototype; shapes, dtypes and sizes of every tensor, the weights and arena sizes, as `#define`s |
| `weights.bin` | the packed weights blob (the module's `lamina.weights` resource) |
| `main.c`, `Makefile` | a driver (codegen/aot_driver.c.in): `make && ./run -i in0.bin` |
| `start.o`, `library.o`, `driver.o`, `Makefile` | instead of `main.c` for a Hexagon DSP: a freestanding runtime (codegen/aot_hexagon.py): `make && qemu-hexagon ./run -i in0.bin` |
| `bundle.json` | the same facts for tools (runtime/qemu.py), codegen/bundle.py's `Bundle` |

Everything is written into a temporary directory next to `out/` and moved there only when
all of it succeeded: a model with an unsupported op or dtype leaves no partial bundle.
An existing `out/` is replaced only if it is empty or a bundle itself.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import llvmlite.binding as llvm
import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType, ModuleOp, StringAttr
from xdsl.ir import Attribute
from xdsl.utils.hints import isa

from lamina.codegen import aot_dynamic
from lamina.codegen.aot_hexagon import hexagon_files
from lamina.codegen.bundle import MANIFEST, Bundle, BundleOptions, TensorSpec
from lamina.codegen.llvm import KERNEL_ABI, emit_llvm
from lamina.codegen.llvm_split import InlineNests
from lamina.codegen.llvm_target import DEFAULT_OPT_LEVEL, initialize_llvm, optimize
from lamina.dialects.weights import WEIGHTS, numpy_dtype
from lamina.errors import DeviceError, LaminaError, UnsupportedError
from lamina.targets import Device, device_file

ALIGNMENT = 64
"""Byte alignment the entry point assumes of the weights and the arena."""
C_TYPES = (
    {"float32": "float", "float64": "double", "bool": "uint8_t"}
    | {f"{sign}int{bits}": f"{sign}int{bits}_t" for sign in ("", "u") for bits in (8, 16, 32, 64)}
    | {"float16": "uint16_t", "bfloat16": "uint16_t", "int4": "int8_t", "int2": "int8_t"}
    | dict.fromkeys(["uint4", "uint2", "float4_e2m1fn", "float8_e8m0fnu"], "uint8_t")
    | dict.fromkeys(
        ["float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz"], "uint8_t"
    )
)
"""Element dtypes a bundle can pass through its C interface (bool: one byte, 0 or 1). float16,
bfloat16 and the float8 / float4 formats pass as their bit patterns; the sub-byte integers
and float4 as one element a byte in its low bits (the `ml_dtypes` layout), not packed."""
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def write_bundle(
    module: ModuleOp,
    device: Device,
    out_dir: str | Path,
    options: BundleOptions,
) -> Bundle:
    """Write the bundle of the loop-level `module` for `device` into `out_dir` (see the
    module docstring): its one kernel-ABI function becomes the entry point `options.name`,
    its tensors get `options`' names; parallel loops run on `device.cores` threads, fixed
    in the object."""
    check_bundle_target(device, options.cflags)
    out = Path(out_dir)
    check_destination(out)
    kernel = kernel_function(module)
    shapes = aot_dynamic.shape_function(module, kernel)
    kernel.sym_name = StringAttr(entry_name(options.name))
    bundle = describe_kernel(
        kernel, device, out, list(options.input_names), list(options.output_names)
    )
    if aot_dynamic.is_dynamic(bundle):
        _check_dynamic(bundle, device, kernel, shapes)
    bundle.stats = options.stats
    start = time.perf_counter()
    files = _device_files(module, bundle, device, options.opt_level, options.cflags)
    if options.stats is not None:
        options.stats.record("llvm", time.perf_counter() - start)
    files |= {
        "model.h": header(bundle).encode(),
        "weights.bin": weights_blob(kernel, bundle.weights_bytes).tobytes(),
        MANIFEST: json.dumps(bundle.manifest(), indent=2).encode(),
    }
    write_atomically(out, files)
    return bundle


def check_bundle_target(device: Device, cflags: Sequence[str] = ()) -> None:
    """Refuse, before any compiling, a device no bundle is written for (CPUs and Hexagon
    DSPs only) and C flags for a freestanding Hexagon bundle."""
    if device.kind != "cpu" and not _is_hexagon(device):
        raise UnsupportedError(
            f"AOT bundles for {device.kind} devices ('{device.source or device.name}'): "
            "CPUs and Hexagon DSPs only"
        )
    if cflags and _is_hexagon(device):
        raise UnsupportedError("extra C flags for a Hexagon bundle (its runtime is freestanding)")


def _check_dynamic(
    bundle: Bundle, target: Device, kernel: func.FuncOp, shapes: func.FuncOp | None
) -> None:
    """A dynamic bundle: a CPU's; its shape function renamed with the entry point."""
    if _is_hexagon(target):
        raise UnsupportedError(f"dynamic shapes on {target.name}", op=kernel)
    aot_dynamic.check_dynamic_bundle(bundle, shapes is not None, kernel)
    if shapes is not None:
        shapes.sym_name = StringAttr(bundle.name + aot_dynamic.SHAPES_SUFFIX)
        bundle.shape_checks = aot_dynamic.shape_checks(shapes)


def _is_hexagon(target: Device) -> bool:
    return target.kind == "dsp" and target.triple.startswith("hexagon")


def _device_files(
    module: ModuleOp, bundle: Bundle, target: Device, opt_level: int, cflags: Sequence[str]
) -> dict[str, bytes]:
    """`model.o` and what runs it: the C driver for a CPU, the freestanding runtime of
    codegen/aot_hexagon.py for a Hexagon DSP."""
    if _is_hexagon(target):
        return hexagon_files(module, bundle, target, opt_level)
    return {
        "model.o": emit_object(module, target, opt_level),
        "main.c": driver(bundle).encode(),
        "Makefile": makefile(bundle, target, cflags).encode(),
    }


def kernel_function(module: ModuleOp) -> func.FuncOp:
    """The one kernel-ABI function of a lowered module."""
    kernels = [
        op
        for op in module.ops
        if isinstance(op, func.FuncOp) and op.attributes.get("lamina.abi") == StringAttr(KERNEL_ABI)
    ]
    if len(kernels) != 1:
        raise UnsupportedError(f"a bundle of {len(kernels)} kernel functions (it takes one)")
    return kernels[0]


def entry_name(name: str, *, explicit: bool = True) -> str:
    """A C identifier for the entry point: `name` itself when it is one (and not `main`);
    an explicit bad name is an error, a derived one is sanitised."""
    if _IDENTIFIER.fullmatch(name) and name != "main":
        return name
    if explicit:
        raise LaminaError(f"entry point name '{name}' is not a C identifier other than main")
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return cleaned if _IDENTIFIER.fullmatch(cleaned) and cleaned != "main" else f"model_{cleaned}"


def describe_kernel(
    kernel: func.FuncOp, target: Device, out: Path, input_names: list[str], output_names: list[str]
) -> Bundle:
    types = [t for t in kernel.function_type.inputs if isa(t, MemRefType[Attribute])]
    if len(types) != len(kernel.function_type.inputs) or len(types) < 2:
        raise UnsupportedError("a kernel function with non-memref arguments in a bundle", op=kernel)
    num_outputs = len(output_names)
    tensors = types[2:]
    names = [*input_names, *output_names]
    if len(names) != len(tensors):
        raise LaminaError(f"internal error: {len(tensors)} tensor arguments for {names}")
    specs = [_spec(n, t, kernel) for n, t in zip(names, tensors, strict=True)]
    cut = len(specs) - num_outputs
    return Bundle(
        directory=out,
        name=kernel.sym_name.data,
        device=target.name,
        device_file=str(device_file(target.source or target.name).resolve()),
        triple=target.triple,
        inputs=specs[:cut],
        outputs=specs[cut:],
        weights_bytes=types[0].get_shape()[0],
        arena_bytes=types[1].get_shape()[0],
        threads=target.cores,
    )


def _spec(name: str, t: MemRefType[Attribute], kernel: func.FuncOp) -> TensorSpec:
    dtype = numpy_dtype(t.element_type).name
    if dtype not in C_TYPES:
        raise UnsupportedError(f"tensor '{name}' of dtype {dtype} in an AOT bundle", op=kernel)
    return TensorSpec(name, tuple(d if d >= 0 else -1 for d in t.get_shape()), dtype)


def emit_object(module: ModuleOp, target: Device, opt_level: int = DEFAULT_OPT_LEVEL) -> bytes:
    """The object file of a loop-level module for `target` (ELF for the Linux triples)."""
    # one noinline function per distinct loop nest: LLVM's time stays linear in the model
    nests = InlineNests(reuse=True)
    optimized = optimize(emit_llvm(module, target, nests=nests), target, opt_level)
    initialize_llvm()
    try:
        # The JIT's target machine uses the large code model; an object linked into an
        # executable wants the small one (rip-relative constants, no GOT64 relocations).
        machine = llvm.Target.from_triple(target.triple).create_target_machine(
            cpu=target.cpu,
            features=target.feature_string,
            opt=opt_level,
            reloc="pic",
            codemodel="small",
        )
    except RuntimeError as e:
        raise DeviceError(f"LLVM here cannot target '{target.triple}': {e}") from None
    return bytes(machine.emit_object(optimized))


def weights_blob(kernel: func.FuncOp, size: int) -> np.ndarray:
    """The weights blob named by the kernel's `lamina.weights` attribute (zeros if none)."""
    key = kernel.attributes.get("lamina.weights")
    blob = WEIGHTS.kernel_blob(key.data if isinstance(key, StringAttr) else None, size)
    if blob.size != size:
        raise LaminaError(f"internal error: weights blob of {blob.size} bytes, not {size}")
    return blob


def macro_prefix(bundle: Bundle) -> str:
    """`LAMINA_<NAME>_`: what every macro of the bundle's header starts with, so that the
    headers of two bundles (two entry names) can be included in one C file."""
    return f"LAMINA_{bundle.name.upper()}_"


_DRIVER_MACROS = (
    "MODEL_NAME",
    "DEVICE",
    "ALIGNMENT",
    "WEIGHTS_BYTES",
    "ARENA_BYTES",
    "NUM_INPUTS",
    "NUM_OUTPUTS",
)
"""The header's macros the driver template uses without the bundle's prefix."""
_DYNAMIC_DRIVER_MACROS = (
    "DYNAMIC",
    "NUM_IN_DIMS",
    "NUM_OUT_DIMS",
    "HAS_SHAPES",
    "NUM_CHECKS",
    "CHECKS",
)
"""Those of a bundle with dynamic shapes (codegen/aot_dynamic.py)."""


def header(bundle: Bundle, macros: Sequence[str] = (), declarations: Sequence[str] = ()) -> str:
    """`model.h`: the entry point and the facts a caller needs, as macros named
    `LAMINA_<NAME>_...` (`macro_prefix`) under the include guard `LAMINA_<NAME>_H`; then
    `macros` and `declarations` (lines) of a writer's own (codegen/aot_fat.py)."""
    prefix = macro_prefix(bundle)
    lines = [
        f"/* lamina AOT bundle: model {bundle.name} for device {bundle.device}"
        f" ({bundle.triple}). Generated: do not edit.",
        " *",
        " * weights: the contents of weights.bin; weights and arena: LAMINA_ALIGNMENT-byte",
        " * aligned, LAMINA_WEIGHTS_BYTES and LAMINA_ARENA_BYTES long; no buffer may overlap",
        " * another. Outputs are written in place; the arena holds no state between calls.",
        " */",
        f"#ifndef {prefix}H",
        f"#define {prefix}H",
        "#include <stdint.h>",
        "",
        f'#define {prefix}MODEL_NAME "{bundle.name}"',
        f'#define {prefix}DEVICE "{bundle.device}"',
        f"#define {prefix}ALIGNMENT {ALIGNMENT}",
        f"#define {prefix}WEIGHTS_BYTES {bundle.weights_bytes}",
        f"#define {prefix}ARENA_BYTES {bundle.arena_bytes}",
        f"#define {prefix}THREADS {bundle.threads} /* parallel loops: pthreads, -lpthread */",
        f"#define {prefix}NUM_INPUTS {len(bundle.inputs)}",
        f"#define {prefix}NUM_OUTPUTS {len(bundle.outputs)}",
    ]
    for kind, specs in (("IN", bundle.inputs), ("OUT", bundle.outputs)):
        for k, spec in enumerate(specs):
            macro = f"#define {prefix}{kind}{k}"
            lines += [
                "",
                f"/* {kind.lower()}{k}: {spec.describe()} */",
                f"{macro}_NAME {_c_string(spec.name)}",
                f'{macro}_DTYPE "{spec.dtype}"',
                f"{macro}_RANK {len(spec.shape)}",
                f"{macro}_SHAPE {{{', '.join(map(str, spec.shape)) or '1'}}}",
            ]
            if spec.is_static:
                lines += [
                    f"{macro}_ELEMENTS {int(np.prod(spec.shape, dtype=np.int64))}",
                    f"{macro}_BYTES {spec.nbytes}",
                ]
    dynamic = aot_dynamic.is_dynamic(bundle)
    shapes = aot_dynamic.shapes_prototype(bundle) if dynamic else None
    lines += aot_dynamic.header_lines(bundle, prefix) if dynamic else []
    lines += ["", *macros] if macros else []
    lines += ["", '#ifdef __cplusplus\nextern "C" {\n#endif']
    lines += [f"{shapes};"] if shapes else []
    lines += [f"void {prototype(bundle)};", *declarations]
    lines += ["#ifdef __cplusplus\n}\n#endif", "", "#endif"]
    return "\n".join(lines) + "\n"


def prototype(bundle: Bundle) -> str:
    """The C declaration of the entry point (without the semicolon)."""
    params = ["const void *weights", "void *arena"]
    params += aot_dynamic.tensor_parameters(bundle, C_TYPES)
    return f"{bundle.name}({', '.join(params)})"


def driver(bundle: Bundle, report: Sequence[str] = ()) -> str:
    """`main.c`: the driver template with this model's tensor tables and call; `report`:
    C statements run after the outputs are written (a fat bundle prints its variant)."""
    template = (Path(__file__).parent / "aot_driver.c.in").read_text()
    arguments = ["weights", "arena"]
    arguments += [f"inputs[{k}].data" for k in range(len(bundle.inputs))]
    arguments += [f"outputs[{k}].data" for k in range(len(bundle.outputs))]
    prefix = macro_prefix(bundle)
    dynamic = aot_dynamic.is_dynamic(bundle)
    macros = (*_DRIVER_MACROS, *(_DYNAMIC_DRIVER_MACROS if dynamic else ()))
    aliases = "\n".join(f"#define LAMINA_{m} {prefix}{m}" for m in macros)
    parts = {"@INPUT_DIMS@": "{{0}}", "@OUTPUT_DIMS@": "{{0}}", "@SHAPES@": "NULL"}
    parts["@REPORT@\n"] = "".join(f"    {line}\n" for line in report)
    parts["@CALL@"] = f"{bundle.name}({', '.join(arguments)})"
    if dynamic:
        parts |= aot_dynamic.driver_parts(bundle)
    text = (
        template.replace("@MACROS@", aliases)
        .replace("@INPUT_TABLE@", _table(bundle.inputs, f"{prefix}IN"))
        .replace("@OUTPUT_TABLE@", _table(bundle.outputs, f"{prefix}OUT"))
    )
    for placeholder, value in parts.items():
        text = text.replace(placeholder, value)
    return text


def _table(specs: list[TensorSpec], prefix: str) -> str:
    rows = [
        f'{{{prefix}{k}_NAME, {prefix}{k}_DTYPE, "{s.shape_text()}", '
        f"{f'{prefix}{k}_BYTES' if s.is_static else 0}, 0}}"
        for k, s in enumerate(specs)
    ]
    return "{" + ", ".join([*rows, "{0}"]) + "}"


def _c_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=True).replace("?", "\\?")


def makefile(
    bundle: Bundle,
    target: Device,
    cflags: Sequence[str] = (),
    linked: tuple[str, Sequence[str]] | None = None,
    libraries: Sequence[str] = (),
) -> str:
    """The bundle's Makefile: the device's C compiler (`cc` for the host), libm and pthreads
    (what the generated code may call) and `libraries`; `cflags` after `-O2 -Wall`, quoted
    for the shell. `linked` = (a C file, objects): `model.o` is made from them by a
    relocatable link (a fat or SoC bundle's dispatcher or scheduler and its parts)."""
    toolchain: dict[str, Any] = dict(target.extra.get("toolchain", {}))
    rules = ""
    cleaned = "run"
    if linked is not None:
        source, objects = linked
        compiled = source.removesuffix(".c") + ".o"
        rules = (
            f"model.o: {compiled} {' '.join(objects)}\n"
            "\t$(CC) -r -nostdlib -o $@ $^\n\n"
            f"{compiled}: {source} model.h\n"
            f"\t$(CC) $(CFLAGS) -c -o $@ {source}\n\n"
        )
        cleaned = f"run model.o {compiled}"
    return (
        f"# lamina AOT bundle: {bundle.name} for {bundle.device} ({bundle.triple})\n"
        f"CC = {toolchain.get('cc', 'cc')}\n"
        f"CFLAGS = {shlex.join(['-O2', '-Wall', *cflags])}\n"
        f"LDLIBS = {' '.join(['-lm', '-lpthread', *libraries])}\n\n"
        "run: main.c model.h model.o\n"
        "\t$(CC) $(CFLAGS) -o $@ main.c model.o $(LDLIBS)\n\n"
        f"{rules}"
        f"clean:\n\trm -f {cleaned}\n\n.PHONY: clean\n"
    )


def check_destination(out: Path) -> None:
    """Refuse an `out` that exists and is neither empty nor a bundle (never overwritten)."""
    if out.exists() and not (
        out.is_dir() and (not any(out.iterdir()) or (out / MANIFEST).exists())
    ):
        raise LaminaError("exists and is not a lamina bundle: not overwriting it", where=str(out))


def write_atomically(out: Path, files: dict[str, bytes]) -> None:
    """Write `files` into a fresh directory next to `out`, then rename it to `out`."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as e:
        raise LaminaError(f"cannot create the bundle directory: {e}", where=str(out)) from None
    try:
        for filename, data in files.items():
            (staging / filename).write_bytes(data)
        staging.chmod(0o755)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except OSError as e:
        raise LaminaError(f"cannot write the bundle: {e}", where=str(out)) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
