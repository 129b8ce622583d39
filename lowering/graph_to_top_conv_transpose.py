"""ConvTranspose and Col2Im -> the sub-pixel decomposition onto the fast conv path.

conv_transpose(x, w, b)  ->  conv2d(x, w')  ->  generic interleave (+ b)
col2im(x)                ->  conv_transpose(x, one-hot filter, group = C)

Along one spatial axis (input size H, kernel K, stride S, dilation D), the full transposed
output is y_full[i*S + j*D] += x[i] * w[j]. Output position o = q*S + r (phase r < S) is
reached by the taps j with j*D = r (mod S), from input i = q - (j*D - r) / S, so phase r is
a stride-1 correlation of x with a short sub-kernel of T = (K-1)*D // S + 1 taps (flipped,
zeros where no tap lands). All S phases (S_h * S_w in 2-D) are one conv2d with S_h * S_w
times the output channels and stride 1, pads T-1 before; a `top.generic` interleaves the
phases (floordiv / mod maps), crops the ConvTranspose pads and adds the bias. A constant
filter is rearranged at compile time, so the conv reaches the packed GEMM; a computed one
goes through pad / gather / transpose ops. 1-D runs as 2-D over a height of 1; 3-D as 2-D
with depth folded into the channels (depth is a dense map from D input to OD output depths,
cheap for the small depths of 3-D models).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineExpr, AffineMap

from lamina.dialects import graph, top
from lamina.dialects.weights import numpy_dtype
from lamina.lowering.graph_to_top_common import (
    Emitter,
    GraphLowering,
    constant_value,
    elt_of,
    identity_map,
    ints,
    is_none,
    node_name,
    shape_of,
)


@dataclass(frozen=True)
class PhaseAxis:
    """One spatial axis of a transposed convolution as `stride` stride-1 phases (see the
    module doc): the result is y_full[pad_low : pad_low + out], `pad_low` >= 0."""

    size: int
    kernel: int
    stride: int
    dilation: int
    pad_low: int
    out: int

    @property
    def taps(self) -> int:
        """Sub-kernel length T, the same for every phase."""
        return (self.kernel - 1) * self.dilation // self.stride + 1

    @property
    def first_block(self) -> int:
        """The first phase output the result reads (pads that a conv pad can skip)."""
        return min(self.pad_low // self.stride, self.taps - 1)

    @property
    def blocks(self) -> int:
        """Phase outputs per phase, from `first_block` on, enough to cover y_full up to
        pad_low + out."""
        return max(self.size, -(-(self.pad_low + self.out) // self.stride)) - self.first_block

    @property
    def conv_pads(self) -> tuple[int, int]:
        return self.taps - 1 - self.first_block, self.blocks + self.first_block - self.size

    def sub_kernel_taps(self) -> np.ndarray:
        """[stride, taps] indices into the kernel axis, flipped for a correlation; index
        `kernel` (one past the end) stands for a zero tap."""
        taps = np.full((self.stride, self.taps), self.kernel, np.int64)
        for j in range(self.kernel):
            phase, offset = j * self.dilation % self.stride, j * self.dilation // self.stride
            taps[phase, self.taps - 1 - offset] = j
        return taps

    def source(self, dim: AffineExpr) -> tuple[AffineExpr, AffineExpr]:
        """(phase, block) of y_full position dim + pad_low."""
        shifted = dim + self.pad_low
        if self.stride == 1:
            return AffineConstantExpr(0), shifted - self.first_block
        return shifted % self.stride, shifted // self.stride - self.first_block


def transpose_axes(
    e: Emitter, sizes: Sequence[int], kernel: Sequence[int], result: Sequence[int]
) -> list[PhaseAxis]:
    """The ConvTranspose attributes (auto_pad, pads, output_shape, output_padding) resolved
    per spatial axis, as onnxruntime does; the lengths must give `result`."""
    attrs = e.attrs()
    n = len(sizes)
    strides = ints(attrs.get("strides") or [1] * n)
    dilations = ints(attrs.get("dilations") or [1] * n)
    extra = ints(attrs.get("output_padding") or [0] * n)
    auto_pad = str(attrs.get("auto_pad") or "NOTSET")
    natural = [
        s * (h - 1) + p + (k - 1) * d + 1
        for h, k, s, d, p in zip(sizes, kernel, strides, dilations, extra, strict=True)
    ]
    output_shape = ints(attrs.get("output_shape") or [])[-n:]
    if output_shape or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        outs = output_shape or [h * s for h, s in zip(sizes, strides, strict=True)]
        totals = [max(0, full - out) for full, out in zip(natural, outs, strict=True)]
        # the odd pad goes at the end for SAME_UPPER, at the start otherwise
        upper = auto_pad == "SAME_UPPER"
        lows = [t // 2 if upper else t - t // 2 for t in totals]
    elif auto_pad in ("NOTSET", "VALID"):
        pads = ints(attrs.get("pads") or [0] * (2 * n)) if auto_pad == "NOTSET" else [0] * 2 * n
        lows = pads[:n]
        outs = [full - lo - hi for full, lo, hi in zip(natural, pads[:n], pads[n:], strict=True)]
    else:
        raise e.fail(f"auto_pad = {auto_pad}")
    if any(lo < 0 for lo in lows):
        raise e.fail(f"negative pads {lows}")
    if list(outs) != list(result):
        raise e.fail(f"output size {outs} disagrees with the result type {list(result)}")
    return [
        PhaseAxis(*axis) for axis in zip(sizes, kernel, strides, dilations, lows, outs, strict=True)
    ]


def _phase_filter_array(w: np.ndarray, groups: int, axes: Sequence[PhaseAxis]) -> np.ndarray:
    """[C, F/g, KH, KW] ConvTranspose filter -> [g*F/g*SH*SW, C/g, TH, TW] conv filter, the
    output channels ordered (group, f, phase_h, phase_w)."""
    c, fg = w.shape[:2]
    padded = np.pad(w, ((0, 0), (0, 0), (0, 1), (0, 1)))
    sub = np.take(padded, axes[0].sub_kernel_taps(), axis=2)
    sub = np.take(sub, axes[1].sub_kernel_taps(), axis=4)
    (sh, th), (sw, tw) = ((a.stride, a.taps) for a in axes)
    sub = sub.reshape(groups, c // groups, fg, sh, th, sw, tw).transpose(0, 2, 3, 5, 1, 4, 6)
    return np.ascontiguousarray(sub.reshape(groups * fg * sh * sw, c // groups, th, tw))


def _emit_phase_filter(e: Emitter, w: SSAValue, groups: int, axes: Sequence[PhaseAxis]) -> SSAValue:
    """`_phase_filter_array` as top ops, for a filter computed at run time."""
    elt = elt_of(w)
    c, fg, kh, kw = cast(TensorType[Attribute], w.type).get_shape()
    (sh, th), (sw, tw) = ((a.stride, a.taps) for a in axes)
    padded = e.emit(top.PadOp(w, TensorType(elt, (c, fg, kh + 1, kw + 1)),
                              mode=top.PadMode.CONSTANT, low=[0] * 4, high=[0, 0, 1, 1]))  # fmt: skip
    rows = e.emit(graph.ConstantOp.from_array(axes[0].sub_kernel_taps(), "phase_taps_h"))
    cols = e.emit(graph.ConstantOp.from_array(axes[1].sub_kernel_taps(), "phase_taps_w"))
    sub = e.emit(top.GatherOp(padded, rows, TensorType(elt, (c, fg, sh, th, kw + 1)), axis=2))
    sub = e.emit(top.GatherOp(sub, cols, TensorType(elt, (c, fg, sh, th, sw, tw)), axis=4))
    sub = e.reshape(sub, (groups, c // groups, fg, sh, th, sw, tw))
    permuted = TensorType(elt, (groups, fg, sh, sw, c // groups, th, tw))
    sub = e.emit(top.TransposeOp(sub, (0, 2, 3, 5, 1, 4, 6), permuted))
    return e.reshape(sub, (groups * fg * sh * sw, c // groups, th, tw))


def _interleave_map(axes: Sequence[PhaseAxis]) -> AffineMap:
    """(n, f, oh, ow) -> the phase conv's (n, (f*SH + rh)*SW + rw, qh, qw)."""
    (rh, qh), (rw, qw) = (a.source(AffineDimExpr(2 + i)) for i, a in enumerate(axes))
    channel = (AffineDimExpr(1) * axes[0].stride + rh) * axes[1].stride + rw
    return AffineMap(4, 0, (AffineDimExpr(0), channel, qh, qw))


def _phase_filter(
    e: Emitter, w: SSAValue, groups: int, axes: Sequence[PhaseAxis], shape: Sequence[int]
) -> SSAValue:
    """The phase conv's filter, of `shape`: a constant when `w` is one (the packed GEMM
    needs a constant filter)."""
    array = constant_value(w)
    if array is None:
        return e.reshape(_emit_phase_filter(e, w, groups, axes), shape)
    name = f"{node_name(e.source) or 'conv_transpose'}_phase_filter"
    phase_filter = _phase_filter_array(array, groups, axes).reshape(shape)
    return e.emit(graph.ConstantOp.from_array(phase_filter, name))


def _phase_conv(
    e: Emitter,
    x: SSAValue,
    w: SSAValue,
    conv_type: TensorType[Attribute],
    groups: int,
    axes: Sequence[PhaseAxis],
    bias: SSAValue | None = None,
) -> SSAValue:
    """The stride-1 conv of every phase. (A one-tap phase conv stays a 1x1 conv2d: as a
    matmul it would need x reshaped, which is a copy at the loop level.)"""
    c = cast(TensorType[Attribute], x.type).get_shape()[1]
    shape = (conv_type.get_shape()[1], c // groups, axes[0].taps, axes[1].taps)
    (low_h, high_h), (low_w, high_w) = (a.conv_pads for a in axes)
    phase_filter = _phase_filter(e, w, groups, axes, shape)
    return e.emit(top.Conv2dOp(x, phase_filter, conv_type, layout=top.ConvLayout.NCHW_FCHW,
                               pad_low=[low_h, low_w], pad_high=[high_h, high_w],
                               groups=groups, bias=bias))  # fmt: skip


def emit_conv_transpose(
    e: Emitter,
    x: SSAValue,
    w: SSAValue,
    bias: SSAValue | None,
    groups: int,
    axes: Sequence[PhaseAxis],
) -> SSAValue:
    """The transposed convolution of `x` [N, C, spatial...] by `w` [C, F/g, kernel...] over
    1 to 3 spatial `axes` (module doc): 1-D over a height of 1; 3-D as 2-D with depth, a
    dense map from D input to OD output depths, folded into the channels (c, i) -> (f, o)
    of the filter."""
    n = shape_of(x)[0]
    fg = shape_of(w)[1]
    if len(axes) == 1:
        (_, c, length), (wc, _, k) = shape_of(x), shape_of(w)
        x2, w2 = e.reshape(x, (n, c, 1, length)), e.reshape(w, (wc, fg, 1, k))
        y2 = emit_conv_transpose(e, x2, w2, bias, groups, _height_one(axes))
        return e.reshape(y2, (n, groups * fg, axes[0].out))
    if len(axes) == 3:
        _, c, d, h, width = shape_of(x)
        depth = axes[0]
        x2 = e.reshape(x, (n, c * d, h, width))
        w2 = _depth_folded_filter(e, w, depth)
        b2 = None if bias is None else _depth_folded_bias(e, bias, depth.out)
        y2 = emit_conv_transpose(e, x2, w2, b2, groups, axes[1:])
        return e.reshape(y2, (n, groups * fg, depth.out, axes[1].out, axes[2].out))
    elt = elt_of(x)
    phases = axes[0].stride * axes[1].stride
    conv_type = TensorType(elt, (n, groups * fg * phases, axes[0].blocks, axes[1].blocks))
    result = TensorType(elt, (n, groups * fg, axes[0].out, axes[1].out))
    interleave = _interleave_map(axes)
    if interleave == identity_map(4) and result == conv_type:
        return _phase_conv(e, x, w, conv_type, groups, axes, bias)  # stride 1, pads folded
    conv = _phase_conv(e, x, w, conv_type, groups, axes)
    if bias is None:
        return e.generic([conv], result, lambda b, v: v[0], [interleave])
    maps = [interleave, AffineMap(4, 0, (AffineDimExpr(1),))]
    return e.generic([conv, bias], result, lambda b, v: b.add(v[0], v[1]), maps)


def depth_taps(axis: PhaseAxis) -> np.ndarray:
    """[size, out] kernel index that carries input i to output o along `axis` (i*S + j*D
    = o + pad_low), `kernel` (the zero pad) where none does."""
    taps = np.full((axis.size, axis.out), axis.kernel, np.int64)
    for i in range(axis.size):
        for j in range(axis.kernel):
            o = i * axis.stride + j * axis.dilation - axis.pad_low
            if 0 <= o < axis.out:
                taps[i, o] = j
    return taps


def _depth_folded_filter(e: Emitter, w: SSAValue, depth: PhaseAxis) -> SSAValue:
    """[C, F/g, KD, KH, KW] -> the 2-D filter [C*D, F/g*OD, KH, KW] of the depth map."""
    c, fg, kd, kh, kw = cast(TensorType[Attribute], w.type).get_shape()
    d, od = depth.size, depth.out
    folded = (c * d, fg * od, kh, kw)
    array = constant_value(w)
    if array is not None:
        padded = np.pad(array, ((0, 0), (0, 0), (0, 1), (0, 0), (0, 0)))
        taken = np.take(padded, depth_taps(depth), axis=2).transpose(0, 2, 1, 3, 4, 5)
        name = f"{node_name(e.source) or 'conv_transpose'}_depth_folded"
        return e.emit(
            graph.ConstantOp.from_array(np.ascontiguousarray(taken).reshape(folded), name)
        )
    elt = elt_of(w)
    padded = e.emit(top.PadOp(w, TensorType(elt, (c, fg, kd + 1, kh, kw)), mode=top.PadMode.CONSTANT,
                              low=[0] * 5, high=[0, 0, 1, 0, 0]))  # fmt: skip
    taps = e.emit(graph.ConstantOp.from_array(depth_taps(depth), "depth_taps"))
    taken = e.emit(top.GatherOp(padded, taps, TensorType(elt, (c, fg, d, od, kh, kw)), axis=2))
    permuted = TensorType(elt, (c, d, fg, od, kh, kw))
    return e.reshape(e.emit(top.TransposeOp(taken, (0, 2, 1, 3, 4, 5), permuted)), folded)


def _depth_folded_bias(e: Emitter, bias: SSAValue, out: int) -> SSAValue:
    """b[f] -> b'[f*OD + o] = b[f]."""
    array = constant_value(bias)
    if array is not None:
        return e.emit(graph.ConstantOp.from_array(np.repeat(array, out), "depth_folded_bias"))
    (f,) = cast(TensorType[Attribute], bias.type).get_shape()
    spread = TensorType(elt_of(bias), (f, out))
    return e.reshape(e.emit(top.BroadcastOp(e.reshape(bias, (f, 1)), spread)), (f * out,))


def _height_one(axes: Sequence[PhaseAxis]) -> list[PhaseAxis]:
    """A 1-D problem as 2-D over a height of 1."""
    return [PhaseAxis(1, 1, 1, 1, 0, 1), *axes]


class ConvTransposeLowering(GraphLowering):
    """conv_transpose -> phase conv2d + interleaving generic (1-D: over a height of 1;
    3-D: depth folded into the channels)."""

    source = (graph.ConvTransposeOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, w, b = op.operands
        xs, ws = e.static(x), e.static(w)
        result = e.static_result()
        if len(xs) not in (3, 4, 5):
            raise e.fail(f"{len(xs) - 2}-D ConvTranspose")
        kernel = ws[2:]
        if ints(e.attrs().get("kernel_shape") or kernel) != list(kernel):
            raise e.fail("kernel_shape that differs from the filter's shape")
        axes = transpose_axes(e, xs[2:], kernel, result.get_shape()[2:])
        groups = int(cast(int, e.attrs().get("group") or 1))
        bias = None if is_none(b) else b
        return [emit_conv_transpose(e, x, w, bias, groups, axes)]


class Col2ImLowering(GraphLowering):
    """col2im [N, C*K, L] (K = prod(block)) -> a ConvTranspose of x viewed as [N, C*K,
    blocks...] by a one-hot filter with one group per image channel: its phase conv does
    the accumulation (1-D over a height of 1; 2-D; 3-D)."""

    source = (graph.Col2ImOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, image, block = op.operands
        n, ck, length = e.static(x)
        image_shape = ints(e.constant(image, "image_shape"))
        kernel = ints(e.constant(block, "block_shape"))
        rank = len(kernel)
        if rank not in (1, 2, 3):
            raise e.fail(f"{rank}-D Col2Im")
        attrs = e.attrs()
        strides = ints(attrs.get("strides") or [1] * rank)
        dilations = ints(attrs.get("dilations") or [1] * rank)
        pads = ints(attrs.get("pads") or [0] * 2 * rank)
        if rank == 1:  # over a height of 1
            image_shape, kernel, strides, dilations = (
                [1, *v] for v in (image_shape, kernel, strides, dilations)
            )
            pads, rank = [0, pads[0], 0, pads[1]], 2
        geometry = list(zip(image_shape, kernel, strides, dilations, pads[:rank], strict=True))
        blocks = [
            (size + lo + hi - d * (k - 1) - 1) // s + 1
            for (size, k, s, d, lo), hi in zip(geometry, pads[rank:], strict=True)
        ]
        taps = int(np.prod(kernel))
        if int(np.prod(blocks)) != length or ck % taps:
            raise e.fail(f"input {[n, ck, length]} does not match the blocks {blocks}")
        channels = ck // taps
        one_hot = np.eye(taps, dtype=numpy_dtype(elt_of(x))).reshape(taps, 1, *kernel)
        axes = [
            PhaseAxis(b, k, s, d, lo, size)
            for b, (size, k, s, d, lo) in zip(blocks, geometry, strict=True)
        ]
        filter_array = np.tile(one_hot, (channels, 1, *[1] * rank))
        ones = e.emit(graph.ConstantOp.from_array(filter_array, "col2im_one_hot"))
        x_blocks = e.reshape(x, (n, ck, *blocks))
        y = emit_conv_transpose(e, x_blocks, ones, None, channels, axes)
        return [e.reshape(y, e.static_result().get_shape())]


CONV_TRANSPOSE_LOWERINGS: list[type[GraphLowering]] = [ConvTransposeLowering, Col2ImLowering]
