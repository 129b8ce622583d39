"""Normalisations over computed statistics and LpPool -> top.reduce mean + top.generic:
InstanceNormalization, GroupNormalization, MeanVarianceNormalization, BatchNormalization
in training mode (batch statistics and running averages), and LpPool as an average pool of
|x|^p scaled back to a sum.

Statistics are population ones, as ONNX defines them: mean(x) and mean((x - mean(x))^2),
top.reduce mean with kept dims, so the normalising generic reads them by broadcasting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap
from xdsl.pattern_rewriter import PatternRewriter

from lamina.dialects import graph, top
from lamina.lowering.graph_to_top_common import (
    Body,
    Emitter,
    GraphLowering,
    elt_of,
    identity_map,
    ints,
    normalize_axis,
    shape_of,
)
from lamina.lowering.graph_to_top_nn import window_attrs


def reduce_mean(e: Emitter, x: SSAValue, axes: Sequence[int]) -> SSAValue:
    """mean of `x` over `axes`, the reduced dims kept as size 1."""
    kept = [1 if d in axes else s for d, s in enumerate(shape_of(x))]
    return e.emit(top.ReduceOp(x, TensorType(elt_of(x), kept), kind=top.ReduceKind.MEAN,
                               axes=sorted(axes), keepdims=True))  # fmt: skip


def moments(e: Emitter, x: SSAValue, axes: Sequence[int]) -> tuple[SSAValue, SSAValue, SSAValue]:
    """(x - mean, mean, variance) over `axes`; mean and variance keep the reduced dims."""
    full = TensorType(elt_of(x), shape_of(x))
    mean = reduce_mean(e, x, axes)
    centred = e.generic([x, mean], full, lambda b, v: b.sub(v[0], v[1]))
    variance = reduce_mean(e, e.generic([centred], full, lambda b, v: b.mul(v[0], v[0])), axes)
    return centred, mean, variance


def inverse_std(e: Emitter, variance: SSAValue, epsilon: float) -> SSAValue:
    """1 / sqrt(variance + epsilon)."""
    return e.generic([variance], TensorType(elt_of(variance), shape_of(variance)),
                     lambda b, v: b.div(b.like(1, v[0]), b.sqrt(b.add(v[0], b.like(epsilon, v[0])))))  # fmt: skip


def _epsilon(e: Emitter) -> float:
    return float(cast(float, e.attrs().get("epsilon", 1e-5)))


def _dims_map(rank: int, dims: Sequence[int]) -> AffineMap:
    """(d0, ..., d<rank-1>) -> (d<dims[0]>, ...): reads a per-channel (or per-group) vector."""
    return AffineMap(rank, 0, tuple(AffineDimExpr(d) for d in dims))


def scale_shift(
    e: Emitter,
    normalised: SSAValue,
    scale: SSAValue,
    bias: SSAValue,
    dims: Sequence[int],
) -> SSAValue:
    """normalised * scale + bias, scale and bias indexed by the loops `dims`."""
    rank = len(shape_of(normalised))
    maps = [identity_map(rank), _dims_map(rank, dims), _dims_map(rank, dims)]
    full = TensorType(elt_of(normalised), shape_of(normalised))
    return e.generic([normalised, scale, bias], full,
                     lambda b, v: b.add(b.mul(v[0], v[1]), v[2]), maps)  # fmt: skip


def normalise(e: Emitter, x: SSAValue, axes: Sequence[int], epsilon: float) -> SSAValue:
    """(x - mean) / sqrt(variance + epsilon) over `axes`."""
    centred, _, variance = moments(e, x, axes)
    inv = inverse_std(e, variance, epsilon)
    full = TensorType(elt_of(x), shape_of(x))
    return e.generic([centred, inv], full, lambda b, v: b.mul(v[0], v[1]))


class InstanceNormalizationLowering(GraphLowering):
    """instance_norm(x: N C ..., scale, bias): per (n, c), normalised over the spatial dims,
    then scale[c] x + bias[c]."""

    source = (graph.InstanceNormalizationOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, scale, bias = op.operands
        rank = len(e.static(x))
        y = normalise(e, x, range(2, rank), _epsilon(e))
        return [scale_shift(e, y, scale, bias, [1])]


class GroupNormalizationLowering(GraphLowering):
    """group_norm(x: N C ..., scale, bias): x viewed as N G C/G S, normalised over (C/G, S)
    per (n, g); scale / bias per channel (opset 21: C of them), read as G x C/G."""

    source = (graph.GroupNormalizationOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, scale, bias = op.operands
        xs = e.static(x)
        groups = int(cast(int, e.attrs()["num_groups"]))
        n, c = xs[0], xs[1]
        if c % groups:
            raise e.fail(f"{c} channels in {groups} groups")
        view = e.reshape(x, [n, groups, c // groups, math.prod(xs[2:])])
        y = normalise(e, view, [2, 3], _epsilon(e))
        if e.static(scale) != (c,) or e.static(bias) != (c,):
            raise e.fail(f"scale / bias of {e.static(scale)}, expected ({c},) (opset 21)")
        per_channel = [groups, c // groups]
        scale, bias = e.reshape(scale, per_channel), e.reshape(bias, per_channel)
        y = scale_shift(e, y, scale, bias, [1, 2])
        return [e.reshape(y, e.static_result().get_shape())]


class MeanVarianceNormalizationLowering(GraphLowering):
    """mvn(x) = (x - mean) / (sqrt(variance) + 1e-9) over `axes` (ONNX's function body)."""

    source = (graph.MeanVarianceNormalizationOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x = op.operands[0]
        rank = len(e.static(x))
        axes = sorted(normalize_axis(e, a, rank) for a in ints(e.attrs().get("axes") or [0, 2, 3]))
        centred, _, variance = moments(e, x, axes)

        def body(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            return b.div(v[0], b.add(b.sqrt(v[1]), b.like(1e-9, v[1])))

        return [e.generic([centred, variance], e.static_result(), body)]


class BatchNormalizationTrainingLowering(GraphLowering):
    """batch_norm(x, scale, bias, mean, var) with training_mode = 1: normalised with the
    batch's statistics over (N, spatial); running_mean = mean m + batch_mean (1 - m), the
    same for the variance (m = momentum)."""

    source = (graph.BatchNormalizationOp,)

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if (
            isinstance(op, graph.BatchNormalizationOp)
            and graph.onnx_attributes(op)["training_mode"]
        ):
            super().match_and_rewrite(op, rewriter)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, scale, bias, running_mean, running_var = op.operands
        rank = len(e.static(x))
        axes = [0, *range(2, rank)]
        centred, mean, variance = moments(e, x, axes)
        inv = inverse_std(e, variance, _epsilon(e))
        full = TensorType(elt_of(x), shape_of(x))
        y = e.generic([centred, inv], full, lambda b, v: b.mul(v[0], v[1]))
        y = scale_shift(e, y, scale, bias, [1])
        momentum = float(cast(float, e.attrs().get("momentum", 0.9)))

        def running(index: int, old: SSAValue, batch: SSAValue) -> SSAValue | None:
            """old m + batch (1 - m), when the result is used."""
            if not op.results[index].uses:
                return None
            vector = TensorType(elt_of(old), shape_of(old))
            new = e.reshape(batch, shape_of(old))
            return e.generic([old, new], vector, lambda b, v: b.add(
                b.mul(v[0], b.like(momentum, v[0])), b.mul(v[1], b.like(1 - momentum, v[1]))))  # fmt: skip

        return [y, running(1, running_mean, mean), running(2, running_var, variance)]


class LpPoolLowering(GraphLowering):
    """lp_pool(x, p) = (sum over the window of |x|^p)^(1/p): top.pool avg of |x|^p counting
    pads (zeros), times the kernel's size; the result type carries ceil mode."""

    source = (graph.LpPoolOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x = op.operands[0]
        xs, result = e.static_in_out(x)
        attrs = e.attrs()
        kernel = ints(attrs["kernel_shape"])
        p = float(cast(float, attrs.get("p", 2)))
        strides, dilations, low, high = window_attrs(e, xs, kernel)
        full = TensorType(elt_of(x), xs)
        powered = e.generic([x], full, lambda b, v: _power(b, b.abs(v[0]), p))
        mean = e.emit(top.PoolOp(powered, result, kind=top.PoolKind.AVG,
                                 layout=top.TensorLayout.NCHW, kernel=kernel, strides=strides,
                                 dilations=dilations, pad_low=low, pad_high=high,
                                 count_include_pad=True))  # fmt: skip
        size = math.prod(kernel)
        return [e.generic([mean], result,
                          lambda b, v: _power(b, b.mul(v[0], b.like(size, v[0])), 1 / p))]  # fmt: skip


def _power(b: Body, x: SSAValue, p: float) -> SSAValue:
    """x^p for x >= 0: a product for p = 2, a root for p = 1/2, else powf."""
    if p == 2:
        return b.mul(x, x)
    if p == 0.5:
        return b.sqrt(x)
    if p == 1:
        return x
    return b.pow(x, b.like(p, x))


NORM_LOWERINGS: tuple[type[GraphLowering], ...] = (
    InstanceNormalizationLowering,
    GroupNormalizationLowering,
    MeanVarianceNormalizationLowering,
    BatchNormalizationTrainingLowering,
    LpPoolLowering,
)
