"""Quantized TFLite models: int8 / uint8 tensors import as the QDQ form
(parser/tflite_quant.py) and match LiteRT's fixed-point kernels. Each operator in a small
model built with the schema's flatbuffers builder, compiled for the host (a chain of them
also as a cortex-a76 bundle under qemu-aarch64): every output
element within one quantization step of LiteRT, at least 99% equal. Broken quantization
parameters are diagnostics naming the operator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lamina
from lamina.compiler import compile_bundle
from lamina.errors import ModelImportError
from lamina.runtime.qemu import run_bundle
from lamina.tools.tflite_builder import Quantization, TFLiteBuilder
from lamina.tools.tflite_check import check_quantized_against_litert as check
from lamina.tools.tflite_check import litert_outputs, quantized_mismatch

RNG = np.random.default_rng(11)


def per_tensor(scale: float, zero: int) -> Quantization:
    return ([scale], [zero], 0)


def int8_feed(*shape: int) -> np.ndarray:
    return RNG.integers(-128, 128, shape).astype(np.int8)


X = per_tensor(0.0473, -3)
"""The input's quantization: reals in about [-5.9, 6.2]. (Scale ratios that make exact ties
round them to even here, as ONNX does, and away from zero in TFLite: one step apart.)"""


def weights(channels: int, *shape: int) -> tuple[np.ndarray, Quantization]:
    """Symmetric per-channel int8 weights along axis 0, as TFLite's converter writes them."""
    w = RNG.integers(-127, 128, (channels, *shape)).astype(np.int8)
    scales = list(RNG.uniform(0.002, 0.01, channels))
    return w, (scales, [0] * channels, 0)


def bias(channels: int, w: Quantization) -> tuple[np.ndarray, Quantization]:
    """int32 bias at scale x_scale * w_scale[c]."""
    scales = [X[0][0] * s for s in w[0]]
    return RNG.integers(-2000, 2000, channels).astype(np.int32), (scales, [0] * channels, 0)


@pytest.mark.parametrize(("stride", "activation", "window"), [(1, 0, 3), (2, 3, 3), (1, 3, 1)])
def test_int8_conv_2d_per_channel_matches_litert(stride: int, activation: int, window: int) -> None:
    """3x3 convs (ConvInteger) and a pointwise one (MatMulInteger of the NHWC pixels)."""
    m = TFLiteBuilder()
    x = m.input("x", [1, 9, 9, 8], np.int8, X)
    wq, wp = weights(6, window, window, 8)
    bq, bp = bias(6, wp)
    w, b = m.constant("w", wq, wp), m.constant("b", bq, bp)
    size = -(-9 // stride)
    y = m.tensor("y", [1, size, size, 6], np.int8, per_tensor(0.08, 5))
    m.op("CONV_2D", [x, w, b], [y], "Conv2DOptions", Padding=0, StrideW=stride,
         StrideH=stride, FusedActivationFunction=activation)  # fmt: skip
    m.output(y)
    check(m, [int8_feed(1, 9, 9, 8)], equal=1.0)


@pytest.mark.parametrize(("window", "wrapping_bias"), [(3, False), (3, True), (24, True)])
def test_int8_depthwise_conv_2d_matches_litert(window: int, wrapping_bias: bool) -> None:
    """3x3: product sums in f32 levels (exact below 2^24), the bias added in i32 (a bias of
    -2^31 wraps as LiteRT's accumulator does); 24x24 (sums past 2^24): the i32 conv loops."""
    m = TFLiteBuilder()
    x = m.input("x", [1, 24, 24, 4], np.int8, X)
    wq = RNG.integers(-127, 128, (1, window, window, 4)).astype(np.int8)
    wp: Quantization = (list(RNG.uniform(0.005, 0.02, 4)), [0] * 4, 3)
    bq, bp = bias(4, wp)
    if wrapping_bias:
        wq[..., 0] = -127
        bq[0] = -(2**31)
    w, b = m.constant("w", wq, wp), m.constant("b", bq, (bp[0], bp[1], 0))
    y = m.tensor("y", [1, 24, 24, 4], np.int8, per_tensor(0.06, -10))
    m.op("DEPTHWISE_CONV_2D", [x, w, b], [y], "DepthwiseConv2DOptions", Padding=0, StrideW=1,
         StrideH=1, DepthMultiplier=1, FusedActivationFunction=1)  # fmt: skip
    m.output(y)
    check(m, [int8_feed(1, 24, 24, 4)], equal=1.0)


def test_int8_fully_connected_matches_litert() -> None:
    m = TFLiteBuilder()
    x = m.input("x", [2, 32], np.int8, X)
    wq = RNG.integers(-127, 128, (10, 32)).astype(np.int8)
    w = m.constant("w", wq, per_tensor(0.01, 0))
    b = m.constant("b", RNG.integers(-500, 500, 10).astype(np.int32), per_tensor(X[0][0] * 0.01, 0))
    y = m.tensor("y", [2, 10], np.int8, per_tensor(0.1, 2))
    m.op("FULLY_CONNECTED", [x, w, b], [y], "FullyConnectedOptions")
    m.output(y)
    check(m, [int8_feed(2, 32)], equal=1.0)


def extreme_conv(bias_values: np.ndarray, activation: int) -> TFLiteBuilder:
    """A 1x1 CONV_2D over 1024 channels of extreme weights: sums past 2^24 (where f32
    levels round), per-channel scales 2^-20 to 2^-4 apart by 2^16, the given int32 bias;
    channel 0's weights mostly negative, the others mostly positive."""
    m = TFLiteBuilder()
    x = m.input("x", [1, 2, 2, 1024], np.int8, per_tensor(0.5, -128))
    wq = np.where(RNG.random((4, 1, 1, 1024)) < 0.9, 127, -127).astype(np.int8)
    wq[0] = -wq[0]
    wp: Quantization = ([2.0**-20, 2.0**-12, 2.0**-8, 2.0**-4], [0] * 4, 0)
    bp: Quantization = ([0.5 * s for s in wp[0]], [0] * 4, 0)
    w, b = m.constant("w", wq, wp), m.constant("b", bias_values.astype(np.int32), bp)
    y = m.tensor("y", [1, 2, 2, 4], np.int8, per_tensor(64.0, 1))
    m.op("CONV_2D", [x, w, b], [y], "Conv2DOptions", Padding=1, StrideW=1, StrideH=1,
         FusedActivationFunction=activation)  # fmt: skip
    m.output(y)
    return m


@pytest.mark.parametrize("activation", [0, 3])
def test_int8_conv_2d_with_extreme_per_channel_scales_equals_litert(activation: int) -> None:
    feed = RNG.integers(100, 128, (1, 2, 2, 1024)).astype(np.int8)
    check(extreme_conv(np.array([3, -7, 1 << 20, -5]), activation), [feed], equal=1.0)


def test_int8_conv_2d_bias_of_minus_2_31_wraps_as_litert() -> None:
    """The int32 accumulator starts at the bias -2^31 and wraps past it, as in LiteRT."""
    feed = RNG.integers(100, 128, (1, 2, 2, 1024)).astype(np.int8)
    bias_values = np.array([-(2**31), 0, -(2**31), 9], np.int64)
    check(extreme_conv(bias_values, 0), [feed], equal=1.0)


@pytest.mark.parametrize(
    ("name", "dtype", "activation", "b_shape", "scales"),
    [
        ("ADD", np.int8, 0, [1, 8, 8, 16], (0.05, 0.025, 0.1)),
        ("ADD", np.uint8, 1, [1, 1, 8, 16], (0.0473, 0.031, 0.0617)),
        ("SUB", np.int8, 3, [1, 8, 8, 16], (0.0473, 0.031, 0.0617)),
        ("SUB", np.uint8, 0, [16], (0.05, 0.1, 0.2)),
    ],
)
def test_8_bit_add_and_sub_equal_litert(
    name: str, dtype: type, activation: int, b_shape: list[int], scales: tuple[float, ...]
) -> None:
    """XNNPACK's fixed-point sum (20-bit multipliers, one rounding shift: ties up, where a
    float sum quantized rounds them to even) in exact integer ops: every element equal,
    with broadcasting and fused activations."""
    info = np.iinfo(dtype)
    zeros = (130, 120, 125) if dtype is np.uint8 else (-3, 7, -1)
    q = [per_tensor(s, z) for s, z in zip(scales, zeros, strict=True)]
    m = TFLiteBuilder()
    a = m.input("a", [1, 8, 8, 16], dtype, q[0])
    b = m.input("b", b_shape, dtype, q[1])
    y = m.tensor("y", [1, 8, 8, 16], dtype, q[2])
    m.op(name, [a, b], [y], f"{name.title()}Options", FusedActivationFunction=activation)
    m.output(y)
    shapes = ([1, 8, 8, 16], b_shape)
    check(
        m, [RNG.integers(info.min, int(info.max) + 1, s).astype(dtype) for s in shapes], equal=1.0
    )


@pytest.mark.parametrize("name", ["ADD", "MUL", "SUB"])
def test_int8_arithmetic_with_different_scales_matches_litert(name: str) -> None:
    m = TFLiteBuilder()
    a = m.input("a", [1, 4, 4, 3], np.int8, X)
    b = m.input("b", [1, 4, 4, 3], np.int8, per_tensor(0.03, 7))
    y = m.tensor("y", [1, 4, 4, 3], np.int8, per_tensor(0.09 if name != "MUL" else 0.2, -1))
    m.op(name, [a, b], [y], f"{name.title()}Options", FusedActivationFunction=0)
    m.output(y)
    check(m, [int8_feed(1, 4, 4, 3), int8_feed(1, 4, 4, 3)])


OUTPUT_QUANTIZATION = {
    "LOGISTIC": per_tensor(1 / 256, -128),
    "TANH": per_tensor(1 / 128, 0),
    "HARD_SWISH": per_tensor(0.03, -20),
    "RELU": per_tensor(0.03, -128),
    "RELU6": per_tensor(6 / 255, -128),
}
"""The output quantization TFLite's int8 kernels take for each activation."""


@pytest.mark.parametrize("name", list(OUTPUT_QUANTIZATION))
def test_int8_activation_matches_litert(name: str) -> None:
    m = TFLiteBuilder()
    x = m.input("x", [2, 5, 6], np.int8, X)
    y = m.tensor("y", [2, 5, 6], np.int8, OUTPUT_QUANTIZATION[name])
    m.op(name, [x], [y])
    m.output(y)
    check(m, [int8_feed(2, 5, 6)])


def test_int8_softmax_matches_litert() -> None:
    m = TFLiteBuilder()
    x = m.input("x", [3, 10], np.int8, X)
    y = m.tensor("y", [3, 10], np.int8, per_tensor(1 / 256, -128))
    m.op("SOFTMAX", [x], [y], "SoftmaxOptions", Beta=1.0)
    m.output(y)
    check(m, [int8_feed(3, 10)])


@pytest.mark.parametrize("name", ["MAX_POOL_2D", "AVERAGE_POOL_2D"])
def test_int8_pool_matches_litert(name: str) -> None:
    m = TFLiteBuilder()
    x = m.input("x", [1, 8, 8, 3], np.int8, X)
    y = m.tensor("y", [1, 3, 3, 3], np.int8, X)
    # 3x3 windows: a mean of 9 levels is never a tie (of 4 it is: TFLite rounds those away
    # from zero, ONNX's QuantizeLinear to even)
    m.op(name, [x], [y], "Pool2DOptions", Padding=1, StrideW=2, StrideH=2, FilterWidth=3,
         FilterHeight=3)  # fmt: skip
    m.output(y)
    check(m, [int8_feed(1, 8, 8, 3)])


def test_int8_mean_reshape_and_concatenation_match_litert() -> None:
    m = TFLiteBuilder()
    x = m.input("x", [1, 4, 4, 3], np.int8, X)
    axes = m.constant("axes", np.array([1, 2], np.int32))
    mean = m.tensor("mean", [1, 1, 1, 3], np.int8, per_tensor(0.02, 1))
    m.op("MEAN", [x, axes], [mean], "ReducerOptions", KeepDims=True)
    shape = m.constant("shape", np.array([1, 16, 3], np.int32))
    flat = m.tensor("flat", [1, 16, 3], np.int8, X)
    m.op("RESHAPE", [x, shape], [flat])
    other = m.input("other", [1, 5, 3], np.int8, X)
    joined = m.tensor("joined", [1, 21, 3], np.int8, X)
    m.op("CONCATENATION", [flat, other], [joined], "ConcatenationOptions", Axis=1)
    m.output(mean)
    m.output(joined)
    check(m, [int8_feed(1, 4, 4, 3), int8_feed(1, 5, 3)])


@pytest.mark.parametrize(
    ("size", "out", "options", "dtype"),
    [
        (4, 7, {"HalfPixelCenters": True}, np.int8),
        (6, 13, {"HalfPixelCenters": True}, np.uint8),
        (5, 9, {"AlignCorners": True}, np.int8),
        (7, 3, {}, np.int8),
    ],
)
def test_8_bit_resize_bilinear_equals_litert(
    size: int, out: int, options: dict[str, bool], dtype: type
) -> None:
    """XNNPACK's fixed-point blend (11-bit weights placed in f32, one rounding shift) in
    exact int32 ops: every element equal, for each coordinate mode."""
    info = np.iinfo(dtype)
    q = X if dtype is np.int8 else per_tensor(0.0473, 125)
    m = TFLiteBuilder()
    x = m.input("x", [1, size, size + 1, 3], dtype, q)
    shape = m.constant("size", np.array([out, out + 2], np.int32))
    y = m.tensor("y", [1, out, out + 2, 3], dtype, q)
    align, half = options.get("AlignCorners", False), options.get("HalfPixelCenters", False)
    m.op("RESIZE_BILINEAR", [x, shape], [y], "ResizeBilinearOptions",
         AlignCorners=align, HalfPixelCenters=half)  # fmt: skip
    m.output(y)
    feed = RNG.integers(info.min, int(info.max) + 1, (1, size, size + 1, 3)).astype(dtype)
    check(m, [feed], equal=1.0)


@pytest.mark.parametrize(
    ("dtype", "source", "target"),
    [
        (np.int8, (0.0460255, 3), (0.0768510, -5)),
        (np.int8, (0.02, 5), (0.5, -1)),
        (np.uint8, (0.0473, 125), (0.07, 130)),
    ],
)
def test_8_bit_requantize_equals_litert(
    dtype: type, source: tuple[float, int], target: tuple[float, int]
) -> None:
    """QUANTIZE from 8 bits to the same type at another scale: XNNPACK's multiplier holds
    8 fraction bits only, so a float requantization is steps apart; every element equal."""
    info = np.iinfo(dtype)
    m = TFLiteBuilder()
    x = m.input("x", [32, 64], dtype, per_tensor(*source))
    y = m.tensor("y", [32, 64], dtype, per_tensor(*target))
    m.op("QUANTIZE", [x], [y])
    m.output(y)
    check(m, [RNG.integers(info.min, int(info.max) + 1, (32, 64)).astype(dtype)], equal=1.0)


def test_quantize_requantize_and_dequantize_match_litert() -> None:
    """float -> int8 (QUANTIZE), int8 -> uint8 at another scale, uint8 -> float."""
    m = TFLiteBuilder()
    x = m.input("x", [4, 16])
    q = m.tensor("q", [4, 16], np.int8, X)
    m.op("QUANTIZE", [x], [q])
    r = m.tensor("r", [4, 16], np.uint8, per_tensor(0.07, 120))
    m.op("QUANTIZE", [q], [r])
    y = m.tensor("y", [4, 16])
    m.op("DEQUANTIZE", [r], [y])
    m.output(q)
    m.output(y)
    check(m, [RNG.uniform(-8, 8, (4, 16)).astype(np.float32)])


def test_uint8_conv_with_asymmetric_weights_matches_litert() -> None:
    m = TFLiteBuilder()
    x = m.input("x", [1, 6, 6, 3], np.uint8, per_tensor(0.04, 128))
    w = m.constant("w", RNG.integers(0, 256, (4, 3, 3, 3)).astype(np.uint8), per_tensor(0.01, 120))
    b = m.constant("b", RNG.integers(-300, 300, 4).astype(np.int32), per_tensor(0.04 * 0.01, 0))
    y = m.tensor("y", [1, 6, 6, 4], np.uint8, per_tensor(0.05, 100))
    m.op("CONV_2D", [x, w, b], [y], "Conv2DOptions", Padding=0, StrideW=1, StrideH=1)
    m.output(y)
    check(m, [RNG.integers(0, 256, (1, 6, 6, 3)).astype(np.uint8)])


def conv_block() -> TFLiteBuilder:
    """int8 CONV_2D (RELU6) -> DEPTHWISE_CONV_2D -> RESHAPE -> FULLY_CONNECTED."""
    m = TFLiteBuilder()
    x = m.input("x", [1, 8, 8, 8], np.int8, X)
    wq, wp = weights(8, 3, 3, 8)
    bq, bp = bias(8, wp)
    conv = m.tensor("conv", [1, 8, 8, 8], np.int8, per_tensor(6 / 255, -128))
    m.op("CONV_2D", [x, m.constant("w", wq, wp), m.constant("b", bq, bp)], [conv],
         "Conv2DOptions", Padding=0, StrideW=1, StrideH=1, FusedActivationFunction=3)  # fmt: skip
    dq = RNG.integers(-127, 128, (1, 3, 3, 8)).astype(np.int8)
    dp: Quantization = (list(RNG.uniform(0.005, 0.02, 8)), [0] * 8, 3)
    db = m.constant("db", np.zeros(8, np.int32), ([6 / 255 * s for s in dp[0]], [0] * 8, 0))
    depth = m.tensor("depth", [1, 4, 4, 8], np.int8, per_tensor(0.03, 3))
    m.op("DEPTHWISE_CONV_2D", [conv, m.constant("dw", dq, dp), db], [depth],
         "DepthwiseConv2DOptions", Padding=0, StrideW=2, StrideH=2, DepthMultiplier=1)  # fmt: skip
    flat = m.tensor("flat", [1, 128], np.int8, per_tensor(0.03, 3))
    m.op("RESHAPE", [depth, m.constant("shape", np.array([1, 128], np.int32))], [flat])
    fw = m.constant("fw", RNG.integers(-127, 128, (10, 128)).astype(np.int8), per_tensor(0.01, 0))
    logits = m.tensor("logits", [1, 10], np.int8, per_tensor(0.5, 0))
    m.op("FULLY_CONNECTED", [flat, fw, -1], [logits], "FullyConnectedOptions")
    m.output(logits)
    return m


def test_int8_conv_block_matches_litert() -> None:
    check(conv_block(), [int8_feed(1, 8, 8, 8)])


def test_int8_conv_block_on_cortex_a76_under_qemu_matches_litert(tmp_path: Path) -> None:
    data, feed = conv_block().finish(), int8_feed(1, 8, 8, 8)
    compile_bundle(data, "cortex-a76", tmp_path / "bundle", name="block_int8")
    got = run_bundle(tmp_path / "bundle", {"x": feed}).outputs
    assert (wrong := quantized_mismatch(got, litert_outputs(data, [feed]))) is None, wrong


BROKEN = {
    "a zero scale": (([0.0], [0], 0), "scale is not a positive finite number"),
    "a zero point out of range": (([0.1], [300], 0), "zero point is out of the range of int8"),
    "per-axis lengths that differ": (([0.1, 0.2], [0], 0), "2 scales but 1 zero points"),
    "scales that do not fit the axis": (([0.1, 0.2, 0.3], [0, 0, 0], 1), "3 scales along axis 1"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_quantization_is_a_diagnostic_naming_the_operator(case: str) -> None:
    quantization, message = BROKEN[case]
    m = TFLiteBuilder()
    x = m.input("x", [2, 4], np.int8, X)
    y = m.tensor("y", [2, 4], np.int8, quantization)
    m.op("RELU", [x], [y])
    m.output(y)
    with pytest.raises(ModelImportError, match=rf"operator 0 \(RELU\): tensor 'y': .*{message}"):
        lamina.compile(m.finish())
