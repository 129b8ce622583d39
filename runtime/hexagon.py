"""Run loop-level functions as freestanding Hexagon programs under qemu-hexagon.

    hm = HexagonModule(module)                      # LLVM -> Hexagon object, once
    (c,) = hm.function("matmul")(a, b, c_like)      # the last array(s) are outputs
    (y,) = hm.kernel()(x)                           # a kernel-ABI function (weights, arena)
    hm.program("matmul").count([a_bytes, b_bytes])  # instructions executed, by function

A program is the start, library and link of codegen/hexagon_program.py (`runtime_objects`,
`link`), the module's object (llvmlite, `reloc=static`) and a driver in LLVM IR that reads
every non-output buffer from stdin into 128-byte aligned static buffers, calls the function
and writes the output buffers to stdout. AOT bundles (codegen/aot_hexagon.py) link the
same start and library objects with a driver of their own.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, MemRefType, ModuleOp, StringAttr
from xdsl.ir import Attribute
from xdsl.utils.hints import isa

from lamina.codegen.hexagon_program import (
    link,
    object_code,
    parsed,
    require_tools,
    runtime_objects,
    static_target_machine,
)
from lamina.codegen.llvm import KERNEL_ABI, emit_llvm
from lamina.codegen.llvm_split import InlineNests
from lamina.dialects.weights import WEIGHTS, numpy_dtype
from lamina.errors import LaminaError, UnsupportedError
from lamina.runtime.qemu_count import InstructionCount, InstructionCounter
from lamina.targets import Device, load_device

DEVICE = "hexagon-v66-hvx128"
RUN_TIMEOUT_SECONDS = 600
ABI = StringAttr(KERNEL_ABI)


@dataclass(frozen=True)
class Buffer:
    """One pointer argument of the called function: its size and whether it is an output
    (written to stdout) or an input (read from stdin)."""

    nbytes: int
    output: bool


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
        return self._run(inputs, timeout, [])

    def count(
        self, inputs: Sequence[bytes], timeout: float = RUN_TIMEOUT_SECONDS
    ) -> InstructionCount:
        """What a run on the input buffers' bytes executes, by function (qemu-hexagon with
        the instruction-counting plugin of runtime/qemu_count.py)."""
        with tempfile.TemporaryDirectory(prefix="lamina-hexagon-count-") as scratch:
            counter = InstructionCounter(self.path, scratch)
            self._run(inputs, timeout, counter.options)
            return counter.read()

    def _run(self, inputs: Sequence[bytes], timeout: float, options: list[str]) -> list[bytes]:
        sizes = [b.nbytes for b in self.buffers if not b.output]
        if [len(x) for x in inputs] != sizes:
            raise LaminaError(f"the program reads buffers of {sizes} bytes")
        done = subprocess.run(
            ["qemu-hexagon", *options, str(self.path)],
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
        self.optimized = parsed(self.llvm_module, self.device, opt_level)
        self.target_machine = static_target_machine(self.device, opt_level)
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
