"""Slots: the i64 constant operands of an outlined nest that may become its arguments, so
that nests equal but for such constants (DenseNet's 1x1 convolutions over 64, 96, ...,
1024 channels) share one function (codegen/llvm_split.py).

    slots, values = open_slots(fn)   # each slot's operand now a placeholder argument
    ...                              # str(fn.module) is the nest's text up to its slots
    varying = close_slots(fn, slots, [values, other_values])

Invariants: only nests of at least `MIN_INSTRUCTIONS` instructions or without float
arithmetic (copies) have slots, and no bound of an innermost loop is one (the emitter pins
those: LLVM vectorizes and unrolls by them); a slot is an operand of an integer, compare, select, getelementptr or
min/max intrinsic instruction of `fn` itself (not of its parallel helpers), where a
runtime value costs a register and no other instruction; divisions, phis, stores and other
calls keep their constants (a division by a constant becomes a multiply). After
`close_slots`, the slots whose value is the same in every nest are constants again and
the others are `fn`'s trailing i64 arguments, in slot order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import llvmlite.ir as ir
from llvmlite.ir.instructions import CallInstr, GEPInstr

I64 = ir.IntType(64)
SLOT_OPS = frozenset({"add", "sub", "mul", "shl", "and", "or", "xor", "icmp", "select"})
"""Instructions (besides getelementptr and min/max calls) whose i64 constants are slots."""
SLOT_INTRINSICS = ("llvm.smin.", "llvm.smax.", "llvm.umin.", "llvm.umax.")
MIN_INSTRUCTIONS = 200
"""Smaller nests that compute (float arithmetic, calls) keep their constants: DenseNet's
batch-norm + ReLU nests with their channel counts as arguments ran 3-8% slower; the
copies (concatenations) and the big nests (GEMM kernels) measured as fast either way."""
FLOAT_OPS = frozenset({"fadd", "fsub", "fmul", "fdiv", "frem", "fneg", "fcmp", "call"})


@dataclass
class Slot:
    """Operand `index` of `instruction`, `argument` in its place while the slot is open."""

    instruction: ir.Instruction
    index: int
    argument: ir.Argument


def open_slots(fn: ir.Function, pinned: set[ir.Instruction]) -> tuple[list[Slot], tuple[int, ...]]:
    """Put a placeholder argument (not yet in `fn.args`) in place of each slot of `fn`
    (none in `pinned` instructions); the slots and their constants, in the order of `fn`'s
    instructions."""
    slots: list[Slot] = []
    values: list[int] = []
    if not _takes_slots(fn):
        return slots, ()
    for block in fn.blocks:
        for instruction in block.instructions:
            if instruction in pinned or not _has_slots(instruction):
                continue
            operands = list(instruction.operands)
            opened = len(slots)
            for index, operand in enumerate(operands):
                if type(operand) is ir.Constant and operand.type == I64:
                    argument = ir.Argument(fn, I64, name=f"slot{len(slots)}")
                    slots.append(Slot(instruction, index, argument))
                    values.append(int(operand.constant))  # pyright: ignore[reportArgumentType]
                    operands[index] = argument
            if len(slots) > opened:
                _set_operands(instruction, operands)
    return slots, tuple(values)


def close_slots(fn: ir.Function, slots: list[Slot], members: list[tuple[int, ...]]) -> list[int]:
    """Close the slots of `fn` for the nests whose constants are `members` (one tuple per
    nest, as `open_slots` gave them); the indices of the slots that became arguments."""
    varying = [k for k in range(len(slots)) if len({m[k] for m in members}) > 1]
    arguments = set(varying)
    for k, slot in enumerate(slots):
        if k in arguments:
            continue
        operands = list(slot.instruction.operands)
        operands[slot.index] = ir.Constant(I64, members[0][k])
        _set_operands(slot.instruction, operands)
    if varying:
        signature = fn.function_type
        fn.ftype = ir.FunctionType(signature.return_type, [*signature.args, *[I64] * len(varying)])
        fn.type = fn.ftype.as_pointer()
        fn.args = (*fn.args, *[slots[k].argument for k in varying])
    return varying


def filled(text: str, slots: list[Slot], values: tuple[int, ...]) -> str:
    """`text` (of a nest's module with its slots open) with each slot's constant in place of
    its placeholder: the text `close_slots(fn, slots, [values])` would print, without
    printing the module again (a DenseNet-121 compile prints some 90 such nests)."""
    if not slots:
        return text
    constants = {
        s.argument.get_reference(): ir.Constant(I64, v).get_reference()
        for s, v in zip(slots, values, strict=True)
    }
    return _PLACEHOLDER.sub(lambda m: constants.get(m[0], m[0]), text)


_PLACEHOLDER = re.compile(r'%"slot[^"]*"')
"""How `open_slots`' placeholder arguments print (`%"slot3"`)."""


def _takes_slots(fn: ir.Function) -> bool:
    instructions = [i for block in fn.blocks for i in block.instructions]
    return len(instructions) >= MIN_INSTRUCTIONS or not any(
        i.opname in FLOAT_OPS for i in instructions
    )


def _has_slots(instruction: ir.Instruction) -> bool:
    if instruction.opname in SLOT_OPS or isinstance(instruction, GEPInstr):
        return True
    if isinstance(instruction, CallInstr):
        callee = instruction.callee
        return isinstance(callee, ir.Function) and callee.name.startswith(SLOT_INTRINSICS)
    return False


def _set_operands(instruction: ir.Instruction, operands: list[ir.Value]) -> None:
    instruction.operands = operands
    if isinstance(instruction, GEPInstr):
        instruction.indices = operands[1:]
    instruction._clear_string_cache()  # pyright: ignore[reportPrivateUsage]
