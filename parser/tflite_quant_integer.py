"""8-bit operators LiteRT computes in fixed point (its XNNPACK kernels), imported as the same
exact integer graph ops, so quantized models equal LiteRT element for element instead of
drifting by rounding steps through a float stand-in.

- RESIZE_BILINEAR (`ibilinear`): each output row and column placed in f32 (the source
  coordinate, clamped to the input for half-pixel centers), its lower neighbour and an
  11-bit weight `a = lrint(frac * 2048)`; then `top = tl << 11 + (tr - tl) * ax` (bottom
  alike), `acc = top << 11 + (bottom - top) * ay`, output `(acc + 2^21) >> 22`. Run on
  q - min(dtype) >= 0 (shifting every input by a whole number shifts the result by it), so
  the shift is a division and acc < 255 * 2^22 + 2^21 fits int32.
- ADD / SUB (`vadd`): multipliers `lrint(s_in / s_out * 2^shift)` with the larger in
  [2^20, 2^21), `acc = a * ma + b * mb - (ma * za + mb * zb) + 2^(shift-1)`, output
  `(acc >> shift) + z_out` clamped; in int64, offset so the shift is a division.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
from xdsl.dialects.builtin import TensorType, i32, i64
from xdsl.ir import Attribute, SSAValue

from lamina.parser.tflite_graph import ACTIVATION_BOUNDS, Converter, GraphBuilder
from lamina.parser.tflite_model import TENSOR_DTYPES, Operator, Tensor

FRACTION_BITS = 11
"""The resize weights' fraction bits."""

ONNX_INT32, ONNX_INT64 = 6, 7
ONNX_8_BIT = {np.dtype(np.int8): 3, np.dtype(np.uint8): 2}
"""numpy dtype -> ONNX's TensorProto element type, the `to` of a Cast."""


def _eight_bit(tensor: Tensor) -> bool:
    q = tensor.quantization
    return (
        q is not None
        and len(q.scale) == 1
        and TENSOR_DTYPES.get(tensor.type_code) in (np.int8, np.uint8)
    )


def _parameters(tensor: Tensor) -> tuple[np.float32, int]:
    q = tensor.quantization
    assert q is not None
    return np.float32(q.scale[0]), int(q.zero_point[0])


def _with(g: GraphBuilder, value: SSAValue, op_type: str, number: int, name: str) -> SSAValue:
    """`value` op_type a scalar constant of its element type."""
    return g.emit1(op_type, [value, g.scalar(number, value, name)], value.type)


def _widened(g: GraphBuilder, value: SSAValue, element: Attribute, to: int) -> SSAValue:
    shape = cast(TensorType[Attribute], value.type).get_shape()
    return g.emit1("Cast", [value], TensorType(element, shape), to=to)


def _floor_shift(g: GraphBuilder, acc: SSAValue, shift: int, lift: int) -> SSAValue:
    """acc >> shift (arithmetic) as a division of acc + 2^lift, which must be >= 0."""
    lifted = _with(g, acc, "Add", 1 << lift, "lift")
    return _with(g, _with(g, lifted, "Div", 1 << shift, "unit"), "Sub", 1 << (lift - shift), "lift")


def _clamped_8_bit(g: GraphBuilder, steps: SSAValue, out: Tensor, bounds: tuple[int, int]) -> None:
    """Define `out` as `steps` clamped to `bounds` and narrowed to its 8-bit type."""
    dtype = np.dtype(TENSOR_DTYPES[out.type_code])
    clamped = g.emit1("Clip", [steps, *(g.scalar(v, steps, "bound") for v in bounds)], steps.type)
    g.define(out, g.emit1("Cast", [clamped], g.type_of(out), to=ONNX_8_BIT[dtype]))


def _range(tensor: Tensor) -> tuple[int, int]:
    info = np.iinfo(TENSOR_DTYPES[tensor.type_code])
    return int(info.min), int(info.max)


# --- RESIZE_BILINEAR -------------------------------------------------------------------


def source_taps(
    in_size: int, out_size: int, *, align_corners: bool, half_pixel: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output index: the lower and upper input index and the upper one's 11-bit weight,
    computed in f32 as XNNPACK's `xnn_indirection_init_resize_bilinear2d_hwc_q11` does."""
    f32 = np.float32
    adjust = 1 if align_corners and out_size != 1 else 0
    scale = f32(in_size - adjust) / f32(out_size - adjust)
    offset = f32(0.5) * scale - f32(0.5)
    lower: list[int] = []
    upper: list[int] = []
    weight: list[int] = []
    for index in range(out_size):
        source = f32(index) * scale
        if half_pixel:
            source = min(max(source + offset, f32(0)), f32(in_size - 1))
        low = int(source)
        lower.append(low)
        upper.append(min(low + 1, in_size - 1))
        weight.append(int(np.rint((source - f32(low)) * f32(1 << FRACTION_BITS))))
    return np.array(lower, np.int64), np.array(upper, np.int64), np.array(weight, np.int32)


def _resizes_in_fixed_point(g: GraphBuilder, op: Operator) -> bool:
    """Both sides 8-bit and 4-D with the same parameters (as TFLite requires)."""
    x, out = g.tensor(op, 0), g.output(op)
    return (
        _eight_bit(x)
        and len(x.shape) == 4
        and x.type_code == out.type_code
        and x.quantization == out.quantization
        and not (op.options.get("AlignCorners") and op.options.get("HalfPixelCenters"))
    )


def resize_bilinear(g: GraphBuilder, op: Operator) -> None:
    x, out = g.tensor(op, 0), g.output(op)
    align, half = op.options.get("AlignCorners", False), op.options.get("HalfPixelCenters", False)
    dtype = np.dtype(TENSOR_DTYPES[x.type_code])
    offset = -int(np.iinfo(dtype).min)

    def blend(value: SSAValue, axis: int, size: int) -> SSAValue:
        in_size = cast(TensorType[Attribute], value.type).get_shape()[axis]
        low, high, weight = source_taps(in_size, size, align_corners=align, half_pixel=half)
        shape = list(cast(TensorType[Attribute], value.type).get_shape())
        shape[axis] = size
        result = TensorType(i32, shape)
        side = "row" if axis == 1 else "column"
        near = g.emit1("Gather", [value, g.ints(low.tolist(), f"{side}.lower")], result, axis=axis)
        far = g.emit1("Gather", [value, g.ints(high.tolist(), f"{side}.upper")], result, axis=axis)
        weights = g.constant(weight.reshape([size if d == axis else 1 for d in range(4)]),
                             f"{g.label}.{side}.weight")  # fmt: skip
        step = g.emit1("Mul", [g.emit1("Sub", [far, near], result), weights], result)
        return g.emit1("Add", [_with(g, near, "Mul", 1 << FRACTION_BITS, "one"), step], result)

    levels = _with(g, _widened(g, g.value(op, 0), i32, ONNX_INT32), "Add", offset, "offset")
    both = blend(blend(levels, 2, out.shape[2]), 1, out.shape[1])
    rounded = _with(g, both, "Add", 1 << (2 * FRACTION_BITS - 1), "rounding")
    levels = _with(
        g, _with(g, rounded, "Div", 1 << (2 * FRACTION_BITS), "unit"), "Sub", offset, "offset"
    )
    g.define(out, g.emit1("Cast", [levels], g.type_of(out), to=ONNX_8_BIT[dtype]))


# --- ADD / SUB ---------------------------------------------------------------------------


def add_multipliers(a: Tensor, b: Tensor, out: Tensor) -> tuple[int, int, int] | None:
    """XNNPACK's (a multiplier, b multiplier, shift) for out = a + b, None where its scale
    ratios are out of the kernel's range (then LiteRT does not run it in XNNPACK)."""
    (sa, _), (sb, _), (so, _) = _parameters(a), _parameters(b), _parameters(out)
    a_ratio, b_ratio = np.float32(sa / so), np.float32(sb / so)
    largest = max(a_ratio, b_ratio)
    if not 2.0**-10 <= largest < 2.0**8:
        return None
    exponent = int(np.array(largest, np.float32).view(np.uint32) >> 23) - 127
    shift = 20 - exponent
    return (
        int(np.rint(np.ldexp(a_ratio, shift))),
        int(np.rint(np.ldexp(b_ratio, shift))),
        shift,
    )


def _adds_in_fixed_point(g: GraphBuilder, op: Operator) -> bool:
    a, b, out = g.tensor(op, 0), g.tensor(op, 1), g.output(op)
    return (
        all(_eight_bit(t) for t in (a, b, out))
        and a.type_code == b.type_code == out.type_code
        and op.options.get("FusedActivationFunction", 0) in ACTIVATION_BOUNDS
        and add_multipliers(a, b, out) is not None
    )


def add(g: GraphBuilder, op: Operator, *, subtract: bool = False) -> None:
    a, b, out = g.tensor(op, 0), g.tensor(op, 1), g.output(op)
    multipliers = add_multipliers(a, b, out)
    assert multipliers is not None
    a_multiplier, b_multiplier, shift = multipliers
    b_multiplier = -b_multiplier if subtract else b_multiplier
    (_, za), (_, zb), (so, zo) = _parameters(a), _parameters(b), _parameters(out)
    bias = (1 << (shift - 1)) - (a_multiplier * za + b_multiplier * zb)
    # floor(acc / 2^shift) as a division of acc + 2^40 (>= 0), less 2^(40 - shift)
    terms = [
        _with(g, _widened(g, g.value(op, i), i64, ONNX_INT64), "Mul", m, f"multiplier{i}")
        for i, m in ((0, a_multiplier), (1, b_multiplier))
    ]
    acc = _with(g, g.emit1("Add", terms, TensorType(i64, out.shape)), "Add", bias, "bias")
    steps = _with(g, _floor_shift(g, acc, shift, lift=40), "Add", zo, "zero")
    (low, high), (smallest, largest) = (
        ACTIVATION_BOUNDS[op.options.get("FusedActivationFunction", 0)],
        _range(out),
    )
    _clamped_8_bit(
        g,
        steps,
        out,
        (
            smallest if low is None else max(smallest, zo + int(np.rint(low / so))),
            largest if high is None else min(largest, zo + int(np.rint(high / so))),
        ),
    )


# --- QUANTIZE (8-bit to the same 8-bit type) ----------------------------------------------


def requantize_multiplier(x: Tensor, out: Tensor) -> int | None:
    """XNNPACK's `cvt` multiplier lrint(256 * s_in / s_out), None where the ratio is out of
    the kernel's range [2^-8, 2^7]."""
    (sx, _), (so, _) = _parameters(x), _parameters(out)
    ratio = np.float32(sx / so)
    return int(np.rint(np.float32(256) * ratio)) if 2.0**-8 <= ratio <= 2.0**7 else None


def _requantizes_in_fixed_point(g: GraphBuilder, op: Operator) -> bool:
    x, out = g.tensor(op, 0), g.output(op)
    return (
        _eight_bit(x)
        and _eight_bit(out)
        and x.type_code == out.type_code
        and requantize_multiplier(x, out) is not None
    )


def requantize(g: GraphBuilder, op: Operator) -> None:
    """out = (q * m + (z_out << 8) - m * z_in + 128) >> 8, clamped (XNNPACK's `vcvt`)."""
    x, out = g.tensor(op, 0), g.output(op)
    multiplier = requantize_multiplier(x, out)
    assert multiplier is not None
    (_, zx), (_, zo) = _parameters(x), _parameters(out)
    scaled = _with(g, _widened(g, g.value(op, 0), i32, ONNX_INT32), "Mul", multiplier, "multiplier")
    acc = _with(g, scaled, "Add", (zo << 8) - multiplier * zx + 0x80, "bias")
    _clamped_8_bit(g, _floor_shift(g, acc, 8, lift=30), out, _range(out))


Applies = Callable[[GraphBuilder, Operator], bool]

INTEGER_KERNELS: dict[str, tuple[Applies, Converter]] = {
    "RESIZE_BILINEAR": (_resizes_in_fixed_point, resize_bilinear),
    "ADD": (_adds_in_fixed_point, add),
    "SUB": (_adds_in_fixed_point, lambda g, op: add(g, op, subtract=True)),
    "QUANTIZE": (_requantizes_in_fixed_point, requantize),
}
"""Operator name -> (whether LiteRT runs it in fixed point, the converter emitting that)."""
