"""`loop-expand-float-formats`: arithmetic on storage-only floats (bf16, float8, float4; see
`float_formats`) becomes f32 arithmetic, and their conversions become integer ops.

    %y = arith.addf %a, %b : bf16       %fa = <bf16 -> f32 bits> %a ; %fb = ... %b
                                  ->    %s = arith.addf %fa, %fb : f32 ; %y = <f32 -> bf16> %s
    %y = arith.truncf %x : f32 to f8E4M3FN  ->  <round to nearest even on the bits of %x>
    %c = arith.constant 1.5 : bf16  ->  %bits = arith.constant 16320 : i16 ; arith.bitcast

Afterwards the only ops that see a storage float are loads, stores, selects, `loop.for`
iter_args / yields and `arith.bitcast`s to / from its same-width integer: codegen keeps
such a value as that integer. A conversion to or from f16 / f64 goes through f32 (f64 ->
float8 rounds twice). Vectors of storage floats are not supported.
"""

from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np
from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import (
    AnyFloat,
    FloatAttr,
    ModuleOp,
    VectorType,
    f32,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from lamina.errors import UnsupportedOpError
from lamina.rewrites.loop.float_formats import (
    BitBuilder,
    f32_to_format,
    format_to_f32,
    is_storage_float,
    storage_integer,
)

_TYPE_OBLIVIOUS = ("arith.select", "arith.bitcast")
"""Ops that move a storage float's bits without looking at them."""

_NUMPY_NAMES = {
    "bf16": "bfloat16",
    "f8E4M3FN": "float8_e4m3fn",
    "f8E4M3FNUZ": "float8_e4m3fnuz",
    "f8E5M2": "float8_e5m2",
    "f8E5M2FNUZ": "float8_e5m2fnuz",
    "f8E8M0FNU": "float8_e8m0fnu",
    "f4E2M1FN": "float4_e2m1fn",
}


def _touches_storage_float(op: Operation) -> bool:
    types = [v.type for v in (*op.operands, *op.results)]
    if any(isinstance(t, VectorType) and is_storage_float(t.element_type) for t in types):
        raise UnsupportedOpError("vectors of bf16 / float8 / float4", op=op)
    return any(is_storage_float(t) for t in types)


def to_f32(b: BitBuilder, x: SSAValue) -> SSAValue:
    """Any float `x` as f32 (storage floats exactly, f64 rounded)."""
    t = x.type
    if is_storage_float(t):
        return format_to_f32(b, x, t)
    if t == f32:
        return x
    width = t.bitwidth if isinstance(t, AnyFloat) else 0
    return b.emit(arith.ExtFOp(x, f32) if width < 32 else arith.TruncFOp(x, f32))


def from_f32(b: BitBuilder, x: SSAValue, t: Attribute) -> SSAValue:
    """The f32 `x` as float type `t`."""
    if is_storage_float(t):
        return f32_to_format(b, x, t)
    if t == f32:
        return x
    width = t.bitwidth if isinstance(t, AnyFloat) else 0
    return b.emit(arith.TruncFOp(x, t) if width < 32 else arith.ExtFOp(x, t))


def _constant_bits(op: arith.ConstantOp) -> list[Operation]:
    value = op.value
    if not isinstance(value, FloatAttr):
        raise UnsupportedOpError(f"constant {value} of a storage float type", op=op)
    dtype = np.dtype(getattr(ml_dtypes, _NUMPY_NAMES[str(op.result.type)]))
    integer = storage_integer(op.result.type)
    rounded = np.array(value.value.data, dtype=np.float32).astype(dtype)
    raw = int(rounded.view(np.dtype(f"<u{dtype.itemsize}"))[()])
    bits = arith.ConstantOp.from_int_and_width(raw, integer, truncate_bits=True)
    return [bits, arith.BitcastOp(bits, op.result.type)]


def _expand(op: Operation) -> tuple[list[Operation], list[SSAValue]]:
    """The ops replacing `op` and the values that replace its results."""
    if isinstance(op, arith.ConstantOp):
        ops = _constant_bits(op)
        return ops, [ops[-1].results[0]]
    b = BitBuilder()
    if isinstance(op, arith.ExtFOp | arith.TruncFOp):
        return b.ops, [from_f32(b, to_f32(b, op.operands[0]), op.results[0].type)]
    operands = [to_f32(b, v) if is_storage_float(v.type) else v for v in op.operands]
    result_types = [f32 if is_storage_float(r.type) else r.type for r in op.results]
    widened = type(op).create(
        operands=operands,
        result_types=result_types,
        properties=dict(op.properties),
        attributes=dict(op.attributes),
    )
    b.emit(widened)
    results = [
        from_f32(b, new, old.type) if is_storage_float(old.type) else new
        for new, old in zip(widened.results, op.results, strict=True)
    ]
    return b.ops, results


def expand_float_formats(module: ModuleOp) -> None:
    """Rewrite every arith / math op that computes on a storage float (module doc)."""
    targets = [
        op
        for op in module.walk()
        if op.dialect_name() in ("arith", "math")
        and op.name not in _TYPE_OBLIVIOUS
        and _touches_storage_float(op)
    ]
    for op in targets:
        if op.regions:
            raise UnsupportedOpError("a region op on bf16 / float8 / float4 values", op=op)
        ops, results = _expand(op)
        Rewriter.insert_op(ops, InsertPoint.before(op))
        Rewriter.replace_op(op, [], results)


@dataclass(frozen=True)
class LoopExpandFloatFormatsPass(ModulePass):
    """bf16 / float8 / float4 arithmetic in f32, their conversions as integer ops (module
    doc); afterwards no arith / math op but select and bitcast sees a storage float."""

    name = "loop-expand-float-formats"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        expand_float_formats(op)
