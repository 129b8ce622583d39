"""Freestanding Hexagon programs: the objects and the link that every one of them needs,
whether it runs under test (runtime/hexagon.py) or ships in an AOT bundle
(codegen/aot_hexagon.py).

    objects = runtime_objects(device)                  # start.o, library.o
    objects["driver.o"] = object_code(driver_ir_text, device)
    link(objects, directory, "run")                    # ld.lld -static -e _start

`hexagon_start.s` (`_start`, which passes argc/argv to `lamina_program_main`; the
`lamina_syscall` trap; memcpy/memset) is assembled with `llvm-mc`; `hexagon_library.ll`
(`expf`, the only libm call the models need; pthread stubs that make codegen's parallel
loops run inline; `lamina_exit`) plus exact reads and writes on file descriptors is the
C-ABI library. Objects are `reloc=static` with no small-data section. There is no libc: a
call LLVM leaves to another runtime routine fails the link, reported as "not supported:
<symbol> ...". Tools missing → a `LaminaError` naming the Debian package.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import llvmlite.binding as llvm
import llvmlite.ir as ir

from lamina.codegen.llvm_target import initialize_llvm, optimize
from lamina.errors import LaminaError, UnsupportedError
from lamina.targets import Device

TOOLS = {"qemu-hexagon": "qemu-user", "llvm-mc": "llvm", "ld.lld": "lld"}
"""Each external tool and the Debian package that has it."""
START = Path(__file__).with_name("hexagon_start.s")
LIBRARY = Path(__file__).with_name("hexagon_library.ll")
LINK = ["ld.lld", "-static", "-e", "_start"]
"""The link command of a program; the objects follow (start.o first)."""


def require_tools(tools: Sequence[str] = tuple(TOOLS)) -> None:
    """Raise a `LaminaError` naming the Debian package of the first of `tools` missing."""
    for tool in tools:
        if shutil.which(tool) is None:
            package = TOOLS[tool]
            raise LaminaError(f"{tool} not found: install the Debian package {package}")


def static_target_machine(device: Device, opt_level: int) -> Any:
    """The llvmlite target machine of a freestanding program's objects."""
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
        static_target_machine(device, opt_level).emit_object(parsed(module, device, opt_level))
    )


def parsed(module: ir.Module | str, device: Device, opt_level: int) -> Any:
    """The llvmlite ModuleRef: optimised (llvmlite IR) or as written (LLVM IR text)."""
    if not isinstance(module, str):
        return optimize(module, device, opt_level)
    reference = llvm.parse_assembly(module)
    reference.triple = device.triple
    reference.verify()
    return reference


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
    return (
        LIBRARY.read_text()
        + _transfer_ir("lamina_read_exact", 63)
        + _transfer_ir("lamina_write_all", 64)
    )


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
