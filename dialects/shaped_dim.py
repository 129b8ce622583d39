"""What `top.dim` (on a tensor) and `loop.dim` (on a buffer) share: the extent of one
dimension of their shaped operand as an `index`, MLIR's `tensor.dim` / `memref.dim`.
"""

from __future__ import annotations

from xdsl.dialects.builtin import I64, IndexType, IntegerAttr, ShapedType, i64
from xdsl.ir import SSAValue
from xdsl.irdl import IRDLOperation, prop_def, result_def, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException


class DimOpBase(IRDLOperation):
    """The extent of dim `axis` (0 <= axis < rank) of the op's one operand, which each
    dialect's op declares with its own name and type."""

    axis = prop_def(IntegerAttr[I64])
    result = result_def(IndexType)
    traits = traits_def(Pure())

    def __init__(self, shaped: SSAValue, axis: int) -> None:
        super().__init__(
            operands=[shaped],
            result_types=[IndexType()],
            properties={"axis": IntegerAttr(axis, i64)},
        )

    def verify_(self) -> None:
        shaped_type = self.operands[0].type
        assert isinstance(shaped_type, ShapedType), "IRDL checks the operand type first"
        rank, axis = shaped_type.get_num_dims(), self.axis.value.data
        if not 0 <= axis < rank:
            raise VerifyException(f"axis {axis} is out of range for {shaped_type} (rank {rank})")
