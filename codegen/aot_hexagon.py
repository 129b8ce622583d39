"""The Hexagon half of AOT bundles (codegen/aot.py): a model compiled for a Hexagon DSP
device with a freestanding runtime, linked and run without Python or libc.

`write_bundle(module, hexagon_device, "out/", ...)` (codegen/aot.py) writes the common files
(`model.h`, `weights.bin`, `bundle.json`: the kernel ABI of docs/pipeline.md) and, from here:

| file | what |
|---|---|
| `model.o` | the entry point, a Hexagon ELF object (the device's CPU and HVX features, `reloc=static`, no small-data section) |
| `start.o` | `_start`, the `lamina_syscall` trap, memcpy/memset: codegen/hexagon_start.s through `llvm-mc` |
| `library.o` | expf, pthread stubs (parallel loops run inline), exact reads/writes: codegen/hexagon_program.py |
| `driver.o` | `lamina_program_main`: the driver below, LLVM IR compiled by llvmlite |
| `Makefile` | `ld.lld -static -e _start -o run start.o library.o driver.o model.o` |

The driver is LLVM IR (there is no Hexagon C compiler here): a model-independent part
(`DRIVER`, codegen/aot_hexagon_driver.ll.in) and this model's tables (`model_ir`). It takes
the C driver's command line,

    qemu-hexagon ./run [-w weights.bin] -i in0.bin ... [-o DIR] [-n REPEAT]

reads the weights and every input (all are required: there is no random generator) from
files through the Linux system calls qemu-hexagon's linux-user mode implements (openat,
_llseek, read, write, close, clock_gettime, exit), calls the model REPEAT times (at most
`MAX_REPEAT`), writes `DIR/out<k>.bin` and prints `latency: median <x> ms, ...`: wall-clock
time (CLOCK_MONOTONIC; under qemu, which counts no cycles, not a device figure). A file
of the wrong size is an error naming the tensor (exit 1); a bad command line prints the
usage (exit 2). Buffers are 128-byte aligned static arrays (the `.bss` of the program), so
the program needs no allocator.

`write_bundle` links the objects once in a scratch directory, so a model needing a
routine the freestanding runtime lacks fails at compile time ("not supported: calls to
<symbol> ..."), leaving no bundle.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from xdsl.dialects.builtin import ModuleOp

from lamina.codegen.bundle import Bundle
from lamina.codegen.hexagon_program import (
    LINK,
    link,
    object_code,
    require_tools,
    runtime_objects,
)
from lamina.codegen.llvm import emit_llvm
from lamina.codegen.llvm_split import InlineNests
from lamina.targets import Device

DRIVER = Path(__file__).with_name("aot_hexagon_driver.ll.in")
"""The model-independent part of the driver, in LLVM IR."""
MAX_REPEAT = 1000
"""The most runs the driver times (its table of latencies is static)."""

_STRINGS = {
    "weights_bin": "weights.bin",
    "dot": ".",
    "weights_what": "the weights blob",
    "error": "run: error: ",
    "cannot_open": "cannot open ",
    "cannot_write": "cannot write ",
    "has": " has ",
    "bytes_but": " bytes, but ",
    "takes": " takes ",
    "newline": "\n",
    "point": ".",
    "too_many": "too many inputs (-i) for the model",
    "takes_files": "the model takes input files (-i): ",
    "got": ", got ",
    "empty": "",
    "usage": "usage: run [-w weights.bin] -i in0.bin ... [-o DIR] [-n REPEAT]\n",
    "wrote": "wrote ",
    "median": "latency: median ",
    "min": " ms, min ",
    "over": " ms over ",
    "runs": " run(s)\n",
}


def hexagon_files(
    module: ModuleOp, bundle: Bundle, device: Device, opt_level: int
) -> dict[str, bytes]:
    """The device-specific files of a Hexagon bundle of the lowered `module` (see the
    module docstring), after a trial link that catches missing runtime routines."""
    require_tools(["llvm-mc", LINK[0]])  # not the emulator: bundles are built anywhere
    files = runtime_objects(device)
    files["driver.o"] = object_code(driver_ir(bundle), device)
    files["model.o"] = object_code(
        emit_llvm(module, device, nests=InlineNests()), device, opt_level
    )
    with tempfile.TemporaryDirectory(prefix="lamina-hexagon-link-") as scratch:
        link(files, Path(scratch), "run")
    files["Makefile"] = makefile(bundle, list(files)).encode()
    return files


def driver_ir(bundle: Bundle) -> str:
    """LLVM IR of the bundle's driver: `DRIVER` plus this model's buffers and tables."""
    constants = "\n".join(_string(f"lamina.s.{key}", text) for key, text in _STRINGS.items())
    return (
        DRIVER.read_text().replace("@MAX_REPEAT@", str(MAX_REPEAT))
        + "\n"
        + constants
        + "\n"
        + model_ir(bundle)
    )


def model_ir(bundle: Bundle) -> str:
    """This model's static buffers, its `%lamina.model` table, the call of its entry point
    and `lamina_program_main`."""
    ins, outs = bundle.inputs, bundle.outputs
    buffers = {"weights": bundle.weights_bytes, "arena": bundle.arena_bytes}
    buffers |= {f"in{k}": s.nbytes for k, s in enumerate(ins)}
    buffers |= {f"out{k}": s.nbytes for k, s in enumerate(outs)}
    lines = [
        f"@lamina.{name} = internal global [{max(size, 1)} x i8] zeroinitializer, align 128"
        for name, size in buffers.items()
    ]
    lines += [
        _string(f"lamina.in.what{k}", f"input {k} '{s.name}' ({s.describe()})")
        for k, s in enumerate(ins)
    ]
    lines += [_string(f"lamina.out.file{k}", f"/out{k}.bin") for k in range(len(outs))]
    lines += [
        _array("lamina.in.bufs", "ptr", [f"@lamina.in{k}" for k in range(len(ins))]),
        _array("lamina.in.sizes", "i32", [str(s.nbytes) for s in ins]),
        _array("lamina.in.whats", "ptr", [f"@lamina.in.what{k}" for k in range(len(ins))]),
        _array("lamina.in.paths", "ptr", ["null"] * len(ins), constant=False),
        _array("lamina.out.bufs", "ptr", [f"@lamina.out{k}" for k in range(len(outs))]),
        _array("lamina.out.sizes", "i32", [str(s.nbytes) for s in outs]),
        _array("lamina.out.files", "ptr", [f"@lamina.out.file{k}" for k in range(len(outs))]),
    ]
    fields = [
        f"i32 {len(ins)}",
        *(f"ptr @lamina.in.{name}" for name in ("bufs", "sizes", "whats", "paths")),
        f"i32 {len(outs)}",
        *(f"ptr @lamina.out.{name}" for name in ("bufs", "sizes", "files")),
        "ptr @lamina.weights",
        f"i32 {bundle.weights_bytes}",
        "ptr @lamina.call",
    ]
    lines.append(f"@lamina.table = internal constant %lamina.model {{ {', '.join(fields)} }}")
    arguments = list(buffers)  # weights, arena, inputs, outputs: the kernel ABI's order
    lines += [
        f"declare void @{bundle.name}({', '.join('ptr' for _ in arguments)})",
        "define internal void @lamina.call() {",
        f"  call void @{bundle.name}({', '.join(f'ptr @lamina.{a}' for a in arguments)})",
        "  ret void",
        "}",
        "define i32 @lamina_program_main(i32 %argc, ptr %argv) {",
        "  %code = call i32 @lamina.main(i32 %argc, ptr %argv, ptr @lamina.table)",
        "  ret i32 %code",
        "}",
    ]
    return "\n".join(lines) + "\n"


def makefile(bundle: Bundle, objects: list[str]) -> str:
    """The bundle's Makefile: link the shipped objects (start.o first) into `run`."""
    return (
        f"# lamina AOT bundle: {bundle.name} for device {bundle.device} ({bundle.triple}).\n"
        "# A freestanding program (no libc): make && qemu-hexagon ./run -w weights.bin \\\n"
        "#   -i in0.bin ... [-o DIR] [-n REPEAT]\n"
        f"LD = {LINK[0]}\n"
        f"LDFLAGS = {' '.join(LINK[1:])}\n"
        f"OBJECTS = {' '.join(objects)}\n\n"
        "run: $(OBJECTS)\n"
        "\t$(LD) $(LDFLAGS) -o $@ $(OBJECTS)\n\n"
        "clean:\n\trm -f run\n\n.PHONY: clean\n"
    )


def _string(name: str, text: str) -> str:
    """A NUL-terminated LLVM string constant `@name` (any byte escaped as \\XX)."""
    data = text.encode() + b"\0"
    body = "".join(
        chr(b) if 32 <= b < 127 and b not in (ord('"'), ord("\\")) else f"\\{b:02X}" for b in data
    )
    return f'@{name} = private unnamed_addr constant [{len(data)} x i8] c"{body}"'


def _array(name: str, element: str, items: list[str], *, constant: bool = True) -> str:
    kind = "constant" if constant else "global"
    if not items or all(item == "null" for item in items):
        value = "zeroinitializer"
    else:
        value = "[" + ", ".join(f"{element} {item}" for item in items) + "]"
    return f"@{name} = internal {kind} [{len(items)} x {element}] {value}"
