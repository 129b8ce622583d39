"""The scalar body of ONNX Cast / CastLike beyond plain `arith` conversions.

    cast(x : f32 -> f8E4M3FN, saturate = 1)  ->  truncf(clamp(x, -448, 448))
    cast(x : f32 -> i4)                      ->  trunci(fptosi(-9 < x < 8 ? x : 0))

Saturation (ONNX: float8 targets, `saturate = 1`) clamps to the largest finite value
before rounding (NaN stays NaN); without it the truncf overflows to inf or NaN as the format
says (`loop-expand-float-formats` implements the rounding). A float cast to a sub-byte
integer (int4, uint4, int2, uint2) truncates toward zero and gives 0 out of range, as
ONNX's reference (`ml_dtypes`) does.

f16 and bf16 are storage types for the other elementwise ops: `computed_in_f32` widens the
operands, computes the op's formula in f32 and rounds its result once, as onnxruntime and
ONNX's reference do (rounding after every step of a formula such as Elu's
`alpha * (exp(x) - 1)` is off by an ulp).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

from xdsl.dialects import arith
from xdsl.dialects.builtin import (
    AnySignlessIntegerType,
    BFloat16Type,
    Float8E8M0FNUType,
    Float16Type,
    IntegerType,
    Signedness,
    f32,
    i32,
)
from xdsl.ir import Attribute, SSAValue

from lamina.lowering.graph_to_top_common import Body, Emitter
from lamina.rewrites.loop.float_formats import FORMATS

SATURATING_MAX: dict[type[Attribute], float] = {
    t: fmt.max_finite for t, fmt in FORMATS.items() if fmt.bits == 8
}
"""The float8 formats ONNX Cast saturates into, and their largest finite value (448 for
E4M3FN, 240 for E4M3FNUZ, 57344 for E5M2 / E5M2FNUZ); E8M0 always saturates."""


def saturate_for(x: SSAValue, dst: Attribute, saturate: bool) -> SSAValue | None:
    """None unless casting `x` to `dst` must clamp first."""
    return x if saturate and type(dst) in SATURATING_MAX and x.type != dst else None


def clamp_to_format(b: Body, x: SSAValue, dst: Attribute) -> SSAValue:
    """x clamped to [-max, max] of the float8 `dst`; NaN stays NaN. The explicit NaN
    select is needed: targets turn compare-and-select clamps into min / max instructions
    that drop NaN (OpenCL's fmin, Hexagon's sfmin)."""
    high, low = b.like(SATURATING_MAX[type(dst)], x), b.like(-SATURATING_MAX[type(dst)], x)
    below = b.select(b.cmp("ogt", x, high), high, x)
    clamped = b.select(b.cmp("olt", below, low), low, below)
    return b.select(b.cmp("uno", x, x), x, clamped)


def check_cast_attributes(e: Emitter, attrs: dict[str, object], dst: Attribute) -> None:
    """E8M0 is generated saturating and rounding up (ONNX's defaults) only."""
    if not isinstance(dst, Float8E8M0FNUType):
        return
    saturate, round_mode = attrs.get("saturate"), attrs.get("round_mode")
    if saturate is not None and not saturate:
        raise e.fail("Cast to FLOAT8E8M0 with saturate = 0")
    if round_mode is not None and str(round_mode) not in ("up", '"up"'):
        raise e.fail(f"Cast to FLOAT8E8M0 with round_mode {round_mode}")


def is_sub_byte_integer(t: Attribute) -> bool:
    return isinstance(t, IntegerType) and 1 < t.bitwidth < 8


def float_to_sub_byte(b: Body, x: SSAValue, dst: Attribute) -> SSAValue:
    """trunc(x) as the (signless) sub-byte integer `dst` when it fits, else 0 (NaN, inf)."""
    integer = cast(IntegerType[int, Signedness], dst)
    bits = integer.bitwidth
    unsigned = integer.signedness.data == Signedness.UNSIGNED
    low, high = (0, (1 << bits) - 1) if unsigned else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    above = b.cmp("ogt", x, b.like(low - 1, x))
    below = b.cmp("olt", x, b.like(high + 1, x))
    safe = b.select(b.emit(arith.AndIOp(above, below)), x, b.like(0, x))
    whole = b.emit(arith.FPToSIOp(safe, i32))
    return b.emit(arith.TruncIOp(whole, cast(AnySignlessIntegerType, IntegerType(bits))))


def is_half_float(t: Attribute) -> bool:
    return isinstance(t, Float16Type | BFloat16Type)


def computed_in_f32(
    b: Body,
    xs: Sequence[SSAValue],
    result: Attribute,
    formula: Callable[[Sequence[SSAValue]], SSAValue],
) -> SSAValue:
    """`formula` on `xs` with f16 / bf16 operands widened to f32; a float result of the
    f32 formula is rounded to `result` once."""
    wide = [b.emit(arith.ExtFOp(x, f32)) if is_half_float(x.type) else x for x in xs]
    value = formula(wide)
    if is_half_float(result) and value.type == f32:
        return b.emit(arith.TruncFOp(value, result))
    return value
