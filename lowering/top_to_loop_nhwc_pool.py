"""2-D max / average `top.pool` on nhwc f32 vectorised along the contiguous channels (TFLite's
MAX_POOL_2D / AVERAGE_POOL_2D, a global average pool as a whole-image window):

    for n, oh, ow (parallel):
      kh in [kh_lo, kh_hi), kw in [kw_lo, kw_hi): the taps that fall inside X
      for each run of channels c.. (whole vectors, then the binary split of the rest):
        acc = max / sum over those taps of X[n, oh*sh - lh + kh*dh, ow*sw - lw + kw*dw, c..]
        Y[n, oh, ow, c..] = acc  (avg: / the window's count)

The tap ranges are computed per output, so padding is never read and no tap is checked
(max skips padded positions, as a padded -inf would). The count of an average window is
the product of its per-dim tap counts, those inside X, or inside the padded input when
padding counts (`count_include_pad`).
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.dialects.builtin import TensorType, f32, i64
from xdsl.ir import Attribute, SSAValue
from xdsl.utils.hints import isa

from lamina.dialects import top
from lamina.dialects.loop import ForOp, YieldOp
from lamina.lowering.top_to_loop_build import Emitter, shape_of
from lamina.lowering.top_to_loop_gemm import span
from lamina.lowering.top_to_loop_lanes import load_piece, splat, store_piece, tail_pieces, width_of


def is_nhwc_pool(op: top.PoolOp) -> bool:
    """Whether `op` takes this kernel: a 2-D pool over dims 1 and 2 of f32 tensors."""
    types = [op.input.type, op.result.type]
    if not all(isa(t, TensorType[Attribute]) and t.get_element_type() == f32 for t in types):
        return False
    return len(op.kernel.get_values()) == 2 and tuple(op.spatial_dims()) == (1, 2)


def lower_nhwc_pool(em: Emitter, op: top.PoolOp, x: SSAValue, y: SSAValue, lanes: int) -> None:
    """The pool as the loop nest of the module docstring."""
    n_size, h, w, c = shape_of(x)
    _, oh_size, ow_size, _ = shape_of(y)
    is_max = op.kind.data == top.PoolKind.MAX
    windows = list(
        zip(
            (h, w),
            op.kernel.get_values(),
            op.strides.get_values(),
            op.dilations.get_values(),
            op.pad_low.get_values(),
            op.pad_high.get_values(),
            strict=True,
        )
    )
    include_pad = op.count_include_pad is not None
    with (
        span(em, 0, n_size) as n,
        span(em, 0, oh_size, parallel=True) as oh,
        span(em, 0, ow_size, parallel=True) as ow,
    ):
        starts: list[SSAValue] = []
        ranges: list[tuple[SSAValue, SSAValue]] = []
        count: SSAValue | None = None
        for out, (size, k, s, d, low, high) in zip((oh, ow), windows, strict=True):
            start = em.iadd(em.imul(out, s), -low)
            starts.append(start)
            ranges.append(_taps_inside(em, start, (k, d), (0, size)))
            if not is_max:
                counted = (-low, size + high) if include_pad else (0, size)
                lo, hi = _taps_inside(em, start, (k, d), counted)
                taps = em.value(arith.SubiOp(hi, lo))
                count = taps if count is None else em.value(arith.MuliOp(count, taps))
        divisor = None
        if count is not None:
            as_int = em.value(arith.IndexCastOp(count, i64))
            divisor = em.value(arith.SIToFPOp(as_int, f32))

        def run(channel: SSAValue, width: int) -> None:
            start = em.lowest(f32) if is_max else em.const(0.0, f32)
            dilations = (windows[0][3], windows[1][3])
            init = splat(em, start, width)
            acc = _window(em, x, (n, starts, channel), (ranges, dilations), init, is_max)
            if divisor is not None:
                acc = em.value(arith.DivfOp(acc, splat(em, divisor, width)))
            store_piece(em, acc, y, [n, oh, ow, channel])

        if c >= lanes:
            with span(em, 0, c - c % lanes, lanes) as channel:
                run(channel, lanes)
        for offset, width in tail_pieces(c, lanes):
            run(em.index(offset), width)


def _taps_inside(
    em: Emitter, start: SSAValue, kernel: tuple[int, int], bounds: tuple[int, int]
) -> tuple[SSAValue, SSAValue]:
    """The taps [lo, hi) of a window starting at `start` whose positions start + tap * d
    fall in [begin, end), for `kernel` = (taps, d)."""
    (k, d), (begin, end) = kernel, bounds
    below = em.value(arith.SubiOp(em.index(begin), start))
    lo = em.value(arith.CeilDivSIOp(below, em.index(d))) if d > 1 else below
    lo = em.value(arith.MinSIOp(em.value(arith.MaxSIOp(lo, em.index(0))), em.index(k)))
    above = em.value(arith.SubiOp(em.index(end - 1), start))
    last = em.value(arith.FloorDivSIOp(above, em.index(d))) if d > 1 else above
    hi = em.value(arith.MinSIOp(em.iadd(last, 1), em.index(k)))
    return lo, em.value(arith.MaxSIOp(hi, lo))


def _window(
    em: Emitter,
    x: SSAValue,
    where: tuple[SSAValue, list[SSAValue], SSAValue],
    taps: tuple[list[tuple[SSAValue, SSAValue]], tuple[int, int]],
    init: SSAValue,
    is_max: bool,
) -> SSAValue:
    """`init` combined (max or sum) with X[n, start_h + kh*dh, start_w + kw*dw, c..] over
    the tap ranges of `taps` = (ranges, dilations), one piece of `init`'s width, in the
    loops' iter_args."""
    n, starts, channel = where
    ((h_lo, h_hi), (w_lo, w_hi)), (dh, dw) = taps
    rows = ForOp(h_lo, h_hi, em.index(1), [init])
    em.emit(rows)
    with em.inside(rows):
        kh, acc = rows.body.block.args
        cols = ForOp(w_lo, w_hi, em.index(1), [acc])
        em.emit(cols)
        with em.inside(cols):
            kw, inner = cols.body.block.args
            ih = em.iadd(starts[0], em.imul(kh, dh))
            iw = em.iadd(starts[1], em.imul(kw, dw))
            tap = load_piece(em, x, [n, ih, iw, channel], width_of(init))
            step = arith.MaximumfOp(inner, tap) if is_max else arith.AddfOp(inner, tap)
            em.emit(YieldOp(em.value(step)))
        em.emit(YieldOp(cols.res[0]))
    return rows.res[0]
