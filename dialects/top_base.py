"""What the `top` op families share: the enum attributes of their properties, and the
shape helpers their verifiers check results with. Every shape may hold dynamic (`?`) dims
(`DYNAMIC_INDEX`), which agree with any size; a helper checks only what is static.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import auto

from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    DenseArrayBase,
    IndexType,
    IntegerType,
    TensorType,
    i64,
)
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import Attribute, SpacedOpaqueSyntaxAttribute, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineExpr, AffineMap
from xdsl.irdl import IRDLOperation, irdl_attr_definition, result_def, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.hints import isa
from xdsl.utils.str_enum import StrEnum

from lamina.dialects.top_shape import dynamic_count

# ---------------------------------------------------------------------------------------
# Enum attributes, each after its enum. Standalone they print as `#top<reduce_kind sum>`;
# inside an op's custom form only the keyword (`sum`) is printed.
# ---------------------------------------------------------------------------------------


class IteratorType(StrEnum):
    """How a loop of a `top.generic` combines its iterations."""

    PARALLEL = auto()
    REDUCTION = auto()


@irdl_attr_definition
class IteratorTypeAttr(EnumAttribute[IteratorType], SpacedOpaqueSyntaxAttribute):
    name = "top.iterator_type"


class ConvLayout(StrEnum):
    """Data and filter layout of `top.conv2d`: input_filter (output has the input layout).

    nchwc: input N x C/c x H x W x c, filter F/f x C/c x KH x KW x c x f,
    output N x F/f x OH x OW x f (blocked channels, groups = 1).
    """

    NCHW_FCHW = auto()
    NHWC_HWCF = auto()
    NCHWC = auto()


@irdl_attr_definition
class ConvLayoutAttr(EnumAttribute[ConvLayout], SpacedOpaqueSyntaxAttribute):
    name = "top.conv_layout"


class TensorLayout(StrEnum):
    """Where the spatial dims of a windowed op's operand are (nchwc: blocked channels last)."""

    NCHW = auto()
    NHWC = auto()
    NCHWC = auto()


@irdl_attr_definition
class TensorLayoutAttr(EnumAttribute[TensorLayout], SpacedOpaqueSyntaxAttribute):
    name = "top.layout"


class PoolKind(StrEnum):
    MAX = auto()
    AVG = auto()


@irdl_attr_definition
class PoolKindAttr(EnumAttribute[PoolKind], SpacedOpaqueSyntaxAttribute):
    name = "top.pool_kind"


class ReduceKind(StrEnum):
    """mean divides by the reduced element count; l1 = sum|x|, l2 = sqrt(sum x^2),
    log_sum = log(sum x), log_sum_exp = log(sum exp x), sum_square = sum x^2."""

    SUM = auto()
    PROD = auto()
    MAX = auto()
    MIN = auto()
    MEAN = auto()
    L1 = auto()
    L2 = auto()
    SUM_SQUARE = auto()
    LOG_SUM = auto()
    LOG_SUM_EXP = auto()


@irdl_attr_definition
class ReduceKindAttr(EnumAttribute[ReduceKind], SpacedOpaqueSyntaxAttribute):
    name = "top.reduce_kind"


class PadMode(StrEnum):
    CONSTANT = auto()
    REFLECT = auto()
    EDGE = auto()


@irdl_attr_definition
class PadModeAttr(EnumAttribute[PadMode], SpacedOpaqueSyntaxAttribute):
    name = "top.pad_mode"


class ScatterKind(StrEnum):
    """How `top.scatter_nd` combines an update with the element it lands on."""

    ASSIGN = auto()
    ADD = auto()
    MUL = auto()
    MAX = auto()
    MIN = auto()


@irdl_attr_definition
class ScatterKindAttr(EnumAttribute[ScatterKind], SpacedOpaqueSyntaxAttribute):
    name = "top.scatter_kind"


TOP_ENUM_ATTRS = (
    IteratorTypeAttr,
    ConvLayoutAttr,
    TensorLayoutAttr,
    PoolKindAttr,
    ReduceKindAttr,
    PadModeAttr,
    ScatterKindAttr,
)
"""Added to the `Top` dialect object."""


class TensorValueOp(IRDLOperation):
    """Base of the named `top` ops with one result: pure value ops whose result type is
    given (each verifier checks that result shape)."""

    result = result_def(TensorType)
    traits = traits_def(Pure())


# ---------------------------------------------------------------------------------------
# Shape helpers shared by the verifiers.
# ---------------------------------------------------------------------------------------

Shape = tuple[int, ...]
I64Array = DenseArrayBase[IntegerType]
I64_ARRAY = DenseArrayBase.constr(i64)
"""The constraint of a property that is an array of i64 (strides, pads, axes, ...)."""


def i64_array(values: Sequence[int]) -> I64Array:
    return DenseArrayBase.from_list(i64, values)


def int_values(attr: I64Array) -> Shape:
    return attr.get_values()


def tensor_type_of(value: SSAValue) -> TensorType[Attribute]:
    assert isa(value.type, TensorType[Attribute]), "IRDL checks operand types first"
    return value.type


def shape_of(value: SSAValue) -> Shape:
    return tensor_type_of(value).get_shape()


def element_type_of(value: SSAValue) -> Attribute:
    return tensor_type_of(value).get_element_type()


def agree(a: int, b: int) -> bool:
    """Two sizes agree when they are equal or one is dynamic."""
    return a == b or DYNAMIC_INDEX in (a, b)


def shape_str(shape: Sequence[int]) -> str:
    return "[" + ", ".join("?" if d == DYNAMIC_INDEX else str(d) for d in shape) + "]"


def expect_dynamic_sizes(result: SSAValue, sizes: Sequence[SSAValue]) -> None:
    """One `index` size operand per `?` dim of `result`."""
    if (count := dynamic_count(result.type)) != len(sizes):
        raise VerifyException(
            f"expected {count} dynamic size operands for result type {result.type}, "
            f"got {len(sizes)}"
        )


def expect_shape(what: str, value: SSAValue, expected: Sequence[int]) -> None:
    """Raise unless `value` (called `what`) has exactly `expected` (with `?` wildcards)."""
    shape = shape_of(value)
    if len(shape) != len(expected) or not all(map(agree, shape, expected)):
        raise VerifyException(
            f"expected {what} type {value.type} to have shape {shape_str(expected)}"
        )


def expect_rank(what: str, value: SSAValue, rank: int) -> None:
    if len(shape_of(value)) != rank:
        raise VerifyException(f"expected {what} type {value.type} to have rank {rank}")


def expect_same_element(what: str, value: SSAValue, other: str, other_value: SSAValue) -> None:
    if element_type_of(value) != element_type_of(other_value):
        raise VerifyException(
            f"expected {what} type {value.type} to have the element type of "
            f"{other} type {other_value.type}"
        )


def expect_element(what: str, value: SSAValue, element: Attribute) -> None:
    if element_type_of(value) != element:
        raise VerifyException(f"expected {what} type {value.type} to have elements {element}")


def expect_integer(what: str, value: SSAValue) -> None:
    if not isinstance(element_type_of(value), IntegerType | IndexType):
        raise VerifyException(f"expected {what} type {value.type} to have integer elements")


def expect_axis(what: str, value: SSAValue, axis: int) -> None:
    """`axis` is a dim of `value` (called `what`)."""
    if not 0 <= axis < len(shape_of(value)):
        raise VerifyException(f"expected axis {axis} to be a dim of {what} type {value.type}")


def expect_lengths(rank: int, **arrays: Sequence[int]) -> None:
    for name, values in arrays.items():
        if len(values) != rank:
            raise VerifyException(f"expected {rank} values in {name}, got {list(values)}")


def expect_positive(**arrays: Sequence[int]) -> None:
    for name, values in arrays.items():
        if any(v < 1 for v in values):
            raise VerifyException(f"expected {name} to be positive, got {list(values)}")


def expect_non_negative(**arrays: Sequence[int]) -> None:
    for name, values in arrays.items():
        if any(v < 0 for v in values):
            raise VerifyException(f"expected {name} to be non-negative, got {list(values)}")


def broadcast_shapes(lhs: Sequence[int], rhs: Sequence[int]) -> Shape | None:
    """numpy broadcasting of two shapes (aligned on the right); None if they do not."""
    rank = max(len(lhs), len(rhs))
    lhs = (1,) * (rank - len(lhs)) + tuple(lhs)
    rhs = (1,) * (rank - len(rhs)) + tuple(rhs)
    out: list[int] = []
    for a, b in zip(lhs, rhs, strict=True):
        if a == 1 or a == b:
            out.append(b)
        elif b == 1:
            out.append(a)
        elif DYNAMIC_INDEX in (a, b):
            out.append(b if a == DYNAMIC_INDEX else a)
        else:
            return None
    return tuple(out)


def broadcast_map(shape: Sequence[int], rank: int) -> AffineMap:
    """The indexing map that reads an operand of `shape` inside a `rank`-loop elementwise
    nest with numpy broadcasting: size-1 dims read index 0.

        broadcast_map([4, 1], 3) == (d0, d1, d2) -> (d1, 0)
    """
    offset = rank - len(shape)
    results: list[AffineExpr] = [
        AffineConstantExpr(0) if d == 1 else AffineDimExpr(offset + i) for i, d in enumerate(shape)
    ]
    return AffineMap(rank, 0, tuple(results))
