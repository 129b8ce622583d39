"""Memory access at the `loop` level: `loop.load` / `loop.store` of one element with one
`index` per dimension, and `loop.vload` / `loop.vstore` of N contiguous elements along the
innermost dimension as a `vector<Nxelt>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from xdsl.dialects.builtin import IndexType, MemRefType, VectorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import Parser, UnresolvedOperand
from xdsl.printer import Printer
from xdsl.traits import MemoryReadEffect, MemoryWriteEffect
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.hints import isa

from lamina.dialects.loop_base import show_value
from lamina.xdsl_patches import verify_once_per_signature


def _verify_indices(buffer: SSAValue, indices: Sequence[SSAValue]) -> MemRefType[Attribute]:
    buffer_type = buffer.type
    assert isa(buffer_type, MemRefType[Attribute])
    if len(indices) != buffer_type.get_num_dims():
        raise VerifyException(
            f"{len(indices)} indices given for {show_value(buffer, 'buffer')} of rank "
            f"{buffer_type.get_num_dims()}"
        )
    return buffer_type


def _verify_element_access(
    buffer: SSAValue, indices: Sequence[SSAValue], value: SSAValue, what: str
) -> None:
    """One index per dim, and `value` (the `loaded` result or the `stored` value) has the
    buffer's element type."""
    buffer_type = _verify_indices(buffer, indices)
    if value.type != buffer_type.element_type:
        role = "result" if what == "loaded" else "value"
        raise VerifyException(
            f"{what} value {show_value(value, role)} does not have the element type "
            f"of {show_value(buffer, 'buffer')}"
        )


def _print_access(
    printer: Printer, op: Operation, buffer: SSAValue, indices: Sequence[SSAValue]
) -> None:
    """` %buf[%i, %j] {attrs} : type`."""
    printer.print_string(" ")
    printer.print_ssa_value(buffer)
    printer.print_string("[")
    printer.print_list(indices, printer.print_ssa_value)
    printer.print_string("]")
    printer.print_op_attributes(op.attributes)
    printer.print_string(" : ")
    printer.print_attribute(buffer.type)


def _parse_access(
    parser: Parser,
) -> tuple[UnresolvedOperand, Sequence[SSAValue], dict[str, Attribute], MemRefType[Attribute]]:
    """`%buf[%i, %j] {attrs} : type`: the buffer, its indices, the attributes and the type
    (the buffer stays unresolved until its type is parsed after the `:`)."""
    buffer = parser.parse_unresolved_operand()
    indices = parser.parse_comma_separated_list(
        Parser.Delimiter.SQUARE, lambda: parser.parse_operand(IndexType())
    )
    attributes = parser.parse_optional_attr_dict()
    parser.parse_punctuation(":")
    pos = parser.pos
    buffer_type = parser.parse_type()
    if not isa(buffer_type, MemRefType[Attribute]):
        parser.raise_error(f"expected a memref type, got {buffer_type}", pos, parser.pos)
    return buffer, indices, attributes, buffer_type


class BufferRead(IRDLOperation):
    """Base of `loop.load` and `loop.vload`: reads `buffer` at `indices`, one `index` per
    dimension."""

    buffer = operand_def(MemRefType)
    indices = var_operand_def(IndexType)

    traits = traits_def(MemoryReadEffect())


class BufferWrite(IRDLOperation):
    """Base of `loop.store` and `loop.vstore`: writes the `value` operand each declares
    (the first operand) to `buffer` at `indices`, one `index` per dimension."""

    buffer = operand_def(MemRefType)
    indices = var_operand_def(IndexType)

    traits = traits_def(MemoryWriteEffect())

    def __init__(
        self,
        value: SSAValue | Operation,
        buffer: SSAValue | Operation,
        indices: Sequence[SSAValue | Operation],
    ):
        super().__init__(operands=[value, buffer, indices])


@verify_once_per_signature
@irdl_op_definition
class LoadOp(BufferRead):
    """Reads one element of a buffer, with one `index` per dimension:

        %x = loop.load %a[%i, %j] : memref<64x64xf32, #loop.space<vtcm>>

    The result has the buffer's element type.
    """

    name = "loop.load"

    result = result_def()

    def __init__(self, buffer: SSAValue | Operation, indices: Sequence[SSAValue | Operation]):
        buffer_type = SSAValue.get(buffer).type
        assert isa(buffer_type, MemRefType[Attribute])
        super().__init__(operands=[buffer, indices], result_types=[buffer_type.element_type])

    def verify_(self) -> None:
        _verify_element_access(self.buffer, self.indices, self.result, "loaded")

    def print(self, printer: Printer) -> None:
        _print_access(printer, self, self.buffer, self.indices)

    @classmethod
    def parse(cls, parser: Parser) -> Self:
        buffer, indices, attributes, buffer_type = _parse_access(parser)
        op = cls(parser.resolve_operand(buffer, buffer_type), indices)
        op.attributes |= attributes
        return op


@verify_once_per_signature
@irdl_op_definition
class StoreOp(BufferWrite):
    """Writes one element of a buffer, with one `index` per dimension:

        loop.store %x, %a[%i, %j] : memref<64x64xf32, #loop.space<vtcm>>

    The value must have the buffer's element type.
    """

    name = "loop.store"

    value = operand_def()

    def verify_(self) -> None:
        _verify_element_access(self.buffer, self.indices, self.value, "stored")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_ssa_value(self.value)
        printer.print_string(",")
        _print_access(printer, self, self.buffer, self.indices)

    @classmethod
    def parse(cls, parser: Parser) -> Self:
        value = parser.parse_unresolved_operand()
        parser.parse_punctuation(",")
        buffer, indices, attributes, buffer_type = _parse_access(parser)
        op = cls(
            parser.resolve_operand(value, buffer_type.element_type),
            parser.resolve_operand(buffer, buffer_type),
            indices,
        )
        op.attributes |= attributes
        return op


def _verify_vector_access(buffer: SSAValue, indices: Sequence[SSAValue], vector: SSAValue) -> None:
    buffer_type = _verify_indices(buffer, indices)
    vector_type = vector.type
    assert isa(vector_type, VectorType[Attribute])
    shown = show_value(vector, "vector")
    if vector_type.get_num_dims() != 1 or vector_type.get_num_scalable_dims():
        raise VerifyException(f"vector {shown} must be 1-D with a fixed length")
    lanes = vector_type.get_shape()[0]
    if lanes <= 0:
        raise VerifyException(f"vector {shown} must have at least one lane")
    if vector_type.element_type != buffer_type.element_type:
        raise VerifyException(
            f"vector {shown} does not have the element type of {show_value(buffer, 'buffer')}"
        )
    if buffer_type.get_num_dims() == 0:
        raise VerifyException(
            f"vector access needs a buffer of rank >= 1, got {show_value(buffer, 'buffer')}"
        )
    innermost = buffer_type.get_shape()[-1]
    if 0 <= innermost < lanes:
        raise VerifyException(
            f"vector {shown} is longer than the innermost dimension of {show_value(buffer, 'buffer')}"
        )


@verify_once_per_signature
@irdl_op_definition
class VLoadOp(BufferRead):
    """Reads N contiguous elements along the innermost dimension, starting at the indices,
    into a `vector<Nxelt>`. Reading past the end of the row is undefined.

        %v = loop.vload %a[%i, %j] : memref<64x64xf32>, vector<8xf32>
    """

    name = "loop.vload"

    result = result_def(VectorType)
    assembly_format = "$buffer `[` $indices `]` attr-dict `:` type($buffer) `,` type($result)"

    def __init__(
        self,
        buffer: SSAValue | Operation,
        indices: Sequence[SSAValue | Operation],
        result_type: VectorType[Attribute],
    ):
        super().__init__(operands=[buffer, indices], result_types=[result_type])

    def verify_(self) -> None:
        _verify_vector_access(self.buffer, self.indices, self.result)


@verify_once_per_signature
@irdl_op_definition
class VStoreOp(BufferWrite):
    """Writes a `vector<Nxelt>` to N contiguous elements along the innermost dimension,
    starting at the indices. Writing past the end of the row is undefined.

        loop.vstore %v, %a[%i, %j] : memref<64x64xf32>, vector<8xf32>
    """

    name = "loop.vstore"

    value = operand_def(VectorType)
    assembly_format = (
        "$value `,` $buffer `[` $indices `]` attr-dict `:` type($buffer) `,` type($value)"
    )

    def verify_(self) -> None:
        _verify_vector_access(self.buffer, self.indices, self.value)
