"""What every generated `graph` op shares: its base class, textual form and marks, and
the properties Python values stand for.

The textual form of an op without regions is

    %y = graph.conv %x, %w, %b {group = 1 : i64} : (tensor<1x3x8x8xf32>, ...) -> tensor<...>
    %z = graph.relu %y : tensor<1x4x6x6xf32>

the second, short form being printed when the op has one result and every operand and
the result have the same type (as
MLIR's `SameOperandsAndResultType` ops do). It is parsed and printed by hand rather than
through a declarative format: a model is tens of thousands of these ops, and the short
form halves the types the parser reads on elementwise chains.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from io import StringIO
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar, cast

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    DenseResourceAttr,
    FloatAttr,
    IntegerAttr,
    NoneAttr,
    NoneType,
    StringAttr,
    TensorType,
    UnrankedTensorType,
    f32,
    i64,
)
from xdsl.ir import Attribute
from xdsl.irdl import IRDLOperation, ParsePropInAttrDict, base, irdl_op_definition
from xdsl.parser import Parser, UnresolvedOperand
from xdsl.printer import Printer

AnyTensor = base(TensorType) | base(UnrankedTensorType)
"""A ranked or unranked tensor of any element type."""

OptionalTensor = AnyTensor | base(NoneType)
"""An optional input or output: a tensor, or `none` when the model leaves it out."""

TensorValueAttr = base(DenseIntOrFPElementsAttr) | base(DenseResourceAttr)
"""The value of a TENSOR attribute."""

OpT = TypeVar("OpT", bound=IRDLOperation)
OpClassT = TypeVar("OpClassT", bound=type[IRDLOperation])

_VERIFIERS: dict[type[IRDLOperation], Callable[[Any], None]] = {}


def onnx_op(op_type: str, defaults: dict[str, object]) -> Callable[[OpClassT], OpClassT]:
    """Mark an op class as the op of ONNX operator `op_type` with these attribute defaults.

    (IRDL op classes only allow UPPER_CASE class variables in their body.)
    """

    def mark(op_class: OpClassT) -> OpClassT:
        setattr(op_class, "onnx_op_type", op_type)  # noqa: B010
        setattr(op_class, "onnx_defaults", defaults)  # noqa: B010
        return op_class

    return mark


def onnx_op_definition(
    op_type: str, name: str, defaults: dict[str, object] | None = None
) -> Callable[[type[OpT]], type[OpT]]:
    """Define the generated op `name` (`graph.add`) of ONNX operator `op_type`: the class
    gets that name, goes through `irdl_op_definition` and gets the `onnx_op` marks, so that
    a generated class states only its fields."""

    def define(op_class: type[OpT]) -> type[OpT]:
        op_class.name = name
        return onnx_op(op_type, defaults or {})(irdl_op_definition(op_class))

    return define


def register_verifier(
    op_class: type[OpT],
) -> Callable[[Callable[[OpT], None]], Callable[[OpT], None]]:
    """Register a hand-written `verify_` for a generated op (see `lamina.dialects.graph`)."""

    def register(check: Callable[[OpT], None]) -> Callable[[OpT], None]:
        _VERIFIERS[op_class] = check
        return check

    return register


def property_candidates(value: object) -> Iterator[Attribute]:
    """The properties a Python (or numpy) value can stand for, the likeliest by its type
    first: an int as i64 then f32, a float as f32 (then i64 when whole), a str, a list of
    str, a list of numbers as an i64 or f32 array (f32 first when one of them is a float)."""
    if isinstance(value, np.ndarray | np.generic):
        value = cast(object, value.tolist())
    if isinstance(value, bool | int):
        yield IntegerAttr(int(value), i64)
        yield FloatAttr(float(value), f32)
    elif isinstance(value, float):
        yield FloatAttr(float(value), f32)
        if float(value).is_integer() and abs(value) < 2**63:
            yield IntegerAttr(int(value), i64)
    elif isinstance(value, str):
        yield StringAttr(value)
    elif isinstance(value, list | tuple):
        items: list[Any] = list(value)  # pyright: ignore[reportUnknownArgumentType]
        if all(isinstance(x, str) for x in items) and items:
            yield ArrayAttr([StringAttr(x) for x in items])
        elif not any(isinstance(x, str) for x in items):
            has_float = any(isinstance(x, float) for x in items)
            if has_float:
                yield DenseArrayBase.from_list(f32, [float(x) for x in items])
            yield DenseArrayBase.from_list(i64, [int(x) for x in items])
            if not has_float:
                yield DenseArrayBase.from_list(f32, [float(x) for x in items])
            if not items:
                yield ArrayAttr([])


def property_of(value: object) -> Attribute:
    """The likeliest property of a Python value (the first of `property_candidates`)."""
    for attr in property_candidates(value):
        return attr
    raise TypeError(f"no property for {value!r}")


class OnnxOp(IRDLOperation):
    """Base of the generated ops: properties print in the attribute dictionary."""

    if TYPE_CHECKING:
        onnx_op_type: ClassVar[str]
        onnx_defaults: ClassVar[dict[str, object]]

    irdl_options = (ParsePropInAttrDict(),)

    def verify_(self) -> None:
        check = _VERIFIERS.get(type(self))
        if check is not None:
            check(self)


class OnnxOpWithoutRegions(OnnxOp):
    """A generated op with the hand-written textual form of the module docstring."""

    @classmethod
    def parse(cls, parser: Parser) -> Self:
        pos = parser.pos
        operands: list[UnresolvedOperand] = (
            parser.parse_optional_undelimited_comma_separated_list(
                parser.parse_optional_unresolved_operand, parser.parse_unresolved_operand
            )
            or []
        )
        entries = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        if (function_type := parser.parse_optional_function_type()) is not None:
            operand_types = list(function_type.inputs.data)
            result_types = list(function_type.outputs.data)
        else:
            same = parser.parse_type()
            operand_types, result_types = [same] * len(operands), [same]
        values = parser.resolve_operands(operands, operand_types, pos)
        property_names = cls.get_irdl_definition().properties
        return cls.create(
            operands=values,
            result_types=result_types,
            properties={k: v for k, v in entries.items() if k in property_names},
            attributes={k: v for k, v in entries.items() if k not in property_names},
        )

    def print(self, printer: Printer) -> None:
        if self.operands:
            printer.print_string(" ")
            printer.print_list(self.operands, printer.print_operand)
        printer.print_op_attributes({**self.properties, **self.attributes})
        printer.print_string(" : ")
        results = self.results
        if self.operands and len(results) == 1:
            same: Attribute = results[0].type
            if all(t is same or t == same for t in self.operand_types):
                if isinstance(same, TensorType) and isinstance(same.encoding, NoneAttr):
                    printer.print_string(_tensor_type_text(cast(TensorType[Attribute], same)))
                else:
                    printer.print_attribute(cast(Attribute, same))
                return
        printer.print_function_type(self.operand_types, self.result_types)


@lru_cache(maxsize=1024)
def _tensor_type_text(type: TensorType[Attribute]) -> str:
    """How xDSL prints `type`, a tensor type without encoding: a pure function of the
    type (a model's thousands of ops print the same few types, each printed once here)."""
    text = StringIO()
    Printer(stream=text).print_attribute(type)
    return text.getvalue()
