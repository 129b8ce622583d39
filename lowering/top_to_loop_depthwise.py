"""Depthwise `top.conv2d` (nchw_fchw, f32, or i32 as the exact integer convs of quantized
models compute, one input channel per group, dilation 1) as a direct kernel vectorised
along the output rows, for ShuffleNet / MobileNet-style layers.

Per output channel f (reading input channel c = f / M, M = F / C the channel multiplier),
in one parallel loop whose iterations touch only their own scratch rows:

1. phase planes: the zero-padded input plane split by the stride s into s*s planes
   Xs[f][ph*s + pw][i*Wq + j] = X[n, c, i*s + ph - pad_top, j*s + pw - pad_left] (zero
   outside X), each Hq x Wq with Wq = OW + (KW-1)/s, so that tap (kh, kw) of output
   (oh, ow) is Xs[f][(kh%s)*s + kw%s][(oh + kh/s)*Wq + ow + kw/s]: for every tap, the
   outputs in flat order p = oh*Wq + ow read a contiguous run of one plane;
2. the flat output Yf[f][p] for p < P (OH*Wq rounded up to U whole vectors) as straight-line
   vector FMAs (i32: multiplies and adds, wrapping as ONNX's integer convs allow): the KH*KW taps unrolled, each weight broadcast once outside the p loop, U
   independent accumulators per step; columns ow >= OW are garbage nobody reads;
3. Y[n, f, oh, ow] = epilogue(Yf[f][oh*Wq + ow]) (bias already in the accumulators).

Invariants: the planes are long enough (rows Hq >= OH + (KH-1)/s, padded with zero rows)
that every vector load of step 2 is in bounds; every plane element is written each image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from xdsl.dialects import arith, vector
from xdsl.dialects.builtin import MemRefType, VectorType, f32, i32
from xdsl.ir import Attribute, SSAValue

from lamina.dialects import top
from lamina.dialects.loop import AllocOp, VLoadOp, VStoreOp
from lamina.dialects.top_base import element_type_of
from lamina.lowering.bufferize import Buffers
from lamina.lowering.top_to_loop_build import ConvSizes, Emitter, conv_shapes
from lamina.lowering.top_to_loop_gemm import span, store_with_epilogue

CHAINS = 4
"""Independent accumulator vectors per step: enough to hide the FMA latency."""


@dataclass(frozen=True)
class DepthwiseGeometry(ConvSizes):
    """Sizes of one depthwise conv and of its phase planes (see the module docstring)."""

    stride: tuple[int, int]
    pad: tuple[int, int]
    lanes: int
    element: Attribute
    """f32 or i32: of the input, filter, result and the kernel's arithmetic."""

    @property
    def wq(self) -> int:
        return self.ow + (self.kw - 1) // self.stride[1]

    @property
    def chains(self) -> int:
        return max(1, min(CHAINS, -(-self.oh * self.wq // self.lanes)))

    @property
    def flat(self) -> int:
        """P: the flat outputs computed, whole steps of `chains` vectors."""
        step = self.chains * self.lanes
        return -(-self.oh * self.wq // step) * step

    @property
    def hq(self) -> int:
        """Rows per plane: every tap's run of P elements stays inside the plane."""
        longest = self.flat + ((self.kh - 1) // self.stride[0]) * self.wq + self.wq
        return -(-longest // self.wq)

    @property
    def phases(self) -> int:
        return self.stride[0] * self.stride[1]


def depthwise_geometry(op: top.Conv2dOp, vector_bits: int) -> DepthwiseGeometry | None:
    """The direct-kernel form of `op`, or None when another lowering takes it."""
    if op.layout.data != top.ConvLayout.NCHW_FCHW or op.dilations.get_values() != (1, 1):
        return None
    element = element_type_of(op.result)
    shapes = conv_shapes(op, element) if element in (f32, i32) else None
    if shapes is None:
        return None
    (_, c, h, w), (f, cg, kh, kw), (_, _, oh, ow) = shapes
    if cg != 1 or op.groups.value.data != c:
        return None
    sh, sw = op.strides.get_values()
    if not strides_fit_planes((sh, sw), (h, w)):
        return None
    lh, lw = op.pad_low.get_values()
    lanes = max(1, vector_bits // 32)
    return DepthwiseGeometry(c, h, w, f, kh, kw, oh, ow, (sh, sw), (lh, lw), lanes, element)


def strides_fit_planes(stride: tuple[int, int], size: tuple[int, int]) -> bool:
    """Whether the sh*sw phase planes (unrolled at compile time) are worth building: a
    stride beyond the input (2**31 in a fuzzed model) leaves phases empty and never ends."""
    return stride[0] <= size[0] and stride[1] <= size[1]


def lower_depthwise(em: Emitter, op: top.Conv2dOp, g: DepthwiseGeometry, buffers: Buffers):
    """The conv as the three steps of the module docstring."""
    x, w = buffers.buffer(op.input, op), buffers.buffer(op.filter, op)
    epilogue = buffers.epilogues.get(op)
    y = buffers.buffer(op.result if epilogue is None else epilogue.result, op)
    bias = None if op.bias is None else buffers.buffer(op.bias, op)
    planes = em.value(AllocOp(MemRefType(g.element, [g.f, g.phases, g.hq * g.wq])))
    flat = em.value(AllocOp(MemRefType(g.element, [g.f, g.flat])))
    batch = cast(MemRefType[Attribute], y.type).get_shape()[0]
    with span(em, 0, batch) as n, span(em, 0, g.f, parallel=True) as f:
        c = em.value(arith.DivUIOp(f, em.index(g.f // g.c))) if g.f != g.c else f
        fill_planes(em, g, x, (n, c), (planes, f), em.const(0, g.element))
        _accumulate(em, g, w, bias, planes, flat, f)
        with span(em, 0, g.oh, parallel=True) as oh:
            base = em.imul(oh, g.wq)
            with span(em, 0, g.ow, parallel=True, vector=g.lanes) as ow:
                value = em.load(flat, [f, em.iadd(base, ow)])
                store_with_epilogue(em, value, y, [n, f, oh, ow], epilogue, buffers)
    em.dealloc(planes, flat)


def fill_planes(
    em: Emitter,
    g: DepthwiseGeometry,
    x: SSAValue,
    image: tuple[SSAValue, SSAValue],
    slot: tuple[SSAValue, SSAValue],
    pad_value: SSAValue,
) -> None:
    """Xs[f][phase][i*Wq + j] = X[n, c, i*sh + ph - lh, j*sw + pw - lw], or `pad_value`
    outside X, for `image` = (n, c) and `slot` = (Xs, f). Which rows and columns of a phase
    read X is known at compile time: those are copied without checks (contiguous at stride
    1, so in vectors), the others stored as `pad_value`."""
    (sh, sw), (lh, lw) = g.stride, g.pad
    planes, f = slot
    for ph in range(sh):
        for pw in range(sw):
            phase = em.index(ph * sw + pw)
            (row0, row_end), (col0, col_end) = (
                _reading_x(ph - lh, sh, g.h, g.hq),
                _reading_x(pw - lw, sw, g.w, g.wq),
            )
            for lo, hi in ((0, row0 * g.wq), (row_end * g.wq, g.hq * g.wq)):
                _pad(em, (planes, f, phase), lo, hi, pad_value, g.lanes)
            with span(em, row0, row_end, parallel=True) as i:
                ih = em.iadd(em.imul(i, sh), ph - lh)
                base = em.imul(i, g.wq)
                for lo, hi in ((0, col0), (col_end, g.wq)):
                    _pad(em, (planes, f, phase), lo, hi, pad_value, None, base)
                with span(em, col0, col_end, parallel=True, vector=g.lanes) as j:
                    value = em.load(x, [*image, ih, em.iadd(em.imul(j, sw), pw - lw)])
                    em.store(value, planes, [f, phase, em.iadd(base, j)])


def _reading_x(offset: int, stride: int, size: int, count: int) -> tuple[int, int]:
    """[lo, hi): the i < count with 0 <= i*stride + offset < size."""
    lo = min(count, max(0, -(offset // stride)))
    hi = min(count, max(lo, -((offset - size) // stride)))
    return lo, hi


def _pad(
    em: Emitter,
    plane: tuple[SSAValue, SSAValue, SSAValue],
    lo: int,
    hi: int,
    pad_value: SSAValue,
    lanes: int | None,
    base: SSAValue | None = None,
) -> None:
    """plane[base + p] = pad_value for lo <= p < hi (nothing when the range is empty)."""
    if lo >= hi:
        return
    planes, f, phase = plane
    with span(em, lo, hi, parallel=True, vector=lanes) as p:
        at = p if base is None else em.iadd(base, p)
        em.store(pad_value, planes, [f, phase, at])


def _accumulate(
    em: Emitter,
    g: DepthwiseGeometry,
    w: SSAValue,
    bias: SSAValue | None,
    planes: SSAValue,
    flat: SSAValue,
    f: SSAValue,
) -> None:
    """Yf[f][p] = bias[f] + sum over taps of w[f, 0, kh, kw] * Xs[f][phase][p + shift]."""
    (sh, sw) = g.stride
    vt = VectorType(g.element, [g.lanes])
    taps = [(kh, kw) for kh in range(g.kh) for kw in range(g.kw)]
    zero_index = em.index(0)
    weights = [
        em.value(vector.BroadcastOp(em.load(w, [f, zero_index, em.index(kh), em.index(kw)]), vt))
        for kh, kw in taps
    ]
    start = em.const(0, g.element) if bias is None else em.load(bias, [f])
    init = em.value(vector.BroadcastOp(start, vt))
    step = g.chains * g.lanes
    with span(em, 0, g.flat, step, parallel=True) as p:
        acc = [init] * g.chains
        for (kh, kw), weight in zip(taps, weights, strict=True):
            phase = em.index((kh % sh) * sw + kw % sw)
            shift = (kh // sh) * g.wq + kw // sw
            for u in range(g.chains):
                at = em.iadd(p, shift + u * g.lanes)
                tap = em.value(VLoadOp(planes, [f, phase, at], vt))
                acc[u] = _multiply_add(em, weight, tap, acc[u])
        for u in range(g.chains):
            em.emit(VStoreOp(acc[u], flat, [f, em.iadd(p, u * g.lanes)]))


def _multiply_add(em: Emitter, a: SSAValue, b: SSAValue, acc: SSAValue) -> SSAValue:
    """acc + a * b on vectors: one FMA for f32, a multiply and an add for i32."""
    if cast(VectorType[Attribute], a.type).element_type == f32:
        return em.value(vector.FMAOp(a, b, acc))
    return em.value(arith.AddiOp(acc, em.value(arith.MuliOp(a, b))))
