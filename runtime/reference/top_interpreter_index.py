"""Reference semantics of the `top` ops of dialects/top_index.py on numpy arrays (the top
interpreter registers them): topk as a stable sort, gather_nd / scatter_nd by index tuples
with negative indices counted from the end; scatter_nd applies its updates in row-major
order, so duplicates combine in that order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from xdsl.interpreter import Interpreter, InterpreterFunctions, PythonValues, impl, register_impls

from lamina.dialects.top_base import ScatterKind
from lamina.dialects.top_index import GatherNDOp, ScatterNDOp, TopKOp

Array = np.ndarray[Any, Any]


def run_topk(x: Array, k: int, axis: int, largest: bool) -> tuple[Array, Array]:
    """The k best along `axis`, ties by lower position: a stable sort of the values' ranks
    (ranks, unlike unsigned values, negate for the descending order)."""
    ranks = np.unique(x, return_inverse=True)[1].reshape(x.shape).astype(np.int64)
    order = np.argsort(-ranks if largest else ranks, axis=axis, kind="stable")
    order = np.take(order, np.arange(k), axis=axis)
    return np.take_along_axis(x, order, axis=axis), order.astype(np.int64)


def _positions(indices: Array, shape: tuple[int, ...]) -> tuple[Array, ...]:
    """One index array per addressed dim, negatives wrapped."""
    k = indices.shape[-1]
    return tuple(np.where(indices[..., t] < 0, indices[..., t] + shape[t], indices[..., t])
                 for t in range(k))  # fmt: skip


def run_scatter_nd(data: Array, indices: Array, updates: Array, kind: ScatterKind) -> Array:
    y = data.copy()
    k = indices.shape[-1]
    flat_indices = indices.reshape(-1, k)
    flat_updates = updates.reshape(flat_indices.shape[0], *data.shape[k:])
    combine = {ScatterKind.ASSIGN: lambda old, new: new, ScatterKind.ADD: np.add,
               ScatterKind.MUL: np.multiply, ScatterKind.MAX: np.maximum,
               ScatterKind.MIN: np.minimum}[kind]  # fmt: skip
    for tuple_, update in zip(flat_indices, flat_updates, strict=True):
        position = tuple(
            int(i) + (s if i < 0 else 0) for i, s in zip(tuple_, data.shape, strict=False)
        )
        y[position] = combine(y[position], update)
    return y


@register_impls
class TopIndexFunctions(InterpreterFunctions):
    @impl(TopKOp)
    def run_topk(self, interpreter: Interpreter, op: TopKOp, args: PythonValues):
        x = np.asarray(args[0])
        axis = op.axis.value.data
        k = op.values.type.get_shape()[axis]  # pyright: ignore[reportAttributeAccessIssue]
        return run_topk(x, int(k), axis, op.largest is not None)

    @impl(GatherNDOp)
    def run_gather_nd(self, interpreter: Interpreter, op: GatherNDOp, args: PythonValues):
        data, indices = (np.asarray(a) for a in args)
        return (data[_positions(indices.astype(np.int64), data.shape)],)

    @impl(ScatterNDOp)
    def run_scatter_nd(self, interpreter: Interpreter, op: ScatterNDOp, args: PythonValues):
        data, indices, updates = (np.asarray(a) for a in args)
        return (run_scatter_nd(data, indices.astype(np.int64), updates, op.kind.data),)


INDEX_OP_TYPES = (TopKOp, GatherNDOp, ScatterNDOp)
