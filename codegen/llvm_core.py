"""The core of the LLVM IR emitter (codegen/llvm.py composes it with the op emitters):
types, `LLValue`, `FunctionEmitter` (values, memory accesses, access groups) and the
structural ops of func / loop other than `loop.for`'s dispatch.

`FunctionEmitter` knows no op table: each op of a block goes to its `emit_op`, which the
driver (`emit_llvm`) supplies, so the op, ISA, control, parallel and split emitters import
this module and none of them is imported here. An element's address is `base + row-major
linearised index`, one `getelementptr inbounds`; a `loop.for` becomes a header with `phi`s,
`icmp slt`, body and latch `add nsw` (`emit_loop`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Protocol

import llvmlite.ir as ir
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    Float16Type,
    Float32Type,
    Float64Type,
    IndexType,
    IntegerType,
    MemRefType,
    NoneAttr,
    VectorType,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.utils.hints import isa

from lamina.codegen import llvm_shape
from lamina.dialects import loop
from lamina.dialects.loop_shape import DimOp
from lamina.errors import UnsupportedOpError
from lamina.rewrites.loop.float_formats import is_storage_float, storage_integer
from lamina.targets.threads import ThreadCosts

KERNEL_ABI = "kernel-v1"
MAX_STACK_ALLOC_BYTES = 64 * 1024
"""The largest unplanned `loop.alloc` that becomes a stack slot."""

i1 = ir.IntType(1)
i32 = ir.IntType(32)
i64 = ir.IntType(64)
ptr = ir.PointerType()
LLValue = Any
"""An llvmlite value (llvmlite has no type annotations: its classes lack `.type` for a
checker)."""


def llvm_type(t: Attribute, op: Operation | None = None) -> ir.Type:
    """The LLVM type of a loop-level value type (memrefs are bare pointers)."""
    if isinstance(t, IndexType):
        return i64
    if isinstance(t, IntegerType):
        return ir.IntType(t.width.data)
    if isinstance(t, Float32Type):
        return ir.FloatType()
    if isinstance(t, Float64Type):
        return ir.DoubleType()
    if isinstance(t, Float16Type):
        return ir.HalfType()
    if is_storage_float(t):  # bf16 / float8 / float4: their bits (loop-expand-float-formats)
        return ir.IntType(storage_integer(t).width.data)
    # isinstance, not `isa(t, VectorType[Attribute])`: this runs per load and store, and
    # xDSL's generic `isa` costs ~0.1 ms a call (a second per ResNet-50)
    if isinstance(t, VectorType) and t.get_num_dims() == 1 and not t.get_num_scalable_dims():
        return ir.VectorType(llvm_type(t.element_type, op), t.get_shape()[0])
    if isinstance(t, MemRefType):
        return ptr
    raise UnsupportedOpError(f"type {t} in LLVM codegen", op=op)


def type_suffix(t: ir.Type) -> str:
    """The overload suffix of an intrinsic name: `f32`, `i64`, `v16f32`."""
    if isinstance(t, ir.VectorType):
        return f"v{t.count}{type_suffix(t.element)}"
    if isinstance(t, ir.IntType):
        return f"i{t.width}"
    return {ir.FloatType: "f32", ir.DoubleType: "f64", ir.HalfType: "f16"}[type(t)]


class DistinctMD(ir.values.MDValue):
    """A `distinct !{...}` node: loop IDs (which list themselves first) and access groups."""

    def descr(self, buf: list[str]) -> None:
        buf.append("distinct ")
        super().descr(buf)


def distinct_metadata(module: ir.Module, operands: Sequence[Any], self_ref: bool) -> DistinctMD:
    node = DistinctMD(module, [], name=str(len(module.metadata)))
    fixed = module._fix_metadata_operands(list(operands))  # noqa: SLF001  (llvmlite's own)
    node.operands = (node, *fixed) if self_ref else tuple(fixed)
    return node


OpEmitter = Callable[["FunctionEmitter", Operation], None]
"""Emits one op (any op of a block) into a `FunctionEmitter`: the driver's dispatch."""


class NestSink(Protocol):
    """Where the emitter puts an outlined nest: `repeat` emits the caller's call of a nest
    emitted before under the same `key` (codegen/llvm_nest_key.py; False, nothing emitted,
    when there is none or the sink emits every nest), else `begin` gives the function to
    emit it into and `call` (after its body is emitted by `nest`) emits the caller's call of
    it with `args`, remembering it under `key` when that is not None
    (codegen/llvm_outline.py)."""

    def repeat(self, e: FunctionEmitter, key: Hashable, args: list[ir.Value]) -> bool: ...

    def begin(self, e: FunctionEmitter, signature: ir.FunctionType) -> ir.Function: ...

    def call(
        self, e: FunctionEmitter, nest: FunctionEmitter, args: list[ir.Value], key: Hashable | None
    ) -> None: ...


class FunctionEmitter:
    """Emits one `func.func` body into an LLVM function, each op through `emit_op`.
    Outermost `parallel` loops whose split pays (the per-nest cost model) run on `threads`
    threads (`codegen/llvm_parallel.py`); with `nests`, top-level nests are outlined."""

    threads: int = 1
    thread_costs: ThreadCosts = ThreadCosts()
    """The device's costs of threading a loop (targets/threads.py), what decides which
    parallel loops run threaded."""
    nests: NestSink | None = None

    def __init__(
        self,
        module: ir.Module,
        functions: dict[str, ir.Function],
        op: func.FuncOp,
        fn: ir.Function,
        emit_op: OpEmitter,
    ) -> None:
        self.module = module
        self.emit_op = emit_op
        self.functions = functions
        self.op = op
        self.fn = fn
        self.values: dict[SSAValue, LLValue] = {}
        self.extents: dict[SSAValue, tuple[LLValue, ...]] = {}
        """The i64 extents of each dynamic memref's `?` dims (codegen/llvm_shape.py)."""
        entry = fn.append_basic_block("entry")
        self.allocas: Any = ir.IRBuilder(entry)
        self.builder: Any = ir.IRBuilder(fn.append_basic_block("start"))
        self.access_groups: list[DistinctMD] = []
        self._group_lists: dict[tuple[int, ...], Any] = {}
        self.loops = 0
        self.pinned: set[ir.Instruction] = set()
        """Instructions whose constants are to stay constants (the bounds of innermost
        loops, which decide LLVM's vectorization and unrolling; codegen/llvm_slots.py)."""
        self.chunks: dict[Operation, tuple[LLValue, LLValue]] = {}
        """Loops to emit over [lb, ub) of their own rather than their operands' (a thread's
        chunk of the loop the pool splits, inside an outlined parallel body)."""

    def emit(self) -> None:
        if len(self.op.body.blocks) != 1:
            raise UnsupportedOpError("functions with more than one block", op=self.op)
        block = self.op.body.block
        llvm_shape.bind_arguments(self, block.args)
        self.emit_block(block)
        self.allocas.branch(self.fn.basic_blocks[1])

    def emit_block(self, block: Block) -> None:
        for op in block.ops:
            self.emit_op(self, op)

    def emit_carve(self, op: loop.CarveOp) -> None:
        _carve(self, op)

    # ---------------------------------------------------------------------------------
    # Values

    def get(self, value: SSAValue) -> LLValue:
        return self.values[value]

    def set(self, value: SSAValue, llvm_value: LLValue) -> None:
        if (
            value.name_hint
            and isinstance(llvm_value, ir.Instruction)
            and llvm_value.name.startswith(".")  # llvmlite's automatic names
        ):
            llvm_value.name = value.name_hint
        self.values[value] = llvm_value

    def declare(self, name: str, result: ir.Type, args: Sequence[ir.Type]) -> ir.Function:
        """An intrinsic or libm function, declared once."""
        existing = self.module.globals.get(name)
        if isinstance(existing, ir.Function):
            return existing
        return ir.Function(self.module, ir.FunctionType(result, list(args)), name=name)

    def add_nsw(self, a: LLValue, b: LLValue) -> LLValue:
        """`a + b` on i64, folded when both are constants (keeps unoptimised IR readable)."""
        if isinstance(b, ir.Constant) and b.constant == 0:
            return a
        if isinstance(a, ir.Constant) and a.constant == 0:
            return b
        if isinstance(a, ir.Constant) and isinstance(b, ir.Constant):
            return ir.Constant(i64, a.constant + b.constant)
        return self.builder.add(a, b, flags=["nsw"])

    def mul_nsw(self, a: LLValue, b: int | LLValue) -> LLValue:
        """`a * b` on i64, `b` a constant or (a run-time extent) an LLVM value."""
        if not isinstance(b, int):
            return self.builder.mul(a, b, flags=["nsw"])
        if b == 1:
            return a
        if isinstance(a, ir.Constant):
            return ir.Constant(i64, a.constant * b)
        return self.builder.mul(a, ir.Constant(i64, b), flags=["nsw"])

    # ---------------------------------------------------------------------------------
    # Memory

    def element_pointer(
        self, buffer: SSAValue, indices: Sequence[SSAValue], op: Operation
    ) -> tuple[LLValue, ir.Type, int]:
        """The address of `buffer[indices]`, the element's LLVM type and its alignment
        (row-major; a `?` dim's size is its run-time extent)."""
        buffer_type = buffer.type
        assert isinstance(buffer_type, MemRefType)  # not `isa`: see llvm_type
        if not isinstance(buffer_type.layout, NoneAttr):
            raise UnsupportedOpError(f"memref with a layout ({buffer_type}) in LLVM codegen", op=op)
        shape = buffer_type.get_shape()
        element = llvm_type(buffer_type.element_type, op)
        align = _natural_alignment(buffer_type.element_type)
        base = self.get(buffer)
        if not indices:
            return base, element, align
        linear = self.get(indices[0])
        for axis, index in enumerate(indices[1:], start=1):
            size = shape[axis] if shape[axis] >= 0 else llvm_shape.dim(self, buffer, axis)
            linear = self.add_nsw(self.mul_nsw(linear, size), self.get(index))
        address = self.builder.gep(base, [linear], inbounds=True, source_etype=element)
        return address, element, align

    def tag_access(self, instr: ir.Instruction) -> None:
        """Put a load/store in the access groups of the parallel loops around it."""
        if not self.access_groups:
            return
        if len(self.access_groups) == 1:
            instr.set_metadata("llvm.access.group", self.access_groups[0])
            return
        key = tuple(id(g) for g in self.access_groups)
        if key not in self._group_lists:
            self._group_lists[key] = self.module.add_metadata(list(self.access_groups))
        instr.set_metadata("llvm.access.group", self._group_lists[key])

    def load(self, address: LLValue, typ: ir.Type, align: int) -> LLValue:
        instr = self.builder.load(address, typ=typ, align=align)
        self.tag_access(instr)
        return instr

    def store(self, value: LLValue, address: LLValue, align: int) -> None:
        self.tag_access(self.builder.store(value, address, align=align))

    def stack_slot(self, size: int, align: int, name: str) -> LLValue:
        slot: Any = self.allocas.alloca(ir.ArrayType(ir.IntType(8), size), name=name)
        slot.align = align
        slot.type = ptr  # llvmlite types it `[N x i8]*`; with opaque pointers it is `ptr`
        return slot


@functools.cache
def _natural_alignment(element_type: Attribute) -> int:
    """`loop.natural_alignment` (at least 1), once per element type: it runs per access."""
    return loop.natural_alignment(element_type) or 1


# ---------------------------------------------------------------------------------------------
# Handlers of the structural ops: func, loop


def _return(e: FunctionEmitter, op: func.ReturnOp) -> None:
    if op.arguments:
        e.builder.ret(e.get(op.arguments[0]))
    else:
        e.builder.ret_void()


def _call(e: FunctionEmitter, op: func.CallOp) -> None:
    callee = e.functions.get(op.callee.root_reference.data)
    if callee is None:
        raise UnsupportedOpError(f"call to unknown function @{op.callee}", op=op)
    result = e.builder.call(callee, llvm_shape.call_arguments(e, op.arguments))
    if op.res:
        e.set(op.res[0], result)


def _arena(e: FunctionEmitter, op: loop.ArenaOp) -> None:
    arena_type = op.arena.type
    assert isa(arena_type, MemRefType[Attribute])
    space = loop.memory_space_of(arena_type)
    align = op.alignment.value.data
    if space == loop.MemorySpace.STACK:
        e.set(op.arena, e.stack_slot(op.size, align, "arena"))
        return
    if space != loop.MemorySpace.GLOBAL:
        raise UnsupportedOpError(f"arena in memory space '{space}' on a CPU", op=op)
    storage: Any = ir.GlobalVariable(e.module, ir.ArrayType(ir.IntType(8), op.size), "lamina.arena")
    storage.linkage = "internal"
    storage.initializer = ir.Constant(storage.value_type, None)
    storage.align = align
    storage.type = ptr  # as for stack slots: an opaque pointer, not `[N x i8]*`
    e.values[op.arena] = storage


def _carve(e: FunctionEmitter, op: loop.CarveOp) -> None:
    offset = op.offset.value.data
    arena = e.get(op.arena)
    if offset == 0:
        e.values[op.buffer] = arena
        return
    address = e.builder.gep(
        arena, [ir.Constant(i64, offset)], inbounds=True, source_etype=ir.IntType(8)
    )
    e.set(op.buffer, address)


def _alloc(e: FunctionEmitter, op: loop.AllocOp) -> None:
    buffer_type = op.buffer.type
    assert isa(buffer_type, MemRefType[Attribute])
    if op.dynamic_sizes:
        llvm_shape.emit_heap_alloc(e, op)
        return
    size = loop.buffer_bytes(buffer_type)
    space = loop.memory_space_of(buffer_type)
    if (
        size is None
        or size > MAX_STACK_ALLOC_BYTES
        or space
        not in (
            loop.MemorySpace.GLOBAL,
            loop.MemorySpace.STACK,
        )
    ):
        raise UnsupportedOpError(
            f"unplanned buffer {buffer_type} in LLVM codegen (only static buffers of at most "
            f"{MAX_STACK_ALLOC_BYTES} bytes become stack slots): run plan-memory first",
            op=op,
        )
    align = (
        op.alignment.value.data
        if op.alignment
        else loop.natural_alignment(buffer_type.element_type) or 1
    )
    e.set(op.buffer, e.stack_slot(max(size, 1), max(align, 16), op.buffer.name_hint or "buffer"))


def _dealloc(e: FunctionEmitter, op: loop.DeallocOp) -> None:
    llvm_shape.emit_free(e, op)


def _load(e: FunctionEmitter, op: loop.LoadOp) -> None:
    address, element, align = e.element_pointer(op.buffer, op.indices, op)
    e.set(op.result, e.load(address, element, align))


def _store(e: FunctionEmitter, op: loop.StoreOp) -> None:
    address, _, align = e.element_pointer(op.buffer, op.indices, op)
    e.store(e.get(op.value), address, align)


def _vload(e: FunctionEmitter, op: loop.VLoadOp) -> None:
    address, _, align = e.element_pointer(op.buffer, op.indices, op)
    e.set(op.result, e.load(address, llvm_type(op.result.type, op), align))


def _vstore(e: FunctionEmitter, op: loop.VStoreOp) -> None:
    address, _, align = e.element_pointer(op.buffer, op.indices, op)
    e.store(e.get(op.value), address, align)


def emit_loop(e: FunctionEmitter, op: loop.ForOp, lb: LLValue, ub: LLValue, step: LLValue) -> None:
    """`op` as an LLVM loop from `lb` to `ub` by `step` (LLVM values of type i64)."""
    b = e.builder
    inits = [e.get(v) for v in op.iter_args]
    preheader = b.block
    iv_arg, *carried_args = op.body.block.args
    label = iv_arg.name_hint or "loop"
    header = e.fn.append_basic_block(f"{label}.header")
    body = e.fn.append_basic_block(f"{label}.body")
    exit_block = e.fn.append_basic_block(f"{label}.exit")
    b.branch(header)
    b.position_at_end(header)
    iv = b.phi(i64, name=iv_arg.name_hint or "iv")
    iv.add_incoming(lb, preheader)
    phis: list[ir.PhiInstr] = []
    for arg, init in zip(carried_args, inits, strict=True):
        phi = b.phi(init.type, name=arg.name_hint or "acc")
        phi.add_incoming(init, preheader)
        phis.append(phi)
    condition = b.icmp_signed("<", iv, ub, name=f"{label}.cond")
    b.cbranch(condition, body, exit_block)
    b.position_at_end(body)
    e.values[iv_arg] = iv
    for arg, phi in zip(carried_args, phis, strict=True):
        e.values[arg] = phi
    group = distinct_metadata(e.module, [], self_ref=False) if op.parallel else None
    if group is not None:
        e.access_groups.append(group)
    loops_before = e.loops
    e.emit_block(op.body.block)
    if e.loops == loops_before:
        e.pinned.add(condition)
    e.loops += 1
    if group is not None:
        e.access_groups.pop()
    terminator = op.body.block.last_op
    yielded = (
        [e.get(v) for v in terminator.operands] if isinstance(terminator, loop.YieldOp) else []
    )
    next_iv = b.add(iv, step, name=f"{label}.next", flags=["nsw"])
    latch = b.block
    backedge = b.branch(header)
    iv.add_incoming(next_iv, latch)
    for phi, value in zip(phis, yielded, strict=True):
        phi.add_incoming(value, latch)
    properties = _loop_properties(op, group)
    if properties:
        backedge.set_metadata("llvm.loop", distinct_metadata(e.module, properties, self_ref=True))
    e.fn.basic_blocks.remove(exit_block)  # after the body's blocks, to read in order
    e.fn.basic_blocks.append(exit_block)
    b.position_at_end(exit_block)
    for result, phi in zip(op.res, phis, strict=True):
        e.values[result] = phi


def _loop_properties(op: loop.ForOp, group: DistinctMD | None) -> list[Any]:
    """The `!llvm.loop` property nodes for a loop's hints."""
    props: list[list[Any]] = []
    if op.unroll is not None:
        n = op.unroll.value.data
        props.append(
            ["llvm.loop.unroll.disable"]
            if n == 1
            else ["llvm.loop.unroll.count", ir.Constant(i32, n)]
        )
    if op.vector is not None:
        n = op.vector.value.data
        props.append(["llvm.loop.vectorize.width", ir.Constant(i32, n)])
        if n > 1:
            props.append(["llvm.loop.vectorize.enable", ir.Constant(i1, 1)])
    if group is not None:
        props.append(["llvm.loop.parallel_accesses", group])
    return props


def _yield(e: FunctionEmitter, op: loop.YieldOp) -> None:
    """Read by the enclosing `loop.for`."""


STRUCTURAL_HANDLERS: dict[type[Operation], Callable[[FunctionEmitter, Any], None]] = {
    func.ReturnOp: _return,
    func.CallOp: _call,
    loop.ArenaOp: _arena,
    loop.CarveOp: _carve,
    loop.AllocOp: _alloc,
    loop.DeallocOp: _dealloc,
    loop.LoadOp: _load,
    loop.StoreOp: _store,
    loop.VLoadOp: _vload,
    loop.VStoreOp: _vstore,
    loop.YieldOp: _yield,
    DimOp: llvm_shape.emit_dim,
}
"""The emitters of func / loop ops other than `loop.for` (the driver's, which outlines
nests and threads parallel loops)."""
