"""LLVM's side of a device: the target machine, the O3 pipeline (its "loop not vectorized"
remarks dropped from stderr), object and assembly output.

tm = target_machine(load_device("host"))
compiled = optimize(emit_llvm(module, device), device)   # an llvmlite ModuleRef
"""

from __future__ import annotations

import contextlib
import ctypes.util
import functools
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import llvmlite.binding as llvm
import llvmlite.ir as ir
from xdsl.dialects.builtin import ModuleOp

from lamina.codegen.llvm import emit_llvm
from lamina.errors import DeviceError, LaminaError
from lamina.targets import Device, load_device

DEFAULT_OPT_LEVEL = 2
"""What the JIT compiles with: LLVM's O2 (ResNet-50 and SqueezeNet ran as fast as with O3,
and O3 takes ~30% more LLVM time)."""


@functools.cache
def initialize_llvm() -> None:
    """Initialise LLVM's targets once, and make libm's symbols visible to the JIT (math ops
    that LLVM lowers to libcalls: expf, tanhf, erff, ...)."""
    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    libm = ctypes.util.find_library("m")
    if libm is not None:
        llvm.load_library_permanently(libm)


def target_machine(device: Device, opt_level: int = 3, *, fresh: bool = False) -> Any:
    """The LLVM target machine of a device (its triple, CPU and features). A JIT engine
    takes ownership of (and frees) its target machine, so it must ask for a `fresh` one."""
    make = _target_machine.__wrapped__ if fresh else _target_machine
    try:
        return make(device.triple, device.cpu, device.feature_string, opt_level)
    except RuntimeError as e:
        raise DeviceError(
            f"LLVM here cannot target '{device.triple}' (device '{device.name}'): {e}"
        ) from None


@functools.cache
def _target_machine(
    triple: str, cpu: str, features: str, opt_level: int, reloc: str = "pic"
) -> Any:
    """LLVM only warns (on file descriptor 2) about a CPU or feature it does not know and
    then ignores it; lamina refuses such a device instead of compiling for another one."""
    initialize_llvm()
    target = llvm.Target.from_triple(triple)
    with _captured_stderr() as warnings:
        machine = target.create_target_machine(
            cpu=cpu, features=features, opt=opt_level, reloc=reloc, codemodel="jitdefault"
        )
    unknown = [w for w in warnings if b"is not a recognized" in w]
    if unknown:
        text = dict.fromkeys(w.decode(errors="replace").strip() for w in unknown)
        raise RuntimeError("; ".join(text))
    return machine


@contextlib.contextmanager
def _captured_stderr() -> Iterator[list[bytes]]:
    """The lines C++ code writes to file descriptor 2 meanwhile, collected into the list."""
    sys.stderr.flush()
    lines: list[bytes] = []
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines.extend(captured)


def optimize(module: ir.Module | str, device: Device, opt_level: int = 3) -> Any:
    """Parse, verify and run LLVM's default `O<opt_level>` pipeline with the device's target
    machine (so the vectorizers see its vector width); returns the llvmlite ModuleRef.
    LLVM IR text is taken as it is (it must carry the target's data layout)."""
    tm = target_machine(device)
    if isinstance(module, ir.Module):
        module.data_layout = str(tm.target_data)
    return _run_pipeline(_parse(str(module)), tm, opt_level)


def compile_object(
    text: str, triple: str, cpu: str, features: str, opt_level: int, reloc: str
) -> bytes:
    """The object file of one LLVM IR text for a target machine, optimised at `opt_level`:
    what a worker process runs (strings in, bytes out: llvmlite objects do not pickle).
    Objects for the JIT take `reloc="static"`: MCJIT's loader mis-resolves the GOT
    relocations of position-independent large-code-model objects (a crash when called)."""
    tm = _target_machine(triple, cpu, features, opt_level, reloc)
    return bytes(tm.emit_object(_run_pipeline(_parse(text), tm, opt_level)))


def _parse(text: str) -> Any:
    try:
        parsed = llvm.parse_assembly(text)
        parsed.verify()
    except RuntimeError as e:  # an emitter bug: say so with LLVM's words
        raise LaminaError(f"internal error: LLVM rejected the emitted IR: {e}") from None
    return parsed


def _run_pipeline(parsed: Any, tm: Any, opt_level: int) -> Any:
    if opt_level > 0:
        pto = llvm.create_pipeline_tuning_options(speed_level=opt_level)
        pto.loop_vectorization = True
        pto.slp_vectorization = True
        pto.loop_unrolling = True
        pto.loop_interleaving = True
        builder = llvm.create_pass_builder(tm, pto)
        with _quiet_vectorizer_remarks():
            builder.getModulePassManager().run(parsed, builder)
    return parsed


_MISSED_VECTORIZATION = b"loop not vectorized"


@contextlib.contextmanager
def _quiet_vectorizer_remarks() -> Iterator[None]:
    """Drop LLVM's "warning: ... loop not vectorized" remarks (a `vector N` hint the
    vectorizer could not honour is not the user's problem) and pass any other line LLVM
    writes to stderr through. LLVM writes to file descriptor 2 from C++, so the descriptor
    itself is redirected to a temporary file for the duration."""
    with _captured_stderr() as lines:
        yield
    kept = [line for line in lines if _MISSED_VECTORIZATION not in line]
    if kept:
        os.write(2, b"".join(kept))


def assembly(module: ir.Module, device: Device, opt_level: int = 3) -> str:
    """The device's assembly for a module, after `optimize`."""
    return str(target_machine(device).emit_assembly(optimize(module, device, opt_level)))


def llvm_ir_text(module: ModuleOp, device_name: str = "host", opt_level: int = 0) -> str:
    """The LLVM IR of a loop-level module for a device, as LLVM prints it (verified, and
    optimised at `opt_level`); what `convert-loop-to-llvm` and `-t llvm` print."""
    device = load_device(device_name)
    return str(optimize(emit_llvm(module, device), device, opt_level))
