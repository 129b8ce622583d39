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


def _verify_indices(buffer: SSAValue, indices: Sequence[SSAValue]) -> MemRefType[Attribute]:
    buffer_type = buffer.type
    assert isa(buffer_type, MemRefType[Attribute])
    if len(indices) != buffer_type.get_num_dims():
        raise VerifyException(
            f"{len(indices)} indices given for {show_value(buffer, 'buffer')} of rank "
            f"{buffer_type.get_num_dims()}"
        )
    return buffer_type


def _print_access(printer: Printer, buffer: SSAValue, indices: Sequence[SSAValue]) -> None:
    printer.print_ssa_value(buffer)
    printer.print_string("[")
    printer.print_list(indices, printer.print_ssa_value)
    printer.print_string("]")


def _parse_access(parser: Parser) -> tuple[UnresolvedOperand, Sequence[SSAValue]]:
    """`%buf[%i, %j]`: the buffer stays unresolved until its type is parsed after the `:`."""
    buffer = parser.parse_unresolved_operand()
    indices = parser.parse_comma_separated_list(
        Parser.Delimiter.SQUARE, lambda: parser.parse_operand(IndexType())
    )
    return buffer, indices


def _parse_buffer_type(parser: Parser) -> MemRefType[Attribute]:
    pos = parser.pos
    buffer_type = parser.parse_type()
    if not isa(buffer_type, MemRefType[Attribute]):
        parser.raise_error(f"expected a memref type, got {buffer_type}", pos, parser.pos)
    return buffer_type


@irdl_op_definition
class LoadOp(IRDLOperation):
    """Reads one element of a buffer, with one `index` per dimension:

        %x = loop.load %a[%i, %j] : memref<64x64xf32, #loop.space<vtcm>>

    The result has the buffer's element type.
    """

    name = "loop.load"

    buffer = operand_def(MemRefType)
    indices = var_operand_def(IndexType)
    result = result_def()

    traits = traits_def(MemoryReadEffect())

    def __init__(self, buffer: SSAValue | Operation, indices: Sequence[SSAValue | Operation]):
        buffer_type = SSAValue.get(buffer).type
        assert isa(buffer_type, MemRefType[Attribute])
        super().__init__(operands=[buffer, indices], result_types=[buffer_type.element_type])

    def verify_(self) -> None:
        buffer_type = _verify_indices(self.buffer, self.indices)
        if self.result.type != buffer_type.element_type:
            raise VerifyException(
                f"loaded value {show_value(self.result, 'result')} does not have the element type "
                f"of {show_value(self.buffer, 'buffer')}"
            )

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        _print_access(printer, self.buffer, self.indices)
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.buffer.type)

    @classmethod
    def parse(cls, parser: Parser) -> Self:
        buffer, indices = _parse_access(parser)
        attributes = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        buffer_type = _parse_buffer_type(parser)
        op = cls(parser.resolve_operand(buffer, buffer_type), indices)
        op.attributes |= attributes
        return op


@irdl_op_definition
class StoreOp(IRDLOperation):
    """Writes one element of a buffer, with one `index` per dimension:

        loop.store %x, %a[%i, %j] : memref<64x64xf32, #loop.space<vtcm>>

    The value must have the buffer's element type.
    """

    name = "loop.store"

    value = operand_def()
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

    def verify_(self) -> None:
        buffer_type = _verify_indices(self.buffer, self.indices)
        if self.value.type != buffer_type.element_type:
            raise VerifyException(
                f"stored value {show_value(self.value, 'value')} does not have the element type "
                f"of {show_value(self.buffer, 'buffer')}"
            )

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_ssa_value(self.value)
        printer.print_string(", ")
        _print_access(printer, self.buffer, self.indices)
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.buffer.type)

    @classmethod
    def parse(cls, parser: Parser) -> Self:
        value = parser.parse_unresolved_operand()
        parser.parse_punctuation(",")
        buffer, indices = _parse_access(parser)
        attributes = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        buffer_type = _parse_buffer_type(parser)
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


@irdl_op_definition
class VLoadOp(IRDLOperation):
    """Reads N contiguous elements along the innermost dimension, starting at the indices,
    into a `vector<Nxelt>`. Reading past the end of the row is undefined.

        %v = loop.vload %a[%i, %j] : memref<64x64xf32>, vector<8xf32>
    """

    name = "loop.vload"

    buffer = operand_def(MemRefType)
    indices = var_operand_def(IndexType)
    result = result_def(VectorType)

    traits = traits_def(MemoryReadEffect())
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


@irdl_op_definition
class VStoreOp(IRDLOperation):
    """Writes a `vector<Nxelt>` to N contiguous elements along the innermost dimension,
    starting at the indices. Writing past the end of the row is undefined.

        loop.vstore %v, %a[%i, %j] : memref<64x64xf32>, vector<8xf32>
    """

    name = "loop.vstore"

    value = operand_def(VectorType)
    buffer = operand_def(MemRefType)
    indices = var_operand_def(IndexType)

    traits = traits_def(MemoryWriteEffect())
    assembly_format = (
        "$value `,` $buffer `[` $indices `]` attr-dict `:` type($buffer) `,` type($value)"
    )

    def __init__(
        self,
        value: SSAValue | Operation,
        buffer: SSAValue | Operation,
        indices: Sequence[SSAValue | Operation],
    ):
        super().__init__(operands=[value, buffer, indices])

    def verify_(self) -> None:
        _verify_vector_access(self.buffer, self.indices, self.value)
