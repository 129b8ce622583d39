"""2-D nchw f32 max `top.pool` with every window inside X (no padding, dilation 1) and a
stride of 1 or 2 along W, as SqueezeNet's 3x3 stride-2 pools: L output columns a vector,
read straight from X (no phase-plane copy):

    for n, c, oh (parallel):
      for ow in 0..OW step L:  ow0 = min(ow, OW - L)     # the last block overlaps the one before
        acc = max over taps (kh, kw) of X[n, c, oh*sh + kh, ow0*sw + kw + sw*i], i < L
        Y[n, c, oh, ow0 .. ow0 + L) = acc

Stride 1: a tap is one vector load. Stride 2: the even or odd lanes of two loads (one
shuffle); taps kw and kw + 1 (kw even) share their loads. L is the widest power of two,
at least 4, within the device's vector and OW. Invariant: every load lies inside its row of
X (a tap whose paired loads would pass the row's end takes a load shifted back one element
instead), so no row reads the next one and the last row never reads past X.
"""

from __future__ import annotations

from typing import cast

from xdsl.dialects import arith, vector
from xdsl.dialects.builtin import DenseArrayBase, MemRefType, TensorType, VectorType, f32, i64
from xdsl.dialects.utils import FastMathFlag
from xdsl.ir import Attribute, SSAValue

from lamina.dialects import top
from lamina.dialects.loop import VLoadOp, VStoreOp
from lamina.lowering.top_to_loop_build import Emitter
from lamina.lowering.top_to_loop_gemm import span

MIN_LANES = 4
"""Narrower rows stay with the other pool nests."""

ANY_SIGN_OF_ZERO = arith.FastMathFlagsAttr([FastMathFlag.NO_SIGNED_ZEROS])
"""An f32 max pool's max (also on the phase planes, top_to_loop_pool): max(-0, +0) may be
either zero (they compare equal): one `vmaxps` and a NaN check, not
the sign-of-zero blends LLVM spends on an exact `maximum`; a NaN tap still wins."""


def row_pool_lanes(op: top.PoolOp, vector_bits: int) -> int | None:
    """L of the module docstring when `op` takes the row nest, else None."""
    if op.kind.data != top.PoolKind.MAX:
        return None
    types = [op.input.type, op.result.type]
    if not all(isinstance(t, TensorType) for t in types):
        return None
    x_type, y_type = (cast(TensorType[Attribute], t) for t in types)
    if x_type.get_element_type() != f32 or tuple(op.spatial_dims()) != (2, 3):
        return None
    x_shape, y_shape = x_type.get_shape(), y_type.get_shape()
    if len(x_shape) != 4 or any(d < 0 for d in (*x_shape, *y_shape)):
        return None
    (_, _, h, w), (_, _, oh, ow) = x_shape, y_shape
    kh, kw = op.kernel.get_values()
    sh, sw = op.strides.get_values()
    if op.dilations.get_values() != (1, 1) or sw not in (1, 2):
        return None
    if op.pad_low.get_values() != (0, 0) or (oh - 1) * sh + kh > h or (ow - 1) * sw + kw > w:
        return None
    lanes = 1 << (min(ow, vector_bits // 32).bit_length() - 1) if ow > 0 else 0
    return lanes if lanes >= MIN_LANES else None


def lower_row_pool(em: Emitter, op: top.PoolOp, lanes: int, x: SSAValue, y: SSAValue) -> None:
    """The loop nest of the module docstring."""
    (batch, c, _, w), (_, _, oh, ow) = (
        cast(MemRefType[Attribute], v.type).get_shape() for v in (x, y)
    )
    kh, kw = op.kernel.get_values()
    sh, sw = op.strides.get_values()
    with (
        span(em, 0, batch, parallel=True) as n,
        span(em, 0, c, parallel=True) as ch,
        span(em, 0, oh, parallel=True) as out_row,
        span(em, 0, ow, lanes) as block,
    ):
        ow0 = em.value(arith.MinSIOp(block, em.index(ow - lanes)))
        col = em.imul(ow0, sw)
        taps = _RowTaps(em, x, (n, ch), col, lanes, sw, _last_read(ow, lanes, sw, w))
        acc: SSAValue | None = None
        for i in range(kh):
            row = em.iadd(em.imul(out_row, sh), i)
            for j in range(kw):
                tap = taps.tap(row, j)
                acc = tap if acc is None else em.value(arith.MaximumfOp(acc, tap, ANY_SIGN_OF_ZERO))
        assert acc is not None, "a window has at least one tap"
        em.emit(VStoreOp(acc, y, [n, ch, out_row, ow0]))


def _last_read(ow: int, lanes: int, stride: int, w: int) -> int:
    """The largest offset from a block's first column a load may start at and stay in the
    row (the last block starts furthest right, at column stride * (OW - L))."""
    return w - lanes - stride * (ow - lanes)


class _RowTaps:
    """The taps of one block, each load of X made once per (row, column offset)."""

    def __init__(
        self,
        em: Emitter,
        x: SSAValue,
        plane: tuple[SSAValue, SSAValue],
        col: SSAValue,
        lanes: int,
        stride: int,
        last_read: int,
    ) -> None:
        self.em, self.x, self.plane, self.col = em, x, plane, col
        self.lanes, self.stride, self.last_read = lanes, stride, last_read
        self.loads: dict[tuple[SSAValue, int], SSAValue] = {}

    def load(self, row: SSAValue, offset: int) -> SSAValue:
        """L contiguous elements of X's `row` from the block's column + `offset`."""
        assert offset <= self.last_read, "the load stays inside the row"
        key = (row, offset)
        if key not in self.loads:
            at = [*self.plane, row, self.em.iadd(self.col, offset)]
            vt = VectorType(f32, [self.lanes])
            self.loads[key] = self.em.value(VLoadOp(self.x, at, vt))
        return self.loads[key]

    def tap(self, row: SSAValue, kw: int) -> SSAValue:
        """X[row][col + kw + stride*i] for i < L."""
        if self.stride == 1:
            return self.load(row, kw)
        lanes, pair = self.lanes, kw - kw % 2
        if pair + lanes <= self.last_read:
            sources = (self.load(row, pair), self.load(row, pair + lanes))
            mask = [kw % 2 + 2 * i for i in range(lanes)]
        else:
            sources = (self.load(row, kw), self.load(row, kw + lanes - 1))
            mask = [2 * i if 2 * i < lanes else 2 * i + 1 for i in range(lanes)]
        pattern = DenseArrayBase.from_list(i64, mask)
        result = VectorType(f32, [lanes])
        return self.em.value(vector.ShuffleOp(*sources, pattern, result_type=result))
