"""Symbolic sizes: the dims of a model with dynamic shapes as expressions in the dynamic
dims of its inputs (like onnxruntime's symbolic shape inference or TVM's `tir.Var`
shapes). `SymDim` is a non-negative integer expression over named symbols; plain ints are
the constants, so a size is `int | SymDim` (`Size`). Expressions are kept in a canonical
form (constants folded, sums and products flattened and sorted), so two sizes computed
the same way from the same symbols compare equal.

    n = symbol("seq")
    add(mul(n, 4), 0) == mul(4, n)          # True
    evaluate(floordiv(add(n, 6), 2), {"seq": 10}) == 8

`materialize` turns a size into `index` arithmetic at a point of the IR, given the value
of each symbol there (the lowering reads symbols with `top.dim` of the function's inputs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from math import prod
from typing import cast

from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, IntegerAttr
from xdsl.ir import Operation, SSAValue


@dataclass(frozen=True, order=True)
class SymDim:
    """`kind` is "sym" (args: the name), "add", "mul" (args: the terms, sorted, at most
    one int, first), "floordiv", "mod" (args: numerator, denominator), "max" or "min"."""

    kind: str
    args: tuple[Size | str, ...]

    @property
    def name(self) -> str:
        """The name of a symbol ("" for other kinds)."""
        return str(self.args[0]) if self.kind == "sym" else ""

    @property
    def operands(self) -> tuple[Size, ...]:
        """The sub-expressions (none for a symbol)."""
        return () if self.kind == "sym" else cast(tuple[Size, ...], self.args)

    def __str__(self) -> str:
        if self.kind == "sym":
            return str(self.args[0])
        sign = {"add": " + ", "mul": "*", "floordiv": " floordiv ", "mod": " mod "}
        if self.kind in sign:
            return "(" + sign[self.kind].join(map(str, self.args)) + ")"
        return f"{self.kind}({', '.join(map(str, self.args))})"


Size = int | SymDim


def symbol(name: str) -> SymDim:
    return SymDim("sym", (name,))


def _key(size: Size) -> tuple[int, str]:
    return (0, str(size)) if isinstance(size, int) else (1, str(size))


def _terms(kind: str, sizes: Sequence[Size]) -> list[Size]:
    flat: list[Size] = []
    for size in sizes:
        if isinstance(size, SymDim) and size.kind == kind:
            flat.extend(size.operands)
        else:
            flat.append(size)
    return flat


def add(*sizes: Size) -> Size:
    terms = _terms("add", sizes)
    constant = sum(t for t in terms if isinstance(t, int))
    symbolic = sorted((t for t in terms if isinstance(t, SymDim)), key=_key)
    if not symbolic:
        return constant
    args: list[Size] = ([constant] if constant else []) + symbolic
    return args[0] if len(args) == 1 else SymDim("add", tuple(args))


def sub(a: Size, b: Size) -> Size:
    return add(a, mul(-1, b))


def mul(*sizes: Size) -> Size:
    terms = _terms("mul", sizes)
    constant = prod(t for t in terms if isinstance(t, int))
    symbolic = sorted((t for t in terms if isinstance(t, SymDim)), key=_key)
    if not symbolic or constant == 0:
        return constant
    args: list[Size] = ([constant] if constant != 1 else []) + symbolic
    return args[0] if len(args) == 1 else SymDim("mul", tuple(args))


def floordiv(a: Size, b: Size) -> Size:
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    if b == 1:
        return a
    if isinstance(b, int) and isinstance(a, SymDim) and a.kind == "mul":
        coefficient, *rest = a.operands
        if isinstance(coefficient, int) and coefficient % b == 0:
            return mul(coefficient // b, *rest)
    if a == b:
        return 1
    return SymDim("floordiv", (a, b))


def ceildiv(a: Size, b: Size) -> Size:
    return floordiv(add(a, b, -1), b) if isinstance(b, int) else floordiv(sub(add(a, b), 1), b)


def mod(a: Size, b: Size) -> Size:
    if isinstance(a, int) and isinstance(b, int):
        return a % b
    if b == 1 or a == b:
        return 0
    return SymDim("mod", (a, b))


def _nonnegative(size: Size) -> bool:
    """Whether `size` is >= 0 for all values of its symbols (which are sizes)."""
    if isinstance(size, int):
        return size >= 0
    if size.kind == "sym":
        return True
    args = size.operands
    if size.kind in ("add", "mul", "min"):
        return all(_nonnegative(a) for a in args)
    if size.kind in ("floordiv", "mod"):
        return _nonnegative(args[0]) and isinstance(args[1], int) and args[1] > 0
    return size.kind == "max" and any(_nonnegative(a) for a in args)


def maximum(a: Size, b: Size) -> Size:
    if isinstance(a, int) and isinstance(b, int):
        return max(a, b)
    if a == b or (b == 0 and _nonnegative(a)):
        return a
    if a == 0 and _nonnegative(b):
        return b
    return SymDim("max", tuple(sorted((a, b), key=_key)))


def minimum(a: Size, b: Size) -> Size:
    if isinstance(a, int) and isinstance(b, int):
        return min(a, b)
    if a == b:
        return a
    if 0 in (a, b) and _nonnegative(b if a == 0 else a):
        return 0
    return SymDim("min", tuple(sorted((a, b), key=_key)))


def symbols_of(size: Size) -> set[str]:
    if isinstance(size, int):
        return set()
    if size.kind == "sym":
        return {size.name}
    found: set[str] = set()
    for operand in size.operands:
        found |= symbols_of(operand)
    return found


_EVAL: dict[str, Callable[[int, int], int]] = {
    "floordiv": lambda a, b: a // b,
    "mod": lambda a, b: a % b,
    "max": max,
    "min": min,
}


def evaluate(size: Size, values: Mapping[str, int]) -> int:
    """The size for the given symbol values."""
    if isinstance(size, int):
        return size
    if size.kind == "sym":
        return values[size.name]
    args = [evaluate(a, values) for a in size.operands]
    if size.kind == "add":
        return sum(args)
    if size.kind == "mul":
        return prod(args)
    return _EVAL[size.kind](*args)


_OPS: dict[str, Callable[[SSAValue, SSAValue], Operation]] = {
    "add": arith.AddiOp,
    "mul": arith.MuliOp,
    "floordiv": arith.FloorDivSIOp,
    "mod": arith.RemSIOp,  # sizes are non-negative: remsi is the floor mod
    "max": arith.MaxSIOp,
    "min": arith.MinSIOp,
}


def materialize(
    size: Size,
    symbol_value: Callable[[str], SSAValue],
    emit: Callable[[Operation], SSAValue],
    cache: dict[Size, SSAValue] | None = None,
) -> SSAValue:
    """An `index` value of `size`, built with `emit` from `symbol_value(name)`; `cache`
    shares the values of equal sub-expressions."""
    cache = {} if cache is None else cache
    if size in cache:
        return cache[size]
    if isinstance(size, int):
        value = emit(arith.ConstantOp(IntegerAttr(size, IndexType())))
    elif size.kind == "sym":
        value = symbol_value(size.name)
    else:
        args = [materialize(a, symbol_value, emit, cache) for a in size.operands]
        if size.kind in ("floordiv", "mod") and not isinstance(size.operands[1], int):
            one = materialize(1, symbol_value, emit, cache)  # never divide by 0
            args[1] = emit(arith.MaxSIOp(args[1], one))
        value = args[0]
        for arg in args[1:]:
            value = emit(_OPS[size.kind](value, arg))
    cache[size] = value
    return value


__all__ = [
    "Size",
    "SymDim",
    "add",
    "ceildiv",
    "evaluate",
    "floordiv",
    "materialize",
    "maximum",
    "minimum",
    "mod",
    "mul",
    "sub",
    "symbol",
    "symbols_of",
]
