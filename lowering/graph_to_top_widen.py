"""f16 / bf16 graph ops that accumulate are computed in f32 and rounded once.

    %y = graph.mat_mul %a, %b : (bf16, bf16) -> bf16
      ->  %a32 = graph.cast %a {to = FLOAT} ; %b32 = ...
          %y32 = graph.mat_mul %a32, %b32 : f32 ; %y = graph.cast %y32 {to = BFLOAT16}

ONNX's reference and onnxruntime keep f16 / bf16 as storage types and round each op's
result once; a loop nest that accumulates in bf16 rounds at every step. The casts become
elementwise generics that `top-fuse-elementwise` fuses where it can. Runs at the start of
`convert-graph-to-top`; afterwards no op of `ACCUMULATING` has a f16 / bf16 operand, none
of `ACCUMULATING_F16` a f16 one.
"""

from __future__ import annotations

from typing import cast

from xdsl.dialects.builtin import (
    BFloat16Type,
    Float16Type,
    IntegerAttr,
    ModuleOp,
    TensorType,
    f32,
    i64,
)
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from lamina.dialects import graph

ACCUMULATING = frozenset(
    {
        "MatMul", "Gemm", "Conv", "ConvTranspose", "Einsum",
        "ReduceSum", "ReduceMean", "ReduceSumSquare", "ReduceL1", "ReduceL2", "ReduceProd",
        "ReduceLogSum", "ReduceLogSumExp", "AveragePool", "GlobalAveragePool", "LpPool",
        "LayerNormalization", "InstanceNormalization", "BatchNormalization",
        "GroupNormalization", "CumSum", "LpNormalization", "MeanVarianceNormalization",
    }
)  # fmt: skip
"""ONNX ops whose lowering sums or chains many roundings per output element."""

ACCUMULATING_F16 = frozenset({"Softmax", "LogSoftmax"})
"""Ops widened for f16 only. ONNX's reference computes softmax with numpy, which sums f16
in f32 but bf16 (an `ml_dtypes` type) step by step in bf16; the bf16 lowering, whose every
scalar op rounds to bf16 (`loop-expand-float-formats`), matches it bit for bit."""

_ONNX_TYPES: dict[type[Attribute], int] = {Float16Type: 10, BFloat16Type: 16}
"""TensorProto codes of the half floats (FLOAT is 1)."""


def _shape(t: Attribute) -> tuple[int, ...]:
    return cast(TensorType[Attribute], t).get_shape()


def _half(t: Attribute) -> Attribute | None:
    if not isinstance(t, TensorType):
        return None
    element = cast(TensorType[Attribute], t).get_element_type()
    return element if isinstance(element, Float16Type | BFloat16Type) else None


def _cast(value: SSAValue, element: Attribute, to: int) -> Operation:
    shape = _shape(value.type)
    return graph.CastOp.create(
        operands=[value],
        result_types=[TensorType(element, shape)],
        properties={"to": IntegerAttr(to, i64)},
    )


def _widen(op: Operation) -> None:
    before = InsertPoint.before(op)
    operands: list[SSAValue] = []
    for value in op.operands:
        if _half(value.type) is None:
            operands.append(value)
            continue
        wide = _cast(value, f32, 1)
        Rewriter.insert_op(wide, before)
        operands.append(wide.results[0])
    result_types = [
        TensorType(f32, _shape(r.type)) if _half(r.type) else r.type for r in op.results
    ]
    wide_op = type(op).create(
        operands=operands,
        result_types=result_types,
        properties=dict(op.properties),
        attributes=dict(op.attributes),
    )
    Rewriter.insert_op(wide_op, before)
    results: list[SSAValue] = []
    for old, new in zip(op.results, wide_op.results, strict=True):
        element = _half(old.type)
        if element is None:
            results.append(new)
            continue
        narrow = _cast(new, element, _ONNX_TYPES[type(element)])
        Rewriter.insert_op(narrow, InsertPoint.after(wide_op))
        results.append(narrow.results[0])
    Rewriter.replace_op(op, [], results)


def _widened(op: Operation) -> bool:
    kind = getattr(type(op), "onnx_op_type", "")
    halves = [_half(v.type) for v in (*op.operands, *op.results)]
    if kind in ACCUMULATING_F16:
        return any(isinstance(h, Float16Type) for h in halves)
    return kind in ACCUMULATING and any(halves)


def widen_half_float_ops(module: ModuleOp) -> None:
    """Every `ACCUMULATING` op with a f16 / bf16 operand or result (`ACCUMULATING_F16`:
    f16), computed in f32."""
    targets = [op for op in module.walk() if not op.regions and _widened(op)]
    for op in targets:
        _widen(op)
