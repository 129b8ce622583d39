"""The GEMM form of an f32 `top.conv2d` (nchw_fchw): its sizes per group and the blocking
of its per-group GEMM, in rows (filters x pixels) or `pixel_rows` (pixels x filters); see
lowering/top_to_loop_conv.py for the lowering and why each form is chosen."""

from __future__ import annotations

from dataclasses import dataclass

from lamina.dialects import top
from lamina.lowering.top_to_loop_build import ConvSizes, f32_conv_shapes
from lamina.lowering.top_to_loop_gemm import Blocking, gemm_blocking, micro_tile
from lamina.lowering.top_to_loop_nhwc_conv import balanced_rows

MIN_GEMM_FLOPS = 1 << 16
"""Below this many multiply-adds per image the reference loop nest is as good."""

WIDE_TILE = (6, 4)
"""Pixel rows' register tile on 32 vector registers: MR 6 pixels x 4 vectors of filters, one
broadcast pixel feeding four FMAs instead of two. Against 8 x 2 at one thread on Sapphire
Rapids (one conv + Relu, best of 300 calls, three alternated rounds, load 4-7): a 1x1 conv
of 128 -> 512 channels at 28x28 0.76-0.81 vs 0.86-0.92 ms, 3x3 128 -> 128 at 28x28
1.42-1.56 vs 1.54-1.76 ms, 3x3 256 -> 256 at 14x14 within 3%; at 7x7 outputs (49 pixels
padded to 54) it was up to 10% slower; 14 x 2 was no faster at 28x28."""


@dataclass(frozen=True)
class ConvGeometry(ConvSizes):
    """Sizes of one nchw_fchw convolution and of its per-group GEMM: `c` and `f` count the
    input and output channels of one of the `groups` groups; R output rows per B block;
    `pixel_rows`: the GEMM is transposed (its M the pixels of a block, its N the filters)."""

    groups: int
    rows: int
    blocking: Blocking
    pixel_rows: bool = False

    @property
    def ncp(self) -> int:
        """Columns of Bp: the pixels of a block, padded to whole micro-tiles."""
        return self.blocking.mc if self.pixel_rows else self.blocking.nc

    @property
    def fp(self) -> int:
        """Filters of a group padded to whole micro-tiles."""
        return self.blocking.np_ if self.pixel_rows else self.blocking.mp

    @property
    def blocks(self) -> int:
        return -(-self.oh // self.rows)


def conv_geometry(op: top.Conv2dOp, vector_bits: int) -> ConvGeometry | None:
    """The GEMM form of `op`, or None when the reference loop nest lowers it."""
    if op.layout.data != top.ConvLayout.NCHW_FCHW:
        return None
    groups = op.groups.value.data
    shapes = f32_conv_shapes(op)
    if shapes is None:
        return None
    (_, c_all, h, w), (f_all, _, kh, kw), (_, _, oh, ow) = shapes
    c, f = c_all // groups, f_all // groups
    if f * oh * ow * c * kh * kw < MIN_GEMM_FLOPS or f < 4:
        return None
    rows, blocking = conv_blocking(f, oh, ow, c * kh * kw, vector_bits)
    transposed = pixel_rows_blocking(f, rows * ow, c * kh * kw, vector_bits)
    if groups == 1 and rows == oh and transposed.np_ * transposed.mc <= blocking.mp * blocking.nc:
        return ConvGeometry(c, h, w, f, kh, kw, oh, ow, groups, rows, transposed, True)
    return ConvGeometry(c, h, w, f, kh, kw, oh, ow, groups, rows, blocking)


def conv_blocking(f: int, oh: int, ow: int, k: int, vector_bits: int) -> tuple[int, Blocking]:
    """R, the output rows of a B block, and the blocking of a conv GEMM of f filters of k
    elements each over oh x ow outputs: B blocks of R rows (about NC columns, NCp = R*OW
    rounded up to NR), the K and A blocks of `gemm_blocking`.

    The conv blockings size for `gemm_blocking`'s default caches, not the device's: on
    Sapphire Rapids (L1d 48 KiB, L2 2 MiB; one conv per run, best CPU time, alternated) KC
    64-160 ran alike, matmul's KC (3/4 of L1d: 192 or 231 here) 3-14% slower on 3x3 convs
    at 14x14 and 56x56, and an NC of half its L2 made 56x56 convs one B block, so pixel rows
    took them: 1x1 64 -> 256 and 64 -> 64 at 56x56 (KC 64 either way) reached 25-40% fewer
    GFLOP/s."""
    probe = gemm_blocking(f, oh * ow, k, vector_bits)
    rows = max(1, min(oh, probe.nc // ow))
    rows = -(-oh // -(-oh // rows))
    nr = probe.nr
    ncp = -(-rows * ow // nr) * nr
    return rows, Blocking(f, ncp, k, probe.lanes, probe.mr, nr, probe.kc, probe.mc, ncp)


def pixel_rows_blocking(f: int, pixels: int, k: int, vector_bits: int) -> Blocking:
    """The blocking of the transposed conv GEMM over blocks of `pixels` output pixels on
    `pixel_rows_tile`'s register tile: one A block of all of them (MC = NCp) and one B
    block of all f filters (NC = Fp), so that the im2col block is packed once per K block;
    KC that of `gemm_blocking`."""
    lanes, mr, nr = pixel_rows_tile(f, pixels, vector_bits)
    ncp = -(-pixels // mr) * mr
    fp = -(-f // nr) * nr
    kc = gemm_blocking(ncp, f, k, vector_bits, tile=(lanes, mr, nr)).kc
    return Blocking(ncp, f, k, lanes, mr, nr, kc, ncp, fp)


def pixel_rows_tile(f: int, pixels: int, vector_bits: int) -> tuple[int, int, int]:
    """(lanes, MR, NR) of the transposed GEMM, MR balanced over the pixels: `WIDE_TILE`
    where 32 vector registers hold its 24 accumulators (from AVX-512 on), the filters fill
    whole panels of four vectors and its panels pad the pixels by at most 1/32 (7x7
    outputs, 49 pixels in 7 rows of 7, would pad to 54); else `micro_tile`'s."""
    lanes, mr, nr = micro_tile(vector_bits)
    wide_mr, wide_nv = WIDE_TILE
    wide_rows = balanced_rows(pixels, wide_mr)
    if (
        vector_bits >= 512
        and f % (wide_nv * lanes) == 0
        and -(-pixels // wide_rows) * wide_rows - pixels <= pixels // 32
    ):
        return lanes, wide_rows, wide_nv * lanes
    return lanes, balanced_rows(pixels, mr), nr
