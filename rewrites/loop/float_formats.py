"""Float formats LLVM has no type for, and their conversions to / from f32 as integer ops.

bf16, the float8 formats (E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ, E8M0FNU) and float4 E2M1 are
storage types: a value is its bit pattern in an integer of the same width (codegen stores
them as i16 / i8 / i4), and every conversion is built here from `arith` integer ops on the
f32 bit pattern, so every target (x86, AArch64, Hexagon, OpenCL) runs the same code.

f32 -> format rounds to nearest even and follows ONNX Cast without saturation (the caller
clamps first when saturating): a magnitude above the largest finite value becomes inf where
the format has one (bf16, E5M2), else NaN; float4 E2M1 (no inf, no NaN) saturates and maps
NaN to the zero of the other sign, as `ml_dtypes` does; E8M0 rounds up (ONNX `round_mode = "up"`), keeps
NaN / inf as NaN and drops the sign. format -> f32 is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from xdsl.dialects import arith
from xdsl.dialects.builtin import (
    BFloat16Type,
    Float4E2M1FNType,
    Float8E4M3FNType,
    Float8E4M3FNUZType,
    Float8E5M2FNUZType,
    Float8E5M2Type,
    Float8E8M0FNUType,
    Float16Type,
    FloatAttr,
    IntegerType,
    f32,
    i32,
)
from xdsl.ir import Attribute, Operation, SSAValue


class Overflow(Enum):
    """What a magnitude above the largest finite value becomes."""

    INF = "inf"
    NAN = "nan"
    SATURATE = "saturate"


@dataclass(frozen=True)
class FloatFormat:
    """A sign bit (none for E8M0), `exponent` bits with `bias`, `mantissa` bits.

    `max_code` is the largest finite magnitude's bit pattern (sign bit clear); `nan` the
    pattern of NaN (the sign bit is or-ed in unless `unsigned_zero`, whose formats have one
    NaN, `0x80`, and no -0); `ieee_specials` marks formats whose all-ones exponent is
    inf / NaN.
    """

    bits: int
    exponent: int
    mantissa: int
    bias: int
    max_code: int
    nan: int
    overflow: Overflow
    unsigned_zero: bool = False
    ieee_specials: bool = False

    @property
    def storage(self) -> IntegerType:
        return IntegerType(self.bits)

    @property
    def max_finite(self) -> float:
        """The largest finite value, the number `max_code` stands for."""
        exponent, mantissa = divmod(self.max_code, 1 << self.mantissa)
        return (1 + mantissa / (1 << self.mantissa)) * 2.0 ** (exponent - self.bias)


FORMATS: dict[type[Attribute], FloatFormat] = {
    BFloat16Type: FloatFormat(16, 8, 7, 127, 0x7F7F, 0x7FC0, Overflow.INF, ieee_specials=True),
    Float8E4M3FNType: FloatFormat(8, 4, 3, 7, 0x7E, 0x7F, Overflow.NAN),
    Float8E4M3FNUZType: FloatFormat(8, 4, 3, 8, 0x7F, 0x80, Overflow.NAN, unsigned_zero=True),
    Float8E5M2Type: FloatFormat(8, 5, 2, 15, 0x7B, 0x7E, Overflow.INF, ieee_specials=True),
    Float8E5M2FNUZType: FloatFormat(8, 5, 2, 16, 0x7F, 0x80, Overflow.NAN, unsigned_zero=True),
    Float4E2M1FNType: FloatFormat(4, 2, 1, 1, 0x7, 0x8, Overflow.SATURATE),
}
"""The storage formats with a sign bit; E8M0 (exponent only) has its own conversions."""

HALF = FloatFormat(16, 5, 10, 15, 0x7BFF, 0x7E00, Overflow.INF, ieee_specials=True)
"""IEEE f16, expanded like the storage formats for targets whose f16 <-> f32 conversions
are library calls (Hexagon: `__extendhfsf2`, which a freestanding program lacks)."""

E8M0 = Float8E8M0FNUType


def is_storage_float(t: Attribute) -> bool:
    """A float type that codegen keeps as its bit pattern in an integer."""
    return type(t) in FORMATS or isinstance(t, E8M0)


def storage_integer(t: Attribute) -> IntegerType:
    return IntegerType(8) if isinstance(t, E8M0) else _format(t).storage


def _format(t: Attribute) -> FloatFormat:
    return HALF if isinstance(t, Float16Type) else FORMATS[type(t)]


class BitBuilder:
    """Emits `arith` ops on i32 (and the storage integers) into `ops`, in order."""

    def __init__(self) -> None:
        self.ops: list[Operation] = []

    def emit(self, op: Operation) -> SSAValue:
        self.ops.append(op)
        return op.results[0]

    def const(self, value: int, t: IntegerType = i32) -> SSAValue:
        return self.emit(arith.ConstantOp.from_int_and_width(value, t, truncate_bits=True))

    def and_(self, a: SSAValue, mask: int) -> SSAValue:
        return self.emit(arith.AndIOp(a, self.const(mask)))

    def or_(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self.emit(arith.OrIOp(a, b))

    def shl(self, a: SSAValue, n: int) -> SSAValue:
        return self.emit(arith.ShLIOp(a, self.const(n))) if n else a

    def shr(self, a: SSAValue, n: int | SSAValue) -> SSAValue:
        amount = self.const(n) if isinstance(n, int) else n
        return self.emit(arith.ShRUIOp(a, amount))

    def add(self, a: SSAValue, b: SSAValue | int) -> SSAValue:
        return self.emit(arith.AddiOp(a, self.const(b) if isinstance(b, int) else b))

    def sub(self, a: SSAValue | int, b: SSAValue | int) -> SSAValue:
        if isinstance(a, SSAValue) and b == 0:
            return a
        left = self.const(a) if isinstance(a, int) else a
        return self.emit(arith.SubiOp(left, self.const(b) if isinstance(b, int) else b))

    def cmp(self, predicate: str, a: SSAValue, b: SSAValue | int) -> SSAValue:
        return self.emit(arith.CmpiOp(a, self.const(b) if isinstance(b, int) else b, predicate))

    def select(self, cond: SSAValue, a: SSAValue | int, b: SSAValue | int) -> SSAValue:
        left = self.const(a) if isinstance(a, int) else a
        return self.emit(arith.SelectOp(cond, left, self.const(b) if isinstance(b, int) else b))

    def shr_round_even(self, v: SSAValue, n: int | SSAValue) -> SSAValue:
        """v >> n rounded to nearest, ties to even (v >= 0, 1 <= n <= 31)."""
        amount = self.const(n) if isinstance(n, int) else n
        quotient = self.shr(v, amount)
        one = self.const(1)
        below = self.emit(arith.SubiOp(self.emit(arith.ShLIOp(one, amount)), one))
        rest = self.emit(arith.AndIOp(v, below))
        half = self.emit(arith.ShRUIOp(self.add(below, 1), one))
        odd = self.cmp("ne", self.and_(quotient, 1), 0)
        above = self.cmp("ugt", rest, half)
        tie_up = self.emit(arith.AndIOp(self.cmp("eq", rest, half), odd))
        up = self.emit(arith.ExtUIOp(self.emit(arith.OrIOp(above, tie_up)), i32))
        return self.add(quotient, up)

    def f32_bits(self, x: SSAValue) -> SSAValue:
        return self.emit(arith.BitcastOp(x, i32))

    def from_bits(self, bits: SSAValue, t: Attribute) -> SSAValue:
        return self.emit(arith.BitcastOp(bits, t))


def f32_to_format(b: BitBuilder, x: SSAValue, t: Attribute) -> SSAValue:
    """The f32 `x` rounded to the storage float type (or f16) `t` (a value of type `t`)."""
    if isinstance(t, E8M0):
        return _f32_to_e8m0(b, x)
    fmt = _format(t)
    u = b.f32_bits(x)
    sign = b.shr(u, 31)
    magnitude = b.and_(u, 0x7FFFFFFF)
    shift = 23 - fmt.mantissa
    code = b.shr_round_even(b.sub(magnitude, (127 - fmt.bias) << 23), shift)
    min_normal_exponent = 128 - fmt.bias  # f32 biased exponent of the format's min normal
    if min_normal_exponent > 1:  # the format's subnormals are f32 normals: shift further
        exponent = b.shr(magnitude, 23)
        significand = b.or_(b.and_(magnitude, 0x7FFFFF), b.const(0x800000))
        distance = b.sub(151 - fmt.bias - fmt.mantissa, exponent)
        far = b.select(b.cmp("ugt", distance, 31), 31, distance)
        subnormal = b.shr_round_even(significand, far)
        code = b.select(b.cmp("ult", exponent, min_normal_exponent), subnormal, code)
    too_big = b.cmp("ugt", code, fmt.max_code)
    overflow = {
        Overflow.INF: (fmt.max_code + 1),
        Overflow.NAN: fmt.nan,
        Overflow.SATURATE: fmt.max_code,
    }[fmt.overflow]
    code = b.select(too_big, overflow, code)
    signed = b.or_(b.shl(sign, fmt.bits - 1), code)
    if fmt.unsigned_zero:  # no -0; the one NaN has the sign bit only
        signed = b.select(b.cmp("eq", code, 0), 0, signed)
        signed = b.select(b.cmp("eq", code, fmt.nan), fmt.nan, signed)
    is_nan = b.cmp("ugt", magnitude, 0x7F800000)
    nan = b.const(fmt.nan) if fmt.unsigned_zero else _nan_with_sign(b, fmt, sign)
    result = b.select(is_nan, nan, signed)
    return b.from_bits(b.emit(arith.TruncIOp(result, fmt.storage)), t)


def _nan_with_sign(b: BitBuilder, fmt: FloatFormat, sign: SSAValue) -> SSAValue:
    signed = b.shl(sign, fmt.bits - 1)
    if fmt.overflow is Overflow.SATURATE:  # no NaN: ml_dtypes gives a zero of the other sign
        return b.emit(arith.XOrIOp(signed, b.const(fmt.nan)))
    return b.or_(signed, b.const(fmt.nan))


def format_to_f32(b: BitBuilder, x: SSAValue, t: Attribute) -> SSAValue:
    """The storage float (or f16) `x` of type `t` as an f32 (exact)."""
    raw = b.emit(arith.BitcastOp(x, storage_integer(t)))
    bits = b.emit(arith.ExtUIOp(raw, i32))
    if isinstance(t, E8M0):
        return _e8m0_to_f32(b, bits)
    fmt = _format(t)
    if isinstance(t, BFloat16Type):
        return b.from_bits(b.shl(bits, 16), f32)
    sign = b.shl(b.shr(bits, fmt.bits - 1), 31)
    code = b.and_(bits, (1 << (fmt.bits - 1)) - 1)
    exponent = b.shr(code, fmt.mantissa)
    mantissa = b.and_(code, (1 << fmt.mantissa) - 1)
    normal = b.add(b.shl(code, 23 - fmt.mantissa), (127 - fmt.bias) << 23)
    # a subnormal is mantissa * 2^(1 - bias - mantissa bits): exact in f32 arithmetic
    scale = arith.ConstantOp(FloatAttr(2.0 ** (1 - fmt.bias - fmt.mantissa), f32))
    tiny = b.emit(arith.MulfOp(b.emit(arith.UIToFPOp(mantissa, f32)), b.emit(scale)))
    magnitude = b.select(b.cmp("eq", exponent, 0), b.f32_bits(tiny), normal)
    if fmt.ieee_specials:
        all_ones = (1 << fmt.exponent) - 1
        special = b.or_(b.const(0x7F800000), b.shl(mantissa, 23 - fmt.mantissa))
        magnitude = b.select(b.cmp("eq", exponent, all_ones), special, magnitude)
    result = b.or_(sign, magnitude)
    nan_code = fmt.nan if fmt.unsigned_zero else fmt.nan & ~(1 << (fmt.bits - 1))
    is_nan = b.cmp("eq", bits if fmt.unsigned_zero else code, nan_code)
    if fmt.overflow is not Overflow.SATURATE and not fmt.ieee_specials:
        result = b.select(is_nan, 0x7FC00000, result)
    return b.from_bits(result, f32)


def _f32_to_e8m0(b: BitBuilder, x: SSAValue) -> SSAValue:
    """2^ceil(log2 |x|) as its biased exponent (saturating at 2^127); NaN / inf -> 0xFF."""
    u = b.f32_bits(x)
    exponent = b.and_(b.shr(u, 23), 0xFF)
    inexact = b.cmp("ne", b.and_(u, 0x7FFFFF), 0)
    below_max = b.cmp("ult", exponent, 0xFE)
    up = b.emit(arith.ExtUIOp(b.emit(arith.AndIOp(inexact, below_max)), i32))
    rounded = b.select(b.cmp("eq", exponent, 0xFF), 0xFF, b.add(exponent, up))
    return b.from_bits(b.emit(arith.TruncIOp(rounded, IntegerType(8))), E8M0())


def _e8m0_to_f32(b: BitBuilder, bits: SSAValue) -> SSAValue:
    """2^(bits - 127); 0 is the f32 subnormal 2^-127, 0xFF is NaN."""
    power = b.shl(bits, 23)
    power = b.select(b.cmp("eq", bits, 0), 0x400000, power)
    return b.from_bits(b.select(b.cmp("eq", bits, 0xFF), 0x7FC00000, power), f32)
