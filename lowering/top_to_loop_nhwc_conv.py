"""`top.conv2d` (nhwc_hwcf, f32, constant filter) as a GEMM per image and group whose rows
are the output pixels and whose columns are the output channels:

    Y[n][OH*OW, g*F + (0..F)] = im2col(X[n])[OH*OW, KH*KW*C] · W[g][KH*KW*C, F]

(C, F: input and output channels of one of the groups; k = (kh*KW + kw)*C + c, so B is
the HWCF filter itself, reshaped.)

- B is packed whole at compile time into [G*Np/NR][K][NR] panels (`pack_b_array` per
  group): it is small next to the activations and stays in L2, so K is one block and
  every micro-tile is final in registers;
- A is read in place where a row of it is a run of X (a 1x1 conv without padding: row
  (oh, ow) is X[n, oh*sh, ow*sw, :]); else the iteration that reads a row panel packs its
  im2col rows into an arena Ap[Mp][K] first, padding taps as zeros;
- the parallel loop runs over panels of MR pixels (as the NCHW GEMM's runs over its
  column panels, here its pixels too): for each, the tile with each B panel is summed by
  the micro-kernel (`tile_sums`) and stored into Y through the bias and the fused
  consumer, applied to whole vectors (`vector_epilogue`) where the consumer vectorises,
  else through the panel's rows of an arena Cp[Mp][NR] copied out element by element;
- a filter larger than half of L2 is taken in blocks of B panels (the outer, serial loop),
  each block staying in L2 while every pixel panel streams past it (BLIS's NC loop); the
  im2col rows are then packed by a parallel loop of their own first;
- MR is balanced over the pixels (49 pixels: 7 panels of 7, not 6 of 8 and one of 1).

Invariants: pixel panels and channel panels are peeled, the last of each as wide as it is
(its column pieces the binary split of the rest, `tail_pieces`), so nothing past M or F is
computed or stored and every Y element is written once (an in-place consumer reads each
input element before its one write).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from xdsl.dialects import arith
from xdsl.dialects.builtin import MemRefType, f32
from xdsl.ir import SSAValue

from lamina.dialects import top
from lamina.dialects.loop import AllocOp
from lamina.lowering.bufferize import Buffers
from lamina.lowering.epilogue_fusion import Epilogue, PackedConstant
from lamina.lowering.top_to_loop_build import ConvSizes, Emitter, f32_conv_shapes, shape_of
from lamina.lowering.top_to_loop_gemm import (
    L2_BYTES,
    Blocking,
    Indices,
    micro_tile,
    pack_b_array,
    packed_by_group,
    span,
    store_with_epilogue,
    tile_sums,
)
from lamina.lowering.top_to_loop_lanes import (
    load_piece,
    splat,
    store_piece,
    tail_pieces,
    vector_epilogue,
    vectorises,
    width_of,
    zero_piece,
)


@dataclass(frozen=True)
class NhwcGemm(ConvSizes):
    """Sizes of one nhwc_hwcf convolution and of its per-group GEMM (`c`, `f`: channels of
    one of the `groups` groups); `direct`: A is X itself (1x1, no padding)."""

    groups: int
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pad: tuple[int, int]
    direct: bool
    blocking: Blocking
    block_panels: int

    @property
    def panels(self) -> int:
        """Column panels of B per group (the last may be partly padding)."""
        return self.blocking.np_ // self.blocking.nr


def nhwc_gemm(op: top.Conv2dOp, vector_bits: int) -> NhwcGemm | None:
    """The GEMM form of `op`, or None when another lowering takes it (the depthwise kernel,
    or the reference nest for a channel multiplier above 1)."""
    shapes = f32_conv_shapes(op)
    if op.layout.data != top.ConvLayout.NHWC_HWCF or shapes is None:
        return None
    (_, h, w, c_all), (kh, kw, c, f_all), (_, oh, ow, _) = shapes
    groups = op.groups.value.data
    if c == 1 and groups == c_all and groups > 1:
        return None
    lanes, mr, nr = micro_tile(vector_bits)
    f, m, k = f_all // groups, oh * ow, kh * kw * c
    mr = balanced_rows(m, mr)
    np_ = -(-f // nr) * nr
    blocking = Blocking(m, f, k, lanes, mr, nr, k, -(-m // mr) * mr, np_)
    block_panels = max(1, L2_BYTES // 2 // (4 * k * nr))
    (lh, lw), high = op.pad_low.get_values(), op.pad_high.get_values()
    direct = kh == kw == 1 and not any((lh, lw, *high))
    (sh, sw), (dh, dw) = op.strides.get_values(), op.dilations.get_values()
    window = (sh, sw), (dh, dw), (lh, lw)
    return NhwcGemm(c, h, w, f, kh, kw, oh, ow, groups, *window, direct, blocking, block_panels)


def balanced_rows(m: int, mr: int) -> int:
    """Rows per pixel panel: the largest of MR down to 3/4 of it that divides M (no short
    last panel, whose few accumulators would wait on the FMA latency), else MR."""
    fits = [r for r in range(mr, -(-3 * mr // 4) - 1, -1) if m % r == 0]
    return fits[0] if fits else mr


def packed_nhwc_filter(op: top.Conv2dOp, vector_bits: int) -> list[PackedConstant]:
    """The filter as B panels, each group's after the other's, when `op` takes the GEMM."""
    g = nhwc_gemm(op, vector_bits)
    if g is None:
        return []
    b = g.blocking
    return packed_by_group(
        f"nhwc-b-{g.groups}x{b.k}x{b.np_}/{b.nr}",
        lambda w: w.reshape(b.k, g.groups, b.n).transpose(1, 0, 2),
        lambda m: pack_b_array(m, b),
    )


@dataclass
class _Conv:
    """What every tile of one lowering reads and writes."""

    g: NhwcGemm
    x: SSAValue
    b_packed: SSAValue
    y: SSAValue
    bias: SSAValue | None
    epilogue: Epilogue | None
    buffers: Buffers
    ap: SSAValue | None
    cp: SSAValue | None


def lower_nhwc_gemm(em: Emitter, op: top.Conv2dOp, g: NhwcGemm, buffers: Buffers) -> None:
    """The conv as the GEMM of the module docstring (the filter must be packed)."""
    b = g.blocking
    epilogue = buffers.epilogues.get(op)
    scalar_epilogue = epilogue is not None and not vectorises(epilogue.body.block, epilogue.maps)
    allocs: list[SSAValue] = []

    def alloc(shape: list[int]) -> SSAValue:
        allocs.append(em.value(AllocOp(MemRefType(f32, shape))))
        return allocs[-1]

    conv = _Conv(
        g,
        buffers.buffer(op.input, op),
        buffers.packed[(op, 1)],
        buffers.buffer(op.result if epilogue is None else epilogue.result, op),
        None if op.bias is None else buffers.buffer(op.bias, op),
        epilogue,
        buffers,
        None if g.direct else alloc([b.mp, b.k]),
        alloc([b.mp, b.nr]) if scalar_epilogue else None,
    )
    whole, tail = b.n // b.nr, b.n % b.nr
    per_block = g.block_panels
    blocks = -(-(whole + (tail > 0)) // per_block)
    pack_first = conv.ap is not None and blocks > 1
    last = (blocks - 1) * per_block
    with span(em, 0, shape_of(conv.y)[0]) as n:
        if pack_first:
            _pixel_loop(em, conv, n, _Work(True, None, 0, False))
        if blocks > 1:
            with span(em, 0, blocks - 1) as jb:
                _pixel_loop(em, conv, n, _Work(False, em.imul(jb, per_block), per_block, False))
        work = _Work(conv.ap is not None and not pack_first, em.index(last), whole - last, tail > 0)
        _pixel_loop(em, conv, n, work)
    em.dealloc(*allocs)


@dataclass(frozen=True)
class _Work:
    """What a pass over the pixel panels does: pack their im2col rows; then the tiles of
    `count` whole B panels from `first` (none when `first` is None), and of the last,
    partial one when `tail`."""

    pack: bool
    first: SSAValue | None
    count: int
    tail: bool


def _pixel_loop(em: Emitter, conv: _Conv, n: SSAValue, work: _Work) -> None:
    """`work` for every pixel panel of image n: the whole panels in a parallel loop, then
    the short last one."""
    rows = conv.g.blocking.mr
    whole = conv.g.blocking.m // rows
    if whole:
        with span(em, 0, whole, parallel=True) as ip:
            _pixel_panel(em, conv, n, (em.imul(ip, rows), rows), work)
    if conv.g.blocking.m % rows:
        _pixel_panel(em, conv, n, (em.index(whole * rows), conv.g.blocking.m % rows), work)


def _pixel_panel(
    em: Emitter, conv: _Conv, n: SSAValue, panel: tuple[SSAValue, int], work: _Work
) -> None:
    """`work` for output pixels i0 .. i0 + rows - 1 (flat oh*OW + ow), `panel` = (i0,
    rows), every group."""
    g, b = conv.g, conv.g.blocking
    i0, rows = panel
    flat = [em.iadd(i0, r) for r in range(rows)]
    pixels = [(i, *_divmod(em, i, g.ow)) for i in flat] if work.first is not None else []
    sh, sw = g.stride
    taps = [(em.imul(oh, sh), em.imul(ow, sw)) for _, oh, ow in pixels] if g.direct else []
    with _groups(em, g.groups) as group:
        c0 = em.imul(group, g.c) if g.groups > 1 else None

        def in_x(k: SSAValue, r: int) -> list[SSAValue]:
            return [n, *taps[r], k if c0 is None else em.iadd(c0, k)]

        def in_ap(k: SSAValue, r: int) -> list[SSAValue]:
            return [flat[r], k]

        if work.pack:
            _pack_rows(em, conv, n, group, i0, rows)
        if work.first is None:
            return
        a_panel: tuple[SSAValue, Indices] = (conv.x, in_x) if conv.ap is None else (conv.ap, in_ap)
        if work.count:
            with span(em, work.first, em.iadd(work.first, work.count)) as jp:
                _tile(em, conv, (n, group, pixels), a_panel, jp, [b.lanes] * b.nv)
        if work.tail:
            rest = b.n % b.nr
            widths = [b.lanes] * (rest // b.lanes) + [w for _, w in tail_pieces(rest, b.lanes)]
            jp = em.index(b.n // b.nr)
            _tile(em, conv, (n, group, pixels), a_panel, jp, widths)


def _tile(
    em: Emitter,
    conv: _Conv,
    where: tuple[SSAValue, SSAValue, list[tuple[SSAValue, SSAValue, SSAValue]]],
    a_panel: tuple[SSAValue, Indices],
    jp: SSAValue,
    widths: list[int],
) -> None:
    """The tile of the pixels of `where` = (n, group, [(i, oh, ow)]) with channel panel jp,
    as column pieces of `widths`: summed, then stored through bias and epilogue."""
    g, b = conv.g, conv.g.blocking
    n, group, pixels = where
    offsets = [sum(widths[:v]) for v in range(len(widths))]
    panel = em.iadd(em.imul(group, g.panels), jp) if g.groups > 1 else jp
    zeros = [zero_piece(em, w) for w in widths]
    sums = tile_sums(
        em,
        a_panel,
        (conv.b_packed, lambda k, v: [panel, k, em.index(offsets[v])]),
        em.index(b.k),
        [zeros] * len(pixels),
    )
    j0 = em.imul(jp, b.nr)
    channel0 = em.iadd(j0, em.imul(group, g.f)) if g.groups > 1 else j0
    if conv.cp is not None:
        _through_scratch(em, conv, where, sums, offsets, (j0, channel0))
        return
    for (_, oh, ow), row in zip(pixels, sums, strict=True):
        for offset, total in zip(offsets, row, strict=True):
            channel = em.iadd(channel0, offset)
            value = total
            if conv.bias is not None:
                value = _add(em, value, load_piece(em, conv.bias, [channel], width_of(value)))
            out = [n, oh, ow, channel]
            if conv.epilogue is not None:
                value = vector_epilogue(em, value, out, conv.epilogue, conv.buffers)
            store_piece(em, value, conv.y, out)


def _through_scratch(
    em: Emitter,
    conv: _Conv,
    where: tuple[SSAValue, SSAValue, list[tuple[SSAValue, SSAValue, SSAValue]]],
    sums: list[list[SSAValue]],
    offsets: list[int],
    columns: tuple[SSAValue, SSAValue],
) -> None:
    """The tile into its pixels' rows of Cp, then out to Y element by element through the
    bias and the (scalar) epilogue."""
    assert conv.cp is not None
    n, _, pixels = where
    cp, (_, channel0) = conv.cp, columns
    valid = offsets[-1] + width_of(sums[0][-1])
    for (i, _, _), row in zip(pixels, sums, strict=True):
        for offset, total in zip(offsets, row, strict=True):
            store_piece(em, total, cp, [i, em.index(offset)])
    for i, oh, ow in pixels:
        with span(em, 0, valid, parallel=True, vector=conv.g.blocking.lanes) as j:
            channel = em.iadd(channel0, j)
            value = em.load(cp, [i, j])
            if conv.bias is not None:
                value = em.add(value, em.load(conv.bias, [channel]))
            store_with_epilogue(
                em, value, conv.y, [n, oh, ow, channel], conv.epilogue, conv.buffers
            )


def _pack_rows(
    em: Emitter, conv: _Conv, n: SSAValue, group: SSAValue, i0: SSAValue, rows: int
) -> None:
    """Ap[i, (kh*KW + kw)*C + c] = X[n, ih, iw, group*C + c] (zero outside X) for the
    pixels i of the panel, (ih, iw) the tap's input position."""
    g = conv.g
    assert conv.ap is not None
    (sh, sw), (dh, dw), (lh, lw) = g.stride, g.dilation, g.pad
    zero = em.const(0.0, f32)
    checked = _needs_check(g)
    with span(em, 0, rows) as r:
        i = em.iadd(i0, r)
        oh, ow = _divmod(em, i, g.ow)
        with span(em, 0, g.kh) as kh, span(em, 0, g.kw) as kw:
            ih, iw = em.window(oh, kh, sh, dh, lh), em.window(ow, kw, sw, dw, lw)
            inside = em.both(em.in_range(ih, g.h), em.in_range(iw, g.w)) if checked else None
            source = [n, em.clamp(ih, g.h), em.clamp(iw, g.w)] if checked else [n, ih, iw]
            k0 = em.imul(em.iadd(em.imul(kh, g.kw), kw), g.c)
            c0 = em.imul(group, g.c)

            def copy(offset: SSAValue, width: int) -> None:
                value = load_piece(em, conv.x, [*source, em.iadd(c0, offset)], width)
                if inside is not None:
                    value = em.select(inside, value, splat(em, zero, width))
                store_piece(em, value, conv.ap, [i, em.iadd(k0, offset)])  # pyright: ignore

            lanes = g.blocking.lanes
            if g.c >= lanes:
                with span(em, 0, g.c - g.c % lanes, lanes) as c:
                    copy(c, lanes)
            for offset, width in tail_pieces(g.c, lanes):
                copy(em.index(offset), width)


def _needs_check(g: NhwcGemm) -> bool:
    """Whether some tap of the im2col falls outside X."""
    return any(
        low > 0 or (out - 1) * s - low + (k - 1) * d >= size
        for out, k, s, d, low, size in (
            (g.oh, g.kh, g.stride[0], g.dilation[0], g.pad[0], g.h),
            (g.ow, g.kw, g.stride[1], g.dilation[1], g.pad[1], g.w),
        )
    )


def _groups(em: Emitter, groups: int) -> AbstractContextManager[SSAValue]:
    """A loop over the groups, or the index 0 when there is one."""
    return span(em, 0, groups) if groups > 1 else nullcontext(em.index(0))


def _divmod(em: Emitter, value: SSAValue, by: int) -> tuple[SSAValue, SSAValue]:
    if by == 1:
        return value, em.index(0)
    quotient = em.value(arith.DivUIOp(value, em.index(by)))
    return quotient, em.value(arith.RemUIOp(value, em.index(by)))


def _add(em: Emitter, a: SSAValue, b: SSAValue) -> SSAValue:
    return em.value(arith.AddfOp(a, b))
