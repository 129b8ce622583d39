"""The verifiers of the quantization parameters of `graph` ops: QuantizeLinear,
DequantizeLinear, QLinearConv, QLinearMatMul, ConvInteger and MatMulInteger.

A scale / zero point pair quantizes a tensor x

    per tensor   one element each (rank 0 or 1)
    per axis     1-D, one per index of dim `axis` of x (MatMulInteger also: x's rank,
                 dim `axis` x's, each other 1 or x's, as [D1, D2, 1, N] for [D1, D2, K, N])
    blocked      x's rank, dim `axis` of size ceil(x[axis] / block_size), the others x's

and the zero point has the scale's shape and the quantized tensor's element type. A scale
that is a constant holds no zero, infinity or NaN: it divides in QuantizeLinear, and a
model that carries one is broken, not a corner case to compute.
"""

from __future__ import annotations

from math import prod

import numpy as np
from xdsl.dialects.builtin import NoneType, TensorType
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import IRDLOperation
from xdsl.traits import ConstantLike
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.hints import isa

from lamina.dialects.graph_base import register_verifier
from lamina.dialects.graph_ops import (
    ConvIntegerOp,
    DequantizeLinearOp,
    MatMulIntegerOp,
    QLinearConvOp,
    QLinearMatMulOp,
    QuantizeLinearOp,
)
from lamina.dialects.graph_verify import Shape, describe, int_value, shape_of
from lamina.dialects.weights import is_elided_tensor, tensor_to_array


def _element(value: SSAValue) -> Attribute | None:
    return value.type.get_element_type() if isa(value.type, TensorType[Attribute]) else None


def _given(value: SSAValue | None) -> bool:
    return value is not None and not isinstance(value.type, NoneType)


def _check_shape(
    op: IRDLOperation,
    param: SSAValue,
    x: Shape | None,
    axis: int | None,
    block: int,
    ranked_per_axis: bool,
) -> None:
    """`param`'s shape quantizes x per tensor, per `axis` (not None) or in blocks; with
    `ranked_per_axis`, per axis may also be x's rank."""
    shape = shape_of(param)
    if shape is None or (len(shape) <= 1 and all(d in (1, -1) for d in shape)):
        return
    if axis is None:
        raise VerifyException(f"{describe(op, param)} should have one element (per tensor)")
    if x is None:
        return
    if not -len(x) <= axis < len(x):
        raise VerifyException(f"axis = {axis} is out of range for rank {len(x)}")
    axis %= len(x)
    broadcast = ranked_per_axis and len(shape) == len(x) > 1
    if block > 0:
        expected = tuple(-(-d // block) if i == axis and d >= 0 else d for i, d in enumerate(x))
        what = f"x's shape with dim {axis} in blocks of {block}"
    elif broadcast:
        expected = tuple(d if i == axis else 1 for i, d in enumerate(x))
        what = f"x's rank, dim {axis} of x's size and 1 elsewhere"
    else:
        expected, what = (x[axis],), f"one per index of dim {axis} of x"
    wrong = len(shape) != len(expected) or any(
        a >= 0 and b >= 0 and a != b and not (broadcast and i != axis and a == x[i])
        for i, (a, b) in enumerate(zip(shape, expected, strict=True))
    )
    if wrong:
        dims = "x".join("?" if d < 0 else str(d) for d in expected)
        raise VerifyException(f"{describe(op, param)} should have shape {dims} ({what})")


def _check_scale_values(op: IRDLOperation, scale: SSAValue) -> None:
    """A constant scale (whose bytes are at hand) has no zero, infinite or NaN element."""
    owner = scale.owner
    if not isinstance(owner, IRDLOperation) or not owner.has_trait(ConstantLike):
        return
    value = owner.properties.get("value")
    if value is None or is_elided_tensor(value):
        return
    values = np.asarray(tensor_to_array(value), np.float64)
    bad = values[(values == 0) | ~np.isfinite(values)]
    if bad.size:
        raise VerifyException(f"{describe(op, scale)} holds {bad.flat[0]}: a scale must be "
                              "nonzero and finite")  # fmt: skip


def check_parameters(
    op: IRDLOperation,
    x: SSAValue,
    scale: SSAValue | None,
    zero_point: SSAValue | None,
    quantized: SSAValue,
    axis: int | None,
    block: int = 0,
    *,
    ranked_per_axis: bool = False,
) -> None:
    """`scale` (when given) and `zero_point` (when given) quantize x as the module doc
    says; `quantized` is the integer tensor whose element type the zero point has."""
    if block < 0:
        raise VerifyException(f"block_size = {block} should be at least 0")
    x_shape = shape_of(x)
    for param in (scale, zero_point):
        if param is not None and _given(param):
            _check_shape(op, param, x_shape, axis, block, ranked_per_axis)
    if scale is not None:
        _check_scale_values(op, scale)
    if zero_point is None or not _given(zero_point):
        return
    element = _element(quantized)
    if element is not None and _element(zero_point) not in (None, element):
        raise VerifyException(f"{describe(op, zero_point)} should have the element type "
                              f"{element} of {describe(op, quantized)}")  # fmt: skip
    if scale is not None:
        zp, s = shape_of(zero_point), shape_of(scale)
        if zp is None or s is None or -1 in zp + s:
            return
        if zp != s and not prod(zp) == prod(s) == 1:
            raise VerifyException(
                f"{describe(op, zero_point)} should have the shape of {describe(op, scale)}"
            )


def _axis(op: IRDLOperation) -> tuple[int, int]:
    return int_value(op.properties.get("axis"), 1), int_value(op.properties.get("block_size"), 0)


@register_verifier(QuantizeLinearOp)
def verify_quantize_linear(op: QuantizeLinearOp) -> None:
    check_parameters(op, op.x, op.y_scale, op.y_zero_point, op.y, *_axis(op))


@register_verifier(DequantizeLinearOp)
def verify_dequantize_linear(op: DequantizeLinearOp) -> None:
    check_parameters(op, op.x, op.x_scale, op.x_zero_point, op.x, *_axis(op))


def _row_axis(value: SSAValue) -> int:
    """The dim of a matmul operand's rows (its second last), -1 if unranked or 1-D."""
    shape = shape_of(value)
    return len(shape) - 2 if shape is not None and len(shape) >= 2 else -1


@register_verifier(QLinearConvOp)
def verify_q_linear_conv(op: QLinearConvOp) -> None:
    check_parameters(op, op.x, op.x_scale, op.x_zero_point, op.x, None)
    check_parameters(op, op.w, op.w_scale, op.w_zero_point, op.w, 0)
    check_parameters(op, op.y, op.y_scale, op.y_zero_point, op.y, None)


@register_verifier(QLinearMatMulOp)
def verify_q_linear_mat_mul(op: QLinearMatMulOp) -> None:
    check_parameters(op, op.a, op.a_scale, op.a_zero_point, op.a, _row_axis(op.a))
    check_parameters(op, op.b, op.b_scale, op.b_zero_point, op.b, -1)
    check_parameters(op, op.y, op.y_scale, op.y_zero_point, op.y, None)


@register_verifier(ConvIntegerOp)
def verify_conv_integer(op: ConvIntegerOp) -> None:
    check_parameters(op, op.x, None, op.x_zero_point, op.x, None)
    check_parameters(op, op.w, None, op.w_zero_point, op.w, 0)


@register_verifier(MatMulIntegerOp)
def verify_mat_mul_integer(op: MatMulIntegerOp) -> None:
    check_parameters(op, op.a, None, op.a_zero_point, op.a, _row_axis(op.a), ranked_per_axis=True)
    check_parameters(op, op.b, None, op.b_zero_point, op.b, -1, ranked_per_axis=True)
