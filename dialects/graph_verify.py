"""What the hand-written verifiers of `graph` ops share: shapes of values, operand names,
dimension checks.

Each verifier checks what static types can show; a dynamic dimension (`?`, read as -1) or
an unranked tensor agrees with anything. Messages name the ONNX operand and its type
(`x : tensor<1x3x8x8xf32>`, `result 0 : ...`).
"""

from __future__ import annotations

from typing import cast

from xdsl.dialects.builtin import DYNAMIC_INDEX, I64, DenseArrayBase, IntegerAttr, TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import IRDLOperation
from xdsl.utils.exceptions import VerifyException

Shape = tuple[int, ...]


def shape_of(value: SSAValue) -> Shape | None:
    """The shape of a ranked tensor value (-1 for `?`), None for unranked tensors and none."""
    type = value.type
    if not isinstance(type, TensorType):
        return None
    shape = cast(TensorType[Attribute], type).get_shape()
    return tuple(-1 if d == DYNAMIC_INDEX else d for d in shape)


def same_type(a: Attribute, b: Attribute) -> bool:
    """`a` and `b` are one type; the identity test first (parsed IR shares its types)."""
    return a is b or a == b


def operand_name(op: Operation, index: int) -> str:
    """The ONNX name of operand `index` (`x`, or `inputs[1]` in a variadic group)."""
    fields = [name for name, _ in type(cast(IRDLOperation, op)).get_irdl_definition().operands]
    if len(fields) == len(op.operands):
        return fields[index]
    return f"{fields[-1]}[{index - len(fields) + 1}]"


def describe(op: Operation, value: SSAValue) -> str:
    """`x : <type>` for an operand, `result 0 : <type>` for a result of `op`."""
    if value in op.results:
        return f"result {op.results.index(value)} : {value.type}"
    return f"{operand_name(op, list(op.operands).index(value))} : {value.type}"


def int_list(attr: Attribute | None) -> list[int] | None:
    """The values of an `array<i64: ...>` property, None when it is absent."""
    return None if attr is None else list(cast(DenseArrayBase[I64], attr).get_values())


def int_value(attr: Attribute | None, default: int) -> int:
    """The value of an i64 property, `default` when it is absent."""
    return default if attr is None else cast(IntegerAttr[I64], attr).value.data


def check_dims(op: Operation, value: SSAValue, expected: Shape, what: str | None = None) -> None:
    """`value`'s type, if ranked, has `expected`'s rank and its static dims; the message
    names it as `what` (by default as `describe` does)."""
    shape = shape_of(value)
    if shape is None:
        return
    wrong = len(shape) != len(expected) or any(
        a >= 0 and b >= 0 and a != b for a, b in zip(shape, expected, strict=True)
    )
    if wrong:
        dims = "x".join("?" if d < 0 else str(d) for d in expected)
        name = describe(op, value) if what is None else f"{what} : {value.type}"
        raise VerifyException(f"{name} should have shape {dims}")
