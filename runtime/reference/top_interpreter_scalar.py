"""The scalar ops of a `top.generic` body (and the function-level `arith` constants of
fills and pads) evaluated elementwise on numpy arrays, for the top interpreter.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects import math as xmath
from xdsl.dialects.builtin import AnyFloat, FloatAttr, IntegerAttr, IntegerType
from xdsl.ir import Block, Operation, SSAValue

from lamina.dialects.top_generic import YieldOp
from lamina.dialects.weights import numpy_dtype
from lamina.errors import LaminaError, UnsupportedOpError

Array = np.ndarray

_CMPF = ("false", "oeq", "ogt", "oge", "olt", "ole", "one", "ord",
         "ueq", "ugt", "uge", "ult", "ule", "une", "uno", "true")  # fmt: skip
_CMPI = ("eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge")


_RELATIONS: dict[str, Callable[[Array, Array], Array]] = {
    "eq": np.equal, "ne": np.not_equal, "gt": np.greater, "ge": np.greater_equal,
    "lt": np.less, "le": np.less_equal,
}  # fmt: skip


def _cmpf(op: Operation, a: Array, b: Array) -> Array:
    name = _CMPF[cast(arith.CmpfOp, op).predicate.value.data]
    nan = np.isnan(a) | np.isnan(b)
    if name in ("false", "true"):
        return np.full(nan.shape, name == "true")
    if name in ("ord", "uno"):
        return ~nan if name == "ord" else nan
    with np.errstate(invalid="ignore"):
        relation = _RELATIONS[name[1:]](a, b)
    return relation & ~nan if name[0] == "o" else relation | nan


def _cmpi(op: Operation, a: Array, b: Array) -> Array:
    name = _CMPI[cast(arith.CmpiOp, op).predicate.value.data]
    if name[0] == "u":
        a, b = a.astype(np.uint64), b.astype(np.uint64)
    return _RELATIONS[name.lstrip("su")](a, b)


def _constant(op: Operation) -> Array:
    value = cast(arith.ConstantOp, op).value
    if isinstance(value, IntegerAttr | FloatAttr):
        attr = cast(IntegerAttr[IntegerType] | FloatAttr[AnyFloat], value)
        return np.asarray(attr.value.data, numpy_dtype(op.results[0].type))
    raise UnsupportedOpError(f"arith.constant of {value} in the top interpreter")


def _to(op: Operation, x: Array) -> Array:
    return np.asarray(x).astype(numpy_dtype(op.results[0].type))


def _trunc_div(a: Array, b: Array) -> Array:
    quotient = np.abs(a) // np.abs(b)
    return np.where((a < 0) != (b < 0), -quotient, quotient).astype(np.result_type(a, b))


def _fptoint(op: Operation, x: Array) -> Array:
    with np.errstate(invalid="ignore"):
        return np.trunc(x).astype(numpy_dtype(op.results[0].type))


def _unsigned(fn: Callable[[Array, Array], Array]) -> Callable[..., Array]:
    """A signless-integer op read as unsigned (arith.divui, maxui, ...)."""

    def run(op: Operation, a: Array, b: Array) -> Array:
        a, b = np.asarray(a), np.asarray(b)
        unsigned = np.dtype(f"u{a.dtype.itemsize}")
        return np.asarray(fn(a.view(unsigned), b.view(unsigned))).view(a.dtype)

    return run


def _bitcast(op: Operation, x: Array) -> Array:
    return np.asarray(x).view(numpy_dtype(op.results[0].type))


_erf = np.vectorize(math.erf, otypes=[np.float64])

SCALAR_OPS: dict[type[Operation], Callable[..., Array]] = {
    arith.ConstantOp: _constant,
    arith.AddfOp: lambda op, a, b: a + b,
    arith.SubfOp: lambda op, a, b: a - b,
    arith.MulfOp: lambda op, a, b: a * b,
    arith.DivfOp: lambda op, a, b: a / b,
    arith.NegfOp: lambda op, a: -a,
    arith.MaximumfOp: lambda op, a, b: np.maximum(a, b),
    arith.MinimumfOp: lambda op, a, b: np.minimum(a, b),
    arith.MaxnumfOp: lambda op, a, b: np.fmax(a, b),
    arith.MinnumfOp: lambda op, a, b: np.fmin(a, b),
    arith.AddiOp: lambda op, a, b: a + b,
    arith.SubiOp: lambda op, a, b: a - b,
    arith.MuliOp: lambda op, a, b: a * b,
    arith.DivSIOp: lambda op, a, b: _trunc_div(a, b),
    arith.RemSIOp: lambda op, a, b: np.fmod(a, b),
    arith.MaxSIOp: lambda op, a, b: np.maximum(a, b),
    arith.DivUIOp: _unsigned(np.floor_divide),
    arith.RemUIOp: _unsigned(np.remainder),
    arith.MaxUIOp: _unsigned(np.maximum),
    arith.MinUIOp: _unsigned(np.minimum),
    arith.BitcastOp: _bitcast,
    arith.ShLIOp: lambda op, a, b: np.left_shift(a, b),
    arith.ShRUIOp: _unsigned(np.right_shift),
    arith.ShRSIOp: lambda op, a, b: np.right_shift(a, b),
    arith.MinSIOp: lambda op, a, b: np.minimum(a, b),
    arith.AndIOp: lambda op, a, b: a & b,
    arith.OrIOp: lambda op, a, b: a | b,
    arith.XOrIOp: lambda op, a, b: a ^ b,
    arith.CmpfOp: _cmpf,
    arith.CmpiOp: _cmpi,
    arith.SelectOp: lambda op, c, a, b: np.where(c, a, b),
    arith.ExtFOp: _to,
    arith.TruncFOp: _to,
    arith.ExtSIOp: _to,
    arith.TruncIOp: _to,
    arith.ExtUIOp: _to,
    arith.SIToFPOp: _to,
    arith.UIToFPOp: _to,
    arith.FPToSIOp: _fptoint,
    xmath.ExpOp: lambda op, a: np.exp(a),
    xmath.LogOp: lambda op, a: np.log(a),
    xmath.SqrtOp: lambda op, a: np.sqrt(a),
    xmath.RsqrtOp: lambda op, a: 1 / np.sqrt(a),
    xmath.TanhOp: lambda op, a: np.tanh(a),
    xmath.ErfOp: lambda op, a: _erf(a).astype(np.asarray(a).dtype),
    xmath.AbsFOp: lambda op, a: np.abs(a),
    xmath.CopySignOp: lambda op, a, b: np.copysign(a, b),
    xmath.AbsIOp: lambda op, a: np.abs(a),
    xmath.FloorOp: lambda op, a: np.floor(a),
    xmath.TruncOp: lambda op, a: np.trunc(a),
    xmath.CeilOp: lambda op, a: np.ceil(a),
    xmath.RoundEvenOp: lambda op, a: np.round(a),
    xmath.SinOp: lambda op, a: np.sin(a),
    xmath.CosOp: lambda op, a: np.cos(a),
    xmath.PowFOp: lambda op, a, b: np.power(a, b),
}
"""Scalar ops evaluated elementwise on arrays: `fn(op, *operand_arrays)`."""


def run_block(block: Block, args: Sequence[Array]) -> list[Array]:
    """Runs a generic body on arrays (one per block argument); returns the yielded arrays."""
    env: dict[SSAValue, Array] = dict(zip(block.args, args, strict=True))
    for op in block.ops:
        if isinstance(op, YieldOp):
            return [env[v] for v in op.operands]
        fn = SCALAR_OPS.get(type(op))
        if fn is None:
            raise UnsupportedOpError(f"'{op.name}' in a top.generic body (top interpreter)")
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            value = fn(op, *(env[v] for v in op.operands))
        env[op.results[0]] = np.asarray(value, numpy_dtype(op.results[0].type))
    raise LaminaError("top.generic body without top.yield")
