"""Depthwise `top.conv2d` (nhwc_hwcf, f32, one input channel per group, channel multiplier
1) as a direct kernel vectorised along the contiguous channels, as XNNPACK's dwconv:

    for n, oh (parallel):
      for each run of channels c.. (whole vectors, then the binary split of the rest):
        w[kh][kw] = W[kh, kw, 0, c..]                 # the KH*KW taps, loaded once a row
        for ow:  Y[n, oh, ow, c..] = epilogue(bias[c..] + the sum over the taps of
                                              X[n, ih, iw, c..] * w[kh][kw])

with the taps unrolled, one vector FMA each. The columns whose every tap falls inside X
(and, in rows whose taps all fall inside vertically, only those) run unchecked, `UNROLL`
pixels per step so that independent accumulators hide the FMA latency; the border pixels
load clamped addresses and select zero for the taps outside. The fused consumer runs on
the vectors where it vectorises (`vector_epilogue`); else the sums go to an arena
S[OH][OW][C] whose row is copied out through it element by element.

Each input row a tap reads is computed once per output row and channel piece, each input
column once per pixel: the loads of the KH*KW taps share them (emitting them per tap made
MediaPipe's pose landmark model, 38 such convs, ~10% slower to compile).

Invariants: every access stays inside its buffer (clamped border taps, exact channel
pieces); every Y element is written once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from xdsl.dialects import arith
from xdsl.dialects.builtin import MemRefType, f32
from xdsl.ir import SSAValue

from lamina.dialects import top
from lamina.dialects.loop import AllocOp
from lamina.lowering.bufferize import Buffers
from lamina.lowering.epilogue_fusion import Epilogue
from lamina.lowering.top_to_loop_build import ConvSizes, Emitter, f32_conv_shapes, shape_of
from lamina.lowering.top_to_loop_gemm import span, store_with_epilogue
from lamina.lowering.top_to_loop_lanes import (
    fma,
    load_piece,
    store_piece,
    tail_pieces,
    vector_epilogue,
    vectorises,
    zero_piece,
)

UNROLL = 4
"""Pixels per step of the unchecked columns: independent accumulator chains."""


@dataclass(frozen=True)
class NhwcDepthwise(ConvSizes):
    """Sizes of one depthwise nhwc_hwcf conv (c = f channels) and where its taps fall:
    `rows` / `cols` are the output ranges [lo, hi) whose taps all fall inside X."""

    stride: tuple[int, int]
    dilation: tuple[int, int]
    pad: tuple[int, int]
    rows: tuple[int, int]
    cols: tuple[int, int]
    lanes: int


def nhwc_depthwise(op: top.Conv2dOp, vector_bits: int) -> NhwcDepthwise | None:
    """The direct-kernel form of `op`, or None when another lowering takes it."""
    shapes = f32_conv_shapes(op)
    if op.layout.data != top.ConvLayout.NHWC_HWCF or shapes is None:
        return None
    (_, h, w, c), (kh, kw, cg, f), (_, oh, ow, _) = shapes
    if cg != 1 or f != c or op.groups.value.data != c:
        return None
    (sh, sw), (dh, dw) = op.strides.get_values(), op.dilations.get_values()
    lh, lw = op.pad_low.get_values()
    rows, cols = _inside(oh, h, kh, sh, dh, lh), _inside(ow, w, kw, sw, dw, lw)
    lanes = max(1, vector_bits // 32)
    return NhwcDepthwise(
        c, h, w, f, kh, kw, oh, ow, (sh, sw), (dh, dw), (lh, lw), rows, cols, lanes
    )


def _inside(out: int, size: int, kernel: int, stride: int, dilation: int, low: int):
    """The outputs [lo, hi) of one spatial dim whose every tap falls inside [0, size)."""
    lo = min(out, -(-low // stride))
    last = size - 1 - (kernel - 1) * dilation + low  # the largest out * stride allowed
    hi = min(out, last // stride + 1) if last >= 0 else 0
    return lo, max(lo, hi)


@dataclass
class _Row:
    """One output row of one image: where it reads and writes."""

    g: NhwcDepthwise
    x: SSAValue
    w: SSAValue
    bias: SSAValue | None
    out: SSAValue
    n: SSAValue
    oh: SSAValue


def lower_nhwc_depthwise(em: Emitter, op: top.Conv2dOp, g: NhwcDepthwise, buffers: Buffers):
    """The conv as the kernel of the module docstring."""
    x, w = buffers.buffer(op.input, op), buffers.buffer(op.filter, op)
    epilogue = buffers.epilogues.get(op)
    y = buffers.buffer(op.result if epilogue is None else epilogue.result, op)
    bias = None if op.bias is None else buffers.buffer(op.bias, op)
    vector = epilogue is None or vectorises(epilogue.body.block, epilogue.maps)
    sums = None if vector else em.value(AllocOp(MemRefType(f32, [g.oh, g.ow, g.c])))
    with span(em, 0, shape_of(y)[0]) as n, span(em, 0, g.oh, parallel=True) as oh:
        row = _Row(g, x, w, bias, y if sums is None else sums, n, oh)

        def store(value: SSAValue, ow: SSAValue, c: SSAValue) -> None:
            if sums is not None:
                store_piece(em, value, sums, [oh, ow, c])
                return
            where = [n, oh, ow, c]
            if epilogue is not None:
                value = vector_epilogue(em, value, where, epilogue, buffers)
            store_piece(em, value, y, where)

        whole = g.c - g.c % g.lanes
        if whole:
            with span(em, 0, whole, g.lanes) as c:
                _channel_run(em, row, c, g.lanes, store)
        for offset, width in tail_pieces(g.c, g.lanes):
            _channel_run(em, row, em.index(offset), width, store)
        if sums is not None:
            assert epilogue is not None
            _copy_out(em, row, sums, y, epilogue, buffers)
    if sums is not None:
        em.dealloc(sums)


Store = Callable[[SSAValue, SSAValue, SSAValue], None]
"""Stores the sums of one channel piece at (ow, c)."""


def _channel_run(em: Emitter, row: _Row, c: SSAValue, width: int, store: Store) -> None:
    """The output row for channels c .. c + width - 1 (one piece)."""
    g = row.g
    taps = [(kh, kw) for kh in range(g.kh) for kw in range(g.kw)]
    weights = [load_piece(em, row.w, [em.index(kh), em.index(kw), em.index(0), c], width)
               for kh, kw in taps]  # fmt: skip
    zero = zero_piece(em, width)
    init = zero if row.bias is None else load_piece(em, row.bias, [c], width)
    inside = em.both(
        em.value(arith.CmpiOp(row.oh, em.index(g.rows[0]), "uge")),
        em.value(arith.CmpiOp(row.oh, em.index(g.rows[1]), "ult")),
    )
    lo = em.select(inside, em.index(g.cols[0]), em.index(g.ow))
    hi = em.select(inside, em.index(g.cols[1]), em.index(g.ow))
    count = em.value(arith.SubiOp(hi, lo))
    steps = em.value(arith.DivUIOp(count, em.index(UNROLL)))
    unrolled = em.iadd(lo, em.imul(steps, UNROLL))
    (sh, sw), (dh, dw), (lh, lw) = g.stride, g.dilation, g.pad
    input_rows = [em.iadd(em.imul(row.oh, sh), kh * dh - lh) for kh in range(g.kh)]
    row_borders = [_Border.of(em, ih, g.h) for ih in input_rows]

    def pixels(start: SSAValue, stop: SSAValue, step: int, checked: bool) -> None:
        with span(em, start, stop, step, parallel=True) as ow:
            columns = [em.iadd(ow, u) for u in range(step)]
            input_columns = [
                [em.iadd(em.imul(column, sw), kw * dw - lw) for kw in range(g.kw)]
                for column in columns
            ]
            borders = [[_Border.of(em, iw, g.w) for iw in iws] for iws in input_columns
                       if checked]  # fmt: skip
            acc = [init] * step
            for (kh, kw), weight in zip(taps, weights, strict=True):
                for u in range(step):
                    if checked:
                        ih, iw = row_borders[kh], borders[u][kw]
                        tap = load_piece(em, row.x, [row.n, ih.clamped, iw.clamped, c], width)
                        tap = em.select(em.both(ih.inside, iw.inside), tap, zero)
                    else:
                        at = [row.n, input_rows[kh], input_columns[u][kw], c]
                        tap = load_piece(em, row.x, at, width)
                    acc[u] = fma(em, tap, weight, acc[u])
            for column, total in zip(columns, acc, strict=True):
                store(total, column, c)

    pixels(em.index(0), lo, 1, True)
    pixels(lo, unrolled, UNROLL, False)
    pixels(unrolled, hi, 1, False)
    pixels(hi, em.index(g.ow), 1, True)


@dataclass(frozen=True)
class _Border:
    """An input row or column that a border pixel's tap reads: whether it is inside X, and
    the position clamped into X (safe to load from either way)."""

    inside: SSAValue
    clamped: SSAValue

    @staticmethod
    def of(em: Emitter, at: SSAValue, size: int) -> _Border:
        return _Border(em.in_range(at, size), em.clamp(at, size))


def _copy_out(
    em: Emitter, row: _Row, sums: SSAValue, y: SSAValue, epilogue: Epilogue, buffers: Buffers
) -> None:
    """Y[n, oh, ow, c] = epilogue(S[oh, ow, c]) for the row."""
    g = row.g
    columns = span(em, 0, g.ow, parallel=True)
    with columns as ow, span(em, 0, g.c, parallel=True, vector=g.lanes) as c:
        value = em.load(sums, [row.oh, ow, c])
        store_with_epilogue(em, value, y, [row.n, row.oh, ow, c], epilogue, buffers)
