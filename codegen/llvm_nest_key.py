"""The key of an outlined nest (codegen/llvm_outline.py): equal keys, equal emitted
functions, so a nest met again (ResNet-50's repeated bottleneck blocks: 25 of its 62 nests,
DenseNet-121's repeated 3x3 convolutions: 54 of 188) is called, not emitted again.

    key = nest_key(e, op, captured, params, attributes)
    if key is None or not sink.repeat(e, key, params): ...   # emit it, sink.call(..., key)

What the key holds is all that emitting a nest reads: the function it is in, each op of
the nest in pre-order (its class, operands, result types and name hints, properties,
attributes, regions, blocks with their argument types and name hints), how each operand
from outside maps onto the nest's arguments (an argument's position, a constant's LLVM
text), each captured buffer's type, extents and, when the buffer it is carved from is
captured too (a threaded loop re-emits such a carve inside the nest), its carve offsets,
and the arguments' `noalias` / `align` attributes. None (the nest is emitted every time)
when the nest captures a scalar (the emitter follows a scalar's defining ops to bound trip
counts) or holds an attribute that does not hash.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import llvmlite.ir as ir
from xdsl.dialects.builtin import MemRefType
from xdsl.ir import Operation, SSAValue

from lamina.codegen.llvm_core import FunctionEmitter, LLValue
from lamina.dialects import loop


def nest_key(
    e: FunctionEmitter,
    op: loop.ForOp,
    captured: Sequence[SSAValue],
    params: Sequence[LLValue],
    attributes: Hashable,
) -> Hashable | None:
    """The key of the nest `op` of `e`'s function (see the module docstring), whose
    outside values are `captured` (passed as `params`) and LLVM constants."""
    if not all(isinstance(value.type, MemRefType) for value in captured):
        return None
    position = {id(value): k for k, value in enumerate(params)}
    outside = {value: -1 - k for k, value in enumerate(captured)}
    entries: list[Any] = [id(e.op), attributes]
    for value in captured:
        extents = tuple(_passed(x, position) for x in e.extents.get(value, ()))
        entries.append((value.type, position[id(e.values[value])], extents, _carve(value, outside)))
    inside: dict[SSAValue, int] = {}
    if not _add_op(e, op, inside, outside, entries):
        return None
    key = tuple(entries)
    try:
        hash(key)
    except TypeError:  # an attribute holding a list or a dict
        return None
    return key


def _passed(value: LLValue, position: dict[int, int]) -> Hashable:
    return value.get_reference() if isinstance(value, ir.Constant) else position[id(value)]


def _carve(value: SSAValue, outside: dict[SSAValue, int]) -> Hashable:
    """The carve offsets from the root buffer of `value` and the root's place when the root
    is captured too, else None (the carves stay outside)."""
    offsets: list[int] = []
    while isinstance(value.owner, loop.CarveOp):
        offsets.append(value.owner.offset.value.data)
        value = value.owner.arena
    return (outside[value], tuple(offsets)) if offsets and value in outside else None


def _add_op(
    e: FunctionEmitter,
    op: Operation,
    inside: dict[SSAValue, int],
    outside: dict[SSAValue, int],
    entries: list[Any],
) -> bool:
    """Append `op` and the ops nested in it (pre-order) to `entries`, numbering the values
    they define in `inside`; False for an operand that is neither inside, captured nor a
    constant."""
    operands: list[Hashable] = []
    for operand in op.operands:
        ref = inside.get(operand)
        if ref is None:
            ref = outside.get(operand)
        if ref is None:
            constant = e.values.get(operand)
            if not isinstance(constant, ir.Constant):
                return False
            ref = (str(constant.type), constant.get_reference())
        operands.append(ref)
    for result in op.results:
        inside[result] = len(inside)
    entries.append(
        (
            type(op),
            tuple(operands),
            tuple((result.type, result.name_hint) for result in op.results),
            tuple(op.properties.items()),
            tuple(op.attributes.items()),
            len(op.regions),
        )
    )
    for region in op.regions:
        entries.append(len(region.blocks))
        for block in region.blocks:
            for arg in block.args:
                inside[arg] = len(inside)
            entries.append(tuple((arg.type, arg.name_hint) for arg in block.args))
            for child in block.ops:
                if not _add_op(e, child, inside, outside, entries):
                    return False
            entries.append(None)  # the block's end
    return True
