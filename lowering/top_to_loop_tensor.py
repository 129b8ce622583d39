"""Loop nests of the data-movement and reduction `top` ops: reduce, transpose, pad,
gather, broadcast, fill. Each walks its result in row-major order (the result's last dim
innermost, `vector N` when every access along it is contiguous or invariant)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod

from xdsl.dialects import arith, math, vector
from xdsl.dialects.builtin import IndexType, f32
from xdsl.dialects.utils.fast_math import FastMathFlag
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, op_type_rewrite_pattern

from lamina.dialects import top
from lamina.dialects.top_shape import DimOp
from lamina.lowering.bufferize import TopLowering
from lamina.lowering.concat_slices import contiguous_slices, written_in_place
from lamina.lowering.top_to_loop_build import Emitter, Extent, element_of, fill, is_float, shape_of
from lamina.lowering.top_to_loop_lanes import load_piece, tail_pieces, width_of, zero_piece
from lamina.lowering.top_to_loop_nn import broadcast_indices

Step = Callable[[Emitter, SSAValue], SSAValue]

_REASSOCIATE = arith.FastMathFlagsAttr([FastMathFlag.REASSOC])
"""On a float reduction's combining op: its chain may become vector lanes summed as a tree
(LLVM's loop vectorizer needs it; the order of an ML reduction is not part of its result)."""


def _abs(em: Emitter, x: SSAValue) -> SSAValue:
    return em.abs(x)


def _square(em: Emitter, x: SSAValue) -> SSAValue:
    return em.mul(x, x)


def _float(op: Callable[[SSAValue], Operation]) -> Step:
    return lambda em, x: em.float_op(op, x, "this reduce kind")


# the sum-like kinds: kind -> (transform of each element, finishing step); None = as is
_SUM_LIKE: dict[top.ReduceKind, tuple[Step | None, Step | None]] = {
    top.ReduceKind.SUM: (None, None),
    top.ReduceKind.L1: (_abs, None),
    top.ReduceKind.L2: (_square, _float(math.SqrtOp)),
    top.ReduceKind.SUM_SQUARE: (_square, None),
    top.ReduceKind.LOG_SUM: (None, _float(math.LogOp)),
    top.ReduceKind.LOG_SUM_EXP: (_float(math.ExpOp), _float(math.LogOp)),
}


class ReduceLowering(TopLowering):
    """For the kept dims (parallel): a sequential nest over the reduced axes carrying the
    accumulator, then the kind's finishing step (mean, sqrt, log). A float accumulator's
    combining op is `fastmath<reassoc>`, so that LLVM vectorizes the chain."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: top.ReduceOp, rewriter: PatternRewriter) -> None:
        em = self.emitter(op)
        x, y = self.buffer(op.input, op), self.buffer(op.result, op)
        if not _sum_in_pieces(em, op, (x, y), self.lanes(x)):
            lower_reduce(em, op, x, y)
        rewriter.erase(op)


PIECE_SUM_MAX_VECTORS = 4
"""`_sum_in_pieces` takes a last reduced dim of up to this many vectors (one accumulator
per piece, the whole vectors unrolled); a longer one vectorises along itself as it is."""


def _sum_in_pieces(
    em: Emitter, op: top.ReduceOp, buffers: tuple[SSAValue, SSAValue], lanes: int | None
) -> bool:
    """An f32 sum or mean over static trailing dims whose last is short (GlobalAveragePool's
    7x7 and 13x13 planes), lowered as: per kept index, one accumulator per piece of the last
    dim (its whole vectors, then `tail_pieces`: 13 = 8 + 4 + 1 at 16 lanes) summed over the
    other reduced dims, then each piece's lanes summed (`vector.reduction`). The scalar nest
    had LLVM vectorise the kept (channel) loop instead, as gathers. False: not such a
    reduce, nothing emitted."""
    x, y = buffers
    xs, axes = shape_of(x), sorted(op.axes.get_values())
    kind = op.kind.data
    if kind not in (top.ReduceKind.SUM, top.ReduceKind.MEAN) or element_of(x) != f32:
        return False
    if not lanes or axes != list(range(len(xs) - len(axes), len(xs))) or not axes:
        return False
    if any(d < 0 for d in xs) or xs[-1] > PIECE_SUM_MAX_VECTORS * lanes:
        return False
    width = xs[-1]
    whole = width - width % lanes
    pieces = [(o, lanes) for o in range(0, whole, lanes)] + tail_pieces(width, lanes)
    kept = xs[: len(xs) - len(axes)]
    with em.nest(kept) as ivs:

        def step(reduced: list[SSAValue], acc: list[SSAValue]) -> list[SSAValue]:
            row = [*ivs, *reduced]
            return [
                em.value(arith.AddfOp(a, load_piece(em, x, [*row, em.index(o)], w), _REASSOCIATE))
                for a, (o, w) in zip(acc, pieces, strict=True)
            ]

        zeros = [zero_piece(em, w) for _, w in pieces]
        sums = em.reduce(xs[len(kept) : -1], zeros, step)
        total = em.const(0.0, f32)
        add = vector.CombiningKindAttr(vector.CombiningKindFlag.ADD)
        for piece in sums:
            if width_of(piece) == 1:
                total = em.add(total, piece)
                continue
            total = em.value(
                vector.ReductionOp.create(
                    operands=[piece, total], result_types=[f32], properties={"kind": add}
                )
            )
        if kind == top.ReduceKind.MEAN:
            total = em.div(total, em.from_count(prod(xs[len(kept) :]), f32))
        out = [*ivs, *[em.index(0)] * len(axes)] if op.keepdims else ivs
        em.store(total, y, out)
    return True


def lower_reduce(em: Emitter, op: top.ReduceOp, x: SSAValue, y: SSAValue) -> None:
    kind = op.kind.data
    axes = list(op.axes.get_values())
    xs = em.extents(x)
    kept = [d for d in range(len(xs)) if d not in axes]
    elt = element_of(y)
    count = em.product([xs[a] for a in axes])
    with em.nest([xs[d] for d in kept]) as ivs:
        if kind == top.ReduceKind.PROD:
            init, combine = em.from_count(1, elt), em.mul
        elif kind == top.ReduceKind.MAX:
            init, combine = em.lowest(elt), em.max
        elif kind == top.ReduceKind.MIN:
            init, combine = em.highest(elt), em.min
        else:
            init, combine = em.from_count(0, elt), em.add
        transform, finish = _SUM_LIKE.get(kind, (None, None))

        def step(reduced: list[SSAValue], acc: list[SSAValue]) -> list[SSAValue]:
            indices: list[SSAValue] = [em.index(0)] * len(xs)
            for d, iv in zip(kept, ivs, strict=True):
                indices[d] = iv
            for a, iv in zip(axes, reduced, strict=True):
                indices[a] = iv
            value = em.load(x, indices)
            if transform is not None:
                value = transform(em, value)
            combined = combine(acc[0], value)
            if is_float(combined.type) and isinstance(combined.owner, Operation):
                combined.owner.properties["fastmath"] = _REASSOCIATE
            return [combined]

        (result,) = em.reduce([xs[a] for a in axes], [init], step)
        if kind == top.ReduceKind.MEAN:
            result = em.div(result, em.from_count(count, elt))
        elif finish is not None:
            result = finish(em, result)
        if op.keepdims:
            out: list[SSAValue] = [em.index(0)] * len(xs)
            for d, iv in zip(kept, ivs, strict=True):
                out[d] = iv
        else:
            out = ivs
        em.store(result, y, out)


class TransposeLowering(TopLowering):
    """y[i0, ..., in] = x[i_perm^-1...]: a parallel nest over the result."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: top.TransposeOp, rewriter: PatternRewriter) -> None:
        em = self.emitter(op)
        x, y = self.buffer(op.input, op), self.buffer(op.result, op)
        perm = op.permutation.get_values()
        contiguous = not perm or perm[-1] == len(perm) - 1
        if contiguous or not _tiled_transpose(em, x, y, perm):
            with em.nest(em.extents(y), vector=self.lanes(y) if contiguous else None) as ivs:
                em.store(em.load(x, _permuted(ivs, perm)), y, ivs)
        rewriter.erase(op)


TRANSPOSE_TILE = 16
"""The side of the square tiles a transpose that moves the last dim copies: 16 rows of x
and 16 of y (a cache line of f32 each) stay in L1 while the tile is read and written."""


def _permuted(ivs: Sequence[SSAValue], perm: Sequence[int]) -> list[SSAValue]:
    """x's indices of y's element `ivs` (y dim i is x dim perm[i])."""
    indices = [ivs[0]] * len(perm)
    for i, p in enumerate(perm):
        indices[p] = ivs[i]
    return indices


def _tiled_transpose(em: Emitter, x: SSAValue, y: SSAValue, perm: Sequence[int]) -> bool:
    """y = transpose(x) by TRANSPOSE_TILE squares of y's last dim and of the dim that walks
    x's last (each square read along x's rows and written along y's), when both are static
    and at least two tiles long; False (nothing emitted) otherwise."""
    shape, last = shape_of(y), len(perm) - 1
    walks = perm.index(last)
    if any(d < 0 for d in shape) or min(shape[walks], shape[last]) < 2 * TRANSPOSE_TILE:
        return False
    rest = [d for d in range(last) if d != walks]
    tiles = [-(-shape[d] // TRANSPOSE_TILE) for d in (walks, last)]
    with em.nest([shape[d] for d in rest] + tiles) as outer:
        starts = [em.imul(t, TRANSPOSE_TILE) for t in outer[-2:]]
        sizes = [
            em.min(em.index(TRANSPOSE_TILE), em.value(arith.SubiOp(em.index(shape[d]), start)))
            for d, start in zip((walks, last), starts, strict=True)
        ]
        with em.nest(sizes) as inner:
            ivs = [*outer[:-2], em.iadd(starts[0], inner[0]), em.iadd(starts[1], inner[1])]
            order = [*rest, walks, last]
            at = [ivs[order.index(d)] for d in range(len(perm))]
            em.store(em.load(x, _permuted(at, perm)), y, at)
    return True


class PadLowering(TopLowering):
    """y[i] = x[i - low] where inside; else the value (constant), the mirrored element
    (reflect) or the clamped one (edge)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: top.PadOp, rewriter: PatternRewriter) -> None:
        em = self.emitter(op)
        x, y = self.buffer(op.input, op), self.buffer(op.result, op)
        mode = op.mode.data
        xs = shape_of(x)
        low, high = op.low.get_values(), op.high.get_values()
        with em.nest(shape_of(y), vector=self.lanes(y)) as ivs:
            indices: list[SSAValue] = []
            inside: SSAValue | None = None
            for iv, size, lo, hi in zip(ivs, xs, low, high, strict=True):
                if lo == 0 and hi == 0:
                    indices.append(iv)
                    continue
                pos = em.iadd(iv, -lo)
                if mode == top.PadMode.CONSTANT:
                    inside = em.both(inside, em.in_range(pos, size))
                elif mode == top.PadMode.REFLECT:
                    pos = _reflect(em, pos, size)
                indices.append(em.clamp(pos, size))
            value = em.load(x, indices)
            if inside is not None:
                pad = op.value if op.value is not None else em.from_count(0, element_of(y))
                value = em.select(inside, value, pad)
            em.store(value, y, ivs)
        rewriter.erase(op)


def _reflect(em: Emitter, pos: SSAValue, size: int) -> SSAValue:
    """Mirror `pos` into [0, size) without repeating the border: -1 -> 1, size -> size - 2."""
    negated = em.value(arith.SubiOp(em.index(0), pos))
    below = em.value(arith.CmpiOp(pos, em.index(0), "slt"))
    pos = em.select(below, negated, pos)
    mirrored = em.value(arith.SubiOp(em.index(2 * (size - 1)), pos))
    above = em.value(arith.CmpiOp(pos, em.index(size), "sge"))
    return em.select(above, mirrored, pos)


class GatherLowering(TopLowering):
    """y[pre, j, post] = data[pre, idx[j] (+ size if negative), post]; indices outside the
    axis are clamped so no access leaves the buffer."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: top.GatherOp, rewriter: PatternRewriter) -> None:
        em = self.emitter(op)
        data, idx = self.buffer(op.data, op), self.buffer(op.indices, op)
        y = self.buffer(op.result, op)
        axis = op.axis.value.data
        ds, rank = em.extents(data), len(shape_of(idx))
        vector = self.lanes(y) if axis < len(ds) - 1 else None
        with em.nest(em.extents(y), vector=vector) as ivs:
            raw = em.load(idx, ivs[axis : axis + rank])
            if not isinstance(raw.type, IndexType):
                raw = em.value(arith.IndexCastOp(raw, IndexType()))
            negative = em.value(arith.CmpiOp(raw, em.index(0), "slt"))
            pos = em.clamp(em.select(negative, em.iadd(raw, ds[axis]), raw), ds[axis])
            indices = [*ivs[:axis], pos, *ivs[axis + rank :]]
            em.store(em.load(data, indices), y, ivs)
        rewriter.erase(op)


class BroadcastLowering(TopLowering):
    """y[i] = x[i with size-1 dims at 0], numpy-aligned on the right."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: top.BroadcastOp, rewriter: PatternRewriter) -> None:
        em = self.emitter(op)
        x, y = self.buffer(op.input, op), self.buffer(op.result, op)
        with em.nest(em.extents(y), vector=self.lanes(y)) as ivs:
            em.store(em.load(x, broadcast_indices(em, ivs, shape_of(x))), y, ivs)
        rewriter.erase(op)


class FillLowering(TopLowering):
    """y[i] = value."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: top.FillOp, rewriter: PatternRewriter) -> None:
        fill(self.emitter(op), op.value, self.buffer(op.result, op), self.vector_bits)
        rewriter.erase(op)


class ReshapeLowering(TopLowering):
    """A copy in row-major order. The trailing dims that input and result share (equal
    sizes, e.g. the H x W of a channel shuffle's reshapes) are indexed as they
    are; the leading dims' linear position is split by the input's strides, so the
    div / rem depend on the outer loops only. (No view op exists at the loop level, so
    reshape is not free yet.)"""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: top.ReshapeOp, rewriter: PatternRewriter) -> None:
        em = self.emitter(op)
        x, y = self.buffer(op.input, op), self.buffer(op.result, op)
        xs, ys = em.extents(x), em.extents(y)
        shared = _shared_trailing_dims(xs, ys)
        x_lead, y_lead = xs[: len(xs) - shared], ys[: len(ys) - shared]
        x_strides, y_strides = _strides(em, x_lead), _strides(em, y_lead)
        with em.nest(ys, vector=self.lanes(y) if shared else None) as ivs:
            linear = em.index(0)
            for iv, stride in zip(ivs[: len(y_lead)], y_strides, strict=True):
                linear = em.iadd(linear, em.imul(iv, stride))
            indices: list[SSAValue] = []
            for size, stride in zip(x_lead, x_strides, strict=True):
                index = em.value(arith.DivUIOp(linear, em.index(stride)))
                indices.append(em.value(arith.RemUIOp(index, em.index(size))))
            indices += ivs[len(y_lead) :]
            em.store(em.load(x, indices), y, ivs)
        rewriter.erase(op)


def _shared_trailing_dims(xs: Sequence[Extent], ys: Sequence[Extent]) -> int:
    """How many trailing dims `xs` and `ys` have in common (equal sizes, or one value)."""
    shared = 0
    for a, b in zip(reversed(xs), reversed(ys), strict=False):
        if a != b:
            break
        shared += 1
    return shared


def _strides(em: Emitter, shape: Sequence[Extent]) -> list[Extent]:
    """Row-major strides (ints when the dims they multiply are static)."""
    strides: list[Extent] = [1] * len(shape)
    for d in range(len(shape) - 2, -1, -1):
        strides[d] = em.product([strides[d + 1], shape[d + 1]])
    return strides


class ConcatLowering(TopLowering):
    """One copy nest per input into its slice of the result along `axis`, but for the
    inputs whose producer wrote them there already (bufferization made their buffer that
    slice: lowering/concat_slices.py)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: top.ConcatOp, rewriter: PatternRewriter) -> None:
        em = self.emitter(op)
        y = self.buffer(op.result, op)
        axis = op.axis.value.data
        offsets = contiguous_slices(op)
        start: Extent = 0
        for k, value in enumerate(op.inputs):
            x = self.buffer(value, op)
            xs = em.extents(x)
            if offsets is None or not written_in_place(x, y, offsets[k]):
                vector = self.lanes(y) if axis != len(xs) - 1 else None
                with em.nest(xs, vector=vector) as ivs:
                    out = list(ivs)
                    out[axis] = em.iadd(ivs[axis], start)
                    em.store(em.load(x, ivs), y, out)
            size = xs[axis]
            start = (
                start + size
                if isinstance(start, int) and isinstance(size, int)
                else (em.iadd(em.index(start), size))
            )
        rewriter.erase(op)


class SliceLowering(TopLowering):
    """y[i] = x[offsets + strides * i]: a parallel nest over the result, vector along the
    last dim when its stride is 1."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: top.SliceOp, rewriter: PatternRewriter) -> None:
        em = self.emitter(op)
        x, y = self.buffer(op.input, op), self.buffer(op.result, op)
        offsets, strides = op.offsets.get_values(), op.strides.get_values()
        vector = self.lanes(y) if not strides or strides[-1] == 1 else None
        with em.nest(em.extents(y), vector=vector) as ivs:
            indices = [
                em.iadd(em.imul(iv, stride), offset)
                for iv, offset, stride in zip(ivs, offsets, strides, strict=True)
            ]
            em.store(em.load(x, indices), y, ivs)
        rewriter.erase(op)


class DimLowering(TopLowering):
    """top.dim %t, axis -> loop.dim of %t's buffer (a constant for a static dim)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: DimOp, rewriter: PatternRewriter) -> None:
        em = self.emitter(op)
        extent = em.extents(self.buffer(op.source, op))[op.axis.value.data]
        rewriter.replace(op, [], [em.index(extent)])
