"""The `top` tensor ops (reduce, transpose, pad, gather, broadcast, fill, reshape, concat,
slice) on numpy arrays, for the top interpreter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.interpreter import Interpreter, InterpreterFunctions, PythonValues, impl, register_impls
from xdsl.ir import Attribute

from lamina.dialects.top_base import PadMode, ReduceKind
from lamina.dialects.top_tensor import (
    BroadcastOp,
    ConcatOp,
    FillOp,
    GatherOp,
    PadOp,
    ReduceOp,
    ReshapeOp,
    SliceOp,
    TransposeOp,
)
from lamina.runtime.reference.top_interpreter_nn import result_dtype

Array = np.ndarray

_REDUCERS: dict[ReduceKind, Callable[[Array, tuple[int, ...], bool], Array]] = {
    ReduceKind.SUM: lambda x, a, k: np.sum(x, axis=a, keepdims=k),
    ReduceKind.PROD: lambda x, a, k: np.prod(x, axis=a, keepdims=k),
    ReduceKind.MAX: lambda x, a, k: np.max(x, axis=a, keepdims=k),
    ReduceKind.MIN: lambda x, a, k: np.min(x, axis=a, keepdims=k),
    ReduceKind.MEAN: lambda x, a, k: np.mean(x, axis=a, keepdims=k),
    ReduceKind.L1: lambda x, a, k: np.sum(np.abs(x), axis=a, keepdims=k),
    ReduceKind.L2: lambda x, a, k: np.sqrt(np.sum(x * x, axis=a, keepdims=k)),
    ReduceKind.SUM_SQUARE: lambda x, a, k: np.sum(x * x, axis=a, keepdims=k),
    ReduceKind.LOG_SUM: lambda x, a, k: np.log(np.sum(x, axis=a, keepdims=k)),
    ReduceKind.LOG_SUM_EXP: lambda x, a, k: _log_sum_exp(x, a, k),
}


def _log_sum_exp(x: Array, axes: tuple[int, ...], keepdims: bool) -> Array:
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    s = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
    return s if keepdims else np.squeeze(s, axis=axes)


def run_pad(op: PadOp, x: Array, value: Array | None) -> Array:
    widths = list(zip(op.low.get_values(), op.high.get_values(), strict=True))
    mode = op.mode.data
    if mode == PadMode.CONSTANT:
        fill = 0 if value is None else np.asarray(value).item()
        return np.pad(x, widths, constant_values=fill)
    return np.pad(x, widths, mode="reflect" if mode == PadMode.REFLECT else "edge")


@register_impls
class TopTensorFunctions(InterpreterFunctions):
    """The tensor ops without a body of their own."""

    @impl(ReduceOp)
    def run_reduce(self, interpreter: Interpreter, op: ReduceOp, args: PythonValues):
        x = np.asarray(args[0])
        axes = tuple(op.axes.get_values())
        result = _REDUCERS[op.kind.data](x, axes, bool(op.keepdims))
        return (np.asarray(result).astype(result_dtype(op)),)

    @impl(TransposeOp)
    def run_transpose(self, interpreter: Interpreter, op: TransposeOp, args: PythonValues):
        return (np.transpose(np.asarray(args[0]), op.permutation.get_values()),)

    @impl(PadOp)
    def run_pad(self, interpreter: Interpreter, op: PadOp, args: PythonValues):
        x, *value = args
        return (run_pad(op, np.asarray(x), value[0] if value else None),)

    @impl(GatherOp)
    def run_gather(self, interpreter: Interpreter, op: GatherOp, args: PythonValues):
        data, indices = (np.asarray(v) for v in args)
        return (np.take(data, indices.astype(np.int64), axis=op.axis.value.data),)

    @impl(BroadcastOp)
    def run_broadcast(self, interpreter: Interpreter, op: BroadcastOp, args: PythonValues):
        shape = cast(TensorType[Attribute], op.result.type).get_shape()
        return (np.broadcast_to(np.asarray(args[0]), shape).copy(),)

    @impl(FillOp)
    def run_fill(self, interpreter: Interpreter, op: FillOp, args: PythonValues):
        shape = cast(TensorType[Attribute], op.result.type).get_shape()
        return (np.full(shape, args[0], result_dtype(op)),)

    @impl(ReshapeOp)
    def run_reshape(self, interpreter: Interpreter, op: ReshapeOp, args: PythonValues):
        shape = cast(TensorType[Attribute], op.result.type).get_shape()
        return (np.reshape(np.asarray(args[0]), shape),)

    @impl(ConcatOp)
    def run_concat(self, interpreter: Interpreter, op: ConcatOp, args: PythonValues):
        return (np.concatenate([np.asarray(a) for a in args], axis=op.axis.value.data),)

    @impl(SliceOp)
    def run_slice(self, interpreter: Interpreter, op: SliceOp, args: PythonValues):
        x = np.asarray(args[0])
        shape = cast(TensorType[Attribute], op.result.type).get_shape()
        index = tuple(
            np.arange(n) * stride + offset
            for n, offset, stride in zip(shape, op.offsets.get_values(), op.strides.get_values(),
                                         strict=True)
        )  # fmt: skip
        return (x[np.ix_(*index)] if index else x.copy(),)


TENSOR_OPS_RUN = (
    ReduceOp,
    TransposeOp,
    PadOp,
    GatherOp,
    BroadcastOp,
    FillOp,
    ReshapeOp,
    ConcatOp,
    SliceOp,
)
"""The ops `TopTensorFunctions` runs."""
