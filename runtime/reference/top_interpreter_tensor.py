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

from lamina.dialects import top
from lamina.runtime.reference.top_interpreter_nn import result_dtype

Array = np.ndarray

_REDUCERS: dict[top.ReduceKind, Callable[[Array, tuple[int, ...], bool], Array]] = {
    top.ReduceKind.SUM: lambda x, a, k: np.sum(x, axis=a, keepdims=k),
    top.ReduceKind.PROD: lambda x, a, k: np.prod(x, axis=a, keepdims=k),
    top.ReduceKind.MAX: lambda x, a, k: np.max(x, axis=a, keepdims=k),
    top.ReduceKind.MIN: lambda x, a, k: np.min(x, axis=a, keepdims=k),
    top.ReduceKind.MEAN: lambda x, a, k: np.mean(x, axis=a, keepdims=k),
    top.ReduceKind.L1: lambda x, a, k: np.sum(np.abs(x), axis=a, keepdims=k),
    top.ReduceKind.L2: lambda x, a, k: np.sqrt(np.sum(x * x, axis=a, keepdims=k)),
    top.ReduceKind.SUM_SQUARE: lambda x, a, k: np.sum(x * x, axis=a, keepdims=k),
    top.ReduceKind.LOG_SUM: lambda x, a, k: np.log(np.sum(x, axis=a, keepdims=k)),
    top.ReduceKind.LOG_SUM_EXP: lambda x, a, k: _log_sum_exp(x, a, k),
}


def _log_sum_exp(x: Array, axes: tuple[int, ...], keepdims: bool) -> Array:
    m = np.max(x, axis=axes, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    s = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
    return s if keepdims else np.squeeze(s, axis=axes)


def run_pad(op: top.PadOp, x: Array, value: Array | None) -> Array:
    widths = list(zip(op.low.get_values(), op.high.get_values(), strict=True))
    mode = op.mode.data
    if mode == top.PadMode.CONSTANT:
        fill = 0 if value is None else np.asarray(value).item()
        return np.pad(x, widths, constant_values=fill)
    return np.pad(x, widths, mode="reflect" if mode == top.PadMode.REFLECT else "edge")


@register_impls
class TopTensorFunctions(InterpreterFunctions):
    """The tensor ops without a body of their own."""

    @impl(top.ReduceOp)
    def run_reduce(self, interpreter: Interpreter, op: top.ReduceOp, args: PythonValues):
        x = np.asarray(args[0])
        axes = tuple(op.axes.get_values())
        result = _REDUCERS[op.kind.data](x, axes, bool(op.keepdims))
        return (np.asarray(result).astype(result_dtype(op)),)

    @impl(top.TransposeOp)
    def run_transpose(self, interpreter: Interpreter, op: top.TransposeOp, args: PythonValues):
        return (np.transpose(np.asarray(args[0]), op.permutation.get_values()),)

    @impl(top.PadOp)
    def run_pad(self, interpreter: Interpreter, op: top.PadOp, args: PythonValues):
        x, *value = args
        return (run_pad(op, np.asarray(x), value[0] if value else None),)

    @impl(top.GatherOp)
    def run_gather(self, interpreter: Interpreter, op: top.GatherOp, args: PythonValues):
        data, indices = (np.asarray(v) for v in args)
        return (np.take(data, indices.astype(np.int64), axis=op.axis.value.data),)

    @impl(top.BroadcastOp)
    def run_broadcast(self, interpreter: Interpreter, op: top.BroadcastOp, args: PythonValues):
        shape = cast(TensorType[Attribute], op.result.type).get_shape()
        return (np.broadcast_to(np.asarray(args[0]), shape).copy(),)

    @impl(top.FillOp)
    def run_fill(self, interpreter: Interpreter, op: top.FillOp, args: PythonValues):
        shape = cast(TensorType[Attribute], op.result.type).get_shape()
        return (np.full(shape, args[0], result_dtype(op)),)

    @impl(top.ReshapeOp)
    def run_reshape(self, interpreter: Interpreter, op: top.ReshapeOp, args: PythonValues):
        shape = cast(TensorType[Attribute], op.result.type).get_shape()
        return (np.reshape(np.asarray(args[0]), shape),)

    @impl(top.ConcatOp)
    def run_concat(self, interpreter: Interpreter, op: top.ConcatOp, args: PythonValues):
        return (np.concatenate([np.asarray(a) for a in args], axis=op.axis.value.data),)

    @impl(top.SliceOp)
    def run_slice(self, interpreter: Interpreter, op: top.SliceOp, args: PythonValues):
        x = np.asarray(args[0])
        shape = cast(TensorType[Attribute], op.result.type).get_shape()
        index = tuple(
            np.arange(n) * stride + offset
            for n, offset, stride in zip(shape, op.offsets.get_values(), op.strides.get_values(),
                                         strict=True)
        )  # fmt: skip
        return (x[np.ix_(*index)] if index else x.copy(),)


TENSOR_OPS_RUN = (
    top.ReduceOp,
    top.TransposeOp,
    top.PadOp,
    top.GatherOp,
    top.BroadcastOp,
    top.FillOp,
    top.ReshapeOp,
    top.ConcatOp,
    top.SliceOp,
)
"""The ops `TopTensorFunctions` runs."""
