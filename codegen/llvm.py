"""LLVM IR emitter for loop-level modules in the lamina kernel ABI (docs/pipeline.md).

`emit_llvm(module, device)` builds an `llvmlite.ir.Module`: one external C-ABI function
per `func.func`, every memref a bare pointer, followed by one i64 extent per dynamic dim
(codegen/llvm_shape.py); an element's address is `base + row-major linearised index`, one
`getelementptr inbounds`. Under `lamina.abi = "kernel-v1"` the pointer arguments are
`noalias` (weights, arena, inputs and outputs are distinct buffers) and weights/arena are
64-byte aligned.

What each loop-level construct becomes:

| loop IR | LLVM IR |
|---|---|
| `loop.for` (+ iter_args) | header with `phi`s, `icmp slt`, body, latch `add nsw` |
| `parallel` | `llvm.loop.parallel_accesses` + an access group on each load/store inside |
| `unroll N` / `vector N` | `llvm.loop.unroll.count N` / `llvm.loop.vectorize.width N` + `.enable` |
| `loop.carve %a[off]` | `getelementptr inbounds i8, ptr %a, i64 off` |
| `loop.arena` | an internal zero-initialised global (global space) or an `alloca` (stack) |
| `loop.alloc` (static, <= 64 KiB) | an entry-block `alloca`; larger ones must be planned |
| `loop.alloc(%n)` (dynamic), `loop.dealloc` of it, `loop.dim` | `aligned_alloc`, `free`, the extent (codegen/llvm_shape.py) |
| `loop.load/store/vload/vstore` | `load`/`store` of the element or `<N x elt>`, scalar alignment |
| a top-level `loop.for` of a kernel-ABI function, with `nests=` | a call to a `noinline` function of its own (codegen/llvm_outline.py) |

This module is the driver: it composes the emitter core (`FunctionEmitter`, types,
memory and loop helpers: codegen/llvm_core.py) with the op emitters (arith / math /
vector: codegen/llvm_ops.py; loop.if / loop.while: llvm_control.py; NEON / HVX:
llvm_neon.py, llvm_hvx.py, llvm_x86.py), threads (llvm_parallel.py) and outlined nests
(llvm_outline.py), all of which import only the core.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import llvmlite.ir as ir
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Operation

from lamina.codegen import llvm_shape
from lamina.codegen.llvm_control import emit_control_op
from lamina.codegen.llvm_core import (
    KERNEL_ABI,
    STRUCTURAL_HANDLERS,
    FunctionEmitter,
    NestSink,
    emit_loop,
    llvm_type,
)
from lamina.codegen.llvm_hvx import check_hvx_ops, emit_hvx_op
from lamina.codegen.llvm_neon import check_neon_ops, emit_neon_op
from lamina.codegen.llvm_ops import emit_compute_op
from lamina.codegen.llvm_outline import outline_nest
from lamina.codegen.llvm_parallel import emit_threaded_for, should_run_threaded
from lamina.codegen.llvm_x86 import check_x86_ops, emit_x86_op
from lamina.dialects import loop
from lamina.errors import UnsupportedOpError
from lamina.lowering.dynamic_shapes import check_static_shapes
from lamina.targets import Device
from lamina.targets.threads import thread_costs


def emit_llvm(module: ModuleOp, device: Device, nests: NestSink | None = None) -> ir.Module:
    """The LLVM module for a loop-level module; `UnsupportedOpError` (with `op`) for an op
    or type this emitter does not translate. With `nests`, each top-level loop nest of a
    kernel-ABI function becomes a function of its own (codegen/llvm_split.py)."""
    isa_ops = [op for op in module.walk() if op.name.startswith(("neon.", "hvx.", "x86vector."))]
    check_neon_ops(isa_ops, device)
    check_hvx_ops(isa_ops, device)
    check_x86_ops(isa_ops, device)
    if device.kind == "dsp":  # the freestanding DSP runtime has no heap
        check_static_shapes(module, device.name)
    llvm_module = ir.Module(name="lamina")
    llvm_module.triple = device.triple
    functions: dict[str, ir.Function] = {}
    bodies: list[tuple[func.FuncOp, ir.Function]] = []
    for op in module.ops:
        if not isinstance(op, func.FuncOp):
            raise UnsupportedOpError(f"'{op.name}' at module level in LLVM codegen", op=op)
        fn = _declare_function(llvm_module, op)
        functions[op.sym_name.data] = fn
        if op.body.blocks:
            bodies.append((op, fn))
    for op, fn in bodies:
        emitter = FunctionEmitter(llvm_module, functions, op, fn, emit_op)
        emitter.threads = device.cores
        emitter.thread_costs = thread_costs(device)
        emitter.nests = nests
        emitter.emit()
    return llvm_module


def _declare_function(llvm_module: ir.Module, op: func.FuncOp) -> ir.Function:
    inputs = llvm_shape.parameter_types(op.function_type.inputs.data, lambda t: llvm_type(t, op))
    outputs = op.function_type.outputs.data
    if len(outputs) > 1:
        raise UnsupportedOpError("functions with more than one result in LLVM codegen", op=op)
    result = llvm_type(outputs[0], op) if outputs else ir.VoidType()
    fn = ir.Function(llvm_module, ir.FunctionType(result, inputs), name=op.sym_name.data)
    if not op.body.blocks:
        return fn  # an external declaration (a runtime or libm function)
    if op.sym_visibility == StringAttr("private"):
        fn.linkage = "internal"
    fn.attributes.add("nounwind")
    abi = op.attributes.get("lamina.abi")
    if abi == StringAttr(KERNEL_ABI):
        for index, arg in enumerate(fn.args):
            if isinstance(arg.type, ir.PointerType):
                arg.add_attribute("noalias")
                arg.add_attribute("nofree")
                if index < 2:  # weights and arena: 64-byte aligned by the runtime
                    arg.attributes.align = 64
    return fn


def emit_op(e: FunctionEmitter, op: Operation) -> None:
    """Emit `op` with the first emitter that knows it; `UnsupportedOpError` if none does."""
    handler = _HANDLERS.get(type(op))
    if handler is not None:
        handler(e, op)
    elif not any(
        emit(e, op)
        for emit in (emit_compute_op, emit_control_op, emit_neon_op, emit_hvx_op, emit_x86_op)
    ):
        raise UnsupportedOpError(f"'{op.name}' in LLVM codegen", op=op)


def _for(e: FunctionEmitter, op: loop.ForOp) -> None:
    if e.nests is not None and outline_nest(e, op):
        return
    if should_run_threaded(e, op):
        emit_threaded_for(e, op)
    else:
        lb, ub = e.chunks.get(op) or (e.get(op.lb), e.get(op.ub))
        emit_loop(e, op, lb, ub, e.get(op.step))


_HANDLERS: dict[type[Operation], Callable[[FunctionEmitter, Any], None]] = {
    **STRUCTURAL_HANDLERS,
    loop.ForOp: _for,
}
