"""The NHWC convolution lowerings (lowering/top_to_loop_nhwc_conv.py: the GEMM over output
pixels; lowering/top_to_loop_nhwc_depthwise.py: the direct depthwise kernel) and pools
(lowering/top_to_loop_nhwc_pool.py; pooling is exact up to one division: rtol 1e-6): each
top-level IR runs in the reference interpreter and, after convert-top-to-loop +
plan-memory, through the host JIT on the same random inputs.

Tolerance: f32 sums of up to 1440 products of N(0, 1) values, in other orders on the two
sides: 1e-5 of the output's scale, about 40 sqrt(K) units of roundoff at K = 1440 (a wrong
tap or channel is off by a whole product, ~1/sqrt(K) of the scale).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from helpers_kernels import check_pool, constant, elementwise, identity_map, lower, parse, tensor

from lamina.runtime.jit import JitFunction
from lamina.runtime.reference.top_interpreter import run_top

RNG = np.random.default_rng(5)

RELU = "%z = arith.constant 0.0 : f32\n%m = arith.maximumf %a0, %z : f32\ntop.yield %m : f32"
PRELU_PLUS = """%z = arith.constant 0.0 : f32
%q = arith.constant 0.25 : f32
%c = arith.cmpf ogt, %a0, %z : f32
%s = arith.mulf %a0, %q : f32
%p = arith.select %c, %a0, %s : f32
%t = arith.addf %p, %a1 : f32
top.yield %t : f32"""
"""PReLU of the conv plus a residual: a select, so the sums go through the scratch."""
ADD_RELU = """%t = arith.addf %a0, %a1 : f32
%z = arith.constant 0.0 : f32
%m = arith.maximumf %t, %z : f32
top.yield %m : f32"""
"""A residual add: the residual is a top result read only here, so the output overwrites it
(in place)."""


def f32(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def generic(name: str, shape: tuple[int, ...], operands: list[str], body: str) -> str:
    """`elementwise` `%<name>` over the f32 `operands`, all of `shape` (identity maps)."""
    same = (tensor(shape), identity_map(len(shape)))
    return elementwise(name, shape, [(operand, *same) for operand in operands], body)


def output_shape(x_shape: tuple[int, ...], w_shape: tuple[int, ...], window) -> tuple[int, ...]:  # noqa: ANN001
    stride, (low, high), dilation, _ = window
    n, h, wd, _ = x_shape
    kh, kw, _, f = w_shape
    oh = (h + low + high - dilation * (kh - 1) - 1) // stride + 1
    ow = (wd + low + high - dilation * (kw - 1) - 1) // stride + 1
    return n, oh, ow, f


def conv_module(x_shape: tuple[int, ...], w: np.ndarray, window, epilogue: str | None) -> str:  # noqa: ANN001
    """@main(%x, %b, %r): y = conv(x, w, b) (nhwc_hwcf), then `epilogue` of y (and of
    relu(r), a residual read only there) when given. `window` is (stride, (pad low, pad
    high), dilation, groups)."""
    stride, (low, high), dilation, groups = window
    y_shape = output_shape(x_shape, w.shape, window)
    xt, wt, yt, bt = tensor(x_shape), tensor(w.shape), tensor(y_shape), tensor([w.shape[3]])
    attributes = (
        f"strides [{stride}, {stride}] dilations [{dilation}, {dilation}] pad_low [{low}, {low}]"
        f" pad_high [{high}, {high}] groups {groups}"
    )
    residual, result = "", "%y"
    if epilogue is not None:
        operands = ["%y"]
        if "%a1" in epilogue:
            residual = generic("rr", y_shape, ["%r"], RELU)
            operands.append("%rr")
        result = "%e"
        epilogue = generic("e", y_shape, operands, epilogue)
    return f"""
    func.func @main(%x: {xt}, %b: {bt}, %r: {yt}) -> {yt} {{
      {constant("w", w)}
      {residual}
      %y = top.conv2d nhwc_hwcf %x, %w, %b {attributes} : ({xt}, {wt}, {bt}) -> {yt}
      {epilogue or ""}
      func.return {result} : {yt}
    }}"""


def run_both(text: str, inputs: list[np.ndarray]) -> str:
    """The lowered text of top-level IR `text`, after checking its output on `inputs`
    against the interpreter's at 1e-5 of the output's scale."""
    (expected,) = run_top(parse(text), inputs)
    lowered = lower(text)
    (got,) = JitFunction(lowered, threads=1)(*inputs)
    scale = float(np.abs(expected).max())
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5 * scale)  # pyright: ignore
    return str(lowered)


def check_conv(x_shape, w_shape, window, epilogue=None) -> str:  # noqa: ANN001
    """The lowered module's text, after checking its output against the interpreter's."""
    text = conv_module(x_shape, f32(*w_shape), window, epilogue)
    inputs = [f32(*x_shape), f32(w_shape[3]), f32(*output_shape(x_shape, w_shape, window))]
    return run_both(text, inputs)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "window"),
    [
        ((1, 8, 7, 24), (1, 1, 24, 40), (1, (0, 0), 1, 1)),  # 1x1: X is A; 40 = 32 + 8
        ((2, 6, 6, 16), (1, 1, 16, 3), (2, (0, 0), 1, 1)),  # 1x1 stride 2, F = 2 + 1
        ((1, 9, 11, 5), (3, 3, 5, 37), (2, (1, 1), 1, 1)),  # 3x3/2 padded: im2col rows
        ((1, 7, 7, 3), (5, 5, 3, 24), (2, (2, 1), 1, 1)),  # 5x5/2 stem, asymmetric pads
        ((1, 8, 8, 12), (3, 3, 4, 6), (1, (1, 1), 1, 3)),  # three groups
        ((1, 9, 9, 4), (3, 3, 4, 16), (1, (2, 2), 2, 1)),  # dilation 2
        ((1, 7, 7, 1200), (1, 1, 1200, 100), (1, (0, 0), 1, 1)),  # 2 blocks of B; 7-pixel rows
        ((1, 5, 6, 160), (3, 3, 160, 80), (1, (1, 1), 1, 1)),  # 2 blocks, im2col packed first
    ],
)
def test_nhwc_conv_gemm_matches_the_interpreter(x_shape, w_shape, window) -> None:  # noqa: ANN001
    text = check_conv(x_shape, w_shape, window)
    assert "vector.fma" in text and "top." not in text
    im2col = re.search(rf"memref<\d+x{w_shape[0] * w_shape[1] * w_shape[2]}xf32>", text)
    in_place = w_shape[:2] == (1, 1) and window[1] == (0, 0)
    assert (im2col is None) == in_place, "A is X itself exactly for 1x1 convs without pads"


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "window"),
    [
        ((1, 9, 10, 24), (3, 3, 1, 24), (1, (1, 1), 1, 24)),  # 24 = 16 + 8 channels
        ((2, 11, 9, 37), (3, 3, 1, 37), (2, (0, 1), 1, 37)),  # TFLite SAME at stride 2
        ((1, 12, 12, 16), (5, 5, 1, 16), (1, (2, 2), 1, 16)),  # 5x5, a whole vector
        ((1, 3, 4, 8), (5, 5, 1, 8), (1, (2, 2), 1, 8)),  # no tap-free interior
        ((1, 9, 9, 7), (3, 3, 1, 7), (1, (2, 2), 2, 7)),  # dilation 2, 7 = 4 + 2 + 1
    ],
)
def test_nhwc_depthwise_kernel_matches_the_interpreter(x_shape, w_shape, window) -> None:  # noqa: ANN001
    text = check_conv(x_shape, w_shape, window)
    assert "loop.vload" in text and "top." not in text


def test_nhwc_depthwise_with_channel_multiplier_takes_the_reference_nest() -> None:
    text = check_conv((1, 9, 9, 4), (3, 3, 1, 8), (1, (1, 1), 1, 4))
    assert "loop.vload" not in text


@pytest.mark.parametrize("epilogue", [RELU, ADD_RELU, PRELU_PLUS])
@pytest.mark.parametrize(
    ("w_shape", "window"),
    [((1, 1, 8, 20), (1, (0, 0), 1, 1)), ((3, 3, 1, 8), (1, (1, 1), 1, 8))],
    ids=["gemm", "depthwise"],
)
def test_nhwc_conv_applies_its_fused_consumer(w_shape, window, epilogue) -> None:  # noqa: ANN001
    text = check_conv((1, 6, 5, 8), w_shape, window, epilogue)
    assert text.count("top.") == 0
    if epilogue is PRELU_PLUS:
        assert "arith.select" in text, "expected the scalar epilogue through the scratch"
    else:
        assert "arith.maximumf" in text and "vector<" in text


@pytest.mark.parametrize(
    ("kind", "x_shape", "kernel", "stride", "pads", "flags"),
    [
        ("max", (1, 9, 8, 24), (2, 2), 2, (0, 0), ""),  # BlazeFace's 2x2/2 shortcut, 24 = 16 + 8
        ("max", (2, 7, 7, 5), (3, 3), 2, (1, 1), ""),  # padded taps skipped, 5 = 4 + 1
        ("avg", (1, 6, 6, 16), (3, 3), 1, (1, 1), ""),  # padded taps not counted
        ("avg", (1, 5, 5, 8), (3, 3), 2, (1, 1), " count_include_pad"),  # padded taps counted
        ("avg", (1, 12, 10, 40), (12, 10), 1, (0, 0), ""),  # a whole-image window (global)
    ],
)
def test_nhwc_pool_matches_the_interpreter(kind, x_shape, kernel, stride, pads, flags) -> None:  # noqa: ANN001
    check_pool("nhwc", kind, f32(*x_shape), kernel, stride, pads, flags)
