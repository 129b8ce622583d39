"""The int8 convolutions: `top.conv2d` nchw_fchw of signed bytes by constant signed bytes into
i32, group 1, unpadded (lowering/graph_to_top_quant.py pads x with its zero point first).

With `convert-top-to-loop{int8_gemm}`, the byte GEMM of top_to_loop_byte_gemm.py in the
shape of the f32 conv GEMM (top_to_loop_conv.py), per image:

    Y[n][F, OH*OW] = W[F, C*KH*KW] · im2col(X[n])[C*KH*KW, OH*OW]

- A is the filter, packed at compile time into byte GEMM panels [Fp/MR][1 + Kq][MR]
  (`pack_weights`: row 0 the accumulators' start), broadcast a word at a time;
- each K block of the im2col matrix is packed straight from X into Bp[KC][NCp] words
  covering R whole output rows: word kk of column r*OW + ow holds the four taps
  4(pc + kk) .. +3 of that output, each byte xor 0x80;
- the sums go to Cp[Fp][blocks*NCp] and are copied into Y through the fused consumer
  (the requantization), a B block's columns at a time.

Otherwise (devices whose dot products are the i8 loops of lowering/dot_loops.py: `sdot`,
`vrmpy`) the patches of each image are copied into P[OH*OW][C*KH*KW] and each output is
one dot-product loop of a row of P and a row of the filter as [F, C*KH*KW].
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerType, MemRefType, TensorType, VectorType, i8, i32
from xdsl.ir import Attribute, Operation, SSAValue

from lamina.dialects import top
from lamina.dialects.loop import AllocOp, VLoadOp, VStoreOp
from lamina.dialects.top_base import element_type_of
from lamina.lowering.bufferize import Buffers
from lamina.lowering.epilogue_fusion import Epilogue, PackedConstant
from lamina.lowering.top_to_loop_build import Emitter
from lamina.lowering.top_to_loop_byte_gemm import (
    byte_step,
    pack_weights,
    packed_word,
    packed_words,
    shuffled_bytes,
    weights_panel,
    words,
)
from lamina.lowering.top_to_loop_conv import copy_out
from lamina.lowering.top_to_loop_conv_geometry import MIN_GEMM_FLOPS, ConvGeometry, conv_blocking
from lamina.lowering.top_to_loop_gemm import (
    GemmPlan,
    Indices,
    clamped,
    emit_gemm,
    span,
    store_with_epilogue,
)


def is_byte_conv(op: Operation) -> bool:
    """An unpadded nchw_fchw `top.conv2d` of one group, 8-bit input and filter, i32 result."""
    if not isinstance(op, top.Conv2dOp) or op.layout.data != top.ConvLayout.NCHW_FCHW:
        return False
    byte = element_type_of(op.input)
    return (
        isinstance(byte, IntegerType)
        and byte.bitwidth == 8
        and element_type_of(op.result) == i32
        and op.groups.value.data == 1
        and not any((*op.pad_low.get_values(), *op.pad_high.get_values()))
    )


def _shapes(op: top.Conv2dOp) -> tuple[tuple[int, ...], ...]:
    return tuple(
        cast(TensorType[Attribute], v.type).get_shape() for v in (op.input, op.filter, op.result)
    )


def byte_conv_geometry(op: Operation, vector_bits: int) -> ConvGeometry | None:
    """The byte GEMM form of `op` (K in words), or None: not a byte conv, fewer than four
    filters (the row sums of a correction), or too small."""
    if not is_byte_conv(op):
        return None
    (_, c, h, w), (f, _, kh, kw), (_, _, oh, ow) = _shapes(cast(top.Conv2dOp, op))
    if f * oh * ow * c * kh * kw < MIN_GEMM_FLOPS or f < 4:
        return None
    rows, blocking = conv_blocking(f, oh, ow, words(c * kh * kw), vector_bits)
    return ConvGeometry(c, h, w, f, kh, kw, oh, ow, 1, rows, blocking)


def packed_byte_filter(op: Operation, vector_bits: int, int8_gemm: bool) -> list[PackedConstant]:
    """The filter of a byte conv in byte GEMM panels (`int8_gemm`, when it fits the GEMM),
    else as the matrix [F, C*KH*KW] of the dot-product loops."""
    g = byte_conv_geometry(op, vector_bits) if int8_gemm else None
    if g is not None:
        b = g.blocking

        def pack(w: np.ndarray) -> np.ndarray:
            return pack_weights(w, b.mp, b.mr)

        return [PackedConstant(1, f"byte-gemm-a-{b.mp}x{b.k}/{b.mr}", pack)]
    if not is_byte_conv(op):
        return []

    def rows(w: np.ndarray) -> np.ndarray:
        return w.reshape(w.shape[0], -1)

    return [PackedConstant(1, "rows", rows)]


def lower_byte_conv(em: Emitter, op: top.Conv2dOp, g: ConvGeometry, buffers: Buffers) -> None:
    """The conv as the byte GEMM of the module doc (the filter packed by
    `packed_byte_filter`)."""
    b = g.blocking
    x = buffers.buffer(op.input, op)
    epilogue = buffers.epilogues.get(op)
    y = buffers.buffer(op.result if epilogue is None else epilogue.result, op)
    bp = em.value(AllocOp(MemRefType(i32, [b.kc, g.ncp])))
    cp = em.value(AllocOp(MemRefType(i32, [b.mp, g.blocks * g.ncp])))
    with span(em, 0, _shapes(op)[0][0]) as n:
        with span(em, 0, g.blocks) as jb:
            column0 = em.imul(jb, g.ncp)

            def b_panel(jc: SSAValue, pc: SSAValue, jp: SSAValue) -> tuple[SSAValue, Indices]:
                j0 = em.imul(jp, b.nr)
                return bp, lambda k, v: [k, em.iadd(j0, v * b.lanes)]

            def pack_b(jc: SSAValue, pc: SSAValue, k_len: SSAValue) -> None:
                _pack_im2col_words(em, op, g, (x, n, jb), bp, pc, k_len)

            plan = GemmPlan(
                b,
                weights_panel(em, buffers.packed[(op, 1)], b.mr, 1),
                b_panel,
                cp,
                lambda i, j: [i, em.iadd(j, column0)],
                pack_b=pack_b,
                step=byte_step(weights_in_b=False),
            )
            emit_gemm(em, plan)
        _copy_out(em, g, cp, y, n, epilogue, buffers)
    em.dealloc(bp, cp)


def _pack_im2col_words(
    em: Emitter,
    op: top.Conv2dOp,
    g: ConvGeometry,
    source: tuple[SSAValue, SSAValue, SSAValue],
    bp: SSAValue,
    pc: SSAValue,
    k_len: SSAValue,
) -> None:
    """Bp[kk, r*OW + ow] = the word of taps 4(pc + kk) + t, t < 4, of output (jb*R + r, ow)
    for r < R (and row < OH): byte t is X[n, c, ih, iw] xor 0x80 for (c, kh, kw) =
    divmod(tap) (taps past K read tap K-1: they meet zero weights), `source` (X, n, jb)."""
    x, n, jb = source
    (sh, sw), (dh, dw) = op.strides.get_values(), op.dilations.get_values()
    k = g.c * g.kh * g.kw
    row0 = em.imul(jb, g.rows)
    rows = em.value(arith.MinSIOp(em.index(g.rows), em.value(arith.SubiOp(em.index(g.oh), row0))))
    with span(em, 0, k_len, parallel=True) as kk:
        first_tap = em.imul(em.iadd(pc, kk), 4)
        taps: list[tuple[SSAValue, SSAValue, SSAValue]] = []
        for t in range(4):
            tap = clamped(em, em.iadd(first_tap, t), k, 4 * g.blocking.k)
            c, rest = _divmod(em, tap, g.kh * g.kw)
            kh, kw = _divmod(em, rest, g.kw)
            taps.append((c, em.imul(kh, dh), em.imul(kw, dw)))
        with span(em, 0, rows, parallel=True) as r:
            ih0 = em.imul(em.iadd(row0, r), sh)
            base = em.imul(r, g.ow)
            lanes = g.blocking.lanes
            whole = _vector_columns(g, sw, (g.kw - 1) * dw)
            if whole:
                with span(em, 0, whole, lanes, parallel=True) as ow:
                    tap_bytes = _tap_vectors(em, x, (n, ih0, ow), taps, sw, lanes)
                    words = packed_words(em, [tap_bytes(t) for t in range(4)])
                    em.emit(VStoreOp(words, bp, [kk, em.iadd(base, ow)]))
            with span(em, whole, g.ow, parallel=True) as ow:
                iw0 = em.imul(ow, sw)

                def byte_at(t: int) -> SSAValue:
                    c, dy, dx = taps[t]
                    return em.load(x, [n, c, em.iadd(ih0, dy), em.iadd(iw0, dx)])

                em.store(packed_word(em, byte_at), bp, [kk, em.iadd(base, ow)])


def _vector_columns(g: ConvGeometry, stride: int, reach: int) -> int:
    """The outputs of a row packed a vector at a time: whole vectors of `lanes` outputs
    whose taps, read `stride * lanes` bytes at a time from ow*stride + dx (dx <= `reach`),
    stay inside the input row."""
    lanes = g.blocking.lanes
    if stride * lanes > g.w:
        return 0
    return min(g.ow, (g.w - reach) // stride) // lanes * lanes


def _tap_vectors(
    em: Emitter,
    x: SSAValue,
    at: tuple[SSAValue, SSAValue, SSAValue],
    taps: list[tuple[SSAValue, SSAValue, SSAValue]],
    stride: int,
    lanes: int,
) -> Callable[[int], SSAValue]:
    """The bytes of tap t for `lanes` outputs from ow of row ih0 (`at` = (n, ih0, ow)): one
    contiguous load of stride * lanes bytes, every stride-th kept."""
    n, ih0, ow = at
    loaded = VectorType(i8, [stride * lanes])

    def tap_bytes(t: int) -> SSAValue:
        c, dy, dx = taps[t]
        row = em.value(
            VLoadOp(x, [n, c, em.iadd(ih0, dy), em.iadd(em.imul(ow, stride), dx)], loaded)
        )
        if stride == 1:
            return row
        return shuffled_bytes(em, (row, row), [stride * i for i in range(lanes)])

    return tap_bytes


def _copy_out(
    em: Emitter,
    g: ConvGeometry,
    cp: SSAValue,
    y: SSAValue,
    n: SSAValue,
    epilogue: Epilogue | None,
    buffers: Buffers,
) -> None:
    """Y[n, f, oh, ow] = epilogue(Cp[f, column of (oh, ow)]): one vectorised loop over the
    columns of each B block (its R rows one after another, so that rows shorter than a
    vector, or not a multiple of one, still fill vectors), unless the epilogue reads an
    input per pixel: then the row by row `copy_out` of the f32 conv, whose loads of it
    stay contiguous."""
    if epilogue is not None and any(
        {2, 3} & amap.used_dims() for i, amap in enumerate(epilogue.maps) if i != epilogue.fused
    ):
        copy_out(em, g, cp, None, y, (n, em.index(0)), epilogue, buffers)
        return
    with span(em, 0, g.f, parallel=True) as f, span(em, 0, g.blocks, parallel=True) as jb:
        row0 = em.imul(jb, g.rows)
        rows = em.value(
            arith.MinSIOp(em.index(g.rows), em.value(arith.SubiOp(em.index(g.oh), row0)))
        )
        column0 = em.imul(jb, g.ncp)
        with span(em, 0, em.imul(rows, g.ow), parallel=True, vector=g.blocking.lanes) as col:
            r, ow = _divmod(em, col, g.ow)
            value = em.load(cp, [f, em.iadd(column0, col)])
            store_with_epilogue(em, value, y, [n, f, em.iadd(row0, r), ow], epilogue, buffers)


def _divmod(em: Emitter, value: SSAValue, by: int) -> tuple[SSAValue, SSAValue]:
    if by == 1:
        return value, em.index(0)
    quotient = em.value(arith.DivUIOp(value, em.index(by)))
    return quotient, em.value(arith.RemUIOp(value, em.index(by)))


def lower_dot_conv(em: Emitter, op: top.Conv2dOp, buffers: Buffers) -> None:
    """The conv as the dot-product loops of the module doc (the filter packed as its rows
    by `packed_byte_filter`)."""
    x, w = buffers.buffer(op.input, op), buffers.packed[(op, 1)]
    y = buffers.buffer(op.result, op)
    (n_size, c_size, _, _), (_, _, kh_size, kw_size), (_, f_size, oh_size, ow_size) = _shapes(op)
    (sh, sw), (dh, dw) = op.strides.get_values(), op.dilations.get_values()
    k_size = c_size * kh_size * kw_size
    patches = em.value(AllocOp(MemRefType(i8, [oh_size * ow_size, k_size])))
    with span(em, 0, n_size) as n:
        with em.nest([oh_size, ow_size, c_size, kh_size, kw_size]) as (oh, ow, c, kh, kw):
            tap = em.iadd(em.imul(em.iadd(em.imul(c, kh_size), kh), kw_size), kw)
            ih, iw = (
                em.iadd(em.imul(oh, sh), em.imul(kh, dh)),
                em.iadd(em.imul(ow, sw), em.imul(kw, dw)),
            )
            pixel = em.iadd(em.imul(oh, ow_size), ow)
            em.store(em.load(x, [n, c, ih, iw]), patches, [pixel, tap])
        with em.nest([oh_size, ow_size, f_size]) as (oh, ow, f):
            pixel = em.iadd(em.imul(oh, ow_size), ow)

            def step(ks: list[SSAValue], acc: list[SSAValue]) -> list[SSAValue]:
                a = em.extend(em.load(patches, [pixel, ks[0]]), i32)
                b = em.extend(em.load(w, [f, ks[0]]), i32)
                return [em.add(acc[0], em.mul(a, b))]

            (total,) = em.reduce([k_size], [em.from_count(0, i32)], step)
            em.store(total, y, [n, f, oh, ow])
    em.dealloc(patches)
