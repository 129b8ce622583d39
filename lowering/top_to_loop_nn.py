"""Loop nests of the compute-heavy `top` ops: matmul, conv2d, pool.

This is the one place that decides their loop structure, so a tuned one (tiled, packed,
register-blocked) can replace it. The structure here is the clean reference: the output
starts as zero (or the bias), then an i-k-j order accumulates into it with the output's
contiguous dim innermost (`vector N`), the reduction loops outside it.

Padding never branches: an out-of-range tap loads a clamped (valid) address and
`arith.select`s the neutral value instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects import arith
from xdsl.ir import Operation, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, op_type_rewrite_pattern

from lamina.dialects import top
from lamina.dialects.graph import ConstantOp
from lamina.lowering.bufferize import TopLowering, unsupported
from lamina.lowering.epilogue_fusion import PLANNERS, PackedConstant
from lamina.lowering.top_to_loop_build import (
    Emitter,
    Extent,
    element_of,
    fill,
    has_dynamic_dims,
    is_float,
    shape_of,
)
from lamina.lowering.top_to_loop_byte_conv import (
    byte_conv_geometry,
    is_byte_conv,
    lower_byte_conv,
    lower_dot_conv,
    packed_byte_filter,
)
from lamina.lowering.top_to_loop_byte_gemm import (
    byte_matmul_blocking,
    is_byte_matmul,
    lower_byte_matmul,
    packed_byte_weights,
    takes_byte_gemm,
)
from lamina.lowering.top_to_loop_conv import lower_conv_gemm, packed_filter
from lamina.lowering.top_to_loop_conv_geometry import conv_geometry
from lamina.lowering.top_to_loop_depthwise import depthwise_geometry, lower_depthwise
from lamina.lowering.top_to_loop_gemv import gemv_blocking, lower_gemv, packed_gemv_rhs
from lamina.lowering.top_to_loop_matmul import (
    lower_matmul_gemm,
    matmul_blocking,
    packed_matmul_operands,
)
from lamina.lowering.top_to_loop_nhwc_conv import (
    lower_nhwc_gemm,
    nhwc_gemm,
    packed_nhwc_filter,
)
from lamina.lowering.top_to_loop_nhwc_depthwise import lower_nhwc_depthwise, nhwc_depthwise
from lamina.lowering.top_to_loop_nhwc_pool import is_nhwc_pool, lower_nhwc_pool
from lamina.lowering.top_to_loop_pool import lower_pool_planes, pool_geometry
from lamina.lowering.top_to_loop_row_pool import lower_row_pool, row_pool_lanes
from lamina.targets import CacheSizes


def broadcast_indices(em: Emitter, ivs: Sequence[SSAValue], shape: Sequence[int]) -> list[SSAValue]:
    """Indices into an operand of `shape` broadcast (numpy rules, aligned on the right) to
    the loop space of `ivs`: size-1 dims read index 0."""
    offset = len(ivs) - len(shape)
    return [em.index(0) if d == 1 else ivs[offset + i] for i, d in enumerate(shape)]


def accumulate(em: Emitter, out: SSAValue, indices: Sequence[SSAValue], a: SSAValue, b: SSAValue):
    """out[indices] += a * b, with a and b widened to the output's element type."""
    acc_type = element_of(out)
    product = em.mul(em.extend(a, acc_type), em.extend(b, acc_type))
    em.store(em.add(em.load(out, indices), product), out, indices)


def window_needs_check(out: int, kernel: int, stride: int, dilation: int, low: int, size: int):
    """Whether some tap of a sliding window falls outside [0, size)."""
    return low > 0 or (out - 1) * stride - low + (kernel - 1) * dilation >= size


def padded_load(
    em: Emitter,
    buffer: SSAValue,
    indices: list[SSAValue],
    checked: Sequence[int],
    pad_value: SSAValue | None = None,
) -> SSAValue:
    """buffer[indices], or `pad_value` (zero) when an index in a `checked` dim is out of range."""
    shape = em.extents(buffer) if checked else []
    inside: SSAValue | None = None
    for dim in checked:
        inside = em.both(inside, em.in_range(indices[dim], shape[dim]))
        indices[dim] = em.clamp(indices[dim], shape[dim])
    value = em.load(buffer, indices)
    if inside is None:
        return value
    zero = pad_value if pad_value is not None else em.from_count(0, element_of(buffer))
    return em.select(inside, value, zero)


class GemmPlanner:
    """Tells bufferization which matmul / conv2d operands to pack at compile time and which
    of them apply their elementwise consumer (those that lower to a packed GEMM)."""

    def packed_constants(
        self, op: Operation, vector_bits: int, int8_gemm: bool, caches: CacheSizes
    ) -> Sequence[PackedConstant]:
        if has_dynamic_dims(op):  # the plain loop nests take dynamic dims
            return []
        if int8_gemm and takes_byte_gemm(op, vector_bits):
            return packed_byte_weights(op, vector_bits)
        if isinstance(op, top.MatmulOp):
            if gemv_blocking(op, vector_bits) is not None:
                return packed_gemv_rhs(op, vector_bits)
            return packed_matmul_operands(op, vector_bits, caches)
        if is_byte_conv(op):
            return packed_byte_filter(op, vector_bits, int8_gemm)
        if isinstance(op, top.Conv2dOp):
            # the depthwise kernel (also one input channel, group 1) reads the plain filter
            if depthwise_geometry(op, vector_bits) or nhwc_depthwise(op, vector_bits):
                return []
            return [*packed_filter(op, vector_bits), *packed_nhwc_filter(op, vector_bits)]
        return []

    def fuses_epilogue(self, op: Operation, vector_bits: int, int8_gemm: bool) -> bool:
        if has_dynamic_dims(op):
            return False
        if int8_gemm and (
            takes_byte_gemm(op, vector_bits) or byte_conv_geometry(op, vector_bits) is not None
        ):
            return isinstance(op.operands[1].owner, ConstantOp)
        if isinstance(op, top.MatmulOp):
            return (
                gemv_blocking(op, vector_bits) is not None
                or matmul_blocking(op, vector_bits) is not None
            )
        if not isinstance(op, top.Conv2dOp):
            return False
        if depthwise_geometry(op, vector_bits) or nhwc_depthwise(op, vector_bits):
            return True
        if not isinstance(op.filter.owner, ConstantOp):
            return False
        if nhwc_gemm(op, vector_bits) is not None:
            return True
        return conv_geometry(op, vector_bits) is not None


PLANNERS.append(GemmPlanner())


class MatmulLowering(TopLowering):
    """f32 matmuls of a few rows by a constant: the GEMV kernel (top_to_loop_gemv); of
    useful size: the packed GEMM (top_to_loop_gemm). 8-bit integer ones with B transposed
    (k contiguous in both): for batch, i, j (parallel): C[i, j] = the sum over k of
    A[i, k] * B[j, k] in an i32 loop-carried accumulator, the dot-product loop that
    loop-to-neon makes `sdot` / `udot`. Others: C = 0; for batch, i (parallel): for k:
    a = A[i, k]; for j (parallel, vector): C[i, j] += a * B[k, j]."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: top.MatmulOp, rewriter: PatternRewriter) -> None:
        em = self.emitter(op)
        static = not has_dynamic_dims(op)
        gemv = gemv_blocking(op, self.vector_bits) if static else None
        blocking = matmul_blocking(op, self.vector_bits, self.buffers.caches) if static else None
        byte_gemm = byte_matmul_blocking(op, self.vector_bits) if static else None
        if gemv is not None and (op, 1) in self.buffers.packed:
            lower_gemv(em, op, gemv, self.buffers)
        elif byte_gemm is not None and self.buffers.int8_gemm and (op, 1) in self.buffers.packed:
            lower_byte_matmul(em, op, byte_gemm, self.buffers)
        elif blocking is not None:
            lower_matmul_gemm(em, op, blocking, self.buffers)
        else:
            a, b = self.buffer(op.lhs, op), self.buffer(op.rhs, op)
            c = self.buffer(op.result, op)
            if is_byte_matmul(op):
                lower_dot_matmul(em, a, b, c)
            else:
                lower_matmul(em, a, b, c, bool(op.transpose_lhs), bool(op.transpose_rhs), self)
        rewriter.erase(op)


def lower_dot_matmul(em: Emitter, a: SSAValue, b: SSAValue, c: SSAValue) -> None:
    """C[.., i, j] = sum_k A[.., i, k] * B[.., j, k], widened to C's type, as one
    loop-carried sum per output element (the dot-product loop of the module doc)."""
    a_shape, b_shape, c_shape = shape_of(a), shape_of(b), em.extents(c)
    acc_type = element_of(c)
    with em.nest(c_shape) as ivs:
        batch_ivs, (i, j) = ivs[:-2], ivs[-2:]
        a_batch = broadcast_indices(em, batch_ivs, a_shape[:-2])
        b_batch = broadcast_indices(em, batch_ivs, b_shape[:-2])

        def step(ks: list[SSAValue], acc: list[SSAValue]) -> list[SSAValue]:
            (k,) = ks
            x = em.extend(em.load(a, [*a_batch, i, k]), acc_type)
            y = em.extend(em.load(b, [*b_batch, j, k]), acc_type)
            return [em.add(acc[0], em.mul(x, y))]

        k_size = em.extents(a)[-1]
        (total,) = em.reduce([k_size], [em.from_count(0, acc_type)], step)
        em.store(total, c, ivs)


def lower_matmul(
    em: Emitter,
    a: SSAValue,
    b: SSAValue,
    c: SSAValue,
    transpose_lhs: bool,
    transpose_rhs: bool,
    pattern: TopLowering,
) -> None:
    fill(em, em.from_count(0, element_of(c)), c, pattern.vector_bits)
    a_shape, b_shape, c_shape = shape_of(a), shape_of(b), em.extents(c)
    batch, (m, n) = c_shape[:-2], c_shape[-2:]
    k_size = em.extents(a)[-2 if transpose_lhs else -1]
    with em.nest([*batch, m]) as outer:
        batch_ivs, i = outer[:-1], outer[-1]
        a_batch = broadcast_indices(em, batch_ivs, a_shape[:-2])
        b_batch = broadcast_indices(em, batch_ivs, b_shape[:-2])
        with em.nest([k_size], parallel=False) as (k,):
            a_value = em.load(a, [*a_batch, *((k, i) if transpose_lhs else (i, k))])
            with em.nest([n], vector=pattern.lanes(c)) as (j,):
                b_value = em.load(b, [*b_batch, *((j, k) if transpose_rhs else (k, j))])
                accumulate(em, c, [*batch_ivs, i, j], a_value, b_value)


class Conv2dLowering(TopLowering):
    """y = bias (or 0); then per layout, reductions over (c, kh, kw) outside the loop along
    the output's contiguous dim: ow for nchw_fchw, f for nhwc_hwcf, the f block for nchwc."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: top.Conv2dOp, rewriter: PatternRewriter) -> None:
        em = self.emitter(op)
        static = not has_dynamic_dims(op)  # dynamic dims take the plain nest
        depthwise = depthwise_geometry(op, self.vector_bits) if static else None
        if depthwise is not None:
            lower_depthwise(em, op, depthwise, self.buffers)
            rewriter.erase(op)
            return
        nhwc_direct = nhwc_depthwise(op, self.vector_bits) if static else None
        if nhwc_direct is not None:
            lower_nhwc_depthwise(em, op, nhwc_direct, self.buffers)
            rewriter.erase(op)
            return
        geometry = conv_geometry(op, self.vector_bits) if static else None
        if geometry is not None and (op, 1) in self.buffers.packed:
            lower_conv_gemm(em, op, geometry, self.buffers, self.vector_bits)
            rewriter.erase(op)
            return
        if is_byte_conv(op) and (op, 1) in self.buffers.packed:
            byte_gemm = byte_conv_geometry(op, self.vector_bits) if self.buffers.int8_gemm else None
            if byte_gemm is not None:
                lower_byte_conv(em, op, byte_gemm, self.buffers)
            else:
                lower_dot_conv(em, op, self.buffers)
            rewriter.erase(op)
            return
        gemm = nhwc_gemm(op, self.vector_bits) if static else None
        if gemm is not None and (op, 1) in self.buffers.packed:
            lower_nhwc_gemm(em, op, gemm, self.buffers)
            rewriter.erase(op)
            return
        x, w, y = self.buffer(op.input, op), self.buffer(op.filter, op), self.buffer(op.result, op)
        bias = None if op.bias is None else self.buffer(op.bias, op)
        lower_conv2d(em, op, x, w, bias, y, self)
        rewriter.erase(op)


def _channels(size: Extent) -> int:
    """The output channels of a conv: static (the filter is)."""
    assert isinstance(size, int), "the filter shape, static, gives the output channels"
    return size


def _conv_init(em: Emitter, bias: SSAValue | None, y: SSAValue, f_dims: Sequence[int], bits: int):
    if bias is None:
        fill(em, em.from_count(0, element_of(y)), y, bits)
        return
    with em.nest(em.extents(y)) as ivs:
        em.store(em.load(bias, [ivs[d] for d in f_dims]), y, ivs)


def lower_conv2d(
    em: Emitter,
    op: top.Conv2dOp,
    x: SSAValue,
    w: SSAValue,
    bias: SSAValue | None,
    y: SSAValue,
    pattern: TopLowering,
) -> None:
    (sh, sw), (dh, dw) = op.strides.get_values(), op.dilations.get_values()
    lh, lw = op.pad_low.get_values()
    groups = op.groups.value.data
    layout = op.layout.data
    lanes = pattern.lanes(y)
    xs, ws, ys = em.extents(x), shape_of(w), em.extents(y)
    if any(d < 0 for d in ws):
        raise unsupported(f"a convolution with a filter of dynamic shape {w.type}", op)

    def taps(oh: SSAValue, ow: SSAValue, kh: SSAValue, kw: SSAValue) -> tuple[SSAValue, SSAValue]:
        return em.window(oh, kh, sh, dh, lh), em.window(ow, kw, sw, dw, lw)

    def checked(h_dim: int, oh: Extent, ow: Extent, kh: int, kw: int) -> list[int]:
        """The spatial dims whose taps may fall outside (all of them when dynamic)."""
        dims: list[int] = []
        for dim, out, k, s, d, low in (
            (h_dim, oh, kh, sh, dh, lh),
            (h_dim + 1, ow, kw, sw, dw, lw),
        ):
            size = xs[dim]
            if (
                not isinstance(out, int)
                or not isinstance(size, int)
                or window_needs_check(out, k, s, d, low, size)
            ):
                dims.append(dim)
        return dims

    if layout == top.ConvLayout.NCHW_FCHW:
        n_size, f_size, oh_size, ow_size = ys
        _, cg_size, kh_size, kw_size = ws
        _conv_init(em, bias, y, [1], pattern.vector_bits)
        check = checked(2, oh_size, ow_size, kh_size, kw_size)
        with em.nest([n_size, f_size]) as (n, f):
            c0 = _group_start(em, f, _channels(f_size) // groups, cg_size, groups)
            with em.nest([cg_size, kh_size, kw_size], parallel=False) as (cg, kh, kw):
                c = em.iadd(cg, c0) if c0 is not None else cg
                w_value = em.load(w, [f, cg, kh, kw])
                with em.nest([oh_size, ow_size], vector=lanes) as (oh, ow):
                    ih, iw = taps(oh, ow, kh, kw)
                    x_value = padded_load(em, x, [n, c, ih, iw], check)
                    accumulate(em, y, [n, f, oh, ow], x_value, w_value)
    elif layout == top.ConvLayout.NHWC_HWCF:
        n_size, oh_size, ow_size, f_size = ys
        kh_size, kw_size, cg_size, _ = ws
        _conv_init(em, bias, y, [3], pattern.vector_bits)
        check = checked(1, oh_size, ow_size, kh_size, kw_size)
        spatial = em.nest([n_size, oh_size, ow_size])
        taps_nest = em.nest([kh_size, kw_size, cg_size], parallel=False)
        with spatial as (n, oh, ow), taps_nest as (kh, kw, cg):
            ih, iw = taps(oh, ow, kh, kw)
            x_value = padded_load(em, x, [n, ih, iw, cg], check) if groups == 1 else None
            with em.nest([f_size], vector=lanes) as (f,):
                if x_value is None:
                    c0 = _group_start(em, f, _channels(f_size) // groups, cg_size, groups)
                    c = em.iadd(cg, c0) if c0 is not None else cg
                    x_grouped = padded_load(em, x, [n, ih, iw, c], check)
                else:
                    x_grouped = x_value
                w_value = em.load(w, [kh, kw, cg, f])
                accumulate(em, y, [n, oh, ow, f], x_grouped, w_value)
    else:
        n_size, fb_size, oh_size, ow_size, f_block = ys
        _, cb_size, kh_size, kw_size, c_block, _ = ws
        _conv_init(em, bias, y, [1, 4], pattern.vector_bits)
        check = checked(2, oh_size, ow_size, kh_size, kw_size)
        with em.nest([n_size, fb_size, oh_size, ow_size]) as (n, fb, oh, ow):
            loops = [cb_size, kh_size, kw_size, c_block]
            with em.nest(loops, parallel=False) as (cb, kh, kw, ci):
                ih, iw = taps(oh, ow, kh, kw)
                x_value = padded_load(em, x, [n, cb, ih, iw, ci], check)
                with em.nest([f_block], vector=lanes) as (fi,):
                    w_value = em.load(w, [fb, cb, kh, kw, ci, fi])
                    accumulate(em, y, [n, fb, oh, ow, fi], x_value, w_value)


def _group_start(
    em: Emitter, f: SSAValue, per_group: int, cg_size: int, groups: int
) -> SSAValue | None:
    """The first input channel of output channel f's group (None with one group)."""
    if groups == 1:
        return None
    group = em.value(arith.DivUIOp(f, em.index(per_group)))
    return em.imul(group, cg_size)


class PoolLowering(TopLowering):
    """2-D nchw f32 max pools with every window inside X and a stride of 1 or 2 along W:
    vectorised along the output rows straight from X (top_to_loop_row_pool); other 2-D
    nchw f32 pools and integer max pools: along the output rows of phase planes
    (top_to_loop_pool); nhwc ones along the channels (top_to_loop_nhwc_pool). Others: for
    every output element (parallel): a sequential window nest carrying the running max, or
    the sum and the count of counted taps (avg); padded taps are skipped."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: top.PoolOp, rewriter: PatternRewriter) -> None:
        em = self.emitter(op)
        x, y = self.buffer(op.input, op), self.buffer(op.result, op)
        if (row_lanes := row_pool_lanes(op, self.vector_bits)) is not None:
            lower_row_pool(em, op, row_lanes, x, y)
        elif (geometry := pool_geometry(op, self.vector_bits)) is not None:
            lower_pool_planes(em, op, geometry, x, y)
        elif is_nhwc_pool(op) and not has_dynamic_dims(op):
            lower_nhwc_pool(em, op, x, y, max(1, self.vector_bits // 32))
        else:
            lower_pool(em, op, x, y)
        rewriter.erase(op)


def lower_pool(em: Emitter, op: top.PoolOp, x: SSAValue, y: SSAValue) -> None:
    is_max = op.kind.data == top.PoolKind.MAX
    elt = element_of(y)
    if not is_max and not is_float(elt):
        raise unsupported(f"average pooling of element type {elt}", op)
    kernel: tuple[int, ...] = op.kernel.get_values()
    strides: tuple[int, ...] = op.strides.get_values()
    dilations: tuple[int, ...] = op.dilations.get_values()
    low: tuple[int, ...] = op.pad_low.get_values()
    high: tuple[int, ...] = op.pad_high.get_values()
    spatial = list(op.spatial_dims())
    xs, ys = shape_of(x), shape_of(y)
    include_pad = op.count_include_pad is not None
    geometry: list[tuple[int, int, int, int, int, int]] = list(
        zip(spatial, kernel, strides, dilations, low, high, strict=True)
    )
    with em.nest(ys) as ivs:
        zero = em.from_count(0, elt)
        inits = [em.lowest(elt)] if is_max else [zero, zero]

        def step(tap_ivs: list[SSAValue], acc: list[SSAValue]) -> list[SSAValue]:
            indices = list(ivs)
            inside: SSAValue | None = None
            counted: SSAValue | None = None
            for tap, (dim, k, s, d, lo, hi) in zip(tap_ivs, geometry, strict=True):
                pos = em.window(ivs[dim], tap, s, d, lo)
                if window_needs_check(ys[dim], k, s, d, lo, xs[dim]):
                    inside = em.both(inside, em.in_range(pos, xs[dim]))
                    pos_clamped = em.clamp(pos, xs[dim])
                else:
                    pos_clamped = pos
                if include_pad and window_needs_check(ys[dim], k, s, d, 0, xs[dim] + lo + hi):
                    padded = em.in_range(em.iadd(pos, lo), xs[dim] + lo + hi)
                    counted = em.both(counted, padded)
                indices[dim] = pos_clamped
            value = em.load(x, indices)
            if is_max:
                best = em.max(acc[0], value)
                return [best if inside is None else em.select(inside, best, acc[0])]
            total = em.add(acc[0], value if inside is None else em.select(inside, value, zero))
            one = em.from_count(1, elt)
            counts = counted if include_pad else inside
            count = em.add(acc[1], one if counts is None else em.select(counts, one, zero))
            return [total, count]

        result = em.reduce(kernel, inits, step)
        em.store(result[0] if is_max else em.div(result[0], result[1]), y, ivs)
