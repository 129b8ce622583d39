"""The scalar bodies of Mod and BitShift (opset 28), whose edge cases ONNX defines exactly.

    mod(x, y), fmod = 1:  x - trunc(x / y) y   (C fmod: the sign of x)
    mod(x, y), fmod = 0:  x - floor(x / y) y   (the sign of y; floats: ±0 takes y's sign)
    x << y, x >> y:       0 (or -1 for a signed right shift of a negative x) when y < 0
                          or y >= the bit width; signed right shifts are arithmetic

Each body works on signless values (`Body` reads unsigned types through `unsigned`).
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects import arith, math
from xdsl.ir import SSAValue

from lamina.lowering.graph_to_top_common import Body, integer_type

Attrs = dict[str, object]


def mod_body(b: Body, attrs: Attrs, xs: Sequence[SSAValue]) -> SSAValue:
    """Mod with `fmod` (1: the sign of the dividend; 0: the sign of the divisor)."""
    x, y = xs
    integer = integer_type(x.type) is not None
    if integer:
        rem = b.emit((arith.RemUIOp if b.unsigned else arith.RemSIOp)(x, y))
    else:  # x - trunc(x / y) y is NaN for y = 0 or x = ±inf, as C fmod; x for y = ±inf
        truncated = b.sub(x, b.mul(b.emit(math.TruncOp(b.div(x, y))), y))
        infinite = b.cmp("oeq", b.abs(y), b.like(float("inf"), y))
        rem = b.select(infinite, x, truncated)
    zero = b.like(0, rem)
    if not integer and attrs["fmod"]:  # a zero remainder takes x's sign, as C fmod's
        return b.select(b.cmp("oeq", rem, zero), b.emit(math.CopySignOp(zero, x)), rem)
    if attrs["fmod"] or b.unsigned:
        return rem
    signs_differ = b.emit(arith.XOrIOp(b.cmp("olt", rem, zero), b.cmp("olt", y, zero)))
    fix = b.emit(arith.AndIOp(signs_differ, b.cmp("une", rem, zero)))
    floored = b.select(fix, b.add(rem, y), rem)
    if integer:
        return floored
    signed_zero = b.emit(math.CopySignOp(zero, y))
    return b.select(b.cmp("oeq", rem, zero), signed_zero, floored)


def bit_shift_body(b: Body, attrs: Attrs, xs: Sequence[SSAValue]) -> SSAValue:
    """x shifted by y bits in `direction`, with ONNX's results for out-of-range shifts."""
    x, y = xs
    width = b.like(bit_width(x), y)
    in_range = b.emit(arith.CmpiOp(y, width, "ult"))  # unsigned: a negative y is out of range
    if attrs["direction"] == "RIGHT" and not b.unsigned:  # shifting by width - 1 fills the sign
        amount = b.select(in_range, y, b.like(bit_width(x) - 1, y))
        return b.emit(arith.ShRSIOp(x, amount))
    amount = b.select(in_range, y, b.like(0, y))
    shift = arith.ShLIOp if attrs["direction"] == "LEFT" else arith.ShRUIOp
    return b.select(in_range, b.emit(shift(x, amount)), b.like(0, x))


def bit_width(x: SSAValue) -> int:
    """The bit width of the integer value `x`."""
    integer = integer_type(x.type)
    assert integer is not None
    return integer.bitwidth
