"""TfIdfVectorizer (integer pools) -> counting generics.

The pool is a constant, so every n-gram is known at compile time. For each gram size n
in [min_gram_length, max_gram_length] and each skip distance s + 1 (unigrams once, as
in onnxruntime), one generic counts, per row b and pool n-gram j, the starts p whose
items x[b, p], x[b, p + (s+1)], ... equal the n-gram:

    count[b, j] += sum_p (x[b, p + k (s+1)] == pool[j, k] for all k < n)

(p ranges over the starts whose last item is inside the row). The counts then land on
their output slots (a constant 0/1 matrix) and are weighted by the mode:
TF = count, IDF = weight if count > 0, TFIDF = weight * count (weight 1 without
weights).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import TensorType, f32
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineMap

from lamina.dialects import graph, top
from lamina.dialects.weights import numpy_dtype
from lamina.lowering.graph_to_top_common import Body, Emitter, GraphLowering, elt_of, ints

_P, _R = top.IteratorType.PARALLEL, top.IteratorType.REDUCTION


def _levels(attrs: dict[str, object], pool_size: int) -> list[tuple[int, int, int]]:
    """(gram size n, first pool item, number of n-grams) per level of the pool."""
    starts = ints(attrs["ngram_counts"])
    ends = [*starts[1:], pool_size]
    return [(n + 1, start, (end - start) // (n + 1))
            for n, (start, end) in enumerate(zip(starts, ends, strict=True))]  # fmt: skip


def _count(e: Emitter, rows: SSAValue, pool: np.ndarray, step: int, counts: SSAValue) -> SSAValue:
    """counts[b, j] + the number of starts in rows[b] of pool n-gram j, items `step` apart.

    Loops (b, j, p), p reduced; item k of each start is read from the slice of rows that
    begins at k * step (so every read of p has the start count as extent)."""
    n = int(pool.shape[1])
    batch, width = e.static(rows)
    starts = width - step * (n - 1)
    element = elt_of(rows)
    pool_value = e.emit(graph.ConstantOp.from_array(pool.astype(numpy_dtype(element)), "pool"))
    items_k = [
        e.emit(top.SliceOp(rows, TensorType(element, (batch, starts)), offsets=[0, k * step],
                           strides=[1, 1]))
        for k in range(n)
    ]  # fmt: skip
    b, j, p = (AffineDimExpr(d) for d in range(3))
    inputs = [*([pool_value] * n), *items_k]
    maps = [AffineMap(3, 0, (j, AffineConstantExpr(k))) for k in range(n)]
    maps += [AffineMap(3, 0, (b, p))] * n
    block = Block(arg_types=[*([element] * (2 * n)), f32])
    body = Body(block)
    items = [block.args[k] for k in range(2 * n)]
    acc = block.args[-1]
    match = body.cmp("oeq", items[n], items[0])
    for k in range(1, n):
        match = body.emit(arith.AndIOp(match, body.cmp("oeq", items[n + k], items[k])))
    found = body.select(match, body.like(1, acc), body.like(0, acc))
    block.add_op(top.YieldOp(body.add(acc, found)))
    maps.append(AffineMap(3, 0, (b, j)))
    return e.emit(top.GenericOp(inputs, [counts], Region(block), maps, [_P, _P, _R]))


class TfIdfVectorizerLowering(GraphLowering):
    """tf_idf_vectorizer(x) over an integer pool -> counts weighted by the mode."""

    source = (graph.TfIdfVectorizerOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x = op.operands[0]
        xs, result = e.static_in_out(x)
        attrs = e.attrs()
        integer_pool = attrs.get("pool_int64s") and not attrs.get("pool_strings")
        if not integer_pool or not attrs.get("ngram_indexes") or len(xs) not in (1, 2):
            raise e.fail(f"input {x.type} without an integer pool")
        pool = np.array(ints(attrs["pool_int64s"]), np.int64)
        rows = e.reshape(x, xs if len(xs) == 2 else (1, *xs))
        batch, width = e.static(rows)
        slots = ints(attrs["ngram_indexes"])
        lowest = int(cast(int, attrs["min_gram_length"]))
        highest = int(cast(int, attrs["max_gram_length"]))
        skips = int(cast(int, attrs["max_skip_count"]))
        levels: list[SSAValue] = []
        for n, start, grams in _levels(attrs, len(pool)):
            if not grams:
                continue
            level = e.fill(TensorType(f32, (batch, grams)))
            for step in [1] if n == 1 else range(1, skips + 2):
                if lowest <= n <= highest and width - step * (n - 1) > 0:
                    level_pool = pool[start : start + n * grams].reshape(grams, n)
                    level = _count(e, rows, level_pool, step, level)
            levels.append(level)
        if not levels:
            raise e.fail("a pool without n-grams")
        counts = levels[0] if len(levels) == 1 else e.emit(
            top.ConcatOp(levels, TensorType(f32, (batch, sum(e.static(v)[1] for v in levels))),
                         axis=1))  # fmt: skip
        if e.static(counts)[1] != len(slots):
            raise e.fail(f"{len(slots)} ngram_indexes for {e.static(counts)[1]} pool n-grams")
        return [e.reshape(_weighted(e, counts, slots, attrs), result.get_shape())]


def _weighted(e: Emitter, counts: SSAValue, slots: list[int], attrs: dict[str, object]) -> SSAValue:
    """y[b, o] = mode(sum of counts[b, j] with slots[j] == o) (module doc)."""
    batch = e.static(counts)[0]
    size = max(slots) + 1
    onehot = np.zeros((len(slots), size), np.float32)
    onehot[np.arange(len(slots)), slots] = 1
    placing = e.emit(graph.ConstantOp.from_array(onehot, "slots"))
    b, o, j = (AffineDimExpr(d) for d in range(3))
    block = Block(arg_types=[f32, f32, f32])
    body = Body(block)
    block.add_op(top.YieldOp(body.add(block.args[2], body.mul(block.args[0], block.args[1]))))
    maps = [AffineMap(3, 0, (b, j)), AffineMap(3, 0, (j, o)), AffineMap(3, 0, (b, o))]
    totals_type = TensorType(f32, (batch, size))
    totals = e.emit(top.GenericOp([counts, placing], [e.fill(totals_type)], Region(block), maps,
                                  [_P, _P, _R]))  # fmt: skip
    mode = str(attrs["mode"])
    if mode not in ("TF", "IDF", "TFIDF"):
        raise e.fail(f"mode '{mode}'")
    given = attrs.get("weights")
    weights = np.array(given if given else [1.0] * size, np.float32)
    if mode == "TF":
        return totals
    weight = e.emit(graph.ConstantOp.from_array(weights, "idf"))

    def weigh(b: Body, v: Sequence[SSAValue]) -> SSAValue:
        if mode == "TFIDF":
            return b.mul(v[0], v[1])
        return b.select(b.cmp("ogt", v[0], b.like(0, v[0])), v[1], b.like(0, v[1]))

    return e.generic([totals, weight], totals_type, weigh)


TEXT_LOWERINGS: tuple[type[GraphLowering], ...] = (TfIdfVectorizerLowering,)
