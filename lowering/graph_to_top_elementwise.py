"""Elementwise graph ops -> one all-parallel `top.generic` each, inputs broadcast like numpy.

Each entry of `ELEMENTWISE` builds the scalar body from the op's ONNX attributes and the
input elements; the comment says the formula.
"""

from __future__ import annotations

import math as pymath
from collections.abc import Callable, Sequence
from functools import reduce
from typing import ClassVar, cast

from xdsl.dialects import arith, math
from xdsl.dialects.builtin import AnyFloat, AnySignlessIntegerType, IntegerType, f32, f64
from xdsl.ir import Attribute, Operation, SSAValue

from lamina.dialects import graph
from lamina.lowering.graph_to_top_cast import (
    check_cast_attributes,
    clamp_to_format,
    computed_in_f32,
    float_to_sub_byte,
    is_sub_byte_integer,
    saturate_for,
)
from lamina.lowering.graph_to_top_common import (
    Body,
    Emitter,
    GraphLowering,
    elt_of,
    integer_type,
    is_none,
    is_unsigned,
)
from lamina.lowering.graph_to_top_mod_shift import bit_shift_body, mod_body

Attrs = dict[str, object]
ScalarFn = Callable[[Body, Attrs, Sequence[SSAValue]], SSAValue]


def _f(attrs: Attrs, name: str) -> float:
    return float(cast(float, attrs[name]))


def _relu(b: Body, x: SSAValue) -> SSAValue:
    return b.max(x, b.like(0, x))


def _softplus(b: Body, x: SSAValue) -> SSAValue:
    """log(exp(x) + 1) as max(x, 0) + log(exp(-|x|) + 1): exp(x) overflows to inf for
    x > 88.7 in f32, exp(-|x|) never exceeds 1."""
    tail = b.log(b.add(b.exp(b.neg(b.abs(x))), b.like(1, x)))
    return b.add(b.max(x, b.like(0, x)), tail)


def _clamp01(b: Body, x: SSAValue) -> SSAValue:
    return b.max(b.like(0, x), b.min(b.like(1, x), x))


def _where_negative(b: Body, x: SSAValue, negative: SSAValue) -> SSAValue:
    return b.select(b.cmp("olt", x, b.like(0, x)), negative, x)


def _gelu(b: Body, attrs: Attrs, x: SSAValue) -> SSAValue:
    if attrs["approximate"] == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = b.mul(b.mul(x, x), x)
        inner = b.add(x, b.mul(b.like(0.044715, x), cube))
        t = b.tanh(b.mul(b.like(pymath.sqrt(2 / pymath.pi), x), inner))
    else:  # 0.5 x (1 + erf(x / sqrt(2)))
        t = b.erf(b.mul(x, b.like(1 / pymath.sqrt(2), x)))
    return b.mul(b.mul(b.like(0.5, x), x), b.add(b.like(1, x), t))


def _sign(b: Body, x: SSAValue) -> SSAValue:
    zero = b.like(0, x)
    negative = b.select(b.cmp("olt", x, zero), b.like(-1, x), zero)
    return b.select(b.cmp("ogt", x, zero), b.like(1, x), negative)


def convert(b: Body, x: SSAValue, dst: Attribute, saturate: bool = False) -> SSAValue:
    """x converted to `dst` like ONNX Cast (float -> int truncates, -> bool is != 0; float8
    saturation and sub-byte integers as in `graph_to_top_cast`)."""
    src: Attribute = x.type
    if src == dst:
        return x
    if saturate_for(x, dst, saturate):  # integers clamp as f32 (exact below 2^24)
        wide = convert(b, x, f32) if isinstance(src, IntegerType) else x
        return convert(b, clamp_to_format(b, wide, dst), dst)
    if isinstance(dst, IntegerType) and dst.bitwidth == 1:
        return b.cmp("une", x, b.like(0, x))
    if isinstance(src, IntegerType) and src.bitwidth == 1:
        if isinstance(dst, IntegerType):
            return b.emit(arith.ExtUIOp(x, cast(AnySignlessIntegerType, dst)))
        return b.emit(arith.UIToFPOp(x, cast(AnyFloat, dst)))
    if isinstance(src, IntegerType) and isinstance(dst, IntegerType):
        if dst.bitwidth > src.bitwidth:
            extend = arith.ExtUIOp if b.unsigned else arith.ExtSIOp
            return b.emit(extend(x, cast(AnySignlessIntegerType, dst)))
        return b.emit(arith.TruncIOp(x, cast(AnySignlessIntegerType, dst)))
    if isinstance(src, IntegerType):
        to_float = arith.UIToFPOp if b.unsigned else arith.SIToFPOp
        return b.emit(to_float(x, cast(AnyFloat, dst)))
    if is_sub_byte_integer(cast(Attribute, dst)):
        return float_to_sub_byte(b, x, cast(Attribute, dst))
    if isinstance(dst, IntegerType):
        return b.emit(arith.FPToSIOp(x, cast(AnySignlessIntegerType, dst)))
    if cast(AnyFloat, dst).bitwidth > cast(AnyFloat, src).bitwidth:
        return b.emit(arith.ExtFOp(x, cast(AnyFloat, dst)))
    return b.emit(arith.TruncFOp(x, cast(AnyFloat, dst)))


def _cast(b: Body, a: Attrs, x: SSAValue) -> SSAValue:
    saturate = a.get("saturate")
    return convert(b, x, cast(Attribute, a["_to"]), saturate is None or bool(saturate))


def bit_cast(b: Body, x: SSAValue, dst: Attribute) -> SSAValue:
    """x's bits read as `dst` (signless, same width; ONNX bool is a byte of 0 or 1)."""
    src, to = integer_type(x.type), integer_type(dst)
    if to is not None and to.bitwidth == 1:
        return b.cmp("une", x, b.like(0, x))
    if src is not None and src.bitwidth == 1:
        return b.emit(arith.ExtUIOp(x, cast(AnySignlessIntegerType, dst)))
    return b.cast_to(x, dst)


def _signless(t: Attribute) -> Attribute:
    """An integer type without its signedness (arith's view of it); other types as is."""
    integer = integer_type(t)
    return t if integer is None else IntegerType(integer.bitwidth)


def _swish(b: Body, alpha: float, x: SSAValue) -> SSAValue:
    """x sigmoid(alpha x) = x / (1 + exp(-alpha x))."""
    gate = b.add(b.like(1, x), b.exp(b.neg(b.mul(b.like(alpha, x), x))))
    return b.div(x, gate)


def _pow(b: Body, x: SSAValue, y: SSAValue) -> SSAValue:
    """x ** y; an integer x is raised in f64 and truncated back, as onnxruntime does."""
    integer = integer_type(x.type)
    if integer is None:
        return b.pow(x, convert(b, y, x.type))
    wide = b.pow(convert(b, x, f64), convert(b, y, f64))
    return convert(b, wide, integer)


def _math(op: Callable[[SSAValue], Operation]) -> ScalarFn:
    return lambda b, a, xs: b.emit(op(xs[0]))


def _fold(combine: Callable[[Body, SSAValue, SSAValue], SSAValue]) -> ScalarFn:
    return lambda b, a, xs: reduce(lambda acc, x: combine(b, acc, x), xs[1:], xs[0])


def _compare(predicate: str) -> ScalarFn:
    return lambda b, a, xs: b.cmp(predicate, xs[0], xs[1])


def _mean(b: Body, a: Attrs, xs: Sequence[SSAValue]) -> SSAValue:
    total = reduce(b.add, xs[1:], xs[0])
    return b.div(total, b.like(len(xs), total))


def _clip(b: Body, a: Attrs, xs: Sequence[SSAValue]) -> SSAValue:
    x, *bounds = xs  # the bounds present, in order; `_BOUNDS` records which they are
    low, high = (None, None) if a.get("_bounds") is None else cast(tuple[int, int], a["_bounds"])
    if low is not None:
        x = b.max(x, bounds[low])
    if high is not None:
        x = b.min(x, bounds[high])
    return x


ELEMENTWISE: dict[type[Operation], ScalarFn] = {
    graph.ReluOp: lambda b, a, xs: _relu(b, xs[0]),  # max(x, 0)
    graph.SigmoidOp: lambda b, a, xs: b.div(  # 1 / (1 + exp(-x))
        b.like(1, xs[0]), b.add(b.like(1, xs[0]), b.exp(b.neg(xs[0])))
    ),
    graph.TanhOp: _math(math.TanhOp),
    graph.ExpOp: _math(math.ExpOp),
    graph.LogOp: _math(math.LogOp),
    graph.SqrtOp: _math(math.SqrtOp),
    graph.ErfOp: _math(math.ErfOp),
    graph.FloorOp: _math(math.FloorOp),
    graph.CeilOp: _math(math.CeilOp),
    graph.RoundOp: _math(math.RoundEvenOp),  # ONNX rounds half to even
    graph.SinOp: _math(math.SinOp),
    graph.CosOp: _math(math.CosOp),
    graph.NegOp: lambda b, a, xs: b.neg(xs[0]),
    graph.AbsOp: lambda b, a, xs: b.abs(xs[0]),
    graph.SignOp: lambda b, a, xs: _sign(b, xs[0]),
    graph.ReciprocalOp: lambda b, a, xs: b.div(b.like(1, xs[0]), xs[0]),  # 1 / x
    graph.LeakyReluOp: lambda b, a, xs: _where_negative(  # x < 0 ? alpha x : x
        b, xs[0], b.mul(b.like(_f(a, "alpha"), xs[0]), xs[0])
    ),
    graph.PReluOp: lambda b, a, xs: _where_negative(b, xs[0], b.mul(xs[1], xs[0])),
    graph.EluOp: lambda b, a, xs: _where_negative(  # x < 0 ? alpha (exp(x) - 1) : x
        b, xs[0], b.mul(b.like(_f(a, "alpha"), xs[0]), b.sub(b.exp(xs[0]), b.like(1, xs[0])))
    ),
    graph.SeluOp: lambda b, a, xs: b.mul(  # gamma (x < 0 ? alpha (exp(x) - 1) : x)
        b.like(_f(a, "gamma"), xs[0]),
        _where_negative(
            b,
            xs[0],
            b.mul(b.like(_f(a, "alpha"), xs[0]), b.sub(b.exp(xs[0]), b.like(1, xs[0]))),
        ),
    ),
    graph.CeluOp: lambda b, a, xs: b.add(  # max(0, x) + min(0, alpha (exp(x / alpha) - 1))
        _relu(b, xs[0]),
        b.min(
            b.like(0, xs[0]),
            b.mul(
                b.like(_f(a, "alpha"), xs[0]),
                b.sub(
                    b.exp(b.div(xs[0], b.like(_f(a, "alpha"), xs[0]))),
                    b.like(1, xs[0]),
                ),
            ),
        ),
    ),
    graph.HardSigmoidOp: lambda b, a, xs: _clamp01(  # clamp(alpha x + beta, 0, 1)
        b, b.add(b.mul(b.like(_f(a, "alpha"), xs[0]), xs[0]), b.like(_f(a, "beta"), xs[0]))
    ),
    graph.HardSwishOp: lambda b, a, xs: b.mul(  # x clamp(x / 6 + 0.5, 0, 1)
        xs[0], _clamp01(b, b.add(b.mul(b.like(1 / 6, xs[0]), xs[0]), b.like(0.5, xs[0])))
    ),
    graph.GeluOp: lambda b, a, xs: _gelu(b, a, xs[0]),
    graph.SoftplusOp: lambda b, a, xs: _softplus(b, xs[0]),
    graph.SoftsignOp: lambda b, a, xs: b.div(  # x / (1 + |x|)
        xs[0], b.add(b.like(1, xs[0]), b.abs(xs[0]))
    ),
    graph.MishOp: lambda b, a, xs: b.mul(xs[0], b.tanh(_softplus(b, xs[0]))),
    graph.SwishOp: lambda b, a, xs: _swish(b, _f(a, "alpha"), xs[0]),
    graph.SwiGLUOp: lambda b, a, xs: b.mul(_swish(b, _f(a, "alpha"), xs[0]), xs[1]),
    graph.AddOp: lambda b, a, xs: b.add(xs[0], xs[1]),
    graph.SubOp: lambda b, a, xs: b.sub(xs[0], xs[1]),
    graph.MulOp: lambda b, a, xs: b.mul(xs[0], xs[1]),
    graph.DivOp: lambda b, a, xs: b.div(xs[0], xs[1]),
    graph.PowOp: lambda b, a, xs: _pow(b, xs[0], xs[1]),
    graph.SumOp: _fold(Body.add),
    graph.MaxOp: _fold(Body.max),
    graph.MinOp: _fold(Body.min),
    graph.MeanOp: _mean,
    graph.EqualOp: _compare("oeq"),
    graph.LessOp: _compare("olt"),
    graph.LessOrEqualOp: _compare("ole"),
    graph.GreaterOp: _compare("ogt"),
    graph.GreaterOrEqualOp: _compare("oge"),
    graph.AndOp: lambda b, a, xs: b.emit(arith.AndIOp(xs[0], xs[1])),
    graph.OrOp: lambda b, a, xs: b.emit(arith.OrIOp(xs[0], xs[1])),
    graph.XorOp: lambda b, a, xs: b.emit(arith.XOrIOp(xs[0], xs[1])),
    graph.NotOp: lambda b, a, xs: b.emit(arith.XOrIOp(xs[0], b.like(1, xs[0]))),
    graph.WhereOp: lambda b, a, xs: b.select(xs[0], xs[1], xs[2]),
    graph.ModOp: mod_body,
    graph.BitShiftOp: bit_shift_body,
    graph.ClipOp: _clip,
    graph.CastOp: lambda b, a, xs: _cast(b, a, xs[0]),
    graph.CastLikeOp: lambda b, a, xs: _cast(b, a, xs[0]),
    graph.BitCastOp: lambda b, a, xs: bit_cast(b, xs[0], cast(Attribute, a["_to"])),
}


_INTEGER_OK = {
    graph.ReluOp, graph.NegOp, graph.AbsOp, graph.SignOp, graph.AddOp, graph.SubOp,
    graph.MulOp, graph.DivOp, graph.SumOp, graph.MaxOp, graph.MinOp, graph.MeanOp,
    graph.EqualOp, graph.LessOp, graph.LessOrEqualOp, graph.GreaterOp,
    graph.GreaterOrEqualOp, graph.AndOp, graph.OrOp, graph.XorOp, graph.NotOp,
    graph.WhereOp, graph.ModOp, graph.BitShiftOp, graph.ClipOp, graph.CastOp, graph.CastLikeOp,
    graph.BitCastOp,
    graph.PowOp,
}  # fmt: skip
"""Ops whose formula has an integer form; the others (exp, erf, pow, ...) need floats."""


class ElementwiseLowering(GraphLowering):
    """`graph.<op>(a, b, ...)  ->  top.generic` with the body of `ELEMENTWISE[<op>]`."""

    source: ClassVar[tuple[type[Operation], ...]] = tuple(ELEMENTWISE)
    dynamic_dims = True
    table: ClassVar[dict[type[Operation], ScalarFn]] = ELEMENTWISE
    integer_ok: ClassVar[frozenset[type[Operation]]] = frozenset(_INTEGER_OK)
    """Ops whose formula has an integer form."""

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        result_type = e.static_result()
        attrs = e.attrs()
        inputs = [v for v in op.operands if not is_none(v)]
        if isinstance(op, graph.ClipOp):
            present = [not is_none(v) for v in op.operands[1:]]
            low = 0 if present[0] else None
            high = (1 if present[0] else 0) if present[1] else None
            attrs["_bounds"] = (low, high)
        if isinstance(op, graph.CastLikeOp):
            inputs = inputs[:1]
        if isinstance(op, graph.CastOp | graph.CastLikeOp):
            attrs["_to"] = result_type.get_element_type()
            check_cast_attributes(e, attrs, attrs["_to"])
        if isinstance(op, graph.BitCastOp):
            attrs["_to"] = _signless(result_type.get_element_type())
        for value in inputs:
            e.static(value)
        for value in inputs:
            if type(op) not in self.integer_ok and isinstance(elt_of(value), IntegerType):
                raise e.fail(f"integer operand {value.type}")
        body = self.table[type(op)]
        unsigned = any(is_unsigned(elt_of(v)) for v in inputs)
        element = result_type.get_element_type()

        def build(b: Body, xs: Sequence[SSAValue]) -> SSAValue:
            signless = [b.signless(x) for x in xs]
            if isinstance(op, graph.CastOp | graph.CastLikeOp):
                value = body(b, attrs, signless)
            else:
                value = computed_in_f32(b, signless, element, lambda ws: body(b, attrs, ws))
            return b.cast_to(value, element) if is_unsigned(element) else value

        return [e.generic(inputs, result_type, build, unsigned=unsigned)]
