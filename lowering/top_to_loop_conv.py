"""`top.conv2d` (nchw_fchw, f32, constant filter) as a packed GEMM per image and group:

    Y[n][g*F + (0..F), OH*OW] = W[g][F, C*KH*KW] · im2col(X[n][g*C + (0..C)])[C*KH*KW, OH*OW]

(F, C: output and input channels per group; one group for a dense conv, AlexNet's and
ShuffleNet's grouped convs run the same GEMM once per group.)

When the pixels of a B block fill NR-wide vectors badly (7x7 or 14x14 outputs: 49 or 196
columns, padded to 64 or 224) and the filters fill them well, the GEMM is run transposed,
`pixel_rows`: Y^T = im2col^T · W^T, the micro-tile's MR rows output pixels (MR balanced
over them: 49 = 7 x 7) broadcast from Bp, its vectors NR filters, Cp^T copied out in
blocks of a vector of filters. It takes a conv whose output is one B block and whose padded
work (filters x pixels) is no larger than the other form's; measured side by side at one
thread (Zen 4) it was 5-25% faster on every ResNet-50 layer of 28x28 outputs or fewer (a
1x1 conv of 128 -> 512 channels at 28x28: 1.34 vs 1.61 ms, padded work only 2% less), and
5-40% slower on those of 56x56 or 112x112 outputs (four or eight blocks). Grouped convs keep
the row form, whose copy-out is explicit vectors (`copy_out`): ShuffleNet's 1x1
convs of 4 groups (one node vs onnxruntime at one thread, side by side) ran 1.4-3.0x
slower than onnxruntime on pixel rows at 7x7 (272 channels) to 56x56 outputs, 1.0-1.1x in
rows; at 544 channels on 7x7 both forms were 1.0-1.1x.

- A is the filter, packed at compile time into [G*Fp/MR][K][MR] panels (`PackedConstant`),
  group g's panels starting at row g*Fp/MR (`pixel_rows`: W^T in [G*Fp/NR][K][NR] panels);
- B is never materialised whole: each K block of the im2col matrix is packed straight from
  X into an arena buffer Bp[KC][NCp] covering R whole output rows (NCp = R*OW rounded up
  to NR), one row of Bp per (c, kh, kw), padding taps written as zeros. Each output row
  is three loops with computed bounds: left padding, the unchecked (vectorised) interior,
  right padding;
- the micro-kernel accumulates into an arena buffer Cp[Fp][blocks*NCp] (`pixel_rows`:
  Cp^T [blocks*NCp][Fp]), and one pass copies Cp into Y adding the bias and applying the
  fused elementwise consumer (`Epilogue`). Where Y is an arena buffer and the epilogue
  reads per pixel only arena buffers shaped as Y (`flat_copy_out`), Y is viewed as
  [N, F, OH*OW] and written in whole vectors (lowering/top_to_loop_conv_flat.py): the row
  form copies each B block right after its GEMM, pixel rows copy lanes x lanes squares
  transposed by shuffles;
- on more than one thread the row form splits the micro-panels of a B block into one
  contiguous task per thread (`_pixel_tasks`), one parallel loop around the block loop: a
  task packs its columns of Bp in every block, runs the GEMM on them and copies them out.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from contextlib import contextmanager

import numpy as np
from xdsl.dialects import arith, vector
from xdsl.dialects.builtin import DenseArrayBase, MemRefType, VectorType, f32, i64
from xdsl.ir import SSAValue

from lamina.dialects import top
from lamina.dialects.loop import AllocOp, VLoadOp, VStoreOp
from lamina.lowering.bufferize import Buffers
from lamina.lowering.epilogue_fusion import Epilogue, PackedConstant
from lamina.lowering.top_to_loop_build import Emitter, shape_of
from lamina.lowering.top_to_loop_conv_flat import (
    copy_out_block,
    copy_out_squares,
    filter_squares,
    flat_copy_out,
    flat_views,
)
from lamina.lowering.top_to_loop_conv_geometry import ConvGeometry, conv_geometry
from lamina.lowering.top_to_loop_gemm import (
    GemmPlan,
    Indices,
    emit_gemm,
    pack_a_array,
    pack_b_array,
    packed_by_group,
    packed_panel,
    span,
    store_with_epilogue,
)
from lamina.lowering.top_to_loop_lanes import (
    load_piece,
    row_pieces,
    splat,
    store_piece,
    vector_epilogue,
    vectorises,
)


def packed_filter(op: top.Conv2dOp, vector_bits: int) -> list[PackedConstant]:
    """The filter packed for the GEMM `op` lowers to, the groups' panels one after the
    other: as A panels, or transposed as B panels when the GEMM runs on pixel rows."""
    g = conv_geometry(op, vector_bits)
    if g is None:
        return []
    b = g.blocking

    def per_group(w: np.ndarray) -> np.ndarray:
        return w.reshape(g.groups, g.f, b.k)

    if g.pixel_rows:
        return packed_by_group(
            f"conv-bt-{g.groups}x{b.k}x{b.np_}/{b.nr}",
            per_group,
            lambda a: pack_b_array(a.T, b),
        )
    return packed_by_group(
        f"gemm-a-{g.groups}x{b.mp}x{b.k}/{b.mr}", per_group, lambda a: pack_a_array(a, b)
    )


def lower_conv_gemm(
    em: Emitter, op: top.Conv2dOp, g: ConvGeometry, buffers: Buffers, vector_bits: int
) -> None:
    """The conv as the GEMM of the module docstring (the filter must be packed)."""
    b = g.blocking
    w_packed = buffers.packed[(op, 1)]
    x = buffers.buffer(op.input, op)
    epilogue = buffers.epilogues.get(op)
    y = buffers.buffer(op.result if epilogue is None else epilogue.result, op)
    bias = None if op.bias is None else buffers.buffer(op.bias, op)
    flat = flat_views(em, y, epilogue, buffers) if flat_copy_out(g, y, epilogue, buffers) else None
    per_block = flat is not None and not g.pixel_rows
    filter_tasks = _filter_tasks(g, flat is not None, buffers.threads)
    bp = _alloc(em, [filter_tasks * b.kc, g.ncp])
    cp_columns = g.ncp if per_block else g.blocks * g.ncp
    cp = _alloc(em, [cp_columns, g.fp] if g.pixel_rows else [g.fp, cp_columns])
    scratch = [bp, cp]
    if flat is not None and g.pixel_rows:
        scratch.append(_alloc(em, [filter_squares(g), b.lanes, b.lanes]))
    filter_panel = packed_panel(em, w_packed, *((b.nr, b.lanes) if g.pixel_rows else (b.mr, 1)))
    panels = g.ncp // b.nr
    tasks = 1 if g.pixel_rows else min(panels, buffers.threads)
    with (
        span(em, 0, shape_of(y)[0]) as n,
        span(em, 0, g.groups) as group,
        _pixel_tasks(em, g.fp // b.nr, filter_tasks) as own_filters,
    ):
        first_filter = em.imul(group, g.fp)
        bp_row = None if own_filters is None else em.imul(own_filters[0], b.kc)
        with _pixel_tasks(em, panels, tasks) as own, span(em, 0, g.blocks) as jb:
            column0 = em.index(0) if per_block else em.imul(jb, g.ncp)
            columns = None if own is None else (em.imul(own[1], b.nr), em.imul(own[2], b.nr))

            def filters(outer: SSAValue, pc: SSAValue, inner: SSAValue) -> tuple[SSAValue, Indices]:
                return filter_panel(em.iadd(outer, first_filter), pc, inner)

            def pack(outer: SSAValue, pc: SSAValue, k_len: SSAValue) -> None:
                _pack_im2col(em, op, g, (x, n, group), (jb, columns), (bp, bp_row), pc, k_len)

            if g.pixel_rows:

                def pixels(ic: SSAValue, pc: SSAValue, ip: SSAValue) -> tuple[SSAValue, Indices]:
                    i0 = em.iadd(ic, em.imul(ip, b.mr))
                    if bp_row is None:
                        return bp, lambda k, r: [k, em.iadd(i0, r)]
                    row0 = bp_row
                    return bp, lambda k, r: [em.iadd(k, row0), em.iadd(i0, r)]

                plan = GemmPlan(
                    b,
                    pixels,
                    filters,
                    cp,
                    lambda i, j: [em.iadd(i, column0), j],
                    pack_a=pack,
                    b_panels=None if own_filters is None else own_filters[1:],
                )
            else:

                def pixel_vectors(
                    jc: SSAValue, pc: SSAValue, jp: SSAValue
                ) -> tuple[SSAValue, Indices]:
                    j0 = em.imul(jp, b.nr)
                    return bp, lambda k, v: [k, em.iadd(j0, v * b.lanes)]

                plan = GemmPlan(
                    b,
                    filters,
                    pixel_vectors,
                    cp,
                    lambda i, j: [i, em.iadd(j, column0)],
                    pack_b=pack,
                    b_panels=None if own is None else own[1:],
                )
            emit_gemm(em, plan)
            if per_block:
                assert flat is not None
                out = (flat, n, group)
                copy_out_block(em, g, cp, bias, out, (jb, columns), epilogue, buffers)
        squares = None if own_filters is None else _task_squares(em, g, own_filters[1:])
        if flat is not None and g.pixel_rows:
            staged = (cp, scratch[2])
            copy_out_squares(em, g, staged, bias, (flat, n), epilogue, buffers, squares)
        elif not per_block:
            copy_out(em, g, cp, bias, y, (n, group), epilogue, buffers, squares)
    em.dealloc(*scratch)


@contextmanager
def _pixel_tasks(
    em: Emitter, panels: int, tasks: int
) -> Generator[tuple[SSAValue, SSAValue, SSAValue] | None]:
    """A parallel loop over `tasks` contiguous shares of `panels` micro-panels (sizes
    differing by at most one) yielding (task, first, end): its index and its panels
    [first, end), or, for one task, no loop and None: the GEMM's own loops keep constant
    bounds, which the pool may split.

    One task per thread the device runs (`Buffers.threads`). In the row form a task is a
    share of the pixel panels of every B block (the task loop wraps the block loop): it
    packs its im2col columns, runs the GEMM on them (all filters) and copies them out (the
    flat copy-out), block after block; on pixel rows
    (`_filter_tasks`) a share of the filter panels for the whole conv: it packs all of
    the im2col block into its own rows of Bp, runs the GEMM on its filters and copies
    them out. Either way a core reads the Bp and Cp it wrote, from its own L2, and a
    conv costs one handoff to the pool, not one per K block for the pack and for the GEMM
    and one for the copy-out, each split its own way, nor one per B block (a barrier per
    block: at 2 threads YOLO's 3x3 stem, 23 blocks, took 820 us, now 760-780; SqueezeNet's
    1x1 96 -> 16 at 55x55, 4 blocks, 190-197, now 162-176). At one thread there is no task
    loop: two tasks run one after the other cost about 5% on convs of several K blocks
    (3x3 64 -> 64 at 56x56: 1.67 -> 1.78 ms)."""
    if tasks == 1:
        yield None
        return
    with span(em, 0, tasks, parallel=True) as task:

        def share(t: SSAValue) -> SSAValue:
            return em.value(arith.DivUIOp(em.imul(t, panels), em.index(tasks)))

        yield task, share(task), share(em.iadd(task, 1))


def _filter_tasks(g: ConvGeometry, flat: bool, threads: int) -> int:
    """The filter tasks of a pixel-rows conv (`_pixel_tasks`): one per thread, at most
    one per filter panel; one where a flat copy-out's last square of filters, overlapping
    its neighbour when F is no multiple of the lanes, would read another task's Cp^T."""
    if not g.pixel_rows or (flat and g.f % g.blocking.lanes):
        return 1
    return min(threads, g.fp // g.blocking.nr)


def _task_squares(
    em: Emitter, g: ConvGeometry, panels: tuple[SSAValue, SSAValue]
) -> tuple[SSAValue, SSAValue]:
    """The vectors of filters [first, end) of the copy-out of filter panels `panels`."""
    per_panel, squares = g.blocking.nr // g.blocking.lanes, -(-g.f // g.blocking.lanes)
    first, end = (em.imul(p, per_panel) for p in panels)
    return first, em.value(arith.MinSIOp(end, em.index(squares)))


def _alloc(em: Emitter, shape: list[int]) -> SSAValue:
    return em.value(AllocOp(MemRefType(f32, shape)))


def _pack_im2col(
    em: Emitter,
    op: top.Conv2dOp,
    g: ConvGeometry,
    source: tuple[SSAValue, SSAValue, SSAValue],
    block: tuple[SSAValue, tuple[SSAValue, SSAValue] | None],
    dest: tuple[SSAValue, SSAValue | None],
    pc: SSAValue,
    k_len: SSAValue,
) -> None:
    """Bp[row0 + kk, r*OW + ow] = X[n, group*C + c, ih, iw] for the K block at `pc`, output
    rows jb*R + r (r < R, row < OH) and the columns r*OW + ow in [first, end) (all columns
    without a range), where `block` = (jb, (first, end) or None), `dest` = (Bp, row0 or
    None: 0), (c, kh, kw) = divmod(pc + kk), `source` is (X, n, group) and ih, iw are the
    tap's input position; out-of-range taps are zeros, and so are the columns
    past the block's pixels: left as the arena held them, a denormal there made the
    micro-kernel's FMAs take microcode assists (3x3 64@56: 8.6 instead of 1.6 ms)."""
    x, n, group = source
    jb, columns = block
    bp, bp_row = dest
    (sh, sw), (dh, dw) = op.strides.get_values(), op.dilations.get_values()
    lh, lw = op.pad_low.get_values()
    zero = em.const(0.0, f32)
    row0 = em.imul(jb, g.rows)
    rows = em.value(arith.MinSIOp(em.index(g.rows), em.value(arith.SubiOp(em.index(g.oh), row0))))
    row_range: tuple[SSAValue | int, SSAValue] = (0, rows)
    task = None  # the task's columns [first, end) and the block's pixels
    if columns is not None:
        first, end = columns
        task = (first, end, em.imul(rows, g.ow))
        last_row = _divide_by(em, em.iadd(end, g.ow - 1), g.ow)
        row_range = (_divide_by(em, first, g.ow), em.value(arith.MinSIOp(rows, last_row)))
    with span(em, 0, k_len, parallel=True) as kk:
        k = em.iadd(pc, kk)
        row = kk if bp_row is None else em.iadd(kk, bp_row)
        c, tap = _divmod(em, k, g.kh * g.kw)
        c = em.iadd(c, em.imul(group, g.c)) if g.groups > 1 else c
        kh, kw = _divmod(em, tap, g.kw)
        col_shift = em.iadd(em.imul(kw, dw), -lw)
        # interior: 0 <= ow*sw + col_shift < W
        lo = _clamp(em, em.value(arith.CeilDivSIOp(_neg(em, col_shift), em.index(sw))), g.ow)
        hi_num = em.iadd(_neg(em, col_shift), g.w - 1)
        hi = _clamp(em, em.iadd(em.value(arith.FloorDivSIOp(hi_num, em.index(sw))), 1), g.ow)
        hi = em.value(arith.MaxSIOp(hi, lo))
        with span(em, *row_range, parallel=True) as r:
            ih = em.window(em.iadd(row0, r), kh, sh, dh, lh)
            inside = em.in_range(ih, g.h)
            row_lo = em.select(inside, lo, em.index(g.ow))
            row_hi = em.select(inside, hi, em.index(g.ow))
            ih = em.clamp(ih, g.h)
            base = em.imul(r, g.ow)
            start, stop = em.index(0), em.index(g.ow)
            if task is not None:  # this row's columns of the task: ow in [start, stop)
                first, end, _ = task
                start = em.value(arith.MaxSIOp(em.value(arith.SubiOp(first, base)), start))
                stop = em.value(arith.MinSIOp(em.value(arith.SubiOp(end, base)), stop))
                row_lo, row_hi = (_within(em, v, start, stop) for v in (row_lo, row_hi))
            for zeros_from, zeros_to in ((start, row_lo), (row_hi, stop)):
                with span(em, zeros_from, zeros_to, parallel=True, vector=1) as ow:
                    em.store(zero, bp, [row, em.iadd(base, ow)])
            _copy_row(em, g, sw, (x, [n, c, ih], col_shift), (bp, row, base), row_lo, row_hi)
        if task is None:
            tail = (em.imul(rows, g.ow), em.index(g.ncp))
        else:
            first, end, pixels = task
            tail = (em.value(arith.MaxSIOp(pixels, first)), end)
        with span(em, *tail, parallel=True, vector=1) as column:
            em.store(zero, bp, [row, column])


def _within(em: Emitter, value: SSAValue, low: SSAValue, high: SSAValue) -> SSAValue:
    """`value` clamped into [low, high] (low <= high)."""
    return em.value(arith.MinSIOp(em.value(arith.MaxSIOp(value, low)), high))


def _copy_row(
    em: Emitter,
    g: ConvGeometry,
    sw: int,
    source: tuple[SSAValue, list[SSAValue], SSAValue],
    dest: tuple[SSAValue, SSAValue, SSAValue],
    lo: SSAValue,
    hi: SSAValue,
) -> None:
    """Bp[kk, base + ow] = X[n, c, ih, ow*sw + shift] for ow in [lo, hi): whole vectors
    first when a vector's taps span no more than the row (sw * lanes <= W) and sw is a power
    of two (OpenCL has vectors of 2^n lanes only), each one load of sw * lanes inputs (every
    sw-th kept by a shuffle), while its last input stays in the row; then scalars. Explicit
    vectors, not a `vector` hint: LLVM's vectorizer costs compile time per conv (and
    gathers strided loads)."""
    (x, prefix, shift), (bp, kk, base) = source, dest
    lanes = g.blocking.lanes
    start = lo
    if sw * lanes <= g.w and sw & (sw - 1) == 0:
        # ow < (W - shift) / sw: the inputs a vector loads end inside the row
        end = hi
        if sw > 1:
            inside = em.value(arith.FloorDivSIOp(em.iadd(_neg(em, shift), g.w), em.index(sw)))
            end = em.value(arith.MaxSIOp(em.value(arith.MinSIOp(hi, inside)), lo))
        count = em.value(arith.SubiOp(end, lo))
        whole = em.iadd(lo, em.value(arith.MuliOp(_divide_by(em, count, lanes), em.index(lanes))))
        loaded = VectorType(f32, [sw * lanes])
        with span(em, lo, whole, lanes, parallel=True) as ow:
            value = em.value(VLoadOp(x, [*prefix, em.iadd(em.imul(ow, sw), shift)], loaded))
            if sw > 1:
                every = DenseArrayBase.from_list(i64, [sw * i for i in range(lanes)])
                vt = VectorType(f32, [lanes])
                value = em.value(vector.ShuffleOp(value, value, every, result_type=vt))
            em.emit(VStoreOp(value, bp, [kk, em.iadd(base, ow)]))
        start = whole
    with span(em, start, hi, parallel=True, vector=1) as ow:
        iw = em.iadd(em.imul(ow, sw), shift)
        em.store(em.load(x, [*prefix, iw]), bp, [kk, em.iadd(base, ow)])


def _divide_by(em: Emitter, value: SSAValue, by: int) -> SSAValue:
    return em.value(arith.DivUIOp(value, em.index(by)))


def _divmod(em: Emitter, value: SSAValue, by: int) -> tuple[SSAValue, SSAValue]:
    if by == 1:
        return value, em.index(0)
    quotient = em.value(arith.DivUIOp(value, em.index(by)))
    return quotient, em.value(arith.RemUIOp(value, em.index(by)))


def _neg(em: Emitter, value: SSAValue) -> SSAValue:
    return em.value(arith.SubiOp(em.index(0), value))


def _clamp(em: Emitter, value: SSAValue, high: int) -> SSAValue:
    """`value` clamped into [0, high]."""
    low = em.value(arith.MaxSIOp(value, em.index(0)))
    return em.value(arith.MinSIOp(low, em.index(high)))


def copy_out(
    em: Emitter,
    g: ConvGeometry,
    cp: SSAValue,
    bias: SSAValue | None,
    y: SSAValue,
    image: tuple[SSAValue, SSAValue],
    epilogue: Epilogue | None,
    buffers: Buffers,
    squares: tuple[SSAValue, SSAValue] | None = None,
) -> None:
    """Y[n, group*F + f, oh, ow] = epilogue(Cp[f, column of (oh, ow)] + bias[group*F + f])
    for `image` = (n, group); on pixel rows only the vectors of filters [first, end) of
    `squares` when given (a filter task's)."""
    n, group = image
    if g.pixel_rows:

        def write(value: SSAValue, f: SSAValue, oh: SSAValue, ow: SSAValue) -> None:
            if bias is not None:
                value = em.add(value, em.load(bias, [f]))
            store_with_epilogue(em, value, y, [n, f, oh, ow], epilogue, buffers)

        _copy_out_transposed(em, g, cp, group, write, squares)
        return
    # grouped convs: each row as explicit vectors (`row_pieces`: at 16 lanes a 14-wide row
    # is 8 + 4 + 2 lanes), the epilogue on whole pieces, where it vectorises
    pieces = g.groups > 1 and (epilogue is None or vectorises(epilogue.body.block, epilogue.maps))
    with span(em, 0, g.f, parallel=True) as f_local, span(em, 0, g.oh, parallel=True) as oh:
        f = em.iadd(f_local, em.imul(group, g.f)) if g.groups > 1 else f_local
        block, r = _divmod(em, oh, g.rows)
        base = em.iadd(em.imul(block, g.ncp), em.imul(r, g.ow))
        bias_value = None if bias is None else em.load(bias, [f])

        def piece(ow: SSAValue, width: int) -> None:
            value = load_piece(em, cp, [f_local, em.iadd(base, ow)], width)
            if bias_value is not None:
                value = em.value(arith.AddfOp(value, splat(em, bias_value, width)))
            if epilogue is not None:
                value = vector_epilogue(em, value, [n, f, oh, ow], epilogue, buffers)
            store_piece(em, value, y, [n, f, oh, ow])

        if pieces:
            row_pieces(em, g.ow, g.blocking.lanes, piece)
        else:
            with span(em, 0, g.ow, parallel=True, vector=g.blocking.lanes) as ow:
                value = em.load(cp, [f_local, em.iadd(base, ow)])
                if bias_value is not None:
                    value = em.add(value, bias_value)
                store_with_epilogue(em, value, y, [n, f, oh, ow], epilogue, buffers)


def _copy_out_transposed(
    em: Emitter,
    g: ConvGeometry,
    cp: SSAValue,
    group: SSAValue,
    write: Callable[[SSAValue, SSAValue, SSAValue, SSAValue], None],
    squares: tuple[SSAValue, SSAValue] | None = None,
) -> None:
    """`copy_out` from Cp^T [column of (oh, ow), f] (`pixel_rows`), `write(value, f, oh,
    ow)` storing each element, in blocks of one vector of filters (those of `squares`
    when given): each pixel reads one run
    of Cp^T while the block's Y rows are written in step, so neither side strides through
    memory a line per element."""
    width = g.blocking.lanes
    fbs = squares or (0, -(-g.f // width))
    with span(em, *fbs, parallel=True) as fb, span(em, 0, g.oh) as oh:
        block, r = _divmod(em, oh, g.rows)
        base = em.iadd(em.imul(block, g.ncp), em.imul(r, g.ow))
        first = em.imul(fb, width)
        count: SSAValue | int = width
        if g.f % width:
            left = em.value(arith.SubiOp(em.index(g.f), first))
            count = em.value(arith.MinSIOp(em.index(width), left))
        with span(em, 0, g.ow) as ow, span(em, 0, count) as lane:
            f_local = em.iadd(first, lane)
            f = em.iadd(f_local, em.imul(group, g.f)) if g.groups > 1 else f_local
            write(em.load(cp, [em.iadd(base, ow), f_local]), f, oh, ow)
