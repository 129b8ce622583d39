"""The shape rules of ONNX Conv and Gemm, written once for every graph op that has them:
`graph.conv` / `graph.gemm` (generated; their verifiers are registered here),
`graph.fused_conv` / `graph.fused_gemm` (graph_fused.py) and `graph.nhwc_conv` and the NHWC
pools (graph_layout.py). Their operands and attributes are generated too, as `ConvFields` /
`GemmFields` in graph_ops.py.

    out = (in + pad_begin + pad_end - dilation * (kernel - 1) - 1) // stride + 1
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from xdsl.dialects.builtin import StringAttr
from xdsl.ir import Operation
from xdsl.irdl import IRDLOperation
from xdsl.utils.exceptions import VerifyException

from lamina.dialects.graph_base import register_verifier
from lamina.dialects.graph_ops import ConvOp, GemmOp
from lamina.dialects.graph_verify import (
    Shape,
    check_dims,
    describe,
    int_list,
    int_value,
    shape_of,
)


def window_out(op: Operation, sizes: Sequence[int], kernel: Sequence[int]) -> list[int]:
    """The output spatial sizes of a conv or pool over `sizes` (-1 where unknown), by the
    ONNX rules for its strides, dilations, pads, auto_pad and ceil_mode."""
    n = len(sizes)
    strides = int_list(op.properties.get("strides")) or [1] * n
    dilations = int_list(op.properties.get("dilations")) or [1] * n
    pads = int_list(op.properties.get("pads")) or [0] * (2 * n)
    auto_pad = cast(StringAttr, op.properties.get("auto_pad", StringAttr("NOTSET"))).data
    ceil = int_value(op.properties.get("ceil_mode"), 0)
    out: list[int] = []
    for i, (size, k) in enumerate(zip(sizes, kernel, strict=True)):
        if size < 0 or k < 0:
            out.append(-1)
        elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            out.append(-(-size // strides[i]))
        else:
            padded = size + (pads[i] + pads[i + n] if auto_pad == "NOTSET" else 0)
            span = padded - dilations[i] * (k - 1) - 1
            o = (-(-span // strides[i]) if ceil else span // strides[i]) + 1
            if ceil and (o - 1) * strides[i] >= size + pads[i]:
                o -= 1  # the last window must start inside the input or its begin pad
            out.append(o)
    return out


def conv_result(op: Operation, x: Shape, w: Shape) -> Shape:
    """The N x F x spatial... result shape of a conv with data `x` (N x C x spatial...) and
    filter `w` (F x C/group x kernel...), whatever layout the op's own operands have;
    checks channels, attribute lengths and kernel_shape against them."""
    data, weights = op.operands[0], op.operands[1]
    spatial = len(x) - 2
    group = int_value(op.properties.get("group"), 1)
    if x[1] >= 0 and w[1] >= 0 and x[1] != w[1] * group:
        raise VerifyException(
            f"{describe(op, data)} has {x[1]} channels but {describe(op, weights)} with "
            f"group = {group} expects {w[1] * group}"
        )
    for attr, size in (("kernel_shape", spatial), ("strides", spatial),
                       ("dilations", spatial), ("pads", 2 * spatial)):  # fmt: skip
        values = int_list(op.properties.get(attr))
        if values is not None and len(values) != size:
            raise VerifyException(
                f"{attr} has {len(values)} values but {describe(op, data)} needs {size}"
            )
    kernel = int_list(op.properties.get("kernel_shape")) or list(w[2:])
    if any(k >= 0 and d >= 0 and k != d for k, d in zip(kernel, w[2:], strict=True)):
        raise VerifyException(f"kernel_shape {kernel} differs from {describe(op, weights)}")
    return (x[0], w[0], *window_out(op, x[2:], kernel))


def verify_conv(op: IRDLOperation) -> None:
    """graph.conv and graph.fused_conv: N x C x spatial... data, F x C/group x kernel...
    filter, an F bias."""
    data, weights, bias = op.operands
    x, w = shape_of(data), shape_of(weights)
    if x is None or w is None:
        return
    if len(x) < 3 or len(w) != len(x):
        raise VerifyException(
            f"{describe(op, data)} and {describe(op, weights)} should have the same rank >= 3"
        )
    out = conv_result(op, x, w)
    check_dims(op, bias, (w[0],))
    check_dims(op, op.results[0], out)


def verify_gemm(op: IRDLOperation) -> None:
    """graph.gemm and graph.fused_gemm: matrices a and b (transposed by transA / transB)
    with a common inner dimension, c broadcasting to the M x N result."""
    a_value, b_value, c_value = op.operands
    a, b = shape_of(a_value), shape_of(b_value)
    for value, shape in ((a_value, a), (b_value, b)):
        if shape is not None and len(shape) != 2:
            raise VerifyException(f"{describe(op, value)} should be a matrix")
    if a is None or b is None:
        return
    trans_a = int_value(op.properties.get("transA"), 0)
    trans_b = int_value(op.properties.get("transB"), 0)
    m, k = (a[1], a[0]) if trans_a else a
    k2, n = (b[1], b[0]) if trans_b else b
    if k >= 0 and k2 >= 0 and k != k2:
        raise VerifyException(
            f"inner dimensions of {describe(op, a_value)} and {describe(op, b_value)} differ"
            f" ({k} != {k2}; trans_a = {trans_a}, trans_b = {trans_b})"
        )
    if (c := shape_of(c_value)) is not None and (
        len(c) > 2
        or any(d not in (1, -1, e) and e >= 0 for d, e in zip(c[::-1], (n, m), strict=False))
    ):
        raise VerifyException(f"{describe(op, c_value)} does not broadcast to {m}x{n}")
    check_dims(op, op.results[0], (m, n))


register_verifier(ConvOp)(verify_conv)
register_verifier(GemmOp)(verify_gemm)
