"""Run-time dimensions at the `top` level (MLIR's `tensor.dim`): the extent of one
dimension of a tensor as an `index`. Dynamic dims (`?`) of a result are given by such
values: `top.fill` and `top.reshape` take one `index` operand per `?` of their result, and
every other op's dynamic result dims follow from its operands (lowering/top_to_loop_dims.py).
Part of the `Top` dialect object (dialects/top.py).

    %n = top.dim %x, 0 : tensor<?x64xf32>
    %z = top.fill %c (%n) : f32 -> tensor<?x64xf32>

`top.index` gives a generic's body the index of one of its loops (a Range of dynamic
length has no constant to read positions from).
"""

from __future__ import annotations

from typing import cast

from xdsl.dialects.builtin import I64, ArrayAttr, IndexType, IntegerAttr, TensorType, i64
from xdsl.ir import Attribute
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

from lamina.dialects.shaped_dim import DimOpBase


@irdl_op_definition
class DimOp(DimOpBase):
    """The extent of dim `axis` of `source` (0 <= axis < rank)."""

    name = "top.dim"
    source = operand_def(TensorType)
    assembly_format = "$source `,` $axis attr-dict `:` type($source)"


@irdl_op_definition
class IndexOp(IRDLOperation):
    """Inside a `top.generic` body: the index of loop `dim` (MLIR's `linalg.index`), for
    values that depend on the position, such as Range.

        %i = top.index 0 : index
    """

    name = "top.index"
    dim = prop_def(IntegerAttr[I64])
    result = result_def(IndexType)
    traits = traits_def(Pure())
    assembly_format = "$dim attr-dict `:` type($result)"

    def __init__(self, dim: int) -> None:
        super().__init__(result_types=[IndexType()], properties={"dim": IntegerAttr(dim, i64)})

    def verify_(self) -> None:
        parent = self.parent_op()
        if parent is None or parent.name != "top.generic":
            raise VerifyException("top.index must be in the body of a top.generic")
        loops = parent.properties.get("iterator_types")
        count = len(cast(ArrayAttr[Attribute], loops).data) if isinstance(loops, ArrayAttr) else 0
        if not 0 <= self.dim.value.data < count:
            raise VerifyException(
                f"top.index {self.dim.value.data} names no loop of its top.generic ({count} loops)"
            )


def dynamic_count(result_type: Attribute) -> int:
    """How many `?` dims a shaped type has."""
    assert isa(result_type, TensorType[Attribute])
    return sum(1 for d in result_type.get_shape() if d < 0)


TOP_SHAPE_OPS = (DimOp, IndexOp)
