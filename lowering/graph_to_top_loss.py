"""NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss -> top ops.

The class each target picks is read without a gather: one `top.generic` reduces the class
dim c of the input [N, C, d...], keeping the element whose c equals the target (an iota
over c is the body's view of c):

    loss[n, d...] = -input[n, t, d...] w[t],  wsum[n, d...] = w[t]   (t = target[n, d...])
    both 0 where t == ignore_index

then `reduction`: none -> loss; sum -> sum(loss); mean -> sum(loss) / sum(wsum).
SoftmaxCrossEntropyLoss is the same on log_softmax(scores) along c (its optional second
result).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerType, TensorType, i64
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap

from lamina.dialects import graph, top
from lamina.lowering.graph_to_top_common import Body, Emitter, GraphLowering, elt_of, is_none
from lamina.lowering.graph_to_top_index import dim_map, iota


def _without(rank: int, dim: int) -> AffineMap:
    return AffineMap(rank, 0, tuple(AffineDimExpr(d) for d in range(rank) if d != dim))


def picked_losses(
    e: Emitter, log_prob: SSAValue, target: SSAValue, weight: SSAValue | None, ignore: int | None
) -> tuple[SSAValue, SSAValue]:
    """(loss, weight) per target element: -log_prob[n, t, d...] w[t] and w[t], 0 if ignored."""
    xs = e.static(log_prob)
    rank = len(xs)
    element = elt_of(log_prob)
    kept = TensorType(element, tuple(s for d, s in enumerate(xs) if d != 1))
    inputs = [log_prob, target, iota(e, xs[1])]
    maps = [AffineMap.identity(rank), _without(rank, 1), dim_map(rank, 1)]
    if weight is not None:
        inputs.append(weight)
        maps.append(dim_map(rank, 1))
    inits = [e.fill(kept), e.fill(kept)]
    block = Block(arg_types=[element, elt_of(target), i64, *([element] if weight else []),
                             element, element])  # fmt: skip
    b = Body(block)
    x, t, c = block.args[:3]
    w = block.args[3] if weight is not None else b.like(1, x)
    loss_acc, weight_acc = block.args[-2:]
    if cast(IntegerType, t.type).bitwidth < 64:
        t = b.emit(arith.ExtSIOp(t, i64))
    hit = b.cmp("oeq", c, t)
    if ignore is not None:
        hit = b.emit(arith.AndIOp(hit, b.cmp("une", t, b.like(ignore, t))))
    zero = b.like(0, x)
    block.add_op(
        top.YieldOp(
            b.add(loss_acc, b.select(hit, b.neg(b.mul(x, w)), zero)),
            b.add(weight_acc, b.select(hit, w, zero)),
        )
    )
    iterators = [top.IteratorType.REDUCTION if d == 1 else top.IteratorType.PARALLEL
                 for d in range(rank)]  # fmt: skip
    generic = top.GenericOp(inputs, inits, Region(block), [*maps, maps[1], maps[1]], iterators)
    e.emit(generic)
    return generic.res[0], generic.res[1]


def reduce_loss(e: Emitter, loss: SSAValue, weights: SSAValue, reduction: str) -> SSAValue:
    """`reduction` of the per-element losses (`mean` weighs by the picked weights)."""
    if reduction == "none":
        return loss
    if reduction not in ("sum", "mean"):
        raise e.fail(f"reduction '{reduction}'")
    rank = len(e.static(loss))
    scalar = TensorType(elt_of(loss), ())

    def total(value: SSAValue) -> SSAValue:
        return e.emit(top.ReduceOp(value, scalar, kind=top.ReduceKind.SUM,
                                   axes=list(range(rank))))  # fmt: skip

    summed = total(loss)
    if reduction == "sum":
        return summed
    return e.generic([summed, total(weights)], scalar, lambda b, v: b.div(v[0], v[1]))


def _ignore(attrs: dict[str, object]) -> int | None:
    value = attrs.get("ignore_index")
    return None if value is None else int(cast(int, value))


class NegativeLogLikelihoodLossLowering(GraphLowering):
    """nll_loss(input, target, weight?) as in the module doc."""

    source = (graph.NegativeLogLikelihoodLossOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, target, weight = op.operands
        e.static_result()
        attrs = e.attrs()
        loss, weights = picked_losses(
            e, x, target, None if is_none(weight) else weight, _ignore(attrs)
        )
        return [reduce_loss(e, loss, weights, str(attrs["reduction"]))]


class SoftmaxCrossEntropyLossLowering(GraphLowering):
    """sce(scores, labels, weights?) = nll_loss(log_softmax(scores, axis 1), labels, weights);
    the second result is that log_softmax."""

    source = (graph.SoftmaxCrossEntropyLossOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        scores, labels, weight = op.operands
        xs = e.static(scores)
        e.static_result()
        attrs = e.attrs()
        element = elt_of(scores)
        full = TensorType(element, xs)
        kept = TensorType(element, tuple(1 if d == 1 else s for d, s in enumerate(xs)))

        def reduce(kind: top.ReduceKind, value: SSAValue) -> SSAValue:
            return e.emit(top.ReduceOp(value, kept, kind=kind, axes=[1], keepdims=True))

        m = reduce(top.ReduceKind.MAX, scores)
        shifted = e.generic([scores, m], full, lambda b, v: b.sub(v[0], v[1]))
        s = reduce(top.ReduceKind.SUM, e.generic([shifted], full, lambda b, v: b.exp(v[0])))
        log_prob = e.generic([shifted, s], full, lambda b, v: b.sub(v[0], b.log(v[1])))
        loss, weights = picked_losses(
            e, log_prob, labels, None if is_none(weight) else weight, _ignore(attrs)
        )
        result = reduce_loss(e, loss, weights, str(attrs["reduction"]))
        return [result, log_prob if len(op.results) > 1 else None][: len(op.results)]


LOSS_LOWERINGS: tuple[type[GraphLowering], ...] = (
    NegativeLogLikelihoodLossLowering,
    SoftmaxCrossEntropyLossLowering,
)
