"""2-D max / average `top.pool` on nchw f32, and max pools on integers (quantized tensors),
(dilation 1) vectorised along the output rows,
with the phase planes of the depthwise kernel (lowering/top_to_loop_depthwise.py):

    for n, c (parallel):
      Xs[c][phase] = the (n, c) plane split by the stride, padding = -inf (max) or 0 (avg)
      for p in 0..P step U*L (parallel):             # flat outputs p = oh*Wq + ow
        acc[u] = tap 0; acc[u] = max / add (acc[u], tap t) for the other KH*KW taps
        Yf[c][p + u*L] = acc[u]
      Y[n, c, oh, ow] = Yf[c][oh*Wq + ow]            (avg: / the count of counted taps)
                                                     (f32: rows as explicit vectors)

The count of an average window is the product of its per-dim counts, each
min(o*s - low + k, end) - max(o*s - low, begin) with [begin, end) = [0, size), or
[-low, size + high) when padding counts (`count_include_pad`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerType, MemRefType, TensorType, VectorType, f32
from xdsl.ir import Attribute, SSAValue
from xdsl.utils.hints import isa

from lamina.dialects import top
from lamina.dialects.loop import AllocOp, VLoadOp, VStoreOp
from lamina.lowering.top_to_loop_build import Emitter
from lamina.lowering.top_to_loop_depthwise import (
    DepthwiseGeometry,
    fill_planes,
    strides_fit_planes,
)
from lamina.lowering.top_to_loop_gemm import span
from lamina.lowering.top_to_loop_lanes import load_piece, row_pieces, splat, store_piece
from lamina.lowering.top_to_loop_row_pool import ANY_SIGN_OF_ZERO


def pool_geometry(op: top.PoolOp, vector_bits: int) -> DepthwiseGeometry | None:
    """The plane geometry of `op` (channels as both c and f), or None when the reference
    nest lowers it: not nchw 2-D f32 (or an integer max pool: quantized tensors), dilated,
    or, for f32, no window leaves X (the reference nest then has no selects and reads X
    once, which the planes cannot beat; on bytes LLVM does not vectorise its strided taps,
    which the planes make contiguous)."""
    element = _element(op)
    if element is None:
        return None
    types = [op.input.type, op.result.type]
    x_shape, y_shape = (cast(TensorType[Attribute], t).get_shape() for t in types)
    if len(x_shape) != 4 or tuple(op.spatial_dims()) != (2, 3):
        return None
    if op.dilations.get_values() != (1, 1):
        return None
    (_, c, h, w), (_, _, oh, ow) = x_shape, y_shape
    kh, kw = op.kernel.get_values()
    sh, sw = op.strides.get_values()
    if not strides_fit_planes((sh, sw), (h, w)):
        return None
    lh, lw = op.pad_low.get_values()
    inside = lh == lw == 0 and (oh - 1) * sh + kh <= h and (ow - 1) * sw + kw <= w
    if inside and element == f32:
        return None
    lanes = max(1, vector_bits // 32)
    return DepthwiseGeometry(c, h, w, c, kh, kw, oh, ow, (sh, sw), (lh, lw), lanes, element)


def _is_integer(t: Attribute) -> bool:
    return isinstance(t, IntegerType)


def _element(op: top.PoolOp) -> Attribute | None:
    """The element type of a pool the planes take: f32, or an integer of a max pool."""
    types = [op.input.type, op.result.type]
    if not all(isa(t, TensorType[Attribute]) for t in types):
        return None
    element: Attribute = cast(TensorType[Attribute], types[0]).get_element_type()
    if element == f32 or (op.kind.data == top.PoolKind.MAX and _is_integer(element)):
        return element
    return None


def lower_pool_planes(
    em: Emitter, op: top.PoolOp, g: DepthwiseGeometry, x: SSAValue, y: SSAValue
) -> None:
    """The loop nest of the module docstring."""
    is_max = op.kind.data == top.PoolKind.MAX
    element = cast(MemRefType[Attribute], x.type).element_type
    planes = em.value(AllocOp(MemRefType(element, [g.c, g.phases, g.hq * g.wq])))
    flat = em.value(AllocOp(MemRefType(element, [g.c, g.flat])))
    batch = cast(MemRefType[Attribute], y.type).get_shape()[0]
    pad_value = em.lowest(element) if is_max else em.const(0.0, f32)
    with span(em, 0, batch) as n, span(em, 0, g.c, parallel=True) as c:
        fill_planes(em, g, x, (n, c), (planes, c), pad_value)
        _combine(em, g, is_max, planes, flat, c)
        with span(em, 0, g.oh, parallel=True) as oh:
            base = em.imul(oh, g.wq)
            rows = None if is_max else _window_count(em, op, g, oh, 0)

            def store(ow: SSAValue, cols: SSAValue | None) -> None:
                value = em.load(flat, [c, em.iadd(base, ow)])
                if rows is not None:
                    count = em.value(arith.MuliOp(rows, cols or _window_count(em, op, g, ow, 1)))
                    value = em.div(value, em.from_count(count, f32))
                em.store(value, y, [n, c, oh, ow])

            if element != f32:
                with span(em, 0, g.ow, parallel=True, vector=g.lanes) as ow:
                    store(ow, None)
            else:
                _copy_rows_pieces(em, op, g, (flat, [c, base]), (y, [n, c, oh]), rows, store)
    em.dealloc(planes, flat)


def _copy_rows_pieces(
    em: Emitter,
    op: top.PoolOp,
    g: DepthwiseGeometry,
    source: tuple[SSAValue, list[SSAValue]],
    dest: tuple[SSAValue, list[SSAValue]],
    rows: SSAValue | None,
    store: Callable[[SSAValue, SSAValue | None], None],
) -> None:
    """Y[n, c, oh, :] = Yf[c][base + (0..OW)] (avg: / the window's count) as explicit
    vectors (`row_pieces`; the row loop left to LLVM was vectorised across the rows, as
    gathers and scatters): an average's pieces divided by rows * KW, the count of a window
    whose columns all count, then the columns whose windows are cut by the edge (known at
    compile time) stored again one by one (`store`) with their own count."""
    flat, (c, base) = source
    y, (n, c_out, oh) = dest
    full = (
        None if rows is None else em.from_count(em.value(arith.MuliOp(rows, em.index(g.kw))), f32)
    )

    def piece(ow: SSAValue, width: int) -> None:
        value = load_piece(em, flat, [c, em.iadd(base, ow)], width)
        if full is not None:
            value = em.value(arith.DivfOp(value, splat(em, full, width)))
        store_piece(em, value, y, [n, c_out, oh, ow])

    row_pieces(em, g.ow, g.lanes, piece)
    if rows is None:
        return
    begin, end = 0, g.w
    if op.count_include_pad is not None:
        begin, end = -g.pad[1], g.w + op.pad_high.get_values()[1]
    for ow in range(g.ow):
        start = ow * g.stride[1] - g.pad[1]
        cols = min(start + g.kw, end) - max(start, begin)
        if cols != g.kw:
            store(em.index(ow), em.index(cols))


def _combine(
    em: Emitter, g: DepthwiseGeometry, is_max: bool, planes: SSAValue, flat: SSAValue, c: SSAValue
) -> None:
    """Yf[c][p] = max or sum over taps of Xs[c][phase][p + shift], taps unrolled."""
    (sh, sw) = g.stride
    vt = VectorType(cast(MemRefType[Attribute], planes.type).element_type, [g.lanes])
    step = g.chains * g.lanes
    with span(em, 0, g.flat, step, parallel=True) as p:
        acc: list[SSAValue | None] = [None] * g.chains
        for kh in range(g.kh):
            for kw in range(g.kw):
                phase = em.index((kh % sh) * sw + kw % sw)
                shift = (kh // sh) * g.wq + kw // sw
                for u in range(g.chains):
                    at = em.iadd(p, shift + u * g.lanes)
                    tap = em.value(VLoadOp(planes, [c, phase, at], vt))
                    before = acc[u]
                    if before is None:
                        acc[u] = tap
                    elif is_max and vt.element_type == f32:
                        acc[u] = em.value(arith.MaximumfOp(before, tap, ANY_SIGN_OF_ZERO))
                    elif is_max:
                        acc[u] = em.value(arith.MaxSIOp(before, tap))
                    else:
                        acc[u] = em.value(arith.AddfOp(before, tap))
        for u, value in enumerate(acc):
            assert value is not None, "a window has at least one tap"
            em.emit(VStoreOp(value, flat, [c, em.iadd(p, u * g.lanes)]))


def _window_count(
    em: Emitter, op: top.PoolOp, g: DepthwiseGeometry, out: SSAValue, dim: int
) -> SSAValue:
    """How many taps of output position `out` along spatial dim `dim` are counted."""
    k, s, low = (g.kh, g.kw)[dim], g.stride[dim], g.pad[dim]
    size = (g.h, g.w)[dim]
    begin, end = 0, size
    if op.count_include_pad is not None:
        begin, end = -low, size + op.pad_high.get_values()[dim]
    start = em.iadd(em.imul(out, s), -low)
    first = em.value(arith.MaxSIOp(start, em.index(begin)))
    last = em.value(arith.MinSIOp(em.iadd(start, k), em.index(end)))
    return em.value(arith.SubiOp(last, first))
