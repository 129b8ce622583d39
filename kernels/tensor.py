"""Hand-written numpy kernels for the dense, elementwise and shape operators of CNNs.

Same contract as `kernels.nn`: (inputs, attrs, n_outputs) -> outputs, or None to let
`onnx.reference` run the case (integer arithmetic, training-mode Dropout, ...).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from lamina.kernels.nn import Kernel, ints, is_float


def gemm(inputs: list[Any], attrs: dict[str, object], n_outputs: int) -> list[Any] | None:
    """Gemm: alpha * A' B' + beta * C, A' and B' transposed on request, C broadcast."""
    a, b, c = (inputs + [None])[:3]
    if not is_float(a, b, c):
        return None
    if attrs.get("transA", 0):
        a = a.T
    if attrs.get("transB", 0):
        b = b.T
    y = a @ b
    alpha = float(attrs.get("alpha", 1.0))  # type: ignore[arg-type]
    beta = float(attrs.get("beta", 1.0))  # type: ignore[arg-type]
    if alpha != 1.0:
        y *= np.asarray(alpha, y.dtype)
    if c is not None and beta != 0.0:
        y += c if beta == 1.0 else c * np.asarray(beta, c.dtype)
    return [y.astype(a.dtype, copy=False)]


def _binary(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Kernel:
    def kernel(inputs: list[Any], attrs: dict[str, object], n_outputs: int) -> list[Any] | None:
        a, b = inputs
        if not is_float(a, b) or a.dtype != b.dtype:
            return None
        return [fn(a, b)]

    return kernel


def relu(inputs: list[Any], attrs: dict[str, object], n_outputs: int) -> list[Any] | None:
    x = inputs[0]
    return [np.maximum(x, x.dtype.type(0))] if is_float(x) else None


def softmax(inputs: list[Any], attrs: dict[str, object], n_outputs: int) -> list[Any] | None:
    """Softmax along one axis (opset 13+ semantics), shifted by the max for stability."""
    x = inputs[0]
    if not is_float(x):
        return None
    axis = int(attrs.get("axis", -1))  # type: ignore[arg-type]
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return [e / e.sum(axis=axis, keepdims=True)]


def concat(inputs: list[Any], attrs: dict[str, object], n_outputs: int) -> list[Any] | None:
    return [np.concatenate(inputs, axis=int(attrs["axis"]))]  # type: ignore[arg-type]


def reshape(inputs: list[Any], attrs: dict[str, object], n_outputs: int) -> list[Any] | None:
    """Reshape: 0 copies the input dim (unless allowzero), -1 is inferred."""
    x, shape = inputs
    dims = [int(d) for d in shape]
    if not attrs.get("allowzero", 0):
        dims = [x.shape[i] if d == 0 else d for i, d in enumerate(dims)]
    return [x.reshape(dims)]


def flatten(inputs: list[Any], attrs: dict[str, object], n_outputs: int) -> list[Any] | None:
    x = inputs[0]
    axis = int(attrs.get("axis", 1))  # type: ignore[arg-type]
    axis = axis + x.ndim if axis < 0 else axis
    return [x.reshape(math.prod(x.shape[:axis]), math.prod(x.shape[axis:]))]


def transpose(inputs: list[Any], attrs: dict[str, object], n_outputs: int) -> list[Any] | None:
    x = inputs[0]
    return [np.transpose(x, ints(attrs, "perm", range(x.ndim - 1, -1, -1)))]


def dropout(inputs: list[Any], attrs: dict[str, object], n_outputs: int) -> list[Any] | None:
    """Dropout in inference mode: the identity, and an all-true mask."""
    x, _, training = (inputs + [None, None])[:3]
    if training is not None and bool(training):
        return None
    return [x, np.ones(x.shape, dtype=bool)][:n_outputs]


def identity(inputs: list[Any], attrs: dict[str, object], n_outputs: int) -> list[Any] | None:
    return [inputs[0]]


TENSOR_KERNELS: dict[str, Kernel] = {
    "Gemm": gemm,
    "MatMul": _binary(np.matmul),
    "Add": _binary(np.add),
    "Sub": _binary(np.subtract),
    "Mul": _binary(np.multiply),
    "Div": _binary(np.divide),
    "Relu": relu,
    "Softmax": softmax,
    "Concat": concat,
    "Reshape": reshape,
    "Flatten": flatten,
    "Transpose": transpose,
    "Dropout": dropout,
    "Identity": identity,
}
