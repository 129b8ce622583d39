"""Memrefs with dynamic dims (`?`) in LLVM codegen: a pointer plus one i64 extent per `?`
dim, kept by the emitter beside the pointer (`FunctionEmitter.extents`).

| loop IR | LLVM IR |
|---|---|
| an argument `memref<?x16xf32>` | `ptr %x, i64 %x.dim0` (the kernel ABI, docs/pipeline.md) |
| `loop.dim %x, 0` / `loop.dim %x, 1` | `%x.dim0` / `i64 16` |
| `%x[%i, %j]` | `getelementptr inbounds float, ptr %x, i64 (%i * 16 + %j)`, run-time extents where `?` |
| `loop.alloc(%n) : memref<?x16xf32>` | `aligned_alloc(64, max(64, round_up(%n * 64, 64)))`, a trap if it fails |
| `loop.dealloc %t : memref<?x16xf32>` | `free(%t)` |
| `func.call @f(%x)` | `call @f(ptr %x, i64 %x.dim0)` |

Invariants: every dynamic memref value the emitter knows has its extents in `extents`,
one per `?` dim in axis order; static memrefs have none and keep their bare-pointer form.
An outlined nest or a threaded loop that captures a dynamic memref also captures its
extents that are not constants (`passed_values`, `bind_passed`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import llvmlite.ir as ir
from xdsl.dialects.builtin import MemRefType
from xdsl.ir import Attribute, SSAValue

from lamina.dialects import loop
from lamina.dialects.loop_shape import DimOp
from lamina.errors import UnsupportedOpError

HEAP_ALIGNMENT = 64
"""Byte alignment (and size granule) of a dynamic `loop.alloc` on the heap."""

i64 = ir.IntType(64)
ptr = ir.PointerType()
LLValue = Any


class FunctionEmitter(Protocol):
    """What this module uses of codegen/llvm_core.py's `FunctionEmitter`."""

    fn: Any
    builder: Any
    values: dict[SSAValue, LLValue]
    extents: dict[SSAValue, tuple[LLValue, ...]]

    def get(self, value: SSAValue) -> LLValue: ...

    def set(self, value: SSAValue, llvm_value: LLValue) -> None: ...

    def declare(self, name: str, result: ir.Type, args: Sequence[ir.Type]) -> ir.Function: ...


def dynamic_axes(t: Attribute) -> list[int]:
    """The axes of a memref type that are dynamic (`?`); none for other types."""
    if not isinstance(t, MemRefType):
        return []
    return [axis for axis, size in enumerate(t.get_shape()) if size < 0]


def parameter_types(types: Sequence[Attribute], llvm_type: Any) -> list[ir.Type]:
    """The LLVM parameters of function arguments of `types`: each value's own type, then an
    i64 per `?` dim of a memref."""
    params: list[ir.Type] = []
    for t in types:
        params.append(llvm_type(t))
        params += [i64] * len(dynamic_axes(t))
    return params


def bind_arguments(e: FunctionEmitter, args: Sequence[SSAValue]) -> None:
    """Map a function's block arguments to its LLVM arguments (extents after a pointer)."""
    llvm_args: Iterator[Any] = iter(e.fn.args)
    for arg in args:
        value = next(llvm_args)
        value.name = arg.name_hint or ""
        e.values[arg] = value
        axes = dynamic_axes(arg.type)
        if axes:
            extents = tuple(next(llvm_args) for _ in axes)
            for axis, extent in zip(axes, extents, strict=True):
                extent.name = f"{arg.name_hint}.dim{axis}" if arg.name_hint else ""
            e.extents[arg] = extents


def call_arguments(e: FunctionEmitter, operands: Sequence[SSAValue]) -> list[LLValue]:
    """The LLVM arguments of a call: each operand, then the extents of a dynamic memref."""
    values: list[LLValue] = []
    for operand in operands:
        values.append(e.get(operand))
        values += e.extents.get(operand, ())
    return values


def dim(e: FunctionEmitter, buffer: SSAValue, axis: int) -> LLValue:
    """The extent of `buffer`'s dim `axis`: a constant for a static dim."""
    buffer_type = buffer.type
    assert isinstance(buffer_type, MemRefType)
    size = buffer_type.get_shape()[axis]
    if size >= 0:
        return ir.Constant(i64, size)
    return e.extents[buffer][dynamic_axes(buffer_type).index(axis)]


def emit_dim(e: FunctionEmitter, op: DimOp) -> None:
    e.set(op.result, dim(e, op.buffer, op.axis.value.data))


def emit_heap_alloc(e: FunctionEmitter, op: loop.AllocOp) -> None:
    """A dynamic `loop.alloc` on the heap: at least one 64-byte granule, so that a buffer
    of 0 elements is a real (never read) allocation, and `free` always gets its pointer."""
    buffer_type = op.buffer.type
    assert isinstance(buffer_type, MemRefType)
    space = loop.memory_space_of(buffer_type)
    element_bytes = loop.byte_size(buffer_type.element_type)
    if space != loop.MemorySpace.GLOBAL or element_bytes is None:
        raise UnsupportedOpError(f"dynamic buffer {buffer_type} in LLVM codegen", op=op)
    extents = tuple(e.get(size) for size in op.dynamic_sizes)
    e.extents[op.buffer] = extents
    b = e.builder
    static = math.prod(size for size in buffer_type.get_shape() if size >= 0)
    elements: LLValue = ir.Constant(i64, static * element_bytes)
    for extent in extents:
        elements = b.mul(elements, extent, flags=["nsw"])
    granule = ir.Constant(i64, HEAP_ALIGNMENT)
    rounded = b.and_(
        b.add(elements, ir.Constant(i64, HEAP_ALIGNMENT - 1)), ir.Constant(i64, -HEAP_ALIGNMENT)
    )
    rounded = b.select(b.icmp_unsigned("<", rounded, granule), granule, rounded)
    aligned_alloc = e.declare("aligned_alloc", ptr, [i64, i64])
    pointer = b.call(aligned_alloc, [granule, rounded], name=op.buffer.name_hint or "heap")
    with b.if_then(b.icmp_unsigned("==", pointer, ir.Constant(ptr, None)), likely=False):
        b.call(e.declare("llvm.trap", ir.VoidType(), []), [])
        b.unreachable()
    e.set(op.buffer, pointer)


def emit_free(e: FunctionEmitter, op: loop.DeallocOp) -> None:
    """`free` for a dynamic buffer (static ones are stack slots, which die with the frame)."""
    if dynamic_axes(op.buffer.type):
        e.builder.call(e.declare("free", ir.VoidType(), [ptr]), [e.get(op.buffer)])


def passed_values(e: FunctionEmitter, values: Sequence[SSAValue]) -> list[LLValue]:
    """The distinct LLVM values an outlined function needs for `values`: each one's own,
    and the extents of a dynamic memref that are not constants."""
    passed: dict[Any, None] = {}
    for value in values:
        passed[e.values[value]] = None
        for extent in e.extents.get(value, ()):
            if not isinstance(extent, ir.Constant):
                passed[extent] = None
    return list(passed)


def bind_passed(
    e: FunctionEmitter,
    sub: FunctionEmitter,
    values: Sequence[SSAValue],
    passed: Sequence[LLValue],
    args: Sequence[LLValue],
) -> None:
    """In the outlined function `sub`, map `values` (and their extents) to `args`, which
    hold `passed` (from `passed_values`) in order."""
    position = {id(value): k for k, value in enumerate(passed)}

    def inside(outer: LLValue) -> LLValue:
        return outer if isinstance(outer, ir.Constant) else args[position[id(outer)]]

    for value in values:
        sub.values[value] = inside(e.values[value])
        if value in e.extents:
            sub.extents[value] = tuple(inside(x) for x in e.extents[value])
