"""The `top` ops a neural network spends its time in, kept named so that a lowering or a
micro-kernel can recognise them: `top.matmul`, `top.conv2d` (explicit layout, strides,
dilations, pads, groups, optional bias) and `top.pool` (max / avg over any count of spatial
dims). Their result element type may be wider than the operands' (i8 -> i32 accumulates).
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    AnyFloat,
    IntegerAttr,
    IntegerType,
    TensorType,
    UnitAttr,
    i64,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import (
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
)
from xdsl.utils.exceptions import VerifyException

from lamina.dialects.top_base import (
    I64_ARRAY,
    ConvLayout,
    ConvLayoutAttr,
    PoolKind,
    PoolKindAttr,
    Shape,
    TensorLayout,
    TensorLayoutAttr,
    TensorValueOp,
    agree,
    broadcast_shapes,
    element_type_of,
    expect_lengths,
    expect_non_negative,
    expect_positive,
    expect_rank,
    expect_same_element,
    expect_shape,
    i64_array,
    int_values,
    shape_of,
)


def _can_accumulate(source: Attribute, acc: Attribute) -> bool:
    """An accumulator may be wider than its operands (i8 -> i32, f16 -> f32)."""
    if source == acc:
        return True
    if isinstance(source, IntegerType) and isinstance(acc, IntegerType):
        return acc.bitwidth >= source.bitwidth
    if isinstance(source, AnyFloat) and isinstance(acc, AnyFloat):
        return acc.bitwidth >= source.bitwidth
    return False


def _window_out(size: int, kernel: int, stride: int, dilation: int, pads: int, ceil: bool) -> int:
    """Output length of a sliding window (ONNX / PyTorch convention)."""
    if size == DYNAMIC_INDEX:
        return DYNAMIC_INDEX
    span = size + pads - dilation * (kernel - 1) - 1
    return (-(-span // stride) if ceil else span // stride) + 1


@irdl_op_definition
class MatmulOp(TensorValueOp):
    """C = A · B over the last two dims; leading (batch) dims broadcast like numpy.matmul.
    Both operands have rank >= 2 (a 1-D operand is reshaped before `top`). `transpose_lhs` /
    `transpose_rhs` swap an operand's last two dims first. The result element type may be
    wider than the operands' (i8 x i8 -> i32 accumulates in i32).

        %c = top.matmul %a, %b : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
        %d = top.matmul %a, %w transpose_rhs
            : (tensor<2x4x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
    """

    name = "top.matmul"
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    transpose_lhs = opt_prop_def(UnitAttr)
    transpose_rhs = opt_prop_def(UnitAttr)
    assembly_format = (
        "$lhs `,` $rhs (`transpose_lhs` $transpose_lhs^)? (`transpose_rhs` $transpose_rhs^)?"
        " attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        lhs: SSAValue,
        rhs: SSAValue,
        result_type: Attribute,
        *,
        transpose_lhs: bool = False,
        transpose_rhs: bool = False,
    ) -> None:
        super().__init__(
            operands=[lhs, rhs],
            result_types=[result_type],
            properties={
                "transpose_lhs": UnitAttr() if transpose_lhs else None,
                "transpose_rhs": UnitAttr() if transpose_rhs else None,
            },
        )

    def verify_(self) -> None:
        lhs, rhs = shape_of(self.lhs), shape_of(self.rhs)
        for name, value, shape in (("lhs", self.lhs, lhs), ("rhs", self.rhs, rhs)):
            if len(shape) < 2:
                raise VerifyException(f"expected {name} type {value.type} to have rank >= 2")
        m, k = lhs[-1:-3:-1] if self.transpose_lhs else lhs[-2:]
        k2, n = rhs[-1:-3:-1] if self.transpose_rhs else rhs[-2:]
        if not agree(k, k2):
            raise VerifyException(
                f"expected the contracting dims of lhs type {self.lhs.type} ({k}) and rhs "
                f"type {self.rhs.type} ({k2}) to agree"
            )
        batch = broadcast_shapes(lhs[:-2], rhs[:-2])
        if batch is None:
            raise VerifyException(
                f"expected the batch dims of lhs type {self.lhs.type} and rhs type "
                f"{self.rhs.type} to broadcast"
            )
        expect_same_element("rhs", self.rhs, "lhs", self.lhs)
        expect_shape("result", self.result, (*batch, m, n))
        if not _can_accumulate(element_type_of(self.lhs), element_type_of(self.result)):
            raise VerifyException(
                f"expected result type {self.result.type} to have the element type of lhs "
                f"type {self.lhs.type} or a wider one"
            )


Window = tuple[Shape, Shape, Shape, Shape]
"""strides, dilations, pad_low, pad_high: one entry per spatial dim each."""


def window_properties(
    strides: Sequence[int], dilations: Sequence[int], pad_low: Sequence[int],
    pad_high: Sequence[int],
) -> dict[str, Attribute]:  # fmt: skip
    return {
        "strides": i64_array(strides),
        "dilations": i64_array(dilations),
        "pad_low": i64_array(pad_low),
        "pad_high": i64_array(pad_high),
    }


class WindowedOp(TensorValueOp):
    """Base of the sliding-window ops (`top.conv2d`, `top.pool`): per spatial dim a stride,
    a dilation and the pads before (`pad_low` = top/left) and after (`pad_high`)."""

    strides = prop_def(I64_ARRAY)
    dilations = prop_def(I64_ARRAY)
    pad_low = prop_def(I64_ARRAY)
    pad_high = prop_def(I64_ARRAY)

    def verify_window(
        self, rank: int, *, kernel: Sequence[int] | None = None, groups: int | None = None
    ) -> Window:
        """`rank` entries in each window property; kernel, strides, dilations and groups
        positive, pads non-negative (checked in that order)."""
        window = tuple(int_values(a) for a in (self.strides, self.dilations, self.pad_low,
                                                self.pad_high))  # fmt: skip
        strides, dilations, low, high = window
        expect_lengths(rank, strides=strides, dilations=dilations, pad_low=low, pad_high=high)
        positive = {} if kernel is None else {"kernel": kernel}
        positive |= {"strides": strides, "dilations": dilations}
        if groups is not None:
            positive["groups"] = [groups]
        expect_positive(**positive)
        expect_non_negative(pad_low=low, pad_high=high)
        return strides, dilations, low, high


@irdl_op_definition
class Conv2dOp(WindowedOp):
    """2-D convolution (cross-correlation) with explicit layout, strides, dilations, pads
    (`pad_low` = top/left, `pad_high` = bottom/right) and groups, plus an optional bias of
    shape [F] (nchwc: [F/f, f]). Out = (H + pads - dilation * (K - 1) - 1) / stride + 1.

        %y = top.conv2d nchw_fchw %x, %w, %b strides [2, 2] dilations [1, 1]
            pad_low [1, 1] pad_high [1, 1] groups 1
            : (tensor<1x3x224x224xf32>, tensor<64x3x3x3xf32>, tensor<64xf32>)
            -> tensor<1x64x112x112xf32>
    """

    name = "top.conv2d"
    input = operand_def(TensorType)
    filter = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    layout = prop_def(ConvLayoutAttr)
    groups = prop_def(IntegerAttr.constr(type=i64))
    assembly_format = (
        "$layout $input `,` $filter (`,` $bias^)? `strides` $strides `dilations` $dilations"
        " `pad_low` $pad_low `pad_high` $pad_high `groups` $groups"
        " attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        input: SSAValue,
        filter: SSAValue,
        result_type: Attribute,
        *,
        layout: ConvLayout,
        strides: Sequence[int] = (1, 1),
        dilations: Sequence[int] = (1, 1),
        pad_low: Sequence[int] = (0, 0),
        pad_high: Sequence[int] = (0, 0),
        groups: int = 1,
        bias: SSAValue | None = None,
    ) -> None:
        super().__init__(
            operands=[input, filter, bias],
            result_types=[result_type],
            properties={
                "layout": ConvLayoutAttr(layout),
                **window_properties(strides, dilations, pad_low, pad_high),
                "groups": IntegerAttr(groups, i64),
            },
        )

    def verify_(self) -> None:
        groups = self.groups.value.data
        strides, dilations, low, high = self.verify_window(2, groups=groups)
        layout = self.layout.data
        blocked = layout == ConvLayout.NCHWC
        expect_rank("input", self.input, 5 if blocked else 4)
        expect_rank("filter", self.filter, 6 if blocked else 4)
        x, w = shape_of(self.input), shape_of(self.filter)
        if layout == ConvLayout.NCHW_FCHW:
            (n, c, h, wd), (f, cg, kh, kw) = x, w
        elif layout == ConvLayout.NHWC_HWCF:
            (n, h, wd, c), (kh, kw, cg, f) = x, w
        else:
            if groups != 1:
                raise VerifyException(f"expected groups = 1 with layout nchwc, got {groups}")
            n, c, h, wd, cb = x
            f, cg, kh, kw, cb2, _ = w
            if not (agree(cb, cb2) and agree(c, cg)):
                raise VerifyException(
                    f"expected filter type {self.filter.type} to have the input channel "
                    f"blocks of input type {self.input.type}"
                )
        if c != DYNAMIC_INDEX and cg != DYNAMIC_INDEX and c != cg * groups:
            raise VerifyException(
                f"expected input type {self.input.type} to have {groups} x {cg} channels "
                f"(groups x filter type {self.filter.type} channels)"
            )
        if f != DYNAMIC_INDEX and f % groups:
            raise VerifyException(
                f"expected filter type {self.filter.type} to have a filter count divisible "
                f"by groups ({groups})"
            )
        oh, ow = (
            _window_out(size, k, s, d, lo + hi, ceil=False)
            for size, k, s, d, lo, hi in zip(
                (h, wd), (kh, kw), strides, dilations, low, high, strict=True
            )
        )
        expected = {
            ConvLayout.NCHW_FCHW: (n, f, oh, ow),
            ConvLayout.NHWC_HWCF: (n, oh, ow, f),
            ConvLayout.NCHWC: (n, f, oh, ow, w[-1]),
        }[layout]
        expect_shape("result", self.result, expected)
        expect_same_element("filter", self.filter, "input", self.input)
        if not _can_accumulate(element_type_of(self.input), element_type_of(self.result)):
            raise VerifyException(
                f"expected result type {self.result.type} to have the element type of input "
                f"type {self.input.type} or a wider one"
            )
        if self.bias is not None:
            expect_shape("bias", self.bias, (f, w[-1]) if blocked else (f,))
            expect_same_element("bias", self.bias, "result", self.result)


def _spatial_dims(layout: TensorLayout, rank: int) -> range:
    """The positions of the spatial dims of a rank-`rank` operand in `layout`."""
    if layout == TensorLayout.NHWC:
        return range(1, rank - 1)
    return range(2, rank - 1 if layout == TensorLayout.NCHWC else rank)


@irdl_op_definition
class PoolOp(WindowedOp):
    """Max or average pooling over the spatial dims of `layout` (any count, one per kernel
    entry). Padded positions are skipped by max and, unless `count_include_pad`, not
    counted by avg. Ceil mode is resolved into the result type: each spatial output is
    floor((H + pads - dilation * (K - 1) - 1) / stride) + 1, or that with ceil.

        %y = top.pool max nchw %x kernel [3, 3] strides [2, 2] dilations [1, 1]
            pad_low [1, 1] pad_high [1, 1] : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>
    """

    name = "top.pool"
    input = operand_def(TensorType)
    kind = prop_def(PoolKindAttr)
    layout = prop_def(TensorLayoutAttr)
    kernel = prop_def(I64_ARRAY)
    count_include_pad = opt_prop_def(UnitAttr)
    assembly_format = (
        "$kind $layout $input `kernel` $kernel `strides` $strides `dilations` $dilations"
        " `pad_low` $pad_low `pad_high` $pad_high (`count_include_pad` $count_include_pad^)?"
        " attr-dict `:` type($input) `->` type($result)"
    )

    def __init__(
        self,
        input: SSAValue,
        result_type: Attribute,
        *,
        kind: PoolKind,
        layout: TensorLayout,
        kernel: Sequence[int],
        strides: Sequence[int] | None = None,
        dilations: Sequence[int] | None = None,
        pad_low: Sequence[int] | None = None,
        pad_high: Sequence[int] | None = None,
        count_include_pad: bool = False,
    ) -> None:
        ones, zeros = [1] * len(kernel), [0] * len(kernel)
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties={
                "kind": PoolKindAttr(kind),
                "layout": TensorLayoutAttr(layout),
                "kernel": i64_array(kernel),
                **window_properties(
                    ones if strides is None else strides,
                    ones if dilations is None else dilations,
                    zeros if pad_low is None else pad_low,
                    zeros if pad_high is None else pad_high,
                ),
                "count_include_pad": UnitAttr() if count_include_pad else None,
            },
        )

    def spatial_dims(self) -> range:
        """The positions of the pooled dims in the input and result."""
        return _spatial_dims(self.layout.data, len(shape_of(self.input)))

    def verify_(self) -> None:
        kernel = int_values(self.kernel)
        k = len(kernel)
        strides, dilations, low, high = self.verify_window(k, kernel=kernel)
        if self.count_include_pad and self.kind.data != PoolKind.AVG:
            raise VerifyException("expected count_include_pad only with avg pooling")
        extra = 3 if self.layout.data == TensorLayout.NCHWC else 2
        expect_rank("input", self.input, k + extra)
        expect_rank("result", self.result, k + extra)
        x, y = shape_of(self.input), shape_of(self.result)
        spatial = self.spatial_dims()
        for dim in range(len(x)):
            if dim not in spatial and not agree(x[dim], y[dim]):
                raise VerifyException(
                    f"expected result type {self.result.type} to keep dim {dim} of input "
                    f"type {self.input.type}"
                )
        for i, dim in enumerate(spatial):
            args = (x[dim], kernel[i], strides[i], dilations[i], low[i] + high[i])
            floor, ceil = _window_out(*args, ceil=False), _window_out(*args, ceil=True)
            if not (agree(y[dim], floor) or agree(y[dim], ceil)):
                raise VerifyException(
                    f"expected dim {dim} of result type {self.result.type} to be {floor}"
                    + (f" or {ceil} (ceil mode)" if ceil != floor else "")
                )
        expect_same_element("result", self.result, "input", self.input)
