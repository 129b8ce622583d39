"""Hand-written numpy kernels for the convolution, pooling and normalization operators.

These are the hot operators of CNNs and the ones the lowerings are checked against first, so
they are written to be read: explicit pads, output sizes and window gathering, following the
ONNX operator documentation (and onnxruntime where the documentation is silent, e.g. which
elements an average over a ceil-mode window divides by).

Each kernel takes (inputs, attrs, n_outputs) and returns the outputs, or None to decline a
case it does not cover (integer types, training mode, extra outputs); the caller then runs
`onnx.reference` instead.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Kernel = Callable[[list[Any], dict[str, object], int], list[Any] | None]

_FLOATS = (np.float32, np.float64)


def is_float(*arrays: np.ndarray | None) -> bool:
    """Whether every given array is float32/float64 (the types the fast kernels cover)."""
    return all(a is None or (isinstance(a, np.ndarray) and a.dtype in _FLOATS) for a in arrays)


def ints(attrs: dict[str, object], name: str, default: Sequence[int]) -> list[int]:
    value = attrs.get(name)
    return [int(v) for v in value] if isinstance(value, Sequence) and value else list(default)


def _int(attrs: dict[str, object], name: str, default: int) -> int:
    value = attrs.get(name, default)
    assert isinstance(value, int | np.integer)
    return int(value)


def _float(attrs: dict[str, object], name: str, default: float) -> float:
    value = attrs.get(name, default)
    assert isinstance(value, int | float | np.number)
    return float(value)


# ---------------------------------------------------------------------------- windows


def _same_pads(
    auto_pad: str, size: Sequence[int], extent: Sequence[int], strides: Sequence[int]
) -> list[int]:
    """Pads (begins then ends) of auto_pad SAME_UPPER / SAME_LOWER: out = ceil(in / stride)."""
    begins: list[int] = []
    ends: list[int] = []
    for n, e, s in zip(size, extent, strides, strict=True):
        total = max(0, (math.ceil(n / s) - 1) * s + e - n)
        small, large = total // 2, total - total // 2
        begins.append(large if auto_pad == "SAME_LOWER" else small)
        ends.append(small if auto_pad == "SAME_LOWER" else large)
    return begins + ends


def _pads(
    attrs: dict[str, object], size: Sequence[int], extent: Sequence[int], strides: Sequence[int]
) -> list[int]:
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        assert isinstance(auto_pad, str)
        return _same_pads(auto_pad, size, extent, strides)
    if auto_pad == "VALID":
        return [0] * (2 * len(size))
    return ints(attrs, "pads", [0] * (2 * len(size)))


def _output_size(
    size: Sequence[int],
    pads: Sequence[int],
    extent: Sequence[int],
    strides: Sequence[int],
    ceil_mode: bool,
) -> list[int]:
    """Spatial output size; in ceil mode the last window must start inside the input or the
    begin pad (ONNX MaxPool documentation)."""
    nd = len(size)
    out: list[int] = []
    for i in range(nd):
        span = size[i] + pads[i] + pads[nd + i] - extent[i]
        o = (-(-span // strides[i]) if ceil_mode else span // strides[i]) + 1
        if ceil_mode and (o - 1) * strides[i] >= size[i] + pads[i]:
            o -= 1
        out.append(o)
    return out


def _pad(x: np.ndarray, pads: Sequence[int], extra: Sequence[int], value: float) -> np.ndarray:
    """Pads the spatial dims by `pads` (begins then ends) plus `extra` at the ends."""
    nd = len(extra)
    widths = [(0, 0)] * (x.ndim - nd)
    widths += [(pads[i], pads[nd + i] + extra[i]) for i in range(nd)]
    if not any(b or e for b, e in widths):
        return x
    return np.pad(x, widths, constant_values=value)


def _window_slices(
    kernel: Sequence[int], dilations: Sequence[int], strides: Sequence[int], out: Sequence[int]
) -> list[tuple[slice, ...]]:
    """One tuple of spatial slices per kernel offset: the input element each output element
    sees at that offset."""
    return [
        tuple(
            slice(k * d, k * d + (o - 1) * s + 1, s)
            for k, d, s, o in zip(offset, dilations, strides, out, strict=True)
        )
        for offset in itertools.product(*(range(k) for k in kernel))
    ]


def _geometry(
    x: np.ndarray, kernel: Sequence[int], attrs: dict[str, object], ceil_mode: bool = False
) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
    """(strides, dilations, pads, extra end pads for ceil mode, output size)."""
    nd = x.ndim - 2
    strides = ints(attrs, "strides", [1] * nd)
    dilations = ints(attrs, "dilations", [1] * nd)
    extent = [(k - 1) * d + 1 for k, d in zip(kernel, dilations, strict=True)]
    size = list(x.shape[2:])
    pads = _pads(attrs, size, extent, strides)
    out = _output_size(size, pads, extent, strides, ceil_mode)
    extra = [
        max(0, (o - 1) * s + e - (n + pads[i] + pads[nd + i]))
        for i, (o, s, e, n) in enumerate(zip(out, strides, extent, size, strict=True))
    ]
    return strides, dilations, pads, extra, out


# ---------------------------------------------------------------------------- conv


def conv(inputs: list[Any], attrs: dict[str, object], n_outputs: int) -> list[Any] | None:
    """Conv as im2col + one matmul per group (batched over N and groups)."""
    x, w, b = (inputs + [None, None])[:3]
    if not is_float(x, w, b) or x.ndim < 3 or x.dtype != w.dtype:
        return None
    n, c = x.shape[:2]
    m, cg = w.shape[:2]
    kernel = list(w.shape[2:])
    group = _int(attrs, "group", 1)
    strides, dilations, pads, _, out = _geometry(x, kernel, attrs)
    xp = _pad(x, pads, [0] * len(kernel), 0.0)
    k = math.prod(kernel)
    cols = np.empty((n, c, k, *out), dtype=x.dtype)
    for i, window in enumerate(_window_slices(kernel, dilations, strides, out)):
        cols[:, :, i] = xp[(slice(None), slice(None), *window)]
    cols = cols.reshape(n, group, cg * k, math.prod(out))
    y = np.matmul(w.reshape(group, m // group, cg * k), cols)
    y = y.reshape(n, m, *out)
    if b is not None:
        y += b.reshape(m, *([1] * len(out)))
    return [y]


# ---------------------------------------------------------------------------- pooling


def max_pool(inputs: list[Any], attrs: dict[str, object], n_outputs: int) -> list[Any] | None:
    """MaxPool: pads (explicit, auto and ceil-mode extra) never win the max."""
    x = inputs[0]
    if n_outputs > 1 or not is_float(x) or _int(attrs, "storage_order", 0):
        return None
    kernel = ints(attrs, "kernel_shape", [])
    ceil_mode = bool(_int(attrs, "ceil_mode", 0))
    strides, dilations, pads, extra, out = _geometry(x, kernel, attrs, ceil_mode)
    xp = _pad(x, pads, extra, -np.inf)
    y: np.ndarray | None = None
    for window in _window_slices(kernel, dilations, strides, out):
        part = xp[(slice(None), slice(None), *window)]
        y = part.copy() if y is None else np.maximum(y, part, out=y)
    return [y]


def average_pool(inputs: list[Any], attrs: dict[str, object], n_outputs: int) -> list[Any] | None:
    """AveragePool: the divisor counts the input elements of a window, plus its pad elements
    if count_include_pad; the extra end pads of ceil mode never count (as onnxruntime)."""
    x = inputs[0]
    if not is_float(x):
        return None
    kernel = ints(attrs, "kernel_shape", [])
    ceil_mode = bool(_int(attrs, "ceil_mode", 0))
    strides, dilations, pads, extra, out = _geometry(x, kernel, attrs, ceil_mode)
    nd = len(kernel)
    xp = _pad(x, pads, extra, 0.0)
    if _int(attrs, "count_include_pad", 0):
        counted = _pad(
            np.ones([n + pads[i] + pads[nd + i] for i, n in enumerate(x.shape[2:])]),
            [0] * 2 * nd,
            extra,
            0.0,
        )
    else:
        counted = _pad(np.ones(x.shape[2:]), pads, extra, 0.0)
    total = np.zeros((*x.shape[:2], *out), dtype=x.dtype)
    count = np.zeros(out)
    for window in _window_slices(kernel, dilations, strides, out):
        total += xp[(slice(None), slice(None), *window)]
        count += counted[window]
    return [(total / count.astype(x.dtype)).astype(x.dtype)]


def global_pool(reduce: Callable[[Any, dict[str, object]], Any]) -> Kernel:
    """The kernel of a global pool of float N x C x ... tensors: `reduce(x, attrs)` over
    the spatial axes (`x` given as N x C x S, S the flattened spatial dims) gives N x C."""

    def kernel(inputs: list[Any], attrs: dict[str, object], n_outputs: int) -> list[Any] | None:
        x = inputs[0]
        if not is_float(x):
            return None
        pooled = reduce(x.reshape(*x.shape[:2], -1), attrs)
        return [np.asarray(pooled).astype(x.dtype).reshape(*x.shape[:2], *[1] * (x.ndim - 2))]

    return kernel


def _lp_norm(x: Any, attrs: dict[str, object]) -> Any:
    """GlobalLpPool: the p-norm of each channel (onnx.reference has no kernel for it)."""
    p = _int(attrs, "p", 2)
    return (np.abs(x) ** p).sum(axis=-1) ** (1.0 / p)


# ---------------------------------------------------------------------------- normalization


def batch_normalization(
    inputs: list[Any], attrs: dict[str, object], n_outputs: int
) -> list[Any] | None:
    """BatchNormalization in inference mode: (x - mean) / sqrt(var + epsilon) * scale + B."""
    x, scale, bias, mean, var = inputs[:5]
    if _int(attrs, "training_mode", 0) or n_outputs > 1 or not is_float(x, scale, bias, mean, var):
        return None
    shape = (-1,) + (1,) * (x.ndim - 2) if x.ndim > 1 else (-1,)
    eps = _float(attrs, "epsilon", 1e-5)
    factor = (scale / np.sqrt(var + np.asarray(eps, var.dtype))).astype(x.dtype)
    y = (x - mean.reshape(shape)) * factor.reshape(shape) + bias.reshape(shape)
    return [y.astype(x.dtype)]


def lrn(inputs: list[Any], attrs: dict[str, object], n_outputs: int) -> list[Any] | None:
    """LRN across channels: x / (bias + alpha / size * sum of squares in the window) ** beta."""
    x = inputs[0]
    if not is_float(x):
        return None
    size = _int(attrs, "size", 1)
    alpha = _float(attrs, "alpha", 1e-4)
    beta = _float(attrs, "beta", 0.75)
    bias = _float(attrs, "bias", 1.0)
    before, after = (size - 1) // 2, size - 1 - (size - 1) // 2
    squares = np.pad(x * x, [(0, 0), (before, after)] + [(0, 0)] * (x.ndim - 2))
    channels = x.shape[1]
    total = sum(squares[:, i : i + channels] for i in range(size))
    return [(x / (bias + alpha / size * total) ** beta).astype(x.dtype)]


NN_KERNELS: dict[str, Kernel] = {
    "Conv": conv,
    "MaxPool": max_pool,
    "AveragePool": average_pool,
    "GlobalAveragePool": global_pool(lambda x, _: x.mean(axis=-1)),
    "GlobalMaxPool": global_pool(lambda x, _: x.max(axis=-1)),
    "GlobalLpPool": global_pool(_lp_norm),
    "BatchNormalization": batch_normalization,
    "LRN": lrn,
}
