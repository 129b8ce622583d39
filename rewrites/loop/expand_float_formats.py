"""`loop-expand-float-formats`: arithmetic on storage-only floats (bf16, float8, float4; see
`float_formats`) becomes f32 arithmetic, and their conversions become integer ops.

    %y = arith.addf %a, %b : bf16       %fa = <bf16 -> f32 bits> %a ; %fb = ... %b
                                  ->    %s = arith.addf %fa, %fb : f32 ; %y = <f32 -> bf16> %s
    %y = arith.truncf %x : f32 to f8E4M3FN  ->  <round to nearest even on the bits of %x>
    %c = arith.constant 1.5 : bf16  ->  %bits = arith.constant 16320 : i16 ; arith.bitcast

Afterwards the only ops that see a storage float are loads, stores, selects, `loop.for`
iter_args / yields and `arith.bitcast`s to / from its same-width integer: codegen keeps
such a value as that integer. A conversion to or from f16 / f64 goes through f32 (f64 ->
float8 rounds twice). With `f16=true` f16 is expanded the same way (Hexagon, whose
f16 <-> f32 conversions are libcalls). Vectors of storage floats are not supported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import (
    AnyFloat,
    Float16Type,
    FloatAttr,
    ModuleOp,
    VectorType,
    f32,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from lamina.dialects.weights import numpy_dtype
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


def _resize_float(b: BitBuilder, x: SSAValue, t: Attribute) -> SSAValue:
    """`x` as the float type `t`: itself, extended or truncated (a type that is no
    `AnyFloat` counts as narrower than any float)."""
    if x.type == t:
        return x
    widens = _float_width(x.type) < _float_width(t)
    return b.emit(arith.ExtFOp(x, t) if widens else arith.TruncFOp(x, t))


def _float_width(t: Attribute) -> int:
    return t.bitwidth if isinstance(t, AnyFloat) else 0


@dataclass(frozen=True)
class Expansion:
    """Which floats are expanded: the storage floats, and f16 when `f16`."""

    f16: bool = False

    def expands(self, t: Attribute) -> bool:
        return is_storage_float(t) or (self.f16 and isinstance(t, Float16Type))

    def touches(self, op: Operation) -> bool:
        types = [v.type for v in (*op.operands, *op.results)]
        if any(isinstance(t, VectorType) and self.expands(t.element_type) for t in types):
            raise UnsupportedOpError("vectors of bf16 / float8 / float4", op=op)
        return any(self.expands(t) for t in types)

    def to_f32(self, b: BitBuilder, x: SSAValue) -> SSAValue:
        """Any float `x` as f32 (expanded floats exactly, f64 rounded)."""
        t = x.type
        if self.expands(t):
            return format_to_f32(b, x, t)
        return _resize_float(b, x, f32)

    def from_f32(self, b: BitBuilder, x: SSAValue, t: Attribute) -> SSAValue:
        """The f32 `x` as float type `t`."""
        if self.expands(t):
            return f32_to_format(b, x, t)
        return _resize_float(b, x, t)

    def expand(self, op: Operation) -> tuple[list[Operation], list[SSAValue]]:
        """The ops replacing `op` and the values that replace its results."""
        if isinstance(op, arith.ConstantOp):
            ops = _constant_bits(op)
            return ops, [ops[-1].results[0]]
        b = BitBuilder()
        if isinstance(op, arith.ExtFOp | arith.TruncFOp):
            return b.ops, [self.from_f32(b, self.to_f32(b, op.operands[0]), op.results[0].type)]
        operands = [self.to_f32(b, v) if self.expands(v.type) else v for v in op.operands]
        widened = type(op).create(
            operands=operands,
            result_types=[f32 if self.expands(r.type) else r.type for r in op.results],
            properties=dict(op.properties),
            attributes=dict(op.attributes),
        )
        b.emit(widened)
        results = [
            self.from_f32(b, new, old.type) if self.expands(old.type) else new
            for new, old in zip(widened.results, op.results, strict=True)
        ]
        return b.ops, results


def _constant_bits(op: arith.ConstantOp) -> list[Operation]:
    value = op.value
    if not isinstance(value, FloatAttr):
        raise UnsupportedOpError(f"constant {value} of a storage float type", op=op)
    dtype = numpy_dtype(op.result.type)  # how the constant rounds, at compile time
    rounded = np.array(value.value.data, dtype=np.float32).astype(dtype)
    raw = int(rounded.view(np.dtype(f"<u{dtype.itemsize}"))[()])
    bits = arith.ConstantOp.from_int_and_width(
        raw, storage_integer(op.result.type), truncate_bits=True
    )
    return [bits, arith.BitcastOp(bits, op.result.type)]


def expand_float_formats(module: ModuleOp, f16: bool = False) -> None:
    """Rewrite every arith / math op that computes on a storage float (module doc)."""
    expansion = Expansion(f16)
    targets = [
        op
        for op in module.walk()
        if op.dialect_name() in ("arith", "math")
        and op.name not in _TYPE_OBLIVIOUS
        and expansion.touches(op)
    ]
    for op in targets:
        if op.regions:
            raise UnsupportedOpError("a region op on bf16 / float8 / float4 values", op=op)
        ops, results = expansion.expand(op)
        Rewriter.insert_op(ops, InsertPoint.before(op))
        Rewriter.replace_op(op, [], results)


@dataclass(frozen=True)
class LoopExpandFloatFormatsPass(ModulePass):
    """bf16 / float8 / float4 arithmetic in f32, their conversions as integer ops (module
    doc); afterwards no arith / math op but select and bitcast sees a storage float."""

    name = "loop-expand-float-formats"

    f16: bool = False
    """Expand f16 too (targets whose f16 <-> f32 conversions are library calls)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        expand_float_formats(op, self.f16)
