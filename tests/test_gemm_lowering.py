"""The packed-GEMM lowerings of top.matmul and top.conv2d (lowering/top_to_loop_gemm.py,
top_to_loop_conv.py), run through the host JIT after convert-top-to-loop + plan-memory and
compared with numpy on the same random inputs.

Tolerances: f32 sums of up to ~600 products of N(0, 1) values, in another order than
numpy's (whose sums are exact to ~1e-6 relative here): atol 1e-3 on results of order
10-30, rtol 1e-4.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from helpers_kernels import constant, identity_map, lower, parse, return_relu_of_sum, tensor

from lamina.compiler import top_to_loop_options
from lamina.context import make_context
from lamina.lowering.plan_memory import PlanMemoryPass
from lamina.lowering.top_to_loop import ConvertTopToLoopPass
from lamina.lowering.top_to_loop_conv_geometry import pixel_rows_tile
from lamina.lowering.top_to_loop_gemm import CacheSizes, gemm_blocking, matmul_gemm_blocking
from lamina.runtime.jit import JitFunction
from lamina.targets import load_device

RNG = np.random.default_rng(7)
TOL = {"rtol": 1e-4, "atol": 1e-3}


def f32(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def run(text: str, inputs: Sequence[np.ndarray], vector_bits: int = 512) -> list[np.ndarray]:
    module = lower(text, vector_bits)
    assert "vector.fma" in str(module), "expected the packed GEMM lowering"
    return JitFunction(module, threads=1)(*inputs)


# --- matmul -----------------------------------------------------------------------------------


def matmul_text(a: Sequence[int], b: Sequence[int], c: Sequence[int], flags: str, consts: str):
    args = ", ".join(f"%{n}: {tensor(s)}" for n, s in (("a", a), ("b", b)) if n not in consts)
    return f"""
    func.func @main({args}) -> {tensor(c)} {{
      {consts}
      %c = top.matmul %a, %b{flags} : ({tensor(a)}, {tensor(b)}) -> {tensor(c)}
      func.return %c : {tensor(c)}
    }}"""


@pytest.mark.parametrize(
    ("m", "n", "k", "ta", "tb"),
    [
        (64, 64, 64, False, False),  # whole micro-tiles: C written directly
        (37, 53, 29, False, False),  # every dim a remainder
        (100, 70, 300, True, True),  # transposes, several K blocks
        (16, 1000, 33, False, True),  # N padded to the next NC block
    ],
)
def test_matmul_gemm_with_remainders_and_transposes(m, n, k, ta, tb) -> None:  # noqa: ANN001
    a, b = f32(*((k, m) if ta else (m, k))), f32(*((n, k) if tb else (k, n)))
    flags = (" transpose_lhs" if ta else "") + (" transpose_rhs" if tb else "")
    text = matmul_text(a.shape, b.shape, (m, n), flags, "")
    (c,) = run(text, [a, b])
    np.testing.assert_allclose(c, (a.T if ta else a) @ (b.T if tb else b), **TOL)  # pyright: ignore


@pytest.mark.parametrize("vector_bits", [256, 512])
def test_matmul_gemm_with_packed_constants_matches_runtime_packing(vector_bits: int) -> None:
    a, b = f32(45, 70), f32(70, 51)
    runtime = matmul_text(a.shape, b.shape, (45, 51), "", "")
    both = constant("a", a) + "\n" + constant("b", b)
    packed = matmul_text(a.shape, b.shape, (45, 51), "", both)
    assert "loop.carve %weights" in str(lower(packed, vector_bits))
    (c1,) = run(runtime, [a, b], vector_bits)
    (c2,) = JitFunction(lower(packed, vector_bits), threads=1)()
    np.testing.assert_allclose(c1, a @ b, **TOL)  # pyright: ignore
    np.testing.assert_allclose(c2, c1, **TOL)  # pyright: ignore


def test_batched_matmul_gemm_broadcasts_batch_dims() -> None:
    a, b = f32(3, 1, 20, 40), f32(5, 40, 48)
    text = matmul_text(a.shape, b.shape, (3, 5, 20, 48), "", "")
    (c,) = run(text, [a, b])
    np.testing.assert_allclose(c, a @ b, **TOL)  # pyright: ignore


def test_matmul_with_relu_and_bias_fuses_the_generic() -> None:
    a, b, bias = f32(33, 40), f32(40, 50), f32(50)
    tail = return_relu_of_sum(
        (33, 50),
        [
            ("%c", "tensor<33x50xf32>", identity_map(2)),
            ("%bias", "tensor<50xf32>", "affine_map<(d0, d1) -> (d1)>"),
        ],
    )
    text = f"""
    func.func @main(%a: tensor<33x40xf32>, %b: tensor<40x50xf32>, %bias: tensor<50xf32>)
        -> tensor<33x50xf32> {{
      %c = top.matmul %a, %b : (tensor<33x40xf32>, tensor<40x50xf32>) -> tensor<33x50xf32>
      {tail}
    }}"""
    module = lower(text)
    assert str(module).count("arith.maximumf") == 1
    (r,) = JitFunction(module, threads=1)(a, b, bias)
    np.testing.assert_allclose(r, np.maximum(a @ b + bias, 0), **TOL)  # pyright: ignore


def test_gemm_blocking_fits_the_caches() -> None:
    b = gemm_blocking(1000, 3000, 700, 512)
    assert (b.mr, b.nr, b.lanes) == (8, 32, 16)
    assert b.kc * b.nr * 4 <= 16 * 1024 and b.mc * b.kc * 4 <= 512 * 1024
    assert b.mp % b.mc == 0 and b.np_ % b.nc == 0 and b.mp >= 1000 and b.np_ >= 3000


@pytest.mark.parametrize(
    ("caches", "kc", "mc", "nc"),
    [
        (CacheSizes(48 * 1024, 2 << 20), 205, 32, 1024),  # Sapphire Rapids
        (CacheSizes(32 * 1024, 1 << 20), 147, 32, 512),  # Zen 4
    ],
)
def test_matmul_gemm_blocking_follows_the_caches(caches: CacheSizes, kc, mc, nc) -> None:  # noqa: ANN001
    b = matmul_gemm_blocking(1024, 1024, 1024, 512, caches)
    assert (b.mr, b.nr, b.kc, b.mc, b.nc, b.mp, b.np_) == (8, 32, kc, mc, nc, 1024, 1024)
    assert (b.mr + b.nr) * b.kc * 4 <= caches.l1d * 3 // 4 and b.mc * b.kc * 4 <= caches.l1d
    assert b.kc * b.nc * 4 <= caches.l2 // 2


def test_matmul_gemm_blocking_pads_least() -> None:
    # 1000 rows in blocks of at most 48 KiB / (4 * 175) = 70: 25 of 40, not 15 of 72 (1080)
    b = matmul_gemm_blocking(1000, 3000, 700, 512, CacheSizes(48 * 1024, 1 << 20))
    assert (b.kc, b.mc, b.nc, b.mp, b.np_) == (175, 40, 608, 1000, 3040)


def test_matmul_gemm_blocked_for_small_caches_matches_numpy() -> None:
    # L1d 4 KiB, L2 16 KiB: KC 19 (27 K blocks), MC 40 (5 A blocks), NC 64 (5 B blocks)
    caches = CacheSizes(4096, 16384)
    b = matmul_gemm_blocking(200, 300, 500, 512, caches)
    assert (b.kc, b.mc, b.nc) == (19, 40, 64)
    a, bm = f32(200, 500), f32(500, 300)
    module = parse(matmul_text(a.shape, bm.shape, (200, 300), "", ""))
    ConvertTopToLoopPass(vector_bits=512, l1d_bytes=4096, l2_bytes=16384).apply(
        make_context(), module
    )
    PlanMemoryPass().apply(make_context(), module)
    text = str(module)
    assert "memref<5x19x8xf32>" in text and "memref<2x19x32xf32>" in text  # Ap and Bp
    (c,) = JitFunction(module, threads=1)(a, bm)
    np.testing.assert_allclose(c, a @ bm, **TOL)  # pyright: ignore


def test_compiler_lowers_for_the_device_caches() -> None:
    assert "l1d_bytes=32768 l2_bytes=524288" in top_to_loop_options(load_device("x86-64-avx2"))


# --- conv2d -----------------------------------------------------------------------------------


def conv_nchw(x: np.ndarray, w: np.ndarray, stride: int, pad: tuple[int, int], dil: int):
    """Reference conv (one group) on float64 through explicit patches."""
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad[0], pad[1]), (pad[0], pad[1])))
    oh = (h + sum(pad) - dil * (kh - 1) - 1) // stride + 1
    ow = (wd + sum(pad) - dil * (kw - 1) - 1) // stride + 1
    y = np.zeros((n, f, oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = xp[
                :,
                :,
                i * dil : i * dil + stride * (oh - 1) + 1 : stride,
                j * dil : j * dil + stride * (ow - 1) + 1 : stride,
            ]
            y += np.einsum("nchw,fc->nfhw", patch, w[:, :, i, j])
    return y.astype(np.float32)


def conv_text(x: np.ndarray, w: np.ndarray, y: Sequence[int], stride: int, pad, dil: int, tail=""):  # noqa: ANN001
    geometry = (
        f"strides [{stride}, {stride}] dilations [{dil}, {dil}] pad_low [{pad[0]}, {pad[0]}] "
        f"pad_high [{pad[1]}, {pad[1]}] groups 1"
    )
    out = tensor(y)
    body = tail or f"func.return %y : {out}"
    return f"""
    func.func @main(%x: {tensor(x.shape)}, %b: tensor<{w.shape[0]}xf32>) -> {out} {{
      {constant("w", w)}
      %y = top.conv2d nchw_fchw %x, %w, %b {geometry}
          : ({tensor(x.shape)}, {tensor(w.shape)}, tensor<{w.shape[0]}xf32>) -> {out}
      {body}
    }}"""


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "pad", "dil"),
    [
        ((1, 16, 13, 13), (32, 16, 1, 1), 1, (0, 0), 1),  # 1x1, odd spatial size
        ((2, 5, 17, 19), (20, 5, 3, 3), 1, (1, 1), 1),  # 3x3 same padding, batch 2
        ((1, 3, 30, 30), (16, 3, 7, 7), 2, (3, 2), 1),  # 7x7 stride 2, asymmetric pads
        ((1, 8, 20, 21), (12, 8, 3, 3), 2, (0, 1), 2),  # dilation and stride
        ((1, 64, 9, 9), (10, 64, 3, 3), 1, (1, 1), 1),  # several K blocks
        ((1, 48, 7, 7), (60, 48, 3, 3), 1, (1, 1), 1),  # pixel rows, a part vector of filters
        ((2, 16, 14, 14), (32, 16, 3, 3), 2, (1, 0), 1),  # pixel rows, stride 2, batch 2
        ((1, 16, 12, 12), (64, 16, 3, 3), 1, (1, 1), 1),  # pixel rows on the 6 x 4-vector tile
        ((1, 24, 13, 13), (128, 24, 1, 1), 1, (0, 0), 1),  # the same, 169 pixels padded to 174
    ],
)
def test_conv_gemm_matches_numpy(x_shape, w_shape, stride, pad, dil) -> None:  # noqa: ANN001
    x, w, b = f32(*x_shape), f32(*w_shape), f32(w_shape[0])
    expected = conv_nchw(x, w, stride, pad, dil) + b.reshape(1, -1, 1, 1)
    (y,) = run(conv_text(x, w, expected.shape, stride, pad, dil), [x, b])
    np.testing.assert_allclose(y, expected, **TOL)  # pyright: ignore


def test_conv_gemm_with_residual_add_and_relu_fuses_the_epilogue() -> None:
    x, w, b, skip = f32(1, 8, 15, 15), f32(16, 8, 3, 3), f32(16), f32(1, 16, 15, 15)
    out, ident = "tensor<1x16x15x15xf32>", identity_map(4)
    tail = return_relu_of_sum((1, 16, 15, 15), [("%skip", out, ident), ("%y", out, ident)])
    text = conv_text(x, w, (1, 16, 15, 15), 1, (1, 1), 1, tail)
    text = text.replace("%b: tensor<16xf32>)", f"%b: tensor<16xf32>, %skip: {out})")
    module = lower(text)
    assert "top.generic" not in str(module) and str(module).count("arith.maximumf") == 1
    (r,) = JitFunction(module, threads=1)(x, b, skip)
    expected = np.maximum(conv_nchw(x, w, 1, (1, 1), 1) + b.reshape(1, -1, 1, 1) + skip, 0)
    np.testing.assert_allclose(r, expected, **TOL)  # pyright: ignore


def test_conv_filter_is_stored_only_in_packed_panel_layout() -> None:
    x, w = f32(1, 16, 12, 12), f32(41, 16, 3, 3)
    module = lower(conv_text(x, w, (1, 41, 10, 10), 1, (0, 0), 1))
    carves = [op for op in module.walk() if op.name == "loop.carve" and "weights" in str(op)]
    shapes = [str(op.results[0].type) for op in carves]
    assert shapes == ["memref<6x144x8xf32>"], shapes  # 41 filters padded to 48: 6 panels of 8


def test_conv_of_7x7_outputs_packs_the_filter_for_pixel_rows() -> None:
    x, w = f32(1, 48, 7, 7), f32(60, 48, 3, 3)
    module = lower(conv_text(x, w, (1, 60, 7, 7), 1, (1, 1), 1))
    carves = [op for op in module.walk() if op.name == "loop.carve" and "weights" in str(op)]
    shapes = [str(op.results[0].type) for op in carves]
    assert shapes == ["memref<2x432x32xf32>"], shapes  # W^T: 60 filters in 2 panels of 32


@pytest.mark.parametrize(
    ("f", "pixels", "vector_bits", "tile"),
    [
        (128, 784, 512, (16, 6, 64)),  # 28x28: 6 x 4 vectors, 784 pixels padded to 786
        (256, 169, 512, (16, 6, 64)),  # 13x13: padded to 174, within 1/32
        (512, 49, 512, (16, 7, 32)),  # 7x7: 54 pixels would pad by 1/10; 7 rows of 7
        (96, 784, 512, (16, 8, 32)),  # 96 filters fill no whole 4-vector panel
        (128, 784, 256, (8, 6, 16)),  # 16 vector registers: micro_tile's 6 x 2 vectors
    ],
)
def test_pixel_rows_tile_is_wide_where_filters_and_pixels_fill_it(
    f: int, pixels: int, vector_bits: int, tile: tuple[int, int, int]
) -> None:
    assert pixel_rows_tile(f, pixels, vector_bits) == tile


def test_conv_on_the_wide_tile_packs_the_filter_in_4_vector_panels() -> None:
    x, w = f32(1, 16, 12, 12), f32(64, 16, 3, 3)
    module = lower(conv_text(x, w, (1, 64, 12, 12), 1, (1, 1), 1))
    carves = [op for op in module.walk() if op.name == "loop.carve" and "weights" in str(op)]
    assert [str(op.results[0].type) for op in carves] == ["memref<1x144x64xf32>"]
    carried = {len(op.operands) - 3 for op in module.walk() if op.name == "loop.for"}
    assert max(carried) == 24, carried  # the k loop carries 6 x 4 accumulators


def test_grouped_conv_of_7x7_outputs_keeps_rows_and_fuses_residual_add_and_relu() -> None:
    x, w, b, skip = f32(1, 32, 7, 7), f32(64, 16, 3, 3), f32(64), f32(1, 64, 7, 7)
    out, ident = "tensor<1x64x7x7xf32>", identity_map(4)
    tail = return_relu_of_sum((1, 64, 7, 7), [("%skip", out, ident), ("%y", out, ident)])
    text = conv_text(x, w, (1, 64, 7, 7), 1, (1, 1), 1, tail).replace("groups 1", "groups 2")
    text = text.replace("%b: tensor<64xf32>)", f"%b: tensor<64xf32>, %skip: {out})")
    module = lower(text)
    assert "memref<32x64xf32>" in str(module)  # Cp of one group: 32 filters x 49 pixels
    (r,) = JitFunction(module, threads=1)(x, b, skip)
    per_group = [
        conv_nchw(x[:, 16 * i : 16 * (i + 1)], w[32 * i : 32 * (i + 1)], 1, (1, 1), 1)
        for i in range(2)
    ]
    expected = np.maximum(np.concatenate(per_group, 1) + b.reshape(1, -1, 1, 1) + skip, 0)
    np.testing.assert_allclose(r, expected, **TOL)  # pyright: ignore


@pytest.mark.parametrize("batches", [(4,), (1, 3)])
def test_batched_matmul_with_scratch_per_batch_gives_the_same_results_on_2_threads(
    batches: tuple[int, ...],
) -> None:
    # padded M and N: the packed blocks and the padded C are per batch, the batch loop
    # parallel, and 2 threads compute exactly what 1 does
    a, b = f32(*batches, 45, 70), f32(*batches, 51, 70)
    text = matmul_text(a.shape, b.shape, (*batches, 45, 51), " transpose_rhs", "")
    module = lower(text)
    batch_dims = "x".join(map(str, batches))
    assert f"-> memref<{batch_dims}x48x64xf32>" in str(module)  # C padded to 48 x 64, per batch
    c1, c2 = (JitFunction(module, threads=t)(a, b)[0] for t in (1, 2))
    np.testing.assert_array_equal(c2, c1)
    np.testing.assert_allclose(c1, a @ np.swapaxes(b, -1, -2), **TOL)  # pyright: ignore


def test_matmul_gemm_by_constant_weights_gives_the_same_results_on_2_threads() -> None:
    # A packed at run time, B at compile time: on 2 threads the GEMM splits its rows (the
    # panels each thread packed), and computes exactly what 1 thread does
    a, b = f32(128, 256), f32(256, 256)
    text = matmul_text(a.shape, b.shape, (128, 256), "", constant("b", b))
    module = lower(text.replace("@main(", f"@main(%a: {tensor(a.shape)}"))
    c1, c2 = (JitFunction(module, threads=t)(a)[0] for t in (1, 2))
    np.testing.assert_array_equal(c2, c1)
    np.testing.assert_allclose(c1, a @ b, **TOL)  # pyright: ignore
