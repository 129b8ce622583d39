"""The `top` ops that move, select or combine tensor elements without a body: `reduce`,
`transpose`, `pad`, `gather`, `broadcast`, `fill`, `reshape`, `concat` and `slice`. They are
pure value ops whose result type is given; each verifier checks that result shape exactly.
`top.fill` and `top.reshape` take one `index` operand per dynamic (`?`) result dim.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from xdsl.dialects.builtin import DYNAMIC_INDEX, IndexType, IntegerAttr, TensorType, UnitAttr, i64
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    var_operand_def,
)
from xdsl.utils.exceptions import VerifyException

from lamina.dialects.top_base import (
    I64_ARRAY,
    PadMode,
    PadModeAttr,
    ReduceKind,
    ReduceKindAttr,
    TensorValueOp,
    agree,
    element_type_of,
    expect_axis,
    expect_dynamic_sizes,
    expect_integer,
    expect_lengths,
    expect_non_negative,
    expect_rank,
    expect_same_element,
    expect_shape,
    i64_array,
    int_values,
    shape_of,
)


@irdl_op_definition
class ReduceOp(TensorValueOp):
    """Reduces `input` over `axes` (sorted, distinct) with `kind`. With `keepdims` the
    reduced dims stay as size 1; without, they are dropped.

        %s = top.reduce sum %x axes [1] keepdims : tensor<4x8xf32> -> tensor<4x1xf32>
        %m = top.reduce max %x axes [0, 1] : tensor<4x8xf32> -> tensor<f32>
    """

    name = "top.reduce"
    input = operand_def(TensorType)
    kind = prop_def(ReduceKindAttr)
    axes = prop_def(I64_ARRAY)
    keepdims = opt_prop_def(UnitAttr)
    assembly_format = (
        "$kind $input `axes` $axes (`keepdims` $keepdims^)?"
        " attr-dict `:` type($input) `->` type($result)"
    )

    def __init__(
        self,
        input: SSAValue,
        result_type: Attribute,
        *,
        kind: ReduceKind,
        axes: Sequence[int],
        keepdims: bool = False,
    ) -> None:
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties={
                "kind": ReduceKindAttr(kind),
                "axes": i64_array(axes),
                "keepdims": UnitAttr() if keepdims else None,
            },
        )

    def verify_(self) -> None:
        axes, x = int_values(self.axes), shape_of(self.input)
        if list(axes) != sorted(set(axes)) or any(not 0 <= a < len(x) for a in axes):
            raise VerifyException(
                f"expected axes {list(axes)} to be sorted, distinct dims of input type "
                f"{self.input.type}"
            )
        if self.keepdims:
            expected = [1 if d in axes else s for d, s in enumerate(x)]
        else:
            expected = [s for d, s in enumerate(x) if d not in axes]
        expect_shape("result", self.result, expected)
        expect_same_element("result", self.result, "input", self.input)


@irdl_op_definition
class TransposeOp(TensorValueOp):
    """Permutes dims: result dim i is input dim permutation[i]. A layout change
    (NCHW -> NHWC) is a transpose.

        %t = top.transpose %x permutation [1, 0] : tensor<4x8xf32> -> tensor<8x4xf32>
    """

    name = "top.transpose"
    input = operand_def(TensorType)
    permutation = prop_def(I64_ARRAY)
    assembly_format = (
        "$input `permutation` $permutation attr-dict `:` type($input) `->` type($result)"
    )

    def __init__(self, input: SSAValue, permutation: Sequence[int], result_type: Attribute) -> None:
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties={"permutation": i64_array(permutation)},
        )

    def verify_(self) -> None:
        perm, x = int_values(self.permutation), shape_of(self.input)
        if sorted(perm) != list(range(len(x))):
            raise VerifyException(
                f"expected permutation {list(perm)} to permute the dims of input type "
                f"{self.input.type}"
            )
        expect_shape("result", self.result, [x[p] for p in perm])
        expect_same_element("result", self.result, "input", self.input)


@irdl_op_definition
class PadOp(TensorValueOp):
    """Pads each dim by `low` before and `high` after (non-negative). constant fills with
    `value` (zero when absent); reflect mirrors without repeating the edge (pads < dim);
    edge repeats the border element.

        %p = top.pad constant %x value %c low [0, 1] high [0, 1]
            : (tensor<4x8xf32>, f32) -> tensor<4x10xf32>
        %q = top.pad reflect %x low [1, 1] high [1, 1] : (tensor<4x8xf32>) -> tensor<6x10xf32>
    """

    name = "top.pad"
    input = operand_def(TensorType)
    value = opt_operand_def()
    mode = prop_def(PadModeAttr)
    low = prop_def(I64_ARRAY)
    high = prop_def(I64_ARRAY)
    assembly_format = (
        "$mode $input (`value` $value^)? `low` $low `high` $high"
        " attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        input: SSAValue,
        result_type: Attribute,
        *,
        mode: PadMode,
        low: Sequence[int],
        high: Sequence[int],
        value: SSAValue | None = None,
    ) -> None:
        super().__init__(
            operands=[input, value],
            result_types=[result_type],
            properties={
                "mode": PadModeAttr(mode),
                "low": i64_array(low),
                "high": i64_array(high),
            },
        )

    def verify_(self) -> None:
        x, low, high = shape_of(self.input), int_values(self.low), int_values(self.high)
        expect_lengths(len(x), low=low, high=high)
        expect_non_negative(low=low, high=high)
        mode = self.mode.data
        if self.value is not None:
            if mode != PadMode.CONSTANT:
                raise VerifyException(f"expected no value with pad mode {mode}")
            if self.value.type != element_type_of(self.input):
                raise VerifyException(
                    f"expected value type {self.value.type} to be the element type of input "
                    f"type {self.input.type}"
                )
        for dim, (size, lo, hi) in enumerate(zip(x, low, high, strict=True)):
            # reflect mirrors around the border element, so it needs one more than it pads
            needed = max(lo, hi) + 1 if mode == PadMode.REFLECT else 1
            if mode != PadMode.CONSTANT and max(lo, hi) and 0 <= size < needed:
                raise VerifyException(
                    f"expected dim {dim} of input type {self.input.type} to have at least "
                    f"{needed} elements for {mode} pads {lo}, {hi}"
                )
        expected = [
            s if s == DYNAMIC_INDEX else s + lo + hi for s, lo, hi in zip(x, low, high, strict=True)
        ]
        expect_shape("result", self.result, expected)
        expect_same_element("result", self.result, "input", self.input)


@irdl_op_definition
class GatherOp(TensorValueOp):
    """Picks slices of `data` along `axis` (ONNX Gather): result shape is
    data[:axis] + indices + data[axis+1:]. An index i < 0 reads data[..., i + size, ...].

        %g = top.gather %data[%idx] axis 0
            : (tensor<100x16xf32>, tensor<2x3xi64>) -> tensor<2x3x16xf32>
    """

    name = "top.gather"
    data = operand_def(TensorType)
    indices = operand_def(TensorType)
    axis = prop_def(IntegerAttr.constr(type=i64))
    assembly_format = (
        "$data `[` $indices `]` `axis` $axis attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self, data: SSAValue, indices: SSAValue, result_type: Attribute, *, axis: int
    ) -> None:
        super().__init__(
            operands=[data, indices],
            result_types=[result_type],
            properties={"axis": IntegerAttr(axis, i64)},
        )

    def verify_(self) -> None:
        x, axis = shape_of(self.data), self.axis.value.data
        expect_axis("data", self.data, axis)
        expect_integer("indices", self.indices)
        expect_shape("result", self.result, (*x[:axis], *shape_of(self.indices), *x[axis + 1 :]))
        expect_same_element("result", self.result, "data", self.data)


@irdl_op_definition
class BroadcastOp(TensorValueOp):
    """Broadcasts `input` to the result shape by numpy rules: dims align on the right,
    each input dim is 1 or the result dim, missing leading dims are added.

        %b = top.broadcast %x : tensor<4x1xf32> -> tensor<2x4x8xf32>
    """

    name = "top.broadcast"
    input = operand_def(TensorType)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue, result_type: Attribute) -> None:
        super().__init__(operands=[input], result_types=[result_type])

    def verify_(self) -> None:
        x, y = shape_of(self.input), shape_of(self.result)
        if len(x) > len(y) or any(
            s not in (1, DYNAMIC_INDEX) and not agree(s, t)
            for s, t in zip(x, y[len(y) - len(x) :], strict=True)
        ):
            raise VerifyException(
                f"expected input type {self.input.type} to broadcast to result type "
                f"{self.result.type}"
            )
        expect_same_element("result", self.result, "input", self.input)


class SizedResultOp(TensorValueOp):
    """Base of `top.fill` and `top.reshape`: after the op's own first operand, one `index`
    operand per dynamic (`?`) dim of the result gives that dim's size."""

    dynamic_sizes = var_operand_def(IndexType)

    def __init__(
        self, source: SSAValue, result_type: Attribute, dynamic_sizes: Sequence[SSAValue] = ()
    ) -> None:
        super().__init__(operands=[source, dynamic_sizes], result_types=[result_type])

    def verify_(self) -> None:
        expect_dynamic_sizes(self.result, self.dynamic_sizes)


@irdl_op_definition
class FillOp(SizedResultOp):
    """A tensor with every element `value` (a scalar of the result's element type);
    the usual init of a reduction's or a matmul's output.

        %z = top.fill %c : f32 -> tensor<4x8xf32>
    """

    name = "top.fill"
    value = operand_def()
    assembly_format = (
        "$value (`(` $dynamic_sizes^ `)`)? attr-dict `:` type($value) `->` type($result)"
    )

    def verify_(self) -> None:
        super().verify_()
        if self.value.type != element_type_of(self.result):
            raise VerifyException(
                f"expected value type {self.value.type} to be the element type of result "
                f"type {self.result.type}"
            )


@irdl_op_definition
class ReshapeOp(SizedResultOp):
    """The same elements in row-major order under a new shape (ONNX Reshape, Flatten,
    Squeeze, Unsqueeze). The element counts agree when both shapes are static.

        %r = top.reshape %x : tensor<1x512x1x1xf32> -> tensor<1x512xf32>
    """

    name = "top.reshape"
    input = operand_def(TensorType)
    assembly_format = (
        "$input (`(` $dynamic_sizes^ `)`)? attr-dict `:` type($input) `->` type($result)"
    )

    def verify_(self) -> None:
        super().verify_()
        x, y = shape_of(self.input), shape_of(self.result)
        if DYNAMIC_INDEX not in (*x, *y) and prod(x) != prod(y):
            raise VerifyException(
                f"expected result type {self.result.type} to have as many elements as input "
                f"type {self.input.type}"
            )
        expect_same_element("result", self.result, "input", self.input)


@irdl_op_definition
class ConcatOp(TensorValueOp):
    """Joins the inputs (at least one, same rank) along `axis`; every other dim agrees.

    %c = top.concat %a, %b axis 1
        : (tensor<1x64x8x8xf32>, tensor<1x32x8x8xf32>) -> tensor<1x96x8x8xf32>
    """

    name = "top.concat"
    inputs = var_operand_def(TensorType)
    axis = prop_def(IntegerAttr.constr(type=i64))
    assembly_format = "$inputs `axis` $axis attr-dict `:` functional-type(operands, results)"

    def __init__(self, inputs: Sequence[SSAValue], result_type: Attribute, *, axis: int) -> None:
        super().__init__(
            operands=[inputs],
            result_types=[result_type],
            properties={"axis": IntegerAttr(axis, i64)},
        )

    def verify_(self) -> None:
        if not self.inputs:
            raise VerifyException("expected at least one input")
        y, axis = shape_of(self.result), self.axis.value.data
        expect_axis("result", self.result, axis)
        total = 0
        for i, value in enumerate(self.inputs):
            expected = [DYNAMIC_INDEX if d == axis else s for d, s in enumerate(y)]
            expect_shape(f"input #{i}", value, expected)
            expect_same_element(f"input #{i}", value, "result", self.result)
            size = shape_of(value)[axis]
            total = DYNAMIC_INDEX if DYNAMIC_INDEX in (total, size) else total + size
        if not agree(y[axis], total):
            raise VerifyException(
                f"expected dim {axis} of result type {self.result.type} to be {total}, the sum "
                "of the inputs' sizes"
            )


@irdl_op_definition
class SliceOp(TensorValueOp):
    """A strided window of `input`: result[i] = input[offsets + strides * i] per dim, the
    sizes given by the result type. Strides are non-zero and may be negative; every index
    read lies inside the input (ONNX Slice and Split after clamping).

        %s = top.slice %x offsets [1, 6] strides [1, -2] : tensor<3x7xf32> -> tensor<2x4xf32>
    """

    name = "top.slice"
    input = operand_def(TensorType)
    offsets = prop_def(I64_ARRAY)
    strides = prop_def(I64_ARRAY)
    assembly_format = (
        "$input `offsets` $offsets `strides` $strides attr-dict `:` type($input) `->` type($result)"
    )

    def __init__(
        self, input: SSAValue, result_type: Attribute, *, offsets: Sequence[int],
        strides: Sequence[int],
    ) -> None:  # fmt: skip
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties={"offsets": i64_array(offsets), "strides": i64_array(strides)},
        )

    def verify_(self) -> None:
        x, y = shape_of(self.input), shape_of(self.result)
        offsets, strides = int_values(self.offsets), int_values(self.strides)
        expect_lengths(len(x), offsets=offsets, strides=strides)
        expect_rank("result", self.result, len(x))
        if 0 in strides:
            raise VerifyException(f"expected strides to be non-zero, got {list(strides)}")
        for dim, (size, out, offset, stride) in enumerate(zip(x, y, offsets, strides, strict=True)):
            if DYNAMIC_INDEX in (size, out) or out == 0:
                continue
            last = offset + stride * (out - 1)
            if not (0 <= offset < size and 0 <= last < size):
                raise VerifyException(
                    f"expected dim {dim} of result type {self.result.type} to read inside input "
                    f"type {self.input.type} (indices {offset} .. {last})"
                )
        expect_same_element("result", self.result, "input", self.input)
