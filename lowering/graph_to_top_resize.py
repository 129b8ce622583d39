"""Resize -> one contraction per resized dim with a constant interpolation matrix.

With static shapes every Resize mode of ONNX (nearest with its rounding modes, linear,
cubic, antialiasing, every coordinate transformation) is separable and linear per dim:

    y[..., o, ...] = sum_k W_d[o, k] x[..., k, ...] + b_d[o]

W_d (out x in) and b_d (only tf_crop_and_resize's extrapolation value makes it non-zero)
are computed at compile time by running the reference Resize kernel, with the op's own
attributes, on the identity basis of the dim (a 2-D [in, in] input resized along dim 1)
and on zeros. A dim whose W_d is the identity is skipped; one whose rows are all one-hot
(nearest modes) is a gather of the rows it picks, O(out) instead of O(out x in); one whose
rows have at most `MAX_TAPS` weights (linear: 2, cubic: 4) is a gather per tap and one
weighted sum, O(taps x out):

    y[..., o, ...] = sum_t weights[o, t] * x[..., index[o, t], ...]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
from xdsl.dialects.builtin import AnyFloat, TensorType
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap

from lamina.dialects import graph, top
from lamina.dialects.weights import numpy_dtype
from lamina.lowering.graph_to_top_common import Body, Emitter, GraphLowering, elt_of, is_none

MAX_TAPS = 4
"""Interpolation rows with at most this many weights take the gathers, not the contraction."""


def _run_1d(attrs: dict[str, object], x: np.ndarray, operands: list[np.ndarray | None]):
    from lamina.kernels import OnnxKernel

    (y,) = OnnxKernel("Resize", attrs, 1)([x, *operands])
    return cast(np.ndarray[Any, Any], y)


def interpolation(
    attrs: dict[str, object], n_in: int, n_out: int, scale: float | None, roi: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray] | None:
    """(W, b) of one dim: out = W @ in + b; None if the 1-D resize is not `n_out` long."""
    one_d = {k: v for k, v in attrs.items() if k != "axes"}
    start, end = roi
    operands: list[np.ndarray | None] = [np.array([0, start, 1, end], np.float32)]
    if scale is None:
        operands += [None, np.array([n_in, n_out], np.int64)]
    else:
        operands += [np.array([1, scale], np.float32), None]
    basis = _run_1d(one_d, np.eye(n_in, dtype=np.float64), operands)
    bias = _run_1d(one_d, np.zeros((1, n_in), np.float64), operands)
    if basis.shape != (n_in, n_out):
        return None
    return (basis - bias).T, bias[0]


def contract(e: Emitter, x: SSAValue, dim: int, matrix: np.ndarray) -> SSAValue:
    """y[..., o, ...] = sum_k matrix[o, k] x[..., k, ...] along `dim`."""
    element = elt_of(x)
    rank = len(e.static(x))
    result = _resized(x, dim, matrix.shape[0])
    w = e.emit(graph.ConstantOp.from_array(matrix.astype(numpy_dtype(element)), "resize_weights"))
    dims = [AffineDimExpr(d) for d in range(rank)]
    x_map = AffineMap(rank + 1, 0, tuple(AffineDimExpr(rank) if d == dim else dims[d]
                                         for d in range(rank)))  # fmt: skip
    w_map = AffineMap(rank + 1, 0, (AffineDimExpr(dim), AffineDimExpr(rank)))
    out_map = AffineMap(rank + 1, 0, tuple(dims))
    block = Block(arg_types=[element, element, element])
    b = Body(block)
    block.add_op(top.YieldOp(b.add(block.args[2], b.mul(block.args[0], block.args[1]))))
    iterators = [top.IteratorType.PARALLEL] * rank + [top.IteratorType.REDUCTION]
    return e.emit(top.GenericOp([x, w], [e.fill(result)], Region(block),
                                [x_map, w_map, out_map], iterators))  # fmt: skip


def taps(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(index, weights), both out x T: each row's nonzero weights and the inputs they weigh
    (a shorter row padded with weight 0 on input 0); None when a row has more than
    `MAX_TAPS` or none has any."""
    counts = (matrix != 0).sum(axis=1)
    width = int(counts.max(initial=0))
    if not 0 < width <= MAX_TAPS:
        return None
    index = np.zeros((matrix.shape[0], width), np.int64)
    weights = np.zeros((matrix.shape[0], width), matrix.dtype)
    for o, row in enumerate(matrix):
        nonzero = np.flatnonzero(row)
        index[o, : len(nonzero)] = nonzero
        weights[o, : len(nonzero)] = row[nonzero]
    return index, weights


def interpolate(e: Emitter, x: SSAValue, dim: int, index: np.ndarray, weights: np.ndarray):
    """y[..., o, ...] = sum_t weights[o, t] x[..., index[o, t], ...] along `dim`: a gather
    per tap, then one weighted sum."""
    element = elt_of(x)
    rank, width = len(e.static(x)), int(index.shape[1])
    result = _resized(x, dim, index.shape[0])
    gathered: list[SSAValue] = []
    factors: list[SSAValue] = []
    for t in range(width):
        rows = e.emit(graph.ConstantOp.from_array(np.ascontiguousarray(index[:, t]), "resize_taps"))
        gathered.append(e.emit(top.GatherOp(x, rows, result, axis=dim)))
        factor = weights[:, t].astype(numpy_dtype(element))
        factors.append(e.emit(graph.ConstantOp.from_array(factor, "resize_weights")))
    along = AffineMap(rank, 0, (AffineDimExpr(dim),))
    maps = [AffineMap.identity(rank)] * width + [along] * width

    def weighted_sum(b: Body, v: Sequence[SSAValue]) -> SSAValue:
        total = b.mul(v[0], v[width])
        for t in range(1, width):
            total = b.add(total, b.mul(v[t], v[width + t]))
        return total

    return e.generic([*gathered, *factors], result, weighted_sum, maps)


def add_bias(e: Emitter, y: SSAValue, dim: int, bias: np.ndarray) -> SSAValue:
    """y[..., o, ...] + bias[o] along `dim` (tf_crop_and_resize's extrapolation value)."""
    if not bias.any():
        return y
    result = cast(TensorType[Any], y.type)
    rank = len(result.get_shape())
    offset = e.emit(graph.ConstantOp.from_array(bias.astype(numpy_dtype(elt_of(y))), "resize_bias"))
    maps = [AffineMap.identity(rank), AffineMap(rank, 0, (AffineDimExpr(dim),))]
    return e.generic([y, offset], result, lambda b, v: b.add(v[0], v[1]), maps)


def _resized(x: SSAValue, dim: int, size: int) -> TensorType[Any]:
    shape = cast(TensorType[Any], x.type).get_shape()
    return TensorType(elt_of(x), tuple(size if d == dim else s for d, s in enumerate(shape)))


def select(e: Emitter, x: SSAValue, dim: int, matrix: np.ndarray) -> SSAValue:
    """y[..., o, ...] = x[..., k_o, ...] along `dim` where row o of `matrix` is one-hot at
    k_o (nearest modes): a gather, O(output) instead of a contraction's O(output x in)."""
    rows = e.emit(graph.ConstantOp.from_array(matrix.argmax(axis=1).astype(np.int64), "nearest"))
    return e.emit(top.GatherOp(x, rows, _resized(x, dim, matrix.shape[0]), axis=dim))


def is_selection(matrix: np.ndarray, bias: np.ndarray) -> bool:
    """Every row one-hot and no bias: the dim picks input elements."""
    return (
        not bias.any() and bool(np.isin(matrix, (0, 1)).all()) and bool((matrix.sum(1) == 1).all())
    )


class ResizeLowering(GraphLowering):
    """resize(x, roi, scales | sizes) -> a chain of `contract`s (see the module doc)."""

    source = (graph.ResizeOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, roi, scales, sizes = op.operands
        xs = e.static(x)
        ys = e.static_result().get_shape()
        if not isinstance(elt_of(x), AnyFloat):
            raise e.fail(f"integer input {x.type}")
        attrs = e.attrs()
        rank = len(xs)
        axes = [int(a) % rank for a in cast(Sequence[int], attrs.get("axes") or range(rank))]
        per_dim = self._scales(e, attrs, axes, xs, ys, scales, sizes)
        rois = self._rois(e, axes, roi, attrs)
        value = x
        for dim in axes:
            found = interpolation(attrs, xs[dim], ys[dim], per_dim[dim], rois[dim])
            if found is None:
                raise e.fail(f"dim {dim}: output size {ys[dim]} does not follow from the scale")
            matrix, bias = found
            if matrix.shape == (xs[dim], xs[dim]) and np.array_equal(matrix, np.eye(xs[dim])):
                continue
            if is_selection(matrix, bias):
                value = select(e, value, dim, matrix)
            elif (banded := taps(matrix)) is not None:
                value = add_bias(e, interpolate(e, value, dim, *banded), dim, bias)
            else:
                value = add_bias(e, contract(e, value, dim, matrix), dim, bias)
        return [value]

    def _scales(
        self,
        e: Emitter,
        attrs: dict[str, object],
        axes: list[int],
        xs: Sequence[int],
        ys: Sequence[int],
        scales: SSAValue,
        sizes: SSAValue,
    ) -> dict[int, float | None]:
        """Per resized dim: the scale the kernel should use, None to pass the size."""
        given: list[float] = (
            [] if is_none(scales) else [float(v) for v in e.constant(scales, "scales").reshape(-1)]
        )
        if given:
            return {d: float(s) for d, s in zip(axes, given, strict=True)}
        if is_none(sizes):
            raise e.fail("neither scales nor sizes")
        policy = attrs.get("keep_aspect_ratio_policy") or "stretch"
        if policy == "stretch":
            return dict.fromkeys(axes)
        ratios = [ys[d] / xs[d] for d in axes]
        uniform = min(ratios) if policy == "not_larger" else max(ratios)
        return dict.fromkeys(axes, uniform)

    def _rois(
        self, e: Emitter, axes: list[int], roi: SSAValue, attrs: dict[str, object]
    ) -> dict[int, tuple[float, float]]:
        if attrs.get("coordinate_transformation_mode") != "tf_crop_and_resize" or is_none(roi):
            return dict.fromkeys(axes, (0.0, 1.0))
        values = [float(v) for v in e.constant(roi, "roi").tolist()]
        n = len(axes)
        return {d: (values[i], values[n + i]) for i, d in enumerate(axes)}


RESIZE_LOWERINGS: tuple[type[GraphLowering], ...] = (ResizeLowering,)
