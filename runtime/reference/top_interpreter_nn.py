"""`top.matmul`, `top.conv2d` (im2col windows + tensordot) and `top.pool` on numpy arrays,
for the top interpreter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.interpreter import Interpreter, InterpreterFunctions, PythonValues, impl, register_impls
from xdsl.ir import Attribute, Operation

from lamina.dialects import top
from lamina.dialects.weights import numpy_dtype
from lamina.errors import UnsupportedOpError

Array = np.ndarray


def result_dtype(op: Operation) -> np.dtype[Any]:
    """The numpy dtype of the (first) result's elements."""
    return numpy_dtype(cast(TensorType[Attribute], op.results[0].type).element_type)


def _windows(
    x: Array, dims: Sequence[int], kernel: Sequence[int], strides: Sequence[int],
    dilations: Sequence[int], out: Sequence[int],
) -> Array:  # fmt: skip
    """Sliding windows over `dims` of an (already padded) x: x's dims with each of `dims`
    replaced by its `out` positions, then one trailing axis per kernel entry."""
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilations, strict=True)]
    view = np.lib.stride_tricks.sliding_window_view(x, spans, axis=tuple(dims))
    index: list[slice] = [slice(None)] * x.ndim
    for dim, stride, n in zip(dims, strides, out, strict=True):
        index[dim] = slice(0, (n - 1) * stride + 1, stride)
    index += [slice(None, None, d) for d in dilations]
    return view[tuple(index)]


def run_conv2d(op: top.Conv2dOp, x: Array, w: Array, bias: Array | None) -> Array:
    layout = op.layout.data
    if layout == top.ConvLayout.NHWC_HWCF:
        x, w = x.transpose(0, 3, 1, 2), w.transpose(3, 2, 0, 1)
    elif layout != top.ConvLayout.NCHW_FCHW:
        raise UnsupportedOpError(f"top.conv2d layout {layout} in the top interpreter")
    strides, dilations = op.strides.get_values(), op.dilations.get_values()
    low, high = op.pad_low.get_values(), op.pad_high.get_values()
    groups = op.groups.value.data
    if np.dtype(result_dtype(op)).kind in "iu":  # 8-bit convs sum in their i32 result
        x, w = x.astype(result_dtype(op)), w.astype(result_dtype(op))
    xp = np.pad(x, [(0, 0), (0, 0), (low[0], high[0]), (low[1], high[1])])
    f, cg, kh, kw = w.shape
    n = x.shape[0]
    oh = (xp.shape[2] - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (xp.shape[3] - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    win = _windows(xp, (2, 3), (kh, kw), strides, dilations, (oh, ow))  # N C OH OW KH KW
    acc = np.float64 if x.dtype == np.float64 else x.dtype if x.dtype.kind in "iu" else np.float32
    if groups == 1:
        y = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    else:
        fg = f // groups
        wg = w.reshape(groups, fg, cg, kh, kw)
        wing = win.reshape(n, groups, cg, oh, ow, kh, kw)
        y = np.einsum("ngchwij,gfcij->ngfhw", wing, wg, optimize=True).reshape(n, f, oh, ow)
    y = y.astype(acc)
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    if layout == top.ConvLayout.NHWC_HWCF:
        y = y.transpose(0, 2, 3, 1)
    return y.astype(result_dtype(op))


def run_pool(op: top.PoolOp, x: Array) -> Array:
    dims = list(op.spatial_dims())
    kernel, strides = op.kernel.get_values(), op.strides.get_values()
    dilations = op.dilations.get_values()
    low, high = op.pad_low.get_values(), op.pad_high.get_values()
    out_shape = cast(TensorType[Attribute], op.result.type).get_shape()
    out = [out_shape[d] for d in dims]
    # ceil mode: windows may reach past the explicit pads; those positions never count
    extra = [
        max(0, (o - 1) * s + dl * (k - 1) + 1 - (x.shape[d] + lo + hi))
        for o, s, dl, k, d, lo, hi in zip(out, strides, dilations, kernel, dims, low, high,
                                          strict=True)
    ]  # fmt: skip
    pads = [(0, 0)] * x.ndim
    for i, d in enumerate(dims):
        pads[d] = (low[i], high[i] + extra[i])
    axes = tuple(range(x.ndim, x.ndim + len(dims)))
    if op.kind.data == top.PoolKind.MAX:
        fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        xp = np.pad(x, pads, constant_values=fill)
        return _windows(xp, dims, kernel, strides, dilations, out).max(axis=axes)
    xp = np.pad(x, pads)
    sums = _windows(xp, dims, kernel, strides, dilations, out).sum(axis=axes)
    ones = np.pad(np.ones([x.shape[d] for d in dims], np.float64),
                  [(lo, hi + ex) for lo, hi, ex in zip(low, high, extra, strict=True)],
                  constant_values=0.0)  # fmt: skip
    if op.count_include_pad:
        ones = np.pad(np.ones([x.shape[d] + low[i] + high[i] for i, d in enumerate(dims)]),
                      [(0, ex) for ex in extra])  # fmt: skip
    counts = _windows(ones, range(len(dims)), kernel, strides, dilations, out).sum(
        axis=tuple(range(len(dims), 2 * len(dims)))
    )
    shape = [1] * x.ndim
    for i, d in enumerate(dims):
        shape[d] = out[i]
    return (sums / counts.reshape(shape)).astype(x.dtype)


@register_impls
class TopNNFunctions(InterpreterFunctions):
    """matmul, conv2d and pool."""

    @impl(top.MatmulOp)
    def run_matmul(self, interpreter: Interpreter, op: top.MatmulOp, args: PythonValues):
        a, b = (np.asarray(v) for v in args)
        dtype = result_dtype(op)
        a = np.swapaxes(a, -1, -2) if op.transpose_lhs else a
        b = np.swapaxes(b, -1, -2) if op.transpose_rhs else b
        return (np.matmul(a.astype(dtype), b.astype(dtype)),)

    @impl(top.Conv2dOp)
    def run_conv2d(self, interpreter: Interpreter, op: top.Conv2dOp, args: PythonValues):
        x, w, *bias = args
        return (run_conv2d(op, np.asarray(x), np.asarray(w), bias[0] if bias else None),)

    @impl(top.PoolOp)
    def run_pool(self, interpreter: Interpreter, op: top.PoolOp, args: PythonValues):
        return (run_pool(op, np.asarray(args[0])),)


NN_OPS_RUN = (top.MatmulOp, top.Conv2dOp, top.PoolOp)
"""The ops `TopNNFunctions` runs."""
