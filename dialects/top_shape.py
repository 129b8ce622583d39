"""Run-time dimensions at the `top` level (MLIR's `tensor.dim`): the extent of one
dimension of a tensor as an `index`. Dynamic dims (`?`) of a result are given by such
values: `top.fill` and `top.reshape` take one `index` operand per `?` of their result, and
every other op's dynamic result dims follow from its operands (lowering/reify_dims.py).
Part of the `Top` dialect object (dialects/top.py).

    %n = top.dim %x, 0 : tensor<?x64xf32>
    %z = top.fill %c (%n) : f32 -> tensor<?x64xf32>
"""

from __future__ import annotations

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute
from xdsl.irdl import irdl_op_definition, operand_def
from xdsl.utils.hints import isa

from lamina.dialects.shaped_dim import DimOpBase


@irdl_op_definition
class DimOp(DimOpBase):
    """The extent of dim `axis` of `source` (0 <= axis < rank)."""

    name = "top.dim"
    source = operand_def(TensorType)
    assembly_format = "$source `,` $axis attr-dict `:` type($source)"


def dynamic_count(result_type: Attribute) -> int:
    """How many `?` dims a shaped type has."""
    assert isa(result_type, TensorType[Attribute])
    return sum(1 for d in result_type.get_shape() if d < 0)


TOP_SHAPE_OPS = (DimOp,)
