"""The copy-out of the f32 conv GEMM (lowering/top_to_loop_conv.py) in whole vectors of
Y viewed as [N, F, OH*OW] (`flat_view`), where `flat_copy_out` holds:

- the row form copies each pixel task's columns of a B block right after their GEMM
  (`copy_out_block`), from a Cp of that block only, still in that core's cache;
- pixel rows copy Cp^T in lanes x lanes squares transposed by shuffles
  (`copy_out_squares`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from xdsl.dialects import arith
from xdsl.dialects.builtin import MemRefType, VectorType, f32
from xdsl.ir import SSAValue
from xdsl.ir.affine import AffineMap

from lamina.dialects.loop import AllocOp, ViewOp, VLoadOp, VStoreOp
from lamina.lowering.bufferize import Buffers
from lamina.lowering.concat_slices import view_root
from lamina.lowering.epilogue_fusion import Epilogue
from lamina.lowering.top_to_loop_build import Emitter, memref_type, shape_of
from lamina.lowering.top_to_loop_conv_geometry import ConvGeometry
from lamina.lowering.top_to_loop_gemm import span
from lamina.lowering.top_to_loop_lanes import (
    load_piece,
    scalar_constant,
    splat,
    store_piece,
    swap_lane_blocks,
    vector_epilogue,
    vectorises,
)


@dataclass(frozen=True)
class FlatViews:
    """Y viewed as [N, F, OH*OW] (`flat_view`) and, by epilogue input, the same view of
    each input the epilogue reads per pixel (`flat_copy_out` allows only those shaped as
    Y, read at the output's own element)."""

    y: SSAValue
    inputs: dict[SSAValue, SSAValue]

    def epilogue(
        self,
        em: Emitter,
        value: SSAValue,
        at: tuple[SSAValue, SSAValue, SSAValue],
        epilogue: Epilogue,
        buffers: Buffers,
    ) -> SSAValue:
        """`vector_epilogue` on the piece `value` of Y's flat view at `at` = (n, f,
        pixel): per-channel inputs read at (n, f), per-pixel ones from their views."""
        n, f, pixel = at
        where = [n, f, em.index(0), em.index(0)]
        return vector_epilogue(em, value, where, epilogue, buffers, (self.inputs, [n, f, pixel]))


def flat_copy_out(
    g: ConvGeometry, y: SSAValue, epilogue: Epilogue | None, buffers: Buffers
) -> bool:
    """Whether the copy-out can write vectors of Y viewed as [N, F, OH*OW] (`flat_view`):
    vectors of more than one lane, Y a buffer memory planning places (the view is folded
    into a carve) and an epilogue that vectorises, whose inputs read per pixel (a vector of
    the view spans output rows) are planned buffers shaped as Y, read at the output's own
    element (Y's own buffer, a residual added in place, only where no square overlaps
    another: those elements are written twice). On pixel rows
    also at least a vector of filters and of pixels (`copy_out_squares`) and K = C*KH*KW
    of at most 32 vectors, where the copy-out is a share of the conv worth its compile
    time (about 4 ms a conv): at one thread (conv + ReLU + pool, best of 1 s, Sapphire
    Rapids) 16 -> 64 1x1 at 55x55 went from 141 to 106 us and 32 -> 128 3x3 at 27x27
    (K = 288) from 393 to 370, while the convs of K >= 576 (14x14 and 7x7) stayed within
    noise. At 16 lanes the bound cuts DenseNet-121's 1x1 convs at 14x14 and 7x7 (C = 256
    to 992) at C = 512 into two nest families of different code: 89 distinct nests, not
    the scalar copy-out's 86."""
    lanes = g.blocking.lanes
    if lanes < 2 or not isinstance(view_root(y)[0].owner, AllocOp):
        return False
    k = g.c * g.kh * g.kw
    if g.pixel_rows and (min(g.f, g.oh * g.ow) < lanes or k > 32 * lanes):
        return False
    if epilogue is None:
        return True
    # the squares past the last whole one overlap it: an input Y is written over must not
    # be read again after its element was written
    overlap = g.pixel_rows and (g.f % lanes != 0 or g.oh * g.ow % lanes != 0)
    for source, amap in _per_pixel_inputs(epilogue):
        buffer = buffers.of[source]
        root = view_root(buffer)[0]
        if amap != AffineMap.identity(4) or shape_of(buffer) != shape_of(y):
            return False
        if not isinstance(root.owner, AllocOp) or (overlap and root is view_root(y)[0]):
            return False
    return vectorises(epilogue.body.block, epilogue.maps)


def _per_pixel_inputs(epilogue: Epilogue) -> list[tuple[SSAValue, AffineMap]]:
    """The epilogue's inputs, other than the conv's result, whose map uses OH or OW."""
    return [
        (source, amap)
        for i, (source, amap) in enumerate(zip(epilogue.inputs, epilogue.maps, strict=False))
        if i != epilogue.fused and scalar_constant(source) is None and {2, 3} & amap.used_dims()
    ]


def flat_views(em: Emitter, y: SSAValue, epilogue: Epilogue | None, buffers: Buffers) -> FlatViews:
    """Y's flat view and those of the epilogue's per-pixel inputs (`flat_copy_out` holds)."""
    sources = [] if epilogue is None else [s for s, _ in _per_pixel_inputs(epilogue)]
    return FlatViews(flat_view(em, y), {s: flat_view(em, buffers.of[s]) for s in sources})


def flat_view(em: Emitter, y: SSAValue) -> SSAValue:
    """Y [N, C, OH, OW] viewed as [N, C, OH*OW] (made before the conv's nest: on OpenCL
    the view, folded into a carve, must be a buffer the kernel is given)."""
    batch, channels, oh, ow = shape_of(y)
    flat_type = MemRefType(
        f32, [batch, channels, oh * ow], memory_space=memref_type(y).memory_space
    )
    return em.value(ViewOp(y, 0, flat_type))


def copy_out_block(
    em: Emitter,
    g: ConvGeometry,
    cp: SSAValue,
    bias: SSAValue | None,
    out: tuple[FlatViews, SSAValue, SSAValue],
    block: tuple[SSAValue, tuple[SSAValue, SSAValue] | None],
    epilogue: Epilogue | None,
    buffers: Buffers,
) -> None:
    """`copy_out` of B block jb's columns [first, end) (all of them without a range),
    `block` = (jb, (first, end) or None), from Cp [f, column] (the row form, Cp holding
    this block only, read while the GEMM left it in cache; `first` a multiple of the
    lanes) when `flat_copy_out` holds: the columns of its R rows are one run of pixels of
    Y's flat view, copied as whole vectors then scalars, so that rows not a multiple of a
    vector (55, 111) leave one tail per block, not one per row. Cp of all blocks copied
    after the GEMM cost SqueezeNet's conv1 (3x3/2, 64 filters at 111x111) 230 of its 615
    us."""
    flat, n, group = out
    jb, columns = block
    lanes = g.blocking.lanes
    row0 = em.imul(jb, g.rows)
    rows = em.value(arith.MinSIOp(em.index(g.rows), em.value(arith.SubiOp(em.index(g.oh), row0))))
    count = em.imul(rows, g.ow)
    start = em.index(0)
    if columns is None:
        left = count
    else:
        start, end = columns
        count = em.value(arith.MinSIOp(count, end))
        left = em.value(arith.MaxSIOp(em.value(arith.SubiOp(count, start)), em.index(0)))
    whole = em.value(arith.MuliOp(em.value(arith.DivUIOp(left, em.index(lanes))), em.index(lanes)))
    if columns is not None:
        whole = em.iadd(start, whole)
    pixel0 = em.imul(row0, g.ow)
    with span(em, 0, g.f, parallel=True) as f_local:
        f = em.iadd(f_local, em.imul(group, g.f)) if g.groups > 1 else f_local
        bias_value = None if bias is None else em.load(bias, [f])
        for begin, stop, width in ((start, whole, lanes), (whole, count, 1)):
            with span(em, begin, stop, width, parallel=True) as column:
                value = load_piece(em, cp, [f_local, column], width)
                if bias_value is not None:
                    value = em.value(arith.AddfOp(value, splat(em, bias_value, width)))
                pixel = em.iadd(pixel0, column)
                if epilogue is not None:
                    value = flat.epilogue(em, value, (n, f, pixel), epilogue, buffers)
                store_piece(em, value, flat.y, [n, f, pixel])


def filter_squares(g: ConvGeometry) -> int:
    """The lanes x lanes squares of filters `copy_out_squares` stages (one per
    vector of filters, the last one overlapping its neighbour when F is no multiple)."""
    return -(-g.f // g.blocking.lanes)


def copy_out_squares(
    em: Emitter,
    g: ConvGeometry,
    staged: tuple[SSAValue, SSAValue],
    bias: SSAValue | None,
    out: tuple[FlatViews, SSAValue],
    epilogue: Epilogue | None,
    buffers: Buffers,
    filters: tuple[SSAValue, SSAValue] | None = None,
) -> None:
    """`copy_out` from Cp^T [pixel, f] (`pixel_rows`, one group, one block) into Y viewed
    as [N, F, OH*OW] when `flat_copy_out` holds (only the squares of filters [first, end)
    of `filters` when given: a filter task's), in lanes x lanes squares, each transposed
    in `squares` [filter vector, lanes, lanes] by two small loops (`_transpose_square`),
    then one loop over its vectors of pixels adding the bias, applying the epilogue and
    storing them. The last square of pixels (of filters) starts `lanes` before the end,
    overlapping its neighbour, which it writes again with the same values: no scalar
    remainder. Loops, not the square unrolled in registers: 64 shuffles and 16 epilogues
    per conv made Inception v2 compile in 7.3 instead of 4.3 s. The scalar copy took 1.1
    cycles an element (SqueezeNet's 1x1 16 -> 64 at 55x55: 105 of the conv's 156 us)."""
    (cp, squares), (flat, n) = staged, out
    lanes, pixels = g.blocking.lanes, g.oh * g.ow
    vt = VectorType(f32, [lanes])

    def start(block: SSAValue, size: int) -> SSAValue:
        first = em.imul(block, lanes)
        if size % lanes == 0:
            return first
        return em.value(arith.MinSIOp(first, em.index(size - lanes)))

    with (
        span(em, *(filters or (0, filter_squares(g))), parallel=True) as fb,
        span(em, 0, -(-pixels // lanes)) as pb,
    ):
        f0, p0 = start(fb, g.f), start(pb, pixels)
        _transpose_square(em, lanes, lambda i: (cp, [em.iadd(p0, i), f0]), (squares, fb))
        with span(em, 0, lanes, unroll=1) as j:
            value = em.value(VLoadOp(squares, [fb, j, em.index(0)], vt))
            f = em.iadd(f0, j)
            if bias is not None:
                value = em.value(arith.AddfOp(value, splat(em, em.load(bias, [f]), lanes)))
            if epilogue is not None:
                value = flat.epilogue(em, value, (n, f, p0), epilogue, buffers)
            em.emit(VStoreOp(value, flat.y, [n, f, p0]))


def _transpose_square(
    em: Emitter,
    lanes: int,
    row: Callable[[SSAValue], tuple[SSAValue, list[SSAValue]]],
    square: tuple[SSAValue, SSAValue],
) -> None:
    """squares[s][j][i] = element j of vector `row(i)` (i, j < lanes) for `square` =
    (squares, s): the rounds of `swap_lane_blocks` below G (about sqrt(lanes)) on each G
    consecutive vectors, read from `row` and stored into the square, then those from G on
    in place on the vectors G apart; each a loop whose body is one group of shuffles (16
    lanes: two loops of 4 x 8 shuffles where one square in registers is 64)."""
    squares, s = square
    vt = VectorType(f32, [lanes])
    group = 1 << lanes.bit_length() // 2
    zero = em.index(0)
    with span(em, 0, lanes, group, unroll=1) as first:
        at = [em.iadd(first, a) for a in range(group)]
        rows = [em.value(VLoadOp(*row(i), vt)) for i in at]
        b = group // 2
        while b:
            rows = swap_lane_blocks(em, rows, b, b)
            b //= 2
        for i, value in zip(at, rows, strict=True):
            em.emit(VStoreOp(value, squares, [s, i, zero]))
    if group == lanes:
        return
    with span(em, 0, group, unroll=1) as h:
        at = [em.iadd(h, group * k) for k in range(lanes // group)]
        rows = [em.value(VLoadOp(squares, [s, i, zero], vt)) for i in at]
        b = lanes // 2
        while b >= group:
            rows = swap_lane_blocks(em, rows, b, b // group)
            b //= 2
        for i, value in zip(at, rows, strict=True):
            em.emit(VStoreOp(value, squares, [s, i, zero]))
