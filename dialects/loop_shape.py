"""Run-time dimensions at the `loop` level (MLIR's `memref.dim`): the extent of one
dimension of a buffer as an `index`. A buffer with dynamic dims (`?`) carries their
extents at run time: a `loop.alloc` from its size operands, a function argument from the
extents passed after its pointer (the kernel ABI, docs/pipeline.md). Part of the `Loop`
dialect object (dialects/loop.py).

    %n = loop.dim %x, 0 : memref<?x64xf32>
"""

from __future__ import annotations

from xdsl.dialects.builtin import I64, IndexType, IntegerAttr, MemRefType, i64
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.hints import isa


@irdl_op_definition
class DimOp(IRDLOperation):
    """The extent of dim `axis` of `buffer` (0 <= axis < rank)."""

    name = "loop.dim"
    buffer = operand_def(MemRefType)
    axis = prop_def(IntegerAttr[I64])
    result = result_def(IndexType)
    traits = traits_def(Pure())
    assembly_format = "$buffer `,` $axis attr-dict `:` type($buffer)"

    def __init__(self, buffer: SSAValue, axis: int) -> None:
        super().__init__(
            operands=[buffer],
            result_types=[IndexType()],
            properties={"axis": IntegerAttr(axis, i64)},
        )

    def verify_(self) -> None:
        buffer_type = self.buffer.type
        assert isa(buffer_type, MemRefType[Attribute])
        rank, axis = buffer_type.get_num_dims(), self.axis.value.data
        if not 0 <= axis < rank:
            raise VerifyException(f"axis {axis} is out of range for {buffer_type} (rank {rank})")


LOOP_SHAPE_OPS = (DimOp,)
