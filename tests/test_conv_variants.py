"""The lowerings of the ops the dense packed GEMM does not cover: grouped conv (the GEMM per
group), depthwise conv (lowering/top_to_loop_depthwise.py), small-M matmul (the GEMV of
lowering/top_to_loop_gemv.py) and pooling (lowering/top_to_loop_pool.py), run through the
host JIT after convert-top-to-loop + plan-memory and compared with numpy (float64) on the
same random inputs.

Tolerances follow from f32 rounding: an output summing K products in another order than the
float64 reference is off by about sqrt(K) * u * sum|terms| (u = 2^-24, the unit roundoff);
`assert_within_rounding` allows 8 times that (a wrong tap or a dropped term is off by a
whole term, orders of magnitude more). Pooling is exact up to the rounding of one division
(rtol 1e-6).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers_kernels import check_pool, constant, identity_map, lower, return_relu_of_sum, tensor

from lamina.runtime.jit import JitFunction

RNG = np.random.default_rng(11)
UNIT_ROUNDOFF = 2.0**-24


def assert_within_rounding(
    got: np.ndarray, expected: np.ndarray, magnitude: np.ndarray, terms: int
):
    """|got - expected| <= 8 sqrt(terms) u magnitude, elementwise, where `magnitude` is the
    sum of the absolute values of each output's terms."""
    bound = 8 * np.sqrt(terms) * UNIT_ROUNDOFF * magnitude + 1e-7
    error = np.abs(got.astype(np.float64) - expected)
    worst = np.unravel_index(np.argmax(error - bound), error.shape)
    assert np.all(error <= bound), f"error {error[worst]:.3g} > bound {bound[worst]:.3g} at {worst}"


def f32(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


# --- grouped and depthwise conv ---------------------------------------------------------------


def conv_reference(x: np.ndarray, w: np.ndarray, stride: int, pad: tuple[int, int], groups: int):
    """Grouped conv on float64 through explicit patches (pads: top/left, bottom/right)."""
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad[0], pad[1]), (pad[0], pad[1])))
    oh, ow = (h + sum(pad) - kh) // stride + 1, (wd + sum(pad) - kw) // stride + 1
    fg = f // groups
    y = np.zeros((n, f, oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = xp[
                :, :, i : i + stride * (oh - 1) + 1 : stride, j : j + stride * (ow - 1) + 1 : stride
            ]
            for g in range(groups):
                part = patch[:, g * cg : (g + 1) * cg]
                taps = w[g * fg : (g + 1) * fg, :, i, j]
                y[:, g * fg : (g + 1) * fg] += np.einsum("nchw,fc->nfhw", part, taps)
    return y


def conv_text(x_shape, w: np.ndarray, y_shape, stride: int, pad, groups: int, relu=False):  # noqa: ANN001
    geometry = (
        f"strides [{stride}, {stride}] dilations [1, 1] pad_low [{pad[0]}, {pad[0]}] "
        f"pad_high [{pad[1]}, {pad[1]}] groups {groups}"
    )
    xt, wt, yt, bt = tensor(x_shape), tensor(w.shape), tensor(y_shape), tensor([w.shape[0]])
    tail = f"func.return %y : {yt}"
    if relu:
        tail = return_relu_of_sum(y_shape, [("%y", yt, identity_map(4))])
    return f"""
    func.func @main(%x: {xt}, %b: {bt}) -> {yt} {{
      {constant("w", w)}
      %y = top.conv2d nchw_fchw %x, %w, %b {geometry} : ({xt}, {wt}, {bt}) -> {yt}
      {tail}
    }}"""


def run_conv(x_shape, w_shape, stride: int, pad, groups: int, relu=False):  # noqa: ANN001
    """(lamina's output, the lowered module's text), after checking the output against the
    float64 reference within f32 rounding."""
    x, w, b = f32(*x_shape), f32(*w_shape), f32(w_shape[0])
    expected = conv_reference(x, w, stride, pad, groups) + b.reshape(1, -1, 1, 1)
    magnitude = conv_reference(np.abs(x), np.abs(w), stride, pad, groups)
    magnitude = magnitude + np.abs(b).reshape(1, -1, 1, 1)
    if relu:
        expected = np.maximum(expected, 0)
    module = lower(conv_text(x.shape, w, expected.shape, stride, pad, groups, relu))
    (y,) = JitFunction(module, threads=1)(x, b)
    terms = w_shape[1] * w_shape[2] * w_shape[3] + 1
    assert_within_rounding(y, expected, magnitude, terms)
    return y, str(module)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "pad", "groups"),
    [
        ((1, 16, 11, 11), (24, 8, 3, 3), 1, (1, 1), 2),  # AlexNet-style: two groups, 3x3
        ((2, 32, 24, 24), (64, 8, 1, 1), 1, (0, 0), 4),  # ShuffleNet-style 1x1, batch 2
        ((1, 24, 25, 27), (30, 8, 5, 5), 2, (2, 1), 3),  # stride 2, asymmetric pads
    ],
)
def test_grouped_conv_runs_the_gemm_per_group(x_shape, w_shape, stride, pad, groups) -> None:  # noqa: ANN001
    _, text = run_conv(x_shape, w_shape, stride, pad, groups)
    assert "vector.fma" in text, "expected the packed GEMM lowering"


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "pad"),
    [
        ((1, 3, 70, 69), (16, 3, 7, 7), 2, (3, 3)),  # ResNet's stem on a small image
        ((1, 8, 26, 70), (16, 8, 3, 3), 4, (0, 2)),  # stride 4, asymmetric pads
    ],
)
def test_strided_conv_packs_rows_by_shuffled_vectors(x_shape, w_shape, stride, pad) -> None:  # noqa: ANN001
    """Rows of at least stride * 16 inputs are packed a vector of outputs at a time (one
    load of stride * 16 inputs, every stride-th kept), the rest and the padding one by one."""
    _, text = run_conv(x_shape, w_shape, stride, pad, 1)
    assert "vector.shuffle" in text and "vector.fma" in text


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "pad"),
    [
        ((1, 24, 28, 28), (24, 1, 3, 3), 1, (1, 1)),  # ShuffleNet 3x3/1
        ((2, 17, 14, 15), (17, 1, 3, 3), 2, (1, 1)),  # 3x3/2, odd sizes, batch 2
        ((1, 8, 7, 7), (8, 1, 5, 5), 1, (2, 2)),  # 5x5 on rows narrower than a vector
        ((1, 6, 12, 11), (12, 1, 3, 3), 2, (0, 1)),  # channel multiplier 2, asymmetric pads
    ],
)
def test_depthwise_conv_direct_kernel_matches_numpy(x_shape, w_shape, stride, pad) -> None:  # noqa: ANN001
    _, text = run_conv(x_shape, w_shape, stride, pad, x_shape[1])
    assert "vector.fma" in text, "expected the depthwise kernel"


def test_depthwise_conv_with_relu_applies_the_epilogue() -> None:
    y, text = run_conv((1, 16, 10, 10), (16, 1, 3, 3), 1, (1, 1), 16, relu=True)
    assert "top.generic" not in text and text.count("arith.maximumf") == 1
    assert y.min() == 0.0


# --- small-M matmul (GEMV) --------------------------------------------------------------------


def gemv_text(a_shape, b: np.ndarray, c_shape, flags: str, bias_relu: bool) -> str:  # noqa: ANN001
    at, bt, ct = tensor(a_shape), tensor(b.shape), tensor(c_shape)
    tail = f"func.return %c : {ct}"
    if bias_relu:
        row = "affine_map<(d0, d1) -> (d1)>"
        tail = return_relu_of_sum(
            c_shape, [("%c", ct, identity_map(2)), ("%bias", tensor([c_shape[1]]), row)]
        )
    return f"""
    func.func @main(%a: {at}, %bias: tensor<{c_shape[1]}xf32>) -> {ct} {{
      {constant("b", b)}
      %c = top.matmul %a, %b{flags} : ({at}, {bt}) -> {ct}
      {tail}
    }}"""


@pytest.mark.parametrize(
    ("m", "n", "k", "ta", "tb", "bias_relu"),
    [
        (1, 128, 300, False, True, False),  # FC layer (Gemm transB), C written directly
        (1, 1000, 257, False, True, True),  # N past the last panel, odd K, bias + relu fused
        (3, 70, 64, True, False, False),  # three rows, transposed lhs, N below one panel
        (2, 40, 1, False, False, True),  # K = 1: only the straight-line tail step
    ],
)
def test_small_m_matmul_takes_the_gemv_kernel(m, n, k, ta, tb, bias_relu) -> None:  # noqa: ANN001
    a, b, bias = f32(*((k, m) if ta else (m, k))), f32(*((n, k) if tb else (k, n))), f32(n)
    flags = (" transpose_lhs" if ta else "") + (" transpose_rhs" if tb else "")
    module = lower(gemv_text(a.shape, b, (m, n), flags, bias_relu))
    text = str(module)
    assert "vector.fma" in text and "top.generic" not in text
    nb = min(4, -(-n // 16)) * 16  # panels of up to four 16-lane vectors of columns
    assert f"memref<{-(-n // nb)}x{k}x{nb}xf32>" in text, "expected B packed in GEMV panels"
    (c,) = JitFunction(module, threads=1)(a, bias)
    a64, b64 = (a.T if ta else a).astype(np.float64), (b.T if tb else b).astype(np.float64)
    expected, magnitude = a64 @ b64, np.abs(a64) @ np.abs(b64)
    if bias_relu:
        expected, magnitude = np.maximum(expected + bias, 0), magnitude + np.abs(bias)
    assert_within_rounding(c, expected, magnitude, k + 1)


# --- pooling ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "x_shape", "kernel", "stride", "low", "high", "flags"),
    [
        ("max", (2, 3, 17, 16), 3, 2, 1, 1, ""),  # ResNet stem pool, batch 2, odd size
        ("avg", (1, 4, 14, 14), 3, 1, 1, 1, ""),  # Inception: padded taps not counted
        ("avg", (1, 3, 9, 9), 3, 2, 1, 1, " count_include_pad"),  # padded taps counted
        ("avg", (1, 6, 11, 12), 2, 2, 0, 1, ""),  # ceil mode: the last window leaves X
        ("max", (1, 2, 28, 28), 3, 2, 0, 1, ""),  # ceil mode, max
    ],
)
def test_pool_on_phase_planes_matches_the_top_interpreter(
    kind,
    x_shape,
    kernel,
    stride,
    low,
    high,
    flags,  # noqa: ANN001
) -> None:
    check_pool("nchw", kind, f32(*x_shape), (kernel, kernel), stride, (low, high), flags)
