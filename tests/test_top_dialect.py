"""The `top` dialect built from Python: builders, helpers and each verifier's message."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from xdsl.builder import Builder
from xdsl.dialects import arith
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    AffineMapAttr,
    Float16Type,
    IntegerType,
    TensorType,
    f32,
    i8,
    i32,
    i64,
)
from xdsl.ir import Attribute, BlockArgument, Operation, Region, SSAValue
from xdsl.ir.affine import AffineMap
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.test_value import create_ssa_value

from lamina.dialects.top import (
    BroadcastOp,
    Conv2dOp,
    ConvLayout,
    FillOp,
    GatherOp,
    GenericOp,
    IteratorType,
    MatmulOp,
    PadMode,
    PadOp,
    PoolKind,
    PoolOp,
    ReduceKind,
    ReduceOp,
    TensorLayout,
    TransposeOp,
    YieldOp,
    broadcast_map,
    broadcast_shapes,
)

f16 = Float16Type()


def tensor(*shape: int, element: Attribute = f32) -> TensorType[Attribute]:
    return TensorType(element, shape)


def value(t: Attribute) -> SSAValue:
    return create_ssa_value(t)


def printed(op: Operation) -> str:
    out = StringIO()
    Printer(stream=out).print_op(op)
    return out.getvalue()


def add_body(element: Attribute, num_args: int) -> Region:
    """A body adding its first two arguments, for a generic with one output."""

    @Builder.implicit_region([element] * num_args)
    def body(args: tuple[BlockArgument, ...]) -> None:
        YieldOp(arith.AddfOp(args[0], args[1]))

    return body


def bias_add(bias_type: Attribute | None = None, body: Region | None = None) -> GenericOp:
    identity = AffineMap.identity(2)
    return GenericOp(
        [value(tensor(4, 8)), value(bias_type or tensor(8))],
        [value(tensor(4, 8))],
        body if body is not None else add_body(f32, 3),
        [identity, broadcast_map([8], 2), identity],
        [IteratorType.PARALLEL, IteratorType.PARALLEL],
    )


def conv(
    input_shape: tuple[int, ...] = (1, 3, 8, 8),
    filter_shape: tuple[int, ...] = (4, 3, 3, 3),
    result_shape: tuple[int, ...] = (1, 4, 6, 6),
    **options: Any,
) -> Conv2dOp:
    """A conv (NCHW unless `options` give a layout; the other options as Conv2dOp takes them)
    of f32 values of the given shapes; by default 3 channels into 4 by 3x3 filters over an
    8x8 image, which verifies."""
    options.setdefault("layout", ConvLayout.NCHW_FCHW)
    return Conv2dOp(
        value(tensor(*input_shape)), value(tensor(*filter_shape)), tensor(*result_shape), **options
    )


def pool(input_shape: tuple[int, ...], result_shape: tuple[int, ...], **options: Any) -> PoolOp:
    """A pool (max in NCHW unless `options` say otherwise; the other options as PoolOp takes
    them) of an f32 value of `input_shape`."""
    options.setdefault("kind", PoolKind.MAX)
    options.setdefault("layout", TensorLayout.NCHW)
    return PoolOp(value(tensor(*input_shape)), tensor(*result_shape), **options)


def pad(result_shape: tuple[int, ...], **options: Any) -> PadOp:
    """A pad (`options` as PadOp takes them) of an f32 value of shape 4x8."""
    return PadOp(value(tensor(4, 8)), tensor(*result_shape), **options)


# --- builders -----------------------------------------------------------------------------


def test_generic_bias_add_verifies_and_knows_its_loop_ranges() -> None:
    op = bias_add()
    op.verify()
    assert op.res.types == (tensor(4, 8),)
    assert op.loop_ranges() == (4, 8)
    assert "top.generic" in printed(op)
    assert 'iterator_types = ["parallel", "parallel"]' in printed(op)


def test_generic_loop_range_of_dynamic_dim_comes_from_a_static_operand() -> None:
    identity = AffineMap.identity(2)
    op = GenericOp(
        [value(tensor(DYNAMIC_INDEX, 8)), value(tensor(4, 8))],
        [value(tensor(4, 8))],
        add_body(f32, 3),
        [identity, identity, identity],
        [IteratorType.PARALLEL] * 2,
    )
    op.verify()
    assert op.loop_ranges() == (4, 8)


def test_broadcast_helpers_follow_numpy() -> None:
    assert broadcast_shapes([4, 1], [2, 1, 8]) == (2, 4, 8)
    assert broadcast_shapes([3], [4]) is None
    assert broadcast_map([4, 1], 3) == AffineMap.from_callable(lambda _, d1, __: (d1, 0))


def test_named_op_builders_verify() -> None:
    ops: list[Operation] = [
        MatmulOp(
            value(tensor(2, 4, 8, element=i8)),
            value(tensor(8, 16, element=i8)),
            tensor(2, 4, 16, element=i32),
        ),
        MatmulOp(
            value(tensor(8, 4)),
            value(tensor(16, 8)),
            tensor(4, 16),
            transpose_lhs=True,
            transpose_rhs=True,
        ),
        conv(
            (1, 3, 224, 224),
            (64, 3, 7, 7),
            (1, 64, 112, 112),
            strides=(2, 2),
            pad_low=(3, 3),
            pad_high=(3, 3),
            bias=value(tensor(64)),
        ),
        conv(
            (1, 8, 8, 32),
            (3, 3, 1, 32),
            (1, 8, 8, 32),
            layout=ConvLayout.NHWC_HWCF,
            pad_low=(1, 1),
            pad_high=(1, 1),
            groups=32,
        ),
        pool(
            (1, 64, 112, 112),
            (1, 64, 56, 56),
            kernel=(3, 3),
            strides=(2, 2),
            pad_low=(1, 1),
            pad_high=(1, 1),
        ),
        # ceil mode: floor((5 - 2) / 2) + 1 = 2, ceil gives 3
        pool(
            (1, 5, 5, 8),
            (1, 3, 3, 8),
            kernel=(2, 2),
            kind=PoolKind.AVG,
            layout=TensorLayout.NHWC,
            strides=(2, 2),
            count_include_pad=True,
        ),
        ReduceOp(value(tensor(4, 8)), tensor(4, 1), kind=ReduceKind.SUM, axes=[1], keepdims=True),
        TransposeOp(value(tensor(1, 3, 4, 5)), [0, 2, 3, 1], tensor(1, 4, 5, 3)),
        pad((4, 10), mode=PadMode.CONSTANT, low=[0, 1], high=[0, 1], value=value(f32)),
        GatherOp(
            value(tensor(100, 16)), value(tensor(2, 3, element=i64)), tensor(2, 3, 16), axis=0
        ),
        BroadcastOp(value(tensor(4, 1)), tensor(2, 4, 8)),
        FillOp(value(f32), tensor(4, 8)),
    ]
    for op in ops:
        op.verify()


def test_pool_reports_its_spatial_dims() -> None:
    blocked = pool((1, 2, 10, 10, 16), (1, 2, 9, 9, 16), kernel=(2, 2), layout=TensorLayout.NCHWC)
    blocked.verify()
    assert list(blocked.spatial_dims()) == [2, 3]


# --- verifier errors ----------------------------------------------------------------------

ERRORS: dict[str, tuple[Callable[[], Operation], str]] = {
    "generic_map_count": (
        lambda: GenericOp(
            [value(tensor(4))],
            [value(tensor(4))],
            add_body(f32, 2),
            [AffineMap.identity(1)],
            [IteratorType.PARALLEL],
        ),
        "expected one indexing map per operand (2), got 1",
    ),
    "generic_map_rank": (
        lambda: bias_add(bias_type=tensor(1, 8)),
        "expected indexing map of input #1 to have one result per dim of tensor<1x8xf32>",
    ),
    "generic_extent": (
        lambda: bias_add(bias_type=tensor(9)),
        "loop d1 has extent 8 from input #0 (tensor<4x8xf32>) but dim 0 of input #1",
    ),
    "generic_body_args": (
        lambda: bias_add(body=add_body(f32, 2)),
        "expected body arguments of types (f32, f32, f32)",
    ),
    "generic_map_dims": (
        lambda: GenericOp(
            [value(tensor(4))],
            [value(tensor(4))],
            add_body(f32, 2),
            [AffineMapAttr(AffineMap.identity(2))] * 2,
            [IteratorType.PARALLEL],
        ),
        "expected indexing map of input #0 to have 1 dims",
    ),
    "matmul_contracting": (
        lambda: MatmulOp(value(tensor(4, 8)), value(tensor(9, 16)), tensor(4, 16)),
        "expected the contracting dims of lhs type tensor<4x8xf32> (8) and rhs type "
        "tensor<9x16xf32> (9) to agree",
    ),
    "matmul_batch": (
        lambda: MatmulOp(value(tensor(2, 4, 8)), value(tensor(3, 8, 16)), tensor(2, 4, 16)),
        "to broadcast",
    ),
    "matmul_narrow": (
        lambda: MatmulOp(
            value(tensor(4, 8, element=i32)),
            value(tensor(8, 16, element=i32)),
            tensor(4, 16, element=i8),
        ),
        "or a wider one",
    ),
    "conv_result": (
        lambda: conv(result_shape=(1, 4, 8, 8)),
        "expected result type tensor<1x4x8x8xf32> to have shape [1, 4, 6, 6]",
    ),
    "conv_groups": (
        lambda: conv((1, 8, 8, 8), (6, 2, 3, 3), (1, 6, 6, 6), groups=4),
        "divisible by groups (4)",
    ),
    "conv_bias": (
        lambda: conv(bias=value(tensor(3))),
        "expected bias type tensor<3xf32> to have shape [4]",
    ),
    "conv_nchwc_groups": (
        lambda: conv(
            (1, 1, 8, 8, 4), (1, 1, 3, 3, 4, 4), (1, 1, 6, 6, 4), layout=ConvLayout.NCHWC, groups=2
        ),
        "expected groups = 1 with layout nchwc, got 2",
    ),
    "conv_stride_count": (
        lambda: conv(strides=(1,)),
        "expected 2 values in strides, got [1]",
    ),
    "pool_spatial": (
        lambda: pool((1, 4, 8, 8), (1, 4, 5, 4), kernel=(3, 2), strides=(2, 2)),
        "expected dim 2 of result type tensor<1x4x5x4xf32> to be 3 or 4 (ceil mode)",
    ),
    "pool_count_include_pad": (
        lambda: pool((1, 4, 8, 8), (1, 4, 7, 7), kernel=(2, 2), count_include_pad=True),
        "expected count_include_pad only with avg pooling",
    ),
    "reduce_axes": (
        lambda: ReduceOp(value(tensor(4, 8)), tensor(), kind=ReduceKind.SUM, axes=[1, 0]),
        "expected axes [1, 0] to be sorted, distinct dims of input type tensor<4x8xf32>",
    ),
    "reduce_result": (
        lambda: ReduceOp(
            value(tensor(4, 8)), tensor(4), kind=ReduceKind.MAX, axes=[1], keepdims=True
        ),
        "expected result type tensor<4xf32> to have shape [4, 1]",
    ),
    "transpose_permutation": (
        lambda: TransposeOp(value(tensor(4, 8)), [0, 0], tensor(4, 4)),
        "expected permutation [0, 0] to permute the dims of input type tensor<4x8xf32>",
    ),
    "pad_value_mode": (
        lambda: pad((6, 10), mode=PadMode.EDGE, low=[1, 1], high=[1, 1], value=value(f32)),
        "expected no value with pad mode edge",
    ),
    "pad_reflect": (
        lambda: pad((8, 8), mode=PadMode.REFLECT, low=[4, 0], high=[0, 0]),
        "to have at least 5 elements for reflect pads 4, 0",
    ),
    "gather_indices": (
        lambda: GatherOp(value(tensor(100, 16)), value(tensor(3)), tensor(3, 16), axis=0),
        "expected indices type tensor<3xf32> to have integer elements",
    ),
    "gather_axis": (
        lambda: GatherOp(
            value(tensor(100, 16)), value(tensor(3, element=i64)), tensor(3, 16), axis=2
        ),
        "expected axis 2 to be a dim of data type tensor<100x16xf32>",
    ),
    "broadcast": (
        lambda: BroadcastOp(value(tensor(4, 3)), tensor(4, 8)),
        "expected input type tensor<4x3xf32> to broadcast to result type tensor<4x8xf32>",
    ),
    "fill": (
        lambda: FillOp(value(IntegerType(32)), tensor(4, 8)),
        "expected value type i32 to be the element type of result type tensor<4x8xf32>",
    ),
    "element_types": (
        lambda: TransposeOp(value(tensor(4, 8)), [1, 0], tensor(8, 4, element=f16)),
        "expected result type tensor<8x4xf16> to have the element type of input type",
    ),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_verifier_rejects_with_a_message_naming_the_values(case: str) -> None:
    build, message = ERRORS[case]
    with pytest.raises(VerifyException) as info:
        build().verify()
    assert message in str(info.value)
