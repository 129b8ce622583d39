"""Run loop-level functions as freestanding Hexagon programs under qemu-hexagon.

    hm = HexagonModule(module)                      # LLVM -> Hexagon object, once
    (c,) = hm.function("matmul")(a, b, c_like)      # the last array(s) are outputs
    (y,) = hm.kernel()(x)                           # a kernel-ABI function (weights, arena)

A program is: `hexagon_start.s` (`_start`, which passes argc/argv to
`lamina_program_main`; the `lamina_syscall` trap; memcpy/memset; built with `llvm-mc`), the
module's object (llvmlite, `reloc=static`), a small C-ABI library in LLVM IR (`expf`, the
only libm call the models need; pthread stubs that make codegen's parallel loops run
inline; exact reads and writes on file descriptors, `lamina_exit`) and a driver in LLVM
IR that reads every non-output buffer from stdin into 128-byte aligned static buffers,
calls the function and writes the output buffers to stdout; linked by `LINK` (`ld.lld
-static`). AOT bundles (codegen/aot_hexagon.py) ship the same start and library objects
(`runtime_objects`) with a driver of their own. There is no libc: a call LLVM leaves to
another runtime routine fails the link, reported as "not supported: <symbol> ...".
Tools missing → a `LaminaError` naming the Debian package.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llvmlite.binding as llvm
import llvmlite.ir as ir
import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, MemRefType, ModuleOp, StringAttr
from xdsl.ir import Attribute
from xdsl.utils.hints import isa

from lamina.codegen.llvm import KERNEL_ABI, emit_llvm
from lamina.codegen.llvm_split import InlineNests
from lamina.codegen.llvm_target import initialize_llvm, optimize
from lamina.dialects.weights import WEIGHTS, numpy_dtype
from lamina.errors import LaminaError, UnsupportedError
from lamina.targets import Device, load_device

DEVICE = "hexagon-v66-hvx128"
TOOLS = {"qemu-hexagon": "qemu-user", "llvm-mc": "llvm", "ld.lld": "lld"}
"""Each external tool and the Debian package that has it."""
START = Path(__file__).with_name("hexagon_start.s")
LINK = ["ld.lld", "-static", "-e", "_start"]
"""The link command of a program; the objects follow (start.o first)."""
RUN_TIMEOUT_SECONDS = 600
ABI = StringAttr(KERNEL_ABI)

LIBRARY_IR = r"""
declare i32 @lamina_syscall(i32, i32, i32, i32, i32, i32)

; No threads: pthread_create fails (EAGAIN), so codegen's parallel_for runs every chunk inline.
define i32 @pthread_create(ptr %thread, ptr %attr, ptr %start, ptr %arg) {
  ret i32 11
}
define i32 @pthread_join(i64 %thread, ptr %result) {
  ret i32 0
}

; expf(x) = 2^n * e^r, n = round(x / ln 2), |r| <= ln(2)/2, degree-7 Taylor polynomial
; (relative error < 1e-7); x is clamped to [-87, 88] so 2^n stays a normal float.
define float @expf(float %x) {
  %lo = fcmp olt float %x, -87.0
  %x1 = select i1 %lo, float -87.0, float %x
  %hi = fcmp ogt float %x1, 88.0
  %xc = select i1 %hi, float 88.0, float %x1
  %t = fmul float %xc, 0x3FF7154760000000
  %neg = fcmp olt float %t, 0.0
  %half = select i1 %neg, float -0.5, float 0.5
  %tr = fadd float %t, %half
  %n = fptosi float %tr to i32
  %nf = sitofp i32 %n to float
  %r0 = fmul float %nf, 0x3FE62E4000000000
  %r1 = fsub float %xc, %r0
  %r2 = fmul float %nf, 0x3EB7F7D1C0000000
  %r = fsub float %r1, %r2
  %p7 = fmul float %r, 0x3F2A01A020000000
  %p6 = fadd float %p7, 0x3F56C16C20000000
  %q6 = fmul float %p6, %r
  %p5 = fadd float %q6, 0x3F81111120000000
  %q5 = fmul float %p5, %r
  %p4 = fadd float %q5, 0x3FA5555560000000
  %q4 = fmul float %p4, %r
  %p3 = fadd float %q4, 0x3FC5555560000000
  %q3 = fmul float %p3, %r
  %p2 = fadd float %q3, 0.5
  %q2 = fmul float %p2, %r
  %p1 = fadd float %q2, 1.0
  %q1 = fmul float %p1, %r
  %p0 = fadd float %q1, 1.0
  %e = add i32 %n, 127
  %bits = shl i32 %e, 23
  %scale = bitcast i32 %bits to float
  %y = fmul float %p0, %scale
  ret float %y
}

define void @lamina_exit(i32 %code) noreturn {
  %ignored = call i32 @lamina_syscall(i32 93, i32 %code, i32 0, i32 0, i32 0, i32 0)
  unreachable
}
"""


@dataclass(frozen=True)
class Buffer:
    """One pointer argument of the called function: its size and whether it is an output
    (written to stdout) or an input (read from stdin)."""

    nbytes: int
    output: bool


def require_tools(tools: Sequence[str] = tuple(TOOLS)) -> None:
    """Raise a `LaminaError` naming the Debian package of the first of `tools` missing."""
    for tool in tools:
        if shutil.which(tool) is None:
            package = TOOLS[tool]
            raise LaminaError(f"{tool} not found: install the Debian package {package}")


def _static_target_machine(device: Device, opt_level: int) -> Any:
    initialize_llvm()
    # No small-data section: the GP-relative relocations it needs are not all known to
    # the Debian ld.lld, and a freestanding program sets up no GP register anyway.
    llvm.set_option("lamina", "-hexagon-small-data-threshold=0")
    target = llvm.Target.from_triple(device.triple)
    return target.create_target_machine(
        cpu=device.cpu, features=device.feature_string, opt=opt_level, reloc="static"
    )


def object_code(module: ir.Module | str, device: Device, opt_level: int = 2) -> bytes:
    """A Hexagon ELF object of an LLVM module (llvmlite IR, or LLVM IR text)."""
    return bytes(
        _static_target_machine(device, opt_level).emit_object(_parsed(module, device, opt_level))
    )


def _parsed(module: ir.Module | str, device: Device, opt_level: int) -> Any:
    """The llvmlite ModuleRef: optimised (llvmlite IR) or as written (LLVM IR text)."""
    if not isinstance(module, str):
        return optimize(module, device, opt_level)
    parsed = llvm.parse_assembly(module)
    parsed.triple = device.triple
    parsed.verify()
    return parsed


def driver_ir(entry: str, buffers: Sequence[Buffer]) -> str:
    """LLVM IR of `lamina_program_main`: read inputs, call `entry`, write outputs."""
    lines = [
        "declare void @lamina_read_exact(i32, ptr, i32)",
        "declare void @lamina_write_all(i32, ptr, i32)",
        f"declare void @{entry}({', '.join('ptr' for _ in buffers)})",
    ]
    lines += [
        f"@buf{i} = internal global [{max(b.nbytes, 1)} x i8] zeroinitializer, align 128"
        for i, b in enumerate(buffers)
    ]
    body = [
        f"  call void @lamina_read_exact(i32 0, ptr @buf{i}, i32 {b.nbytes})"
        for i, b in enumerate(buffers)
        if not b.output
    ]
    body.append(f"  call void @{entry}({', '.join(f'ptr @buf{i}' for i in range(len(buffers)))})")
    body += [
        f"  call void @lamina_write_all(i32 1, ptr @buf{i}, i32 {b.nbytes})"
        for i, b in enumerate(buffers)
        if b.output
    ]
    lines += ["define i32 @lamina_program_main(i32 %argc, ptr %argv) {", *body, "  ret i32 0", "}"]
    return "\n".join(lines) + "\n"


def _transfer_ir(name: str, syscall: int) -> str:
    """A function moving exactly `n` bytes through read/write on `fd`; exit(3) on EOF or
    error."""
    return f"""
define void @{name}(i32 %fd, ptr %p, i32 %n) {{
entry:
  br label %loop
loop:
  %done = phi i32 [ 0, %entry ], [ %next, %more ]
  %left = sub i32 %n, %done
  %finished = icmp sle i32 %left, 0
  br i1 %finished, label %exit, label %more0
more0:
  %at = getelementptr i8, ptr %p, i32 %done
  %addr = ptrtoint ptr %at to i32
  %got = call i32 @lamina_syscall(i32 {syscall}, i32 %fd, i32 %addr, i32 %left, i32 0, i32 0)
  %bad = icmp sle i32 %got, 0
  br i1 %bad, label %fail, label %more
more:
  %next = add i32 %done, %got
  br label %loop
fail:
  call void @lamina_exit(i32 3)
  unreachable
exit:
  ret void
}}"""


def library_ir() -> str:
    """LLVM IR of the C-ABI library every program links (see the module docstring)."""
    return LIBRARY_IR + _transfer_ir("lamina_read_exact", 63) + _transfer_ir("lamina_write_all", 64)


def runtime_objects(device: Device) -> dict[str, bytes]:
    """`start.o` (hexagon_start.s through llvm-mc) and `library.o`: the objects every
    program links besides its driver and the model; in link order."""
    with tempfile.TemporaryDirectory(prefix="lamina-hexagon-") as scratch:
        _tool(["llvm-mc", "-triple=hexagon", "-filetype=obj", str(START), "-o", "start.o"], scratch)
        start = (Path(scratch) / "start.o").read_bytes()
    return {"start.o": start, "library.o": object_code(library_ir(), device)}


def link(objects: dict[str, bytes], directory: Path, output: str = "a.out") -> Path:
    """Write `objects` (file name -> bytes, start.o first) into `directory` and link them
    there with `LINK` into `output`; a symbol no object defines is "not supported"."""
    for name, data in objects.items():
        (directory / name).write_bytes(data)
    _tool([*LINK, "-o", output, *objects], str(directory))
    return directory / output


def _tool(command: list[str], cwd: str) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode == 0:
        return
    missing = sorted(set(re.findall(r"undefined symbol: (\S+)", done.stderr)))
    if missing:
        raise UnsupportedError(
            f"calls to {', '.join(missing)} in a freestanding Hexagon program (no libc)"
        )
    raise LaminaError(f"{command[0]} failed: {done.stderr.strip()}")


class HexagonProgram:
    """A linked program that calls one function on buffers read from stdin."""

    def __init__(self, module_object: bytes, entry: str, buffers: Sequence[Buffer]) -> None:
        require_tools()
        self.buffers = list(buffers)
        self._directory = tempfile.TemporaryDirectory(prefix="lamina-hexagon-")  # removed with self
        device = load_device(DEVICE)
        objects = runtime_objects(device)
        objects["driver.o"] = object_code(driver_ir(entry, buffers), device)
        objects["kernel.o"] = module_object
        self.path = link(objects, Path(self._directory.name))

    def run(self, inputs: Sequence[bytes], timeout: float = RUN_TIMEOUT_SECONDS) -> list[bytes]:
        """Run under qemu-hexagon on the input buffers' bytes; the output buffers' bytes."""
        sizes = [b.nbytes for b in self.buffers if not b.output]
        if [len(x) for x in inputs] != sizes:
            raise LaminaError(f"the program reads buffers of {sizes} bytes")
        done = subprocess.run(
            ["qemu-hexagon", str(self.path)],
            input=b"".join(inputs),
            capture_output=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip()
            raise LaminaError(f"the Hexagon program exited with {done.returncode}: {message}")
        out, offset = [], 0
        for b in self.buffers:
            if b.output:
                out.append(done.stdout[offset : offset + b.nbytes])
                offset += b.nbytes
        if offset != len(done.stdout):
            raise LaminaError(f"the Hexagon program wrote {len(done.stdout)} bytes, not {offset}")
        return out


class HexagonModule:
    """A loop-level module compiled once to a Hexagon object; its functions run as programs."""

    def __init__(
        self, module: ModuleOp, *, device: str | Device = DEVICE, opt_level: int = 2
    ) -> None:
        require_tools()
        self.device = load_device(device) if isinstance(device, str) else device
        self.functions = {op.sym_name.data: op for op in module.ops if isinstance(op, func.FuncOp)}
        # each nest its own noinline function: LLVM's cost stays linear in the model
        self.llvm_module = emit_llvm(module, self.device, nests=InlineNests())
        self.optimized = _parsed(self.llvm_module, self.device, opt_level)
        self.target_machine = _static_target_machine(self.device, opt_level)
        self.object = bytes(self.target_machine.emit_object(self.optimized))
        self._programs: dict[tuple[str, int], HexagonProgram] = {}

    def assembly(self) -> str:
        """The Hexagon assembly of the module (what `object` holds)."""
        return str(self.target_machine.emit_assembly(self.optimized))

    def function(self, name: str, num_outputs: int = 1) -> Callable[..., list[np.ndarray]]:
        """A callable taking one array per memref argument (the last `num_outputs` only
        give shape and dtype) and returning the outputs computed under qemu-hexagon."""
        types = self._memref_types(name)
        program = self.program(name, num_outputs)

        def call(*arrays: np.ndarray, timeout: float = RUN_TIMEOUT_SECONDS) -> list[np.ndarray]:
            if len(arrays) != len(types):
                raise LaminaError(f"@{name} takes {len(types)} arrays, got {len(arrays)}")
            checked = [
                _check(a, t, f"argument {i} of @{name}")
                for i, (a, t) in enumerate(zip(arrays, types, strict=True))
            ]
            outputs = program.run(
                [a.tobytes() for a in checked[: len(types) - num_outputs]], timeout
            )
            like = checked[len(types) - num_outputs :]
            return [
                np.frombuffer(o, a.dtype).reshape(a.shape)
                for o, a in zip(outputs, like, strict=True)
            ]

        return call

    def kernel(self, name: str | None = None) -> Callable[..., list[np.ndarray]]:
        """A kernel-ABI function (docs/pipeline.md; the only one when `name` is None):
        call it with the graph inputs."""
        kernels = [n for n, f in self.functions.items() if f.attributes.get("lamina.abi") == ABI]
        if name is None and len(kernels) != 1:
            raise LaminaError(f"the module has {len(kernels)} kernel-ABI functions: name one")
        name = name or kernels[0]
        op = self.functions[name]
        attr = op.attributes.get("lamina.num_outputs")
        num_outputs = attr.value.data if isinstance(attr, IntegerAttr) else 1
        types = self._memref_types(name)
        key = op.attributes.get("lamina.weights")
        size = types[0].get_shape()[0]
        weights = WEIGHTS.kernel_blob(key.data if isinstance(key, StringAttr) else None, size)
        arena = np.zeros(types[1].get_shape()[0], np.uint8)
        outputs = [
            np.empty(t.get_shape(), numpy_dtype(t.element_type))
            for t in types[len(types) - num_outputs :]
        ]
        run = self.function(name, num_outputs)
        return lambda *inputs, **kw: run(weights, arena, *inputs, *outputs, **kw)

    def _memref_types(self, name: str) -> list[MemRefType[Attribute]]:
        if name not in self.functions:
            raise LaminaError(f"no function @{name} (have {', '.join(self.functions)})")
        types = list(self.functions[name].function_type.inputs)
        memrefs = [t for t in types if isa(t, MemRefType[Attribute])]
        if len(memrefs) != len(types):
            raise UnsupportedError(f"scalar arguments of @{name} in a Hexagon program")
        return memrefs

    def program(self, name: str, num_outputs: int = 1) -> HexagonProgram:
        """The linked program calling `@name` (built once)."""
        types = self._memref_types(name)
        if (name, num_outputs) not in self._programs:
            first_output = len(types) - num_outputs
            buffers = [Buffer(_nbytes(t), i >= first_output) for i, t in enumerate(types)]
            self._programs[name, num_outputs] = HexagonProgram(self.object, name, buffers)
        return self._programs[name, num_outputs]


def _nbytes(t: MemRefType[Attribute]) -> int:
    return int(np.prod(t.get_shape(), dtype=np.int64)) * numpy_dtype(t.element_type).itemsize


def _check(array: np.ndarray, t: MemRefType[Attribute], what: str) -> np.ndarray:
    dtype = numpy_dtype(t.element_type)
    if array.dtype.kind in "iu" and dtype.kind in "iu" and array.dtype.itemsize == dtype.itemsize:
        array = array.view(dtype)  # memrefs are signless: u8 data in an i8 buffer is fine
    if array.dtype != dtype or tuple(array.shape) != tuple(t.get_shape()):
        raise LaminaError(
            f"{what} must be {dtype} of shape {tuple(t.get_shape())}, got "
            f"{array.dtype} of shape {array.shape}"
        )
    return np.ascontiguousarray(array)
