"""Graph ops whose formula reads element positions or reduces with more than one value:
ArgMax / ArgMin, Hardmax, GatherElements, CumSum, Trilu, Range, LayerNormalization,
RMSNormalization, LpNormalization.

Positions reach a `top.generic` body as inputs: an `iota` constant (0, 1, ..., n - 1) read
through a map that picks the loop of the dim, since the body has no index op. A gather
along a dim is a `select_sum`: a reduction over an extra loop k that keeps the element
whose k is wanted (O(size of the dim) per element: these ops are small in models).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import cast

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerType, TensorType, i64
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap

from lamina.dialects import graph, top
from lamina.dialects.weights import numpy_dtype
from lamina.lowering.graph_to_top_common import (
    Body,
    Emitter,
    GraphLowering,
    elt_of,
    identity_map,
    is_none,
    normalize_axis,
    shape_of,
)


def iota(e: Emitter, size: int, element: Attribute = i64) -> SSAValue:
    """The constant [0, 1, ..., size - 1] of `element` type."""
    values = np.arange(size).astype(numpy_dtype(element))
    return e.emit(graph.ConstantOp.from_array(values, "iota"))


def dim_map(rank: int, dim: int) -> AffineMap:
    """(d0, ..., d<rank-1>) -> (d<dim>): reads an iota along loop `dim`."""
    return AffineMap(rank, 0, (AffineDimExpr(dim),))


def scalar_map(rank: int) -> AffineMap:
    """(d0, ..., d<rank-1>) -> (): reads a rank-0 tensor."""
    return AffineMap(rank, 0, ())


class ArgReduceLowering(GraphLowering):
    """arg_max(x, axis) -> one top.generic reducing `axis` into (best value, its index):
    a strictly better element (or an equal one with select_last_index) takes over."""

    source = (graph.ArgMaxOp, graph.ArgMinOp)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x = op.operands[0]
        xs, result = e.static_in_out(x)
        attrs = e.attrs()
        axis = e.axis_attr(len(xs))
        last = bool(attrs.get("select_last_index"))
        kept = _at0(xs, axis) if attrs["keepdims"] else _without_dim(xs, axis)
        if result.get_shape() != kept:
            raise e.fail(f"result type {result}, expected shape {kept}")
        index = arg_reduce(e, x, axis, isinstance(op, graph.ArgMaxOp), last)
        return [e.reshape(index, result.get_shape())]


def arg_reduce(e: Emitter, x: SSAValue, axis: int, is_max: bool, last: bool) -> SSAValue:
    """The i64 index of the max (min) of `x` along `axis`, that dim dropped."""
    xs = e.static(x)
    rank = len(xs)
    kept = _without_dim(xs, axis)
    out_map = _without(rank, axis)
    element = elt_of(x)
    first = e.emit(top.SliceOp(x, TensorType(element, _at0(xs, axis)), offsets=[0] * rank,
                               strides=[1] * rank))  # fmt: skip
    best = e.reshape(first, kept)
    index = e.fill(TensorType(i64, kept), 0)
    block = Block(arg_types=[element, i64, element, i64])
    b = Body(block)
    value, position, best_value, best_index = block.args
    better = b.cmp(_predicate(is_max, last), value, best_value)
    block.add_op(
        top.YieldOp(b.select(better, value, best_value), b.select(better, position, best_index))
    )
    generic = top.GenericOp(
        [x, iota(e, xs[axis])],
        [best, index],
        Region(block),
        [identity_map(rank), dim_map(rank, axis), out_map, out_map],
        _reducing(rank, axis),
    )
    e.emit(generic)
    return generic.res[1]


def _without_dim(shape: Sequence[int], axis: int) -> tuple[int, ...]:
    return tuple(s for d, s in enumerate(shape) if d != axis)


def _without(rank: int, dim: int) -> AffineMap:
    """(d0, ..., d<rank-1>) -> every d but d<dim>."""
    return AffineMap(rank, 0, tuple(AffineDimExpr(d) for d in range(rank) if d != dim))


def _reducing(rank: int, dim: int) -> list[top.IteratorType]:
    return [top.IteratorType.REDUCTION if d == dim else top.IteratorType.PARALLEL
            for d in range(rank)]  # fmt: skip


def select_sum(
    e: Emitter,
    x: SSAValue,
    axis: int,
    result: TensorType[Attribute],
    key: tuple[SSAValue, AffineMap],
    predicate: str,
) -> SSAValue:
    """y[i] = sum over k of x[i with dim `axis` = k] where `predicate`(k, key[i]) holds.

    The loops are the result's dims then k (reduced); `key` is read through its map on
    them (an iota along `axis`, or an index tensor)."""
    xs = e.static(x)
    rank = len(result.get_shape())
    x_map = AffineMap(rank + 1, 0, tuple(
        AffineDimExpr(rank if d == axis else d) for d in range(len(xs))))  # fmt: skip
    value, key_map = key
    block = Block(arg_types=[elt_of(x), i64, elt_of(value), result.get_element_type()])
    b = Body(block)
    element, k, wanted, acc = block.args
    if cast(IntegerType, wanted.type).bitwidth < 64:
        wanted = b.emit(arith.ExtSIOp(wanted, i64))
    if predicate == "oeq":  # an index: negative counts from the end
        negative = b.cmp("olt", wanted, b.like(0, wanted))
        wanted = b.select(negative, b.add(wanted, b.like(xs[axis], wanted)), wanted)
    hit = b.cmp(predicate, k, wanted)
    block.add_op(top.YieldOp(b.add(acc, b.select(hit, element, b.like(0, element)))))
    generic = top.GenericOp(
        [x, iota(e, xs[axis]), value],
        [e.fill(result)],
        Region(block),
        [x_map, dim_map(rank + 1, rank), key_map, AffineMap(rank + 1, 0, tuple(
            AffineDimExpr(d) for d in range(rank)))],
        _reducing(rank + 1, rank),
    )  # fmt: skip
    return e.emit(generic)


class GatherElementsLowering(GraphLowering):
    """gather_elements(x, idx, axis): y[i] = x[i with dim axis = idx[i]], a select_sum."""

    source = (graph.GatherElementsOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, indices = op.operands
        xs, result = e.static_in_out(x)
        axis = e.axis_attr(len(xs))
        rank = len(e.static(indices))
        key_map = AffineMap(rank + 1, 0, tuple(AffineDimExpr(d) for d in range(rank)))
        return [select_sum(e, x, axis, result, (indices, key_map), "oeq")]


_CUMULATIVE_PREDICATES = {
    (False, False): "ole",
    (True, False): "olt",
    (False, True): "oge",
    (True, True): "ogt",
}
"""(exclusive, reverse) -> how k compares with i for x[k] to count in y[i]."""


class CumulativeLowering(GraphLowering):
    """CumSum / CumProd (x, axis): y[i] accumulates x[k] for k <= i along the constant
    axis (k < i exclusive; k >= i, k > i reversed); `accumulate` emits the accumulation."""

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, axis_value = op.operands
        xs = e.static(x)
        axis = normalize_axis(e, int(e.constant(axis_value, "axis").item()), len(xs))
        attrs = e.attrs()
        predicate = _CUMULATIVE_PREDICATES[(bool(attrs["exclusive"]), bool(attrs["reverse"]))]
        return [self.accumulate(e, x, axis, predicate)]

    @abstractmethod
    def accumulate(self, e: Emitter, x: SSAValue, axis: int, predicate: str) -> SSAValue:
        """y (the static result), x[k] counting in y[i] where `k <predicate> i` along `axis`."""


class CumSumLowering(CumulativeLowering):
    """cumsum: a select_sum keyed by an iota."""

    source = (graph.CumSumOp,)

    def accumulate(self, e: Emitter, x: SSAValue, axis: int, predicate: str) -> SSAValue:
        xs = shape_of(x)
        key = (iota(e, xs[axis]), AffineMap(len(xs) + 1, 0, (AffineDimExpr(axis),)))
        return select_sum(e, x, axis, e.static_result(), key, predicate)


class HardmaxLowering(GraphLowering):
    """hardmax(x, axis): 1 where the position along axis is the (first) argmax, else 0."""

    source = (graph.HardmaxOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x = op.operands[0]
        xs, result = e.static_in_out(x)
        axis = e.axis_attr(len(xs))
        index = arg_reduce(e, x, axis, True, False)
        rank = len(xs)
        maps = [dim_map(rank, axis), _without(rank, axis)]

        def body(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            one, zero = b.const(1, result.get_element_type()), b.const(0, result.get_element_type())
            return b.select(b.cmp("oeq", v[0], v[1]), one, zero)

        return [e.generic([iota(e, xs[axis]), index], result, body, maps)]


class LpNormalizationLowering(GraphLowering):
    """lp_norm(x, axis, p) = x / reduce_l<p>(x, axis, keepdims) for p in 1, 2 (0 where the
    norm is 0)."""

    source = (graph.LpNormalizationOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x = op.operands[0]
        xs, result = e.static_in_out(x)
        attrs = e.attrs()
        axis = e.axis_attr(len(xs))
        kinds = {1: top.ReduceKind.L1, 2: top.ReduceKind.L2}
        p = int(cast(int, attrs["p"]))
        if p not in kinds:
            raise e.fail(f"p = {p}")
        kept = TensorType(result.get_element_type(), _at0(xs, axis))
        norm = e.emit(top.ReduceOp(x, kept, kind=kinds[p], axes=[axis], keepdims=True))

        def body(b: Body, v: Sequence[SSAValue]) -> SSAValue:  # a zero norm gives 0, not nan
            zero = b.like(0, v[1])
            return b.select(b.cmp("oeq", v[1], zero), zero, b.div(v[0], v[1]))

        return [e.generic([x, norm], result, body)]


def _at0(shape: Sequence[int], axis: int) -> tuple[int, ...]:
    return tuple(1 if d == axis else s for d, s in enumerate(shape))


def _predicate(is_max: bool, last: bool) -> str:
    return ("oge" if last else "ogt") if is_max else ("ole" if last else "olt")


class TriluLowering(GraphLowering):
    """trilu(x, k) keeps x[..., i, j] where j - i >= k (upper) or j - i <= k (lower), else
    0; row and column positions come from iotas, k is read as a rank-0 tensor."""

    source = (graph.TriluOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, k = op.operands
        xs, result = e.static_in_out(x)
        rank = len(xs)
        upper = bool(e.attrs()["upper"])
        inputs = [x, iota(e, xs[-2]), iota(e, xs[-1])]
        maps = [identity_map(rank), dim_map(rank, rank - 2), dim_map(rank, rank - 1)]
        if not is_none(k):
            if e.static(k) not in ((), (1,)):
                raise e.fail(f"k of shape {e.static(k)}")
            inputs.append(e.reshape(k, ()))
            maps.append(scalar_map(rank))

        def body(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            offset = b.sub(v[2], v[1])
            diagonal = v[3] if len(v) > 3 else b.like(0, offset)
            keep = b.cmp("oge" if upper else "ole", offset, diagonal)
            return b.select(keep, v[0], b.like(0, v[0]))

        return [e.generic(inputs, result, body, maps)]


class RangeLowering(GraphLowering):
    """range(start, limit, delta) on constants -> the constant sequence (a computed start or
    delta is not supported: the result's length would depend on it)."""

    source = (graph.RangeOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        result = e.static_result()
        start, limit, delta = (float(e.constant(v, "range bound").item()) for v in op.operands)
        dtype = numpy_dtype(result.get_element_type())
        values: np.ndarray = np.arange(start, limit, delta).astype(dtype)
        return [e.emit(graph.ConstantOp.from_array(values, "range"))]


class NormalizationLowering(GraphLowering):
    """layer_norm(x) = (x - mean) / sqrt(var + eps) * scale + bias over the dims from `axis`
    on; rms_norm(x) = x / sqrt(mean(x^2) + eps) * scale. Means are top.reduce mean with
    kept dims; the optional mean / inv_std_dev outputs of LayerNormalization too."""

    source = (graph.LayerNormalizationOp, graph.RMSNormalizationOp)
    dynamic_dims = True

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, scale = op.operands[:2]
        bias = op.operands[2] if len(op.operands) > 2 and not is_none(op.operands[2]) else None
        xs, result = e.static_in_out(x)
        attrs = e.attrs()
        axis = e.axis_attr(len(xs))
        eps = float(cast(float, attrs["epsilon"]))
        axes = list(range(axis, len(xs)))
        element = elt_of(x)
        kept = TensorType(element, tuple(1 if d >= axis else s for d, s in enumerate(xs)))

        def mean(value: SSAValue) -> SSAValue:
            return e.emit(top.ReduceOp(value, kept, kind=top.ReduceKind.MEAN, axes=axes,
                                       keepdims=True))  # fmt: skip

        full = TensorType(element, xs)
        centred = x
        mu = None
        if isinstance(op, graph.LayerNormalizationOp):
            mu = mean(x)
            centred = e.generic([x, mu], full, lambda b, v: b.sub(v[0], v[1]))
        square = mean(e.generic([centred], full, lambda b, v: b.mul(v[0], v[0])))
        inv = e.generic(
            [square],
            kept,
            lambda b, v: b.div(b.like(1, v[0]), b.sqrt(b.add(v[0], b.like(eps, v[0])))),
        )
        inputs = [centred, inv, scale] + ([bias] if bias is not None else [])

        def body(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            y = b.mul(b.mul(v[0], v[1]), v[2])
            return b.add(y, v[3]) if len(v) > 3 else y

        y = e.generic(inputs, result, body)
        return [y, *_stats(op, mu, inv)]


def _stats(op: Operation, mu: SSAValue | None, inv: SSAValue) -> list[SSAValue | None]:
    """The optional Mean and InvStdDev results of LayerNormalization, when typed."""
    if not isinstance(op, graph.LayerNormalizationOp):
        return []
    return [
        value if isinstance(result.type, TensorType) else None
        for result, value in zip(op.results[1:], [mu, inv], strict=True)
    ]


INDEX_LOWERINGS: tuple[type[GraphLowering], ...] = (
    ArgReduceLowering,
    GatherElementsLowering,
    CumSumLowering,
    HardmaxLowering,
    LpNormalizationLowering,
    TriluLowering,
    RangeLowering,
    NormalizationLowering,
)
