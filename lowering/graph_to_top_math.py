"""More elementwise graph ops -> one all-parallel `top.generic` each: inverse and hyperbolic
trigonometry, bitwise ops, IsInf / IsNaN, Shrink and ThresholdedRelu; the signal windows
(Hann, Hamming, Blackman) of a constant size become constants; Det of small matrices is
the Leibniz sum.

Every formula is built from ops that every back end has (exp, log, sqrt, sin, cos, abs,
divide, select): LLVM has no intrinsic for atan, asinh, ... on every target, and OpenCL C
and Hexagon have no libm to call. atan is Cephes' atanf: two range reductions
(|x| > tan(3 pi / 8): pi / 2 + atan(-1 / |x|); |x| > tan(pi / 8): pi / 4 +
atan((|x| - 1) / (|x| + 1))) and an odd polynomial of degree 9, within a few ulp in f32; the
other inverse functions go through it or through log.
"""

from __future__ import annotations

import itertools
import math as pymath
from collections.abc import Sequence
from functools import reduce
from typing import ClassVar, cast

import numpy as np
from xdsl.dialects import arith, math
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineMap

from lamina.dialects import graph
from lamina.dialects.weights import numpy_dtype
from lamina.lowering.graph_to_top_common import Body, Emitter, GraphLowering, elt_of
from lamina.lowering.graph_to_top_elementwise import ElementwiseLowering, ScalarFn

Attrs = dict[str, object]

_ATAN_POLY = (8.05374449538e-2, -1.38776856032e-1, 1.99777106478e-1, -3.33329491539e-1)
"""Cephes atanf: atan(r) = r + r z P(z), z = r^2, |r| <= tan(pi / 8); P by Horner."""


def _f(attrs: Attrs, name: str) -> float:
    return float(cast(float, attrs[name]))


def _odd(b: Body, x: SSAValue, magnitude: SSAValue) -> SSAValue:
    """`magnitude` with the sign of `x` (for odd functions computed on |x|)."""
    return b.select(b.cmp("olt", x, b.like(0, x)), b.neg(magnitude), magnitude)


def atan(b: Body, x: SSAValue) -> SSAValue:
    """atan(x) by Cephes' range reduction and polynomial (see the module doc)."""
    t = b.abs(x)
    one = b.like(1, t)
    big = b.cmp("ogt", t, b.like(2.414213562373095, t))
    mid = b.cmp("ogt", t, b.like(0.4142135623730950, t))
    r_big = b.div(b.like(-1, t), t)
    r_mid = b.div(b.sub(t, one), b.add(t, one))
    r = b.select(big, r_big, b.select(mid, r_mid, t))
    quarter = b.select(mid, b.like(pymath.pi / 4, t), b.like(0, t))
    base = b.select(big, b.like(pymath.pi / 2, t), quarter)
    z = b.mul(r, r)
    p = b.like(_ATAN_POLY[0], t)
    for c in _ATAN_POLY[1:]:
        p = b.add(b.mul(p, z), b.like(c, t))
    y = b.add(base, b.add(b.mul(b.mul(p, z), r), r))
    return _odd(b, x, y)


def _acos_of_magnitude(b: Body, t: SSAValue) -> SSAValue:
    """acos(t) = 2 atan(sqrt((1 - t) / (1 + t))) for t >= 0: no cancellation near t = 1
    and no infinity (OpenCL builds with relaxed math)."""
    one = b.like(1, t)
    return b.mul(b.like(2, t), atan(b, b.sqrt(b.div(b.sub(one, t), b.add(one, t)))))


def asin(b: Body, x: SSAValue) -> SSAValue:
    """asin(x) = atan(x / sqrt(1 - x^2)) for |x| <= 1/2, else sign(x) (pi / 2 - acos(|x|))."""
    t = b.abs(x)
    one = b.like(1, x)
    small = atan(b, b.div(x, b.sqrt(b.mul(b.sub(one, x), b.add(one, x)))))
    large = _odd(b, x, b.sub(b.like(pymath.pi / 2, x), _acos_of_magnitude(b, t)))
    return b.select(b.cmp("ole", t, b.like(0.5, t)), small, large)


def acos(b: Body, x: SSAValue) -> SSAValue:
    """acos(|x|) for x >= 0, pi - acos(|x|) below."""
    positive = _acos_of_magnitude(b, b.abs(x))
    negative = b.sub(b.like(pymath.pi, x), positive)
    return b.select(b.cmp("olt", x, b.like(0, x)), negative, positive)


def asinh(b: Body, x: SSAValue) -> SSAValue:
    """asinh(x) = sign(x) log(|x| + sqrt(x^2 + 1)) (on |x|: no cancellation for x < 0)."""
    t = b.abs(x)
    root = b.sqrt(b.add(b.mul(t, t), b.like(1, t)))
    return _odd(b, x, b.log(b.add(t, root)))


def acosh(b: Body, x: SSAValue) -> SSAValue:
    """acosh(x) = log(x + sqrt((x - 1)(x + 1))); nan below 1."""
    one = b.like(1, x)
    return b.log(b.add(x, b.sqrt(b.mul(b.sub(x, one), b.add(x, one)))))


def atanh(b: Body, x: SSAValue) -> SSAValue:
    """atanh(x) = log((1 + x) / (1 - x)) / 2."""
    one = b.like(1, x)
    return b.mul(b.like(0.5, x), b.log(b.div(b.add(one, x), b.sub(one, x))))


def _exp_pair(b: Body, x: SSAValue) -> tuple[SSAValue, SSAValue]:
    return b.exp(x), b.exp(b.neg(x))


def sinh(b: Body, x: SSAValue) -> SSAValue:
    """(exp(x) - exp(-x)) / 2."""
    up, down = _exp_pair(b, x)
    return b.mul(b.like(0.5, x), b.sub(up, down))


def cosh(b: Body, x: SSAValue) -> SSAValue:
    """(exp(x) + exp(-x)) / 2."""
    up, down = _exp_pair(b, x)
    return b.mul(b.like(0.5, x), b.add(up, down))


def tan(b: Body, x: SSAValue) -> SSAValue:
    """sin(x) / cos(x)."""
    return b.div(b.emit(math.SinOp(x)), b.emit(math.CosOp(x)))


def _is_inf(b: Body, a: Attrs, x: SSAValue) -> SSAValue:
    """x == +inf (detect_positive) or x == -inf (detect_negative)."""
    positive = b.cmp("oeq", x, b.like(pymath.inf, x))
    negative = b.cmp("oeq", x, b.like(-pymath.inf, x))
    if a["detect_positive"] and a["detect_negative"]:
        return b.emit(arith.OrIOp(positive, negative))
    if a["detect_positive"]:
        return positive
    if a["detect_negative"]:
        return negative
    return b.cmp("oeq", x, b.like(pymath.nan, x))  # ordered compare with nan: false


def _shrink(b: Body, a: Attrs, x: SSAValue) -> SSAValue:
    """x < -lambd ? x + bias : x > lambd ? x - bias : 0."""
    lambd, bias = _f(a, "lambd"), _f(a, "bias")
    low = b.cmp("olt", x, b.like(-lambd, x))
    high = b.cmp("ogt", x, b.like(lambd, x))
    inner = b.select(high, b.sub(x, b.like(bias, x)), b.like(0, x))
    return b.select(low, b.add(x, b.like(bias, x)), inner)


MATH: dict[type[Operation], ScalarFn] = {
    graph.AtanOp: lambda b, a, xs: atan(b, xs[0]),
    graph.AsinOp: lambda b, a, xs: asin(b, xs[0]),
    graph.AcosOp: lambda b, a, xs: acos(b, xs[0]),
    graph.AsinhOp: lambda b, a, xs: asinh(b, xs[0]),
    graph.AcoshOp: lambda b, a, xs: acosh(b, xs[0]),
    graph.AtanhOp: lambda b, a, xs: atanh(b, xs[0]),
    graph.SinhOp: lambda b, a, xs: sinh(b, xs[0]),
    graph.CoshOp: lambda b, a, xs: cosh(b, xs[0]),
    graph.TanOp: lambda b, a, xs: tan(b, xs[0]),
    graph.IsInfOp: lambda b, a, xs: _is_inf(b, a, xs[0]),
    graph.IsNaNOp: lambda b, a, xs: b.cmp("uno", xs[0], xs[0]),  # unordered only with nan
    graph.ShrinkOp: lambda b, a, xs: _shrink(b, a, xs[0]),
    graph.ThresholdedReluOp: lambda b, a, xs: b.select(  # x > alpha ? x : 0
        b.cmp("ogt", xs[0], b.like(_f(a, "alpha"), xs[0])), xs[0], b.like(0, xs[0])
    ),
    graph.BitwiseAndOp: lambda b, a, xs: b.emit(arith.AndIOp(xs[0], xs[1])),
    graph.BitwiseOrOp: lambda b, a, xs: b.emit(arith.OrIOp(xs[0], xs[1])),
    graph.BitwiseXorOp: lambda b, a, xs: b.emit(arith.XOrIOp(xs[0], xs[1])),
    graph.BitwiseNotOp: lambda b, a, xs: b.emit(arith.XOrIOp(xs[0], b.like(-1, xs[0]))),
}


class MathLowering(ElementwiseLowering):
    """`graph.<op>(a, ...)  ->  top.generic` with the body of `MATH[<op>]`."""

    source: ClassVar[tuple[type[Operation], ...]] = tuple(MATH)
    table: ClassVar[dict[type[Operation], ScalarFn]] = MATH
    integer_ok: ClassVar[frozenset[type[Operation]]] = frozenset(
        {graph.BitwiseAndOp, graph.BitwiseOrOp, graph.BitwiseXorOp, graph.BitwiseNotOp,
         graph.ShrinkOp, graph.ThresholdedReluOp}
    )  # fmt: skip


_WINDOW_COSINES: dict[type[Operation], tuple[float, ...]] = {
    graph.HannWindowOp: (0.5, 0.5),
    graph.HammingWindowOp: (25 / 46, 21 / 46),
    graph.BlackmanWindowOp: (0.42, 0.5, 0.08),
}
"""w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N), N = size (periodic) or size - 1."""


class WindowLowering(GraphLowering):
    """hann_window(size) and its kin with a constant size: a constant of the window."""

    source = tuple(_WINDOW_COSINES)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        size = int(e.constant(op.operands[0], "size").reshape(-1)[0])
        result = e.static_result()
        periodic = bool(e.attrs().get("periodic", 1))
        span = size if periodic else size - 1
        phase = 2 * np.pi * np.arange(size) / max(span, 1)
        window = np.zeros(size)
        for k, a in enumerate(_WINDOW_COSINES[type(op)]):
            window += (-1) ** k * a * np.cos(k * phase)
        dtype = numpy_dtype(result.get_element_type())
        return [e.emit(graph.ConstantOp.from_array(window.astype(dtype), "window"))]


_DET_MAX = 4
"""Det's Leibniz sum has n! terms: up to 4 x 4 (24 terms of 4 products)."""


def _sign(permutation: Sequence[int]) -> int:
    inversions = sum(a > b for i, a in enumerate(permutation) for b in permutation[i + 1 :])
    return -1 if inversions % 2 else 1


class DetLowering(GraphLowering):
    """det(x: ... n n) for n <= 4: one generic over the batch dims reading x[..., i, j]
    n^2 times through constant maps; the body sums sign(p) prod x[i, p(i)]."""

    source = (graph.DetOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x = op.operands[0]
        xs = e.static(x)
        n = xs[-1]
        if len(xs) < 2 or xs[-2] != n or not 1 <= n <= _DET_MAX:
            raise e.fail(f"Det of {list(xs)} (square matrices up to {_DET_MAX} x {_DET_MAX})")
        result = e.static_result()
        batch = list(xs[:-2]) or [1]
        matrices = e.reshape(x, [*batch, n, n])
        rank = len(batch)
        dims = tuple(AffineDimExpr(d) for d in range(rank))
        maps = [AffineMap(rank, 0, (*dims, AffineConstantExpr(i), AffineConstantExpr(j)))
                for i in range(n) for j in range(n)]  # fmt: skip

        def body(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            total = b.like(0, v[0])
            for p in itertools.permutations(range(n)):
                term = reduce(b.mul, [v[i * n + p[i]] for i in range(n)])
                total = b.add(total, term) if _sign(p) > 0 else b.sub(total, term)
            return total

        det = e.generic([matrices] * (n * n), TensorType(elt_of(x), batch), body, maps)
        return [e.reshape(det, result.get_shape())]


MATH_LOWERINGS: tuple[type[GraphLowering], ...] = (MathLowering, WindowLowering, DetLowering)
