"""f32 `math.exp` and `math.erf` as inline LLVM arithmetic, scalar or vector.

LLVM has no vector libm here: `llvm.exp.v16f32` becomes sixteen `expf` calls, `erf` a libm
call per lane, and a scalar loop of them does not vectorise. Both are the heart of SiLU /
Sigmoid, Softmax and the Erf form of Gelu, so f32 (and f32-lane vector) ones are emitted as
straight-line code that stays in vector registers (f64 keeps the intrinsic / libm call):

- exp (Cephes expf): x clamped to [-104, 89] (outside it the result has under- / overflowed
  to 0 / inf anyway), n = round(x log2 e) by the 1.5 * 2^23 trick (no floor, no float ->
  int conversion), r = x - n ln 2 in two parts (Cody-Waite), exp(r) by a degree-7 polynomial,
  times 2^n as two exponent-field powers 2^(n/2) 2^(n - n/2), so that n from -150 to 128
  under- and overflows gradually like the libm function. Within 2 ulp of exp on normal
  results; NaN passes through.
- erf (Eigen's rational approximation): x clamped to [-4, 4] (erf is +-1 in f32 beyond), an
  odd degree-13 polynomial over an even degree-8 one in x, clamped to [-1, 1]. Within 1e-6
  of erf, and 8 ulp of it on normal results; erf(-0) = -0; NaN passes through.

Only the `contract` flag (a multiply and add may fuse into an FMA, which rounds once: each
step here stays as exact or gets more so); no reassociation, which would break the rounding
trick and the Cody-Waite split.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import llvmlite.ir as ir
from xdsl.ir import Operation

from lamina.codegen.llvm_core import LLValue

if TYPE_CHECKING:
    from lamina.codegen.llvm_core import FunctionEmitter

_LOG2E = 1.44269504088896341
_LN2_HIGH = 0.693359375  # ln 2 = high + low; n * high is exact for |n| < 2^15
_LN2_LOW = -2.12194440e-4
_ROUNDING = 12582912.0  # 1.5 * 2^23: adding it rounds an f32 of magnitude < 2^22 to an integer
_ROUNDING_BITS = 0x4B400000  # its bit pattern: the integer sits in the low mantissa bits
_EXP_POLYNOMIAL = (
    1.9875691500e-4,
    1.3981999507e-3,
    8.3334519073e-3,
    4.1665795894e-2,
    1.6666665459e-1,
    5.0000001201e-1,
)
"""exp(r) = 1 + r + r^2 P(r) on [-ln2 / 2, ln2 / 2], P's coefficients highest first."""
_ERF_NUMERATOR = (
    -2.72614225801306e-10,
    2.77068142495902e-08,
    -2.10102402082508e-06,
    -5.69250639462346e-05,
    -7.34990630326855e-04,
    -2.95459980854025e-03,
    -1.60960333262415e-02,
)
"""erf(x) = x N(x^2) / D(x^2) on [-4, 4], the coefficients highest first."""
_ERF_DENOMINATOR = (
    -1.45660718464996e-05,
    -2.13374055278905e-04,
    -1.68282697438203e-03,
    -7.37332916720468e-03,
    -1.42647390514189e-02,
)


def emit_inline_math(e: FunctionEmitter, op: Operation) -> bool:
    """Emit `op` inline if it is an f32 (or f32-lane) math.exp / math.erf; False otherwise."""
    emit = _INLINE.get(op.name)
    if emit is None:
        return False
    x = e.get(op.operands[0])
    element = x.type.element if isinstance(x.type, ir.VectorType) else x.type
    if not isinstance(element, ir.FloatType):  # f32 only (llvmlite's DoubleType is another class)
        return False
    math = _Math(e.builder, x.type)
    e.set(op.results[0], math.keep_nan(x, emit(math, x)))
    return True


class _Math:
    """Splatted constants and the few instructions the expansions take, on one f32 type."""

    def __init__(self, builder: ir.IRBuilder, t: ir.Type) -> None:
        self.b = builder
        self.t = t
        count = t.count if isinstance(t, ir.VectorType) else None
        self.int_type: ir.Type = (
            ir.IntType(32) if count is None else ir.VectorType(ir.IntType(32), count)
        )

    def const(self, value: float) -> ir.Constant:
        return _splat(self.t, value)

    def int_const(self, value: int) -> ir.Constant:
        return _splat(self.int_type, value)

    def clamp(self, x: LLValue, low: float, high: float) -> LLValue:
        b = self.b
        above = b.select(b.fcmp_ordered("<", x, self.const(low)), self.const(low), x)
        return b.select(b.fcmp_ordered(">", above, self.const(high)), self.const(high), above)

    def mul(self, a: LLValue, b: LLValue) -> LLValue:
        return self._contracted("fmul", a, b)

    def add(self, a: LLValue, b: LLValue) -> LLValue:
        return self._contracted("fadd", a, b)

    def sub(self, a: LLValue, b: LLValue) -> LLValue:
        return self._contracted("fsub", a, b)

    def _contracted(self, instruction: str, a: LLValue, b: LLValue) -> LLValue:
        # llvmlite's binary-op decorator takes `flags`; the methods' own signatures omit it
        return getattr(self.b, instruction)(a, b, flags=("contract",))

    def polynomial(self, x: LLValue, coefficients: tuple[float, ...]) -> LLValue:
        """Horner's scheme, coefficients highest first."""
        value: LLValue = self.const(coefficients[0])
        for c in coefficients[1:]:
            value = self.add(self.mul(value, x), self.const(c))
        return value

    def power_of_two(self, n: LLValue) -> LLValue:
        """2^n for an i32 n in [-126, 127], by its exponent field."""
        biased = self.b.add(n, self.int_const(127))
        return self.b.bitcast(self.b.shl(biased, self.int_const(23)), self.t)

    def keep_nan(self, x: LLValue, result: LLValue) -> LLValue:
        return self.b.select(self.b.fcmp_unordered("uno", x, x), x, result)


def _exp(m: _Math, x: LLValue) -> LLValue:
    b = m.b
    x = m.clamp(x, -104.0, 89.0)
    shifted = m.add(m.mul(x, m.const(_LOG2E)), m.const(_ROUNDING))
    n = m.sub(shifted, m.const(_ROUNDING))
    r = m.sub(x, m.mul(n, m.const(_LN2_HIGH)))
    r = m.sub(r, m.mul(n, m.const(_LN2_LOW)))
    p = m.mul(m.polynomial(r, _EXP_POLYNOMIAL), m.mul(r, r))
    exp_r = m.add(m.add(p, r), m.const(1.0))
    n_int = b.sub(b.bitcast(shifted, m.int_type), m.int_const(_ROUNDING_BITS))
    half = b.ashr(n_int, m.int_const(1))
    scaled = m.mul(exp_r, m.power_of_two(half))
    return m.mul(scaled, m.power_of_two(b.sub(n_int, half)))


def _erf(m: _Math, x: LLValue) -> LLValue:
    x = m.clamp(x, -4.0, 4.0)
    square = m.mul(x, x)
    numerator = m.mul(x, m.polynomial(square, _ERF_NUMERATOR))
    ratio = m.b.fdiv(numerator, m.polynomial(square, _ERF_DENOMINATOR))
    return m.clamp(ratio, -1.0, 1.0)  # the ratio overshoots 1 by up to 2 ulp on [3.7, 4]


_INLINE = {"math.exp": _exp, "math.erf": _erf}


def _splat(t: ir.Type, value: float | int) -> ir.Constant:
    if isinstance(t, ir.VectorType):
        return ir.Constant(t, [ir.Constant(t.element, value)] * t.count)
    return ir.Constant(t, value)
