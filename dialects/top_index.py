"""`top` ops that select or place elements by computed positions: `top.topk` (the k
best elements of each row, a selection the loop level does per row), `top.gather_nd` and
`top.scatter_nd` (elements addressed by index tuples). They are part of the `Top` dialect
(dialects/top.py lists them); like the other named ops they are pure value ops whose
verifiers check the result shapes exactly.
"""

from __future__ import annotations

from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    IntegerAttr,
    TensorType,
    UnitAttr,
    i64,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException

from lamina.dialects.top_base import (
    ScatterKind,
    ScatterKindAttr,
    TensorValueOp,
    expect_axis,
    expect_element,
    expect_integer,
    expect_shape,
    shape_of,
    tensor_type_of,
)


@irdl_op_definition
class TopKOp(IRDLOperation):
    """The k largest (`largest`) or smallest elements of each row along `axis`, best first,
    and their i64 positions; equal elements come in order of position. k is the result's
    size along `axis` (at most the input's).

        %v, %i = top.topk %x axis 1 largest
            : tensor<3x4xf32> -> tensor<3x2xf32>, tensor<3x2xi64>
    """

    name = "top.topk"
    input = operand_def(TensorType)
    values = result_def(TensorType)
    indices = result_def(TensorType)
    axis = prop_def(IntegerAttr.constr(type=i64))
    largest = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    assembly_format = (
        "$input `axis` $axis (`largest` $largest^)? attr-dict `:` type($input) `->`"
        " type($values) `,` type($indices)"
    )

    def __init__(self, input: SSAValue, k: int, *, axis: int, largest: bool) -> None:
        x = tensor_type_of(input)
        shape = [k if d == axis else s for d, s in enumerate(x.get_shape())]
        super().__init__(
            operands=[input],
            result_types=[TensorType(x.get_element_type(), shape), TensorType(i64, shape)],
            properties={"axis": IntegerAttr(axis, i64), "largest": UnitAttr() if largest else None},
        )

    def verify_(self) -> None:
        x, axis = shape_of(self.input), self.axis.value.data
        expect_axis("input", self.input, axis)
        k = shape_of(self.values)[axis] if len(shape_of(self.values)) == len(x) else DYNAMIC_INDEX
        if k != DYNAMIC_INDEX and x[axis] != DYNAMIC_INDEX and k > x[axis]:
            raise VerifyException(
                f"expected values type {self.values.type} to keep at most {x[axis]} elements "
                f"along axis {axis}"
            )
        expected = [k if d == axis else s for d, s in enumerate(x)]
        expect_shape("values", self.values, expected)
        expect_shape("indices", self.indices, expected)
        expect_element("values", self.values, tensor_type_of(self.input).get_element_type())
        expect_element("indices", self.indices, i64)


@irdl_op_definition
class GatherNDOp(TensorValueOp):
    """Slices of `data` addressed by index tuples: with indices of shape [..., k],
    result[i..., j...] = data[indices[i..., 0], ..., indices[i..., k-1], j...]; an index
    below 0 counts from the end of its dim.

        %g = top.gather_nd %data[%idx] : (tensor<2x3x4xf32>, tensor<5x2xi64>) -> tensor<5x4xf32>
    """

    name = "top.gather_nd"
    data = operand_def(TensorType)
    indices = operand_def(TensorType)
    assembly_format = "$data `[` $indices `]` attr-dict `:` functional-type(operands, results)"

    def __init__(self, data: SSAValue, indices: SSAValue, result_type: Attribute) -> None:
        super().__init__(operands=[data, indices], result_types=[result_type])

    def verify_(self) -> None:
        expect_integer("indices", self.indices)
        expected = _addressed(self.data, self.indices)
        expect_shape("result", self.result, expected)
        expect_element("result", self.result, tensor_type_of(self.data).get_element_type())


def _addressed(data: SSAValue, indices: SSAValue) -> tuple[int, ...]:
    """indices.shape[:-1] + data.shape[k:], k = indices.shape[-1] (at most data's rank)."""
    x, idx = shape_of(data), shape_of(indices)
    if not idx or idx[-1] == DYNAMIC_INDEX or not 1 <= idx[-1] <= len(x):
        raise VerifyException(
            f"expected the last dim of indices type {indices.type} to be a static size from 1 "
            f"to the rank of data type {data.type}"
        )
    return (*idx[:-1], *x[idx[-1] :])


@irdl_op_definition
class ScatterNDOp(TensorValueOp):
    """`data` with `updates` placed at index tuples: with indices of shape [..., k],
    result[indices[i..., :], j...] = combine(result[...], updates[i..., j...]), the updates
    applied in row-major order of i (so with `assign` the last duplicate wins); every other
    element is data's. An index below 0 counts from the end of its dim.

        %s = top.scatter_nd add %data[%idx], %upd
            : (tensor<4x3xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<4x3xf32>
    """

    name = "top.scatter_nd"
    data = operand_def(TensorType)
    indices = operand_def(TensorType)
    updates = operand_def(TensorType)
    kind = prop_def(ScatterKindAttr)
    assembly_format = (
        "$kind $data `[` $indices `]` `,` $updates attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self, data: SSAValue, indices: SSAValue, updates: SSAValue, *, kind: ScatterKind
    ) -> None:
        super().__init__(
            operands=[data, indices, updates],
            result_types=[data.type],
            properties={"kind": ScatterKindAttr(kind)},
        )

    def verify_(self) -> None:
        expect_integer("indices", self.indices)
        expect_shape("updates", self.updates, _addressed(self.data, self.indices))
        element = tensor_type_of(self.data).get_element_type()
        expect_element("updates", self.updates, element)
        expect_shape("result", self.result, shape_of(self.data))
        expect_element("result", self.result, element)


INDEX_OPS = (TopKOp, GatherNDOp, ScatterNDOp)
