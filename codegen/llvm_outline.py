"""One LLVM function per top-level loop nest of a kernel-ABI function (also one inside
`loop.if` / `loop.while` regions, but not inside another loop), so that LLVM's cost
stays linear in the model and the nests can be compiled apart (in parallel, and cached).

    func.func @main(%weights, %arena, %x, %y) attributes {lamina.abi = "kernel-v1"} {
      %w = loop.carve %weights[256] ...          ; stays in @main
      %t = loop.carve %arena[0] ...
      loop.for ... { ... %w ... %t ... }          ; becomes a call
 ->
    define void @main(ptr %weights, ptr %arena, ptr %x, ptr %y) {
      %w = getelementptr inbounds i8, ptr %weights, i64 256
      call void @lamina.nest.<hash>(ptr %w, ptr %arena)
    }
    define void @lamina.nest.<hash>(ptr noalias align 64 %p0, ptr noalias align 64 %p1) noinline

A nest takes the buffers it uses as arguments (not carve offsets), so layers of the same
shape have the same code whatever their weights and arena offsets: ResNet's repeated blocks
compile once. Invariants of an outlined nest: its arguments are the non-constant values the
nest reads from outside, one per distinct LLVM value; an argument is `noalias` only when its
byte range (carve offset + size, followed up to a kernel argument) overlaps no other
argument's range, and `align 64` only when it is at a 64-byte multiple of the weights or the
arena (the runtime aligns those two). Nests that call functions stay inline.

`outline_nest` is called by the driver (codegen/llvm.py) for each `loop.for`; where the
nests go is the emitter's `NestSink` (codegen/llvm_split.py's `InlineNests`, `SplitNests`).
"""

from __future__ import annotations

from typing import Any

import llvmlite.ir as ir
from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType, StringAttr
from xdsl.ir import Attribute, BlockArgument, Operation, SSAValue
from xdsl.utils.hints import isa

from lamina.codegen import llvm_shape
from lamina.codegen.llvm_core import KERNEL_ABI, FunctionEmitter, LLValue
from lamina.codegen.llvm_nest_key import nest_key
from lamina.dialects import loop

KERNEL_ALIGNMENT = 64
"""What the kernel ABI promises of the weights and arena arguments (indices 0 and 1)."""
_UNBOUNDED = 1 << 62
"""The byte size `_extent` gives a dynamic kernel argument."""


def outline_nest(e: FunctionEmitter, op: loop.ForOp) -> bool:
    """Emit a top-level nest of a kernel-ABI function as a call to a function of its own
    (made by `e.nests`); False (nothing emitted) for a nest this does not outline."""
    sink = e.nests
    if (
        sink is None
        or not _outermost(e, op)
        or e.op.attributes.get("lamina.abi") != StringAttr(KERNEL_ABI)
        or any(result.uses for result in op.results)  # a reduction read after the nest
    ):
        return False
    outside = _outside_values(e, op)
    if outside is None:
        return False
    captured, constants = outside
    params = llvm_shape.passed_values(e, captured)  # distinct LLVM values, with extents
    attributes = _argument_attributes(e, captured, params)
    key = nest_key(e, op, captured, params, attributes)
    if key is not None and sink.repeat(e, key, params):
        return True
    fn = sink.begin(e, ir.FunctionType(ir.VoidType(), [p.type for p in params]))
    fn.attributes.add("nounwind")
    fn.attributes.add("noinline")
    _annotate(fn, attributes)
    sub = FunctionEmitter(fn.module, e.functions, e.op, fn, e.emit_op)
    sub.threads = e.threads
    sub.thread_costs = e.thread_costs
    sub.values = dict[SSAValue, LLValue](constants)
    llvm_shape.bind_passed(e, sub, captured, params, fn.args)
    sub.emit_op(sub, op)  # the driver's loop.for: threaded or a loop (no `nests`)
    sub.builder.ret_void()
    sub.allocas.branch(fn.basic_blocks[1])
    sink.call(e, sub, params, key)
    return True


def _outermost(e: FunctionEmitter, op: loop.ForOp) -> bool:
    """Whether `op` is in the function body itself or only in control-flow regions
    (loop.if / loop.while), not inside another loop.for."""
    parent = op.parent_op()
    while parent is not None and parent is not e.op:
        if isinstance(parent, loop.ForOp):
            return False
        parent = parent.parent_op()
    return parent is e.op


def _outside_values(
    e: FunctionEmitter, op: loop.ForOp
) -> tuple[list[SSAValue], dict[SSAValue, ir.Constant]] | None:
    """The values from outside `op` that it uses: those that are not LLVM constants (the
    nest's arguments) and the constants; None if it calls a function (a callee may live in
    another module)."""
    nest = _ops_in(op)
    if any(isinstance(inner, func.CallOp) for inner in nest):
        return None
    inside = set(nest)
    captured: dict[SSAValue, None] = {}
    constants: dict[SSAValue, ir.Constant] = {}
    for inner in nest:
        for operand in inner.operands:
            owner = operand.owner
            parent = owner if isinstance(owner, Operation) else owner.parent_op()
            if parent in inside:
                continue
            value = e.values[operand]
            if isinstance(value, ir.Constant):
                constants[operand] = value
            else:
                captured[operand] = None
    return list(captured), constants


def _ops_in(op: Operation) -> list[Operation]:
    """`op` and every op nested in it (xDSL's recursive generator `walk` costs a tenth of a
    second per ResNet-50 nest walk, this a hundredth)."""
    stack, found = [op], list[Operation]()
    while stack:
        found.append(current := stack.pop())
        for region in current.regions:
            for block in region.blocks:
                stack.extend(block.ops)
    return found


def _argument_attributes(
    e: FunctionEmitter, captured: list[SSAValue], params: list[Any]
) -> tuple[tuple[bool, bool], ...] | None:
    """(`align 64`, `noalias`) for each of the nest's arguments, where they hold; None
    when a pointer of unknown origin may alias any argument (then none has either)."""
    extents: list[list[tuple[int, int, int]]] = [[] for _ in params]
    for value in captured:
        if not isinstance(value.type, MemRefType):
            continue  # a scalar: a loop bound, a dynamic memref's extent
        extent = _extent(e, value)
        if extent is None:
            return None
        extents[params.index(e.values[value])].append(extent)
    attributes: list[tuple[bool, bool]] = []
    for index, mine in enumerate(extents):
        aligned = all(base < 2 and offset % KERNEL_ALIGNMENT == 0 for base, offset, _ in mine)
        others = [x for k, theirs in enumerate(extents) if k != index for x in theirs]
        attributes.append((aligned, not any(_overlap(a, b) for a in mine for b in others)))
    return tuple(attributes)


def _annotate(fn: ir.Function, attributes: tuple[tuple[bool, bool], ...] | None) -> None:
    """`nofree` and the `_argument_attributes` on the nest's pointer arguments."""
    if attributes is None:
        return
    for arg, (aligned, unaliased) in zip(fn.args, attributes, strict=True):
        if not isinstance(arg.type, ir.PointerType):
            continue
        arg.add_attribute("nofree")
        if aligned:
            arg.attributes.align = KERNEL_ALIGNMENT
        if unaliased:
            arg.add_attribute("noalias")


def _extent(e: FunctionEmitter, value: SSAValue) -> tuple[int, int, int] | None:
    """(kernel argument index, byte offset, bytes) of a buffer carved (maybe repeatedly)
    from a `noalias` kernel argument (a dynamic one: all bytes from the start); a dynamic
    `loop.alloc` of the function, a fresh 64-byte aligned heap block, is a region of its
    own (a negative index); None for anything else."""
    value_type = value.type
    if not isa(value_type, MemRefType[Attribute]):
        return None
    alloc, body = value.owner, e.op.body.block
    if isinstance(alloc, loop.AllocOp) and alloc.dynamic_sizes and alloc.parent is body:
        return (-1 - body.get_operation_index(alloc), 0, _UNBOUNDED)
    size = loop.buffer_bytes(value_type)
    if size is None and isinstance(value, BlockArgument):
        size = _UNBOUNDED
    offset = 0
    while isinstance(value.owner, loop.CarveOp):
        offset += value.owner.offset.value.data
        value = value.owner.arena
    if size is None or not isinstance(value, BlockArgument) or value.owner is not e.op.body.block:
        return None
    llvm_arg = e.values[value]  # not fn.args[index]: extents follow dynamic arguments
    return (value.index, offset, size) if "noalias" in llvm_arg.attributes else None


def _overlap(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    return a[0] == b[0] and a[1] < b[1] + b[2] and b[1] < a[1] + a[2]
