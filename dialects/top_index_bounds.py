"""The range of indices an affine indexing map reads over a box of loop extents, for the
`top.generic` verifier: an operand dim indexed by a compound expression (`d0 + d1`,
`2 * d0`, `0`) must hold every index the loops reach, as MLIR's linalg verifier checks."""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.ir.affine import (
    AffineBinaryOpExpr,
    AffineBinaryOpKind,
    AffineConstantExpr,
    AffineDimExpr,
    AffineExpr,
)

Interval = tuple[int, int]
"""The smallest and the largest index, both included."""


def _scale(interval: Interval, factor: int) -> Interval:
    low, high = interval[0] * factor, interval[1] * factor
    return (min(low, high), max(low, high))


def _divide(interval: Interval, by: int, ceil: bool) -> Interval:
    def div(value: int) -> int:
        return -(-value // by) if ceil else value // by

    low, high = div(interval[0]), div(interval[1])
    return (min(low, high), max(low, high))


def index_interval(expr: AffineExpr, extents: Sequence[int]) -> Interval | None:
    """The indices `expr` takes while each loop d_i runs over [0, extents[i]); None when
    some loop has no iteration or a product of two loops makes it non-affine."""
    if isinstance(expr, AffineConstantExpr):
        return (expr.value, expr.value)
    if isinstance(expr, AffineDimExpr):
        extent = extents[expr.position]
        return None if extent <= 0 else (0, extent - 1)
    if not isinstance(expr, AffineBinaryOpExpr):
        return None
    lhs = index_interval(expr.lhs, extents)
    rhs = index_interval(expr.rhs, extents)
    if lhs is None or rhs is None:
        return None
    constant = rhs[1] if rhs[0] == rhs[1] else None
    match expr.kind:
        case AffineBinaryOpKind.Add:
            return (lhs[0] + rhs[0], lhs[1] + rhs[1])
        case AffineBinaryOpKind.Mul if constant is not None:
            return _scale(lhs, constant)
        case AffineBinaryOpKind.FloorDiv if constant is not None and constant > 0:
            return _divide(lhs, constant, ceil=False)
        case AffineBinaryOpKind.CeilDiv if constant is not None and constant > 0:
            return _divide(lhs, constant, ceil=True)
        case AffineBinaryOpKind.Mod if constant is not None and constant > 0:
            return (0, min(constant - 1, lhs[1])) if lhs[0] >= 0 else (0, constant - 1)
        case _:
            return None
