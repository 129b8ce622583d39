"""`top.topk`, `top.gather_nd` and `top.scatter_nd` to loop nests.

topk selects without a scratch buffer: per row, the j-th pick is the best element ranked
strictly after the (j-1)-th in the order (value, then position), one scan of the row per
pick (O(k n) per row, the order of ONNX TopK: ties by lower position):

    for row (parallel):  prev = none
      for j < k:  best = scan i < n of x[row, i] ranked after prev;  store best;  prev = best

gather_nd / scatter_nd read their index tuples, wrap negative indices and clamp into the
dim, so no access leaves a buffer; scatter_nd copies data into the result, then applies
the updates in order in one sequential nest (duplicate indices combine in order).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, IntegerType, Signedness, i1, i64
from xdsl.ir import SSAValue
from xdsl.pattern_rewriter import PatternRewriter, op_type_rewrite_pattern

from lamina.dialects.top_base import ScatterKind
from lamina.dialects.top_index import GatherNDOp, ScatterNDOp, TopKOp
from lamina.lowering.bufferize import TopLowering
from lamina.lowering.top_to_loop_build import Emitter, copy, is_float, shape_of


def _compare(em: Emitter, predicate: str, a: SSAValue, b: SSAValue) -> SSAValue:
    """`a <predicate> b` with predicate one of lt, gt, eq (ordered floats; integers signed
    or, bitcast to signless, unsigned)."""
    if is_float(a.type):
        return em.value(arith.CmpfOp(a, b, {"lt": "olt", "gt": "ogt", "eq": "oeq"}[predicate]))
    t = cast(IntegerType, a.type)
    if t.signedness.data == Signedness.UNSIGNED:
        signless = IntegerType(t.bitwidth)
        a, b = (em.value(arith.BitcastOp(v, signless)) for v in (a, b))
        return em.value(arith.CmpiOp(a, b, {"lt": "ult", "gt": "ugt", "eq": "eq"}[predicate]))
    return em.value(arith.CmpiOp(a, b, {"lt": "slt", "gt": "sgt", "eq": "eq"}[predicate]))


def _or(em: Emitter, a: SSAValue, b: SSAValue) -> SSAValue:
    return em.value(arith.OrIOp(a, b))


def _and(em: Emitter, a: SSAValue, b: SSAValue) -> SSAValue:
    return em.value(arith.AndIOp(a, b))


class TopKLowering(TopLowering):
    """top.topk -> per row, k scans each picking the best element after the last pick."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: TopKOp, rewriter: PatternRewriter) -> None:
        em = self.emitter(op)
        x = self.buffer(op.input, op)
        values, indices = self.buffer(op.values, op), self.buffer(op.indices, op)
        axis, largest = op.axis.value.data, op.largest is not None
        xs = shape_of(x)
        k, n = shape_of(values)[axis], xs[axis]
        better = "gt" if largest else "lt"
        rows = [s for d, s in enumerate(xs) if d != axis]
        if k == 0:  # nothing to pick (and an empty row has no element to read)
            rewriter.erase(op)
            return

        def at(row: Sequence[SSAValue], position: SSAValue) -> list[SSAValue]:
            return [*row[:axis], position, *row[axis:]]

        with em.nest(rows) as row:
            some = em.load(x, at(row, em.index(0)))  # a value of the type; never picked as is

            def pick(j: list[SSAValue], prev: list[SSAValue]) -> list[SSAValue]:
                first = em.value(arith.CmpiOp(j[0], em.index(0), "eq"))

                def scan(i: list[SSAValue], best: list[SSAValue]) -> list[SSAValue]:
                    value = em.load(x, at(row, i[0]))
                    # ranked after prev: worse value, or the same value further on
                    worse = _compare(em, better, prev[0], value)
                    later = _and(em, _compare(em, "eq", prev[0], value),
                                 em.value(arith.CmpiOp(i[0], prev[1], "sgt")))  # fmt: skip
                    allowed = _or(em, first, _or(em, worse, later))
                    wins = _or(em, em.value(arith.XOrIOp(best[2], em.const(1, i1))),
                               _compare(em, better, value, best[0]))  # fmt: skip
                    take = _and(em, allowed, wins)
                    return [em.select(take, value, best[0]), em.select(take, i[0], best[1]),
                            _or(em, best[2], take)]  # fmt: skip

                start = [some, em.index(0), em.const(0, i1)]  # found = false
                best_value, best_index, _ = em.reduce([n], start, scan)
                position = em.value(arith.IndexCastOp(best_index, i64))
                em.store(best_value, values, at(row, j[0]))
                em.store(position, indices, at(row, j[0]))
                return [best_value, best_index]

            em.reduce([k], [some, em.index(0)], pick)  # unread at j = 0
        rewriter.erase(op)


def _tuple_position(
    em: Emitter, idx: SSAValue, prefix: Sequence[SSAValue], sizes: Sequence[int]
) -> list[SSAValue]:
    """The data position of the index tuple idx[prefix..., :], negatives wrapped, clamped."""
    positions: list[SSAValue] = []
    for t, size in enumerate(sizes):
        raw = em.load(idx, [*prefix, em.index(t)])
        if not isinstance(raw.type, IndexType):
            raw = em.value(arith.IndexCastOp(raw, IndexType()))
        negative = em.value(arith.CmpiOp(raw, em.index(0), "slt"))
        positions.append(em.clamp(em.select(negative, em.iadd(raw, size), raw), size))
    return positions


class GatherNDLowering(TopLowering):
    """y[i..., j...] = data[position of idx[i..., :], j...]."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: GatherNDOp, rewriter: PatternRewriter) -> None:
        em = self.emitter(op)
        data, idx = self.buffer(op.data, op), self.buffer(op.indices, op)
        y = self.buffer(op.result, op)
        *prefix_shape, k = shape_of(idx)
        batch = len(prefix_shape)
        with em.nest(shape_of(y)) as ivs:
            position = _tuple_position(em, idx, ivs[:batch], shape_of(data)[:k])
            em.store(em.load(data, [*position, *ivs[batch:]]), y, ivs)
        rewriter.erase(op)


class ScatterNDLowering(TopLowering):
    """y = data; then, in order, y[position of idx[i..., :], j...] combined with
    updates[i..., j...]."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ScatterNDOp, rewriter: PatternRewriter) -> None:
        em = self.emitter(op)
        data, idx = self.buffer(op.data, op), self.buffer(op.indices, op)
        updates, y = self.buffer(op.updates, op), self.buffer(op.result, op)
        if data is not y:
            copy(em, data, y, self.vector_bits)
        *prefix_shape, k = shape_of(idx)
        batch = len(prefix_shape)
        kind = op.kind.data
        with em.nest(shape_of(updates), parallel=False) as ivs:
            position = [*_tuple_position(em, idx, ivs[:batch], shape_of(y)[:k]), *ivs[batch:]]
            update = em.load(updates, ivs)
            if kind != ScatterKind.ASSIGN:
                old = em.load(y, position)
                combine = {ScatterKind.ADD: em.add, ScatterKind.MUL: em.mul,
                           ScatterKind.MAX: em.max, ScatterKind.MIN: em.min}[kind]  # fmt: skip
                update = combine(old, update)
            em.store(update, y, position)
        rewriter.erase(op)


INDEX_LOOP_LOWERINGS: tuple[type[TopLowering], ...] = (
    TopKLowering,
    GatherNDLowering,
    ScatterNDLowering,
)
