"""The TFLite compute builtins (convolutions, fully connected, pools, activations,
arithmetic, comparisons, softmax, dequantize / densify of weights) and MediaPipe's
transposed convolution custom op, each in a small model built with the schema's
flatbuffers builder, compiled for the host and checked against LiteRT at the
output's scale: max|err| <= 1e-3 * max|ref| + 1e-4."""

from __future__ import annotations

import struct
from collections.abc import Callable

import numpy as np
import pytest

from lamina.tools.tflite_builder import TFLiteBuilder
from lamina.tools.tflite_check import check_against_litert as check

RNG = np.random.default_rng(7)


def normal(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def unary(name: str, options: str | None = None, **attrs: object) -> Callable[[], None]:
    def build() -> None:
        m = TFLiteBuilder()
        x, y = m.input("x", [2, 5, 6]), m.tensor("y", [2, 5, 6])
        m.op(name, [x], [y], options, **attrs)  # pyright: ignore[reportArgumentType]
        m.output(y)
        check(m, [normal(2, 5, 6) * 4])

    return build


UNARY = ["RELU", "RELU6", "RELU_N1_TO_1", "LOGISTIC", "TANH", "HARD_SWISH", "EXP", "ABS", "NEG",
         "FLOOR", "CEIL", "SIN", "COS", "SQUARE", "ELU", "ROUND", "RELU_0_TO_1"]  # fmt: skip


@pytest.mark.parametrize("name", UNARY)
def test_unary_activation_matches_litert(name: str) -> None:
    unary(name)()


def test_leaky_relu_and_gelu_match_litert() -> None:
    unary("LEAKY_RELU", "LeakyReluOptions", Alpha=0.2)()
    unary("GELU", "GeluOptions", Approximate=True)()


BINARY = [(op, act) for op in ("ADD", "SUB", "MUL", "DIV") for act in (0, 1, 3)]
"""Arithmetic with no, RELU and RELU6 fused activations; MAXIMUM / MINIMUM have none."""


@pytest.mark.parametrize(("name", "activation"), [*BINARY, ("MAXIMUM", 0), ("MINIMUM", 0)])
def test_broadcast_binary_with_fused_activation_matches_litert(name: str, activation: int) -> None:
    m = TFLiteBuilder()
    a, b, y = m.input("a", [1, 4, 4, 3]), m.input("b", [1, 1, 1, 3]), m.tensor("y", [1, 4, 4, 3])
    options = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions", "DIV": "DivOptions"}
    if name in options:
        m.op(name, [a, b], [y], options[name], FusedActivationFunction=activation)
    else:
        m.op(name, [a, b], [y])
    m.output(y)
    rhs = normal(1, 1, 1, 3) + (3.0 if name == "DIV" else 0.0)
    check(m, [normal(1, 4, 4, 3) * 3, rhs])


@pytest.mark.parametrize(
    ("padding", "stride", "dilation"), [(0, 1, 1), (0, 2, 1), (1, 2, 1), (0, 1, 2)]
)
def test_conv_2d_matches_litert(padding: int, stride: int, dilation: int) -> None:
    m = TFLiteBuilder()
    x = m.input("x", [1, 10, 9, 3])
    w, b = m.constant("w", normal(5, 3, 3, 3)), m.constant("b", normal(5))
    out = (-(-10 // stride), -(-9 // stride)) if padding == 0 else (
        (10 - 2 * dilation - 1) // stride + 1, (9 - 2 * dilation - 1) // stride + 1)  # fmt: skip
    y = m.tensor("y", [1, *out, 5])
    m.op("CONV_2D", [x, w, b], [y], "Conv2DOptions", Padding=padding, StrideW=stride,
         StrideH=stride, DilationWFactor=dilation, DilationHFactor=dilation,
         FusedActivationFunction=1)  # fmt: skip
    m.output(y)
    check(m, [normal(1, 10, 9, 3)])


@pytest.mark.parametrize(("multiplier", "stride"), [(1, 1), (2, 2)])
def test_depthwise_conv_2d_matches_litert(multiplier: int, stride: int) -> None:
    m = TFLiteBuilder()
    x = m.input("x", [1, 9, 9, 4])
    w, b = m.constant("w", normal(1, 3, 3, 4 * multiplier)), m.constant("b", normal(4 * multiplier))
    size = -(-9 // stride)
    y = m.tensor("y", [1, size, size, 4 * multiplier])
    m.op("DEPTHWISE_CONV_2D", [x, w, b], [y], "DepthwiseConv2DOptions", Padding=0,
         StrideW=stride, StrideH=stride, DepthMultiplier=multiplier, FusedActivationFunction=3)  # fmt: skip
    m.output(y)
    check(m, [normal(1, 9, 9, 4)])


def test_float16_weights_through_dequantize_match_litert() -> None:
    m = TFLiteBuilder()
    x = m.input("x", [1, 6, 6, 2])
    half = m.constant("w16", normal(3, 3, 3, 2).astype(np.float16))
    w, b = m.tensor("w", [3, 3, 3, 2]), m.constant("b", normal(3))
    m.op("DEQUANTIZE", [half], [w])
    y = m.tensor("y", [1, 6, 6, 3])
    m.op("CONV_2D", [x, w, b], [y], "Conv2DOptions", Padding=0, StrideW=1, StrideH=1)
    m.output(y)
    check(m, [normal(1, 6, 6, 2)])


def test_transpose_conv_matches_litert() -> None:
    m = TFLiteBuilder()
    shape = m.constant("shape", np.array([1, 8, 8, 3], np.int32))
    w, x = m.constant("w", normal(3, 3, 3, 4)), m.input("x", [1, 4, 4, 4])
    y = m.tensor("y", [1, 8, 8, 3])
    m.op("TRANSPOSE_CONV", [shape, w, x], [y], "TransposeConvOptions", Padding=0, StrideW=2,
         StrideH=2)  # fmt: skip
    m.output(y)
    check(m, [normal(1, 4, 4, 4)])


def test_fully_connected_flattens_and_keeps_bias_matches_litert() -> None:
    m = TFLiteBuilder()
    x = m.input("x", [2, 3, 4])
    w, b = m.constant("w", normal(5, 12)), m.constant("b", normal(5))
    y = m.tensor("y", [2, 5])
    m.op("FULLY_CONNECTED", [x, w, b], [y], "FullyConnectedOptions", FusedActivationFunction=1)
    m.output(y)
    check(m, [normal(2, 3, 4)])


@pytest.mark.parametrize("name", ["MAX_POOL_2D", "AVERAGE_POOL_2D"])
@pytest.mark.parametrize("padding", [0, 1])
def test_pool_matches_litert(name: str, padding: int) -> None:
    m = TFLiteBuilder()
    x = m.input("x", [1, 7, 7, 3])
    size = 4 if padding == 0 else 3
    y = m.tensor("y", [1, size, size, 3])
    m.op(name, [x], [y], "Pool2DOptions", Padding=padding, StrideW=2, StrideH=2, FilterWidth=3,
         FilterHeight=3)  # fmt: skip
    m.output(y)
    check(m, [normal(1, 7, 7, 3)])


def test_softmax_with_beta_matches_litert() -> None:
    unary("SOFTMAX", "SoftmaxOptions", Beta=0.5)()


def test_prelu_with_per_channel_alpha_matches_litert() -> None:
    m = TFLiteBuilder()
    x, alpha = m.input("x", [1, 3, 3, 4]), m.constant("alpha", normal(1, 1, 4))
    y = m.tensor("y", [1, 3, 3, 4])
    m.op("PRELU", [x, alpha], [y])
    m.output(y)
    check(m, [normal(1, 3, 3, 4)])


def test_per_axis_int8_weights_through_dequantize_match_litert() -> None:
    m = TFLiteBuilder()
    x = m.input("x", [2, 6])
    q = RNG.integers(-127, 128, (4, 6)).astype(np.int8)
    scales = [0.01, 0.02, 0.05, 0.1]
    weights8 = m.constant("w8", q, quantization=(scales, [0, 0, 0, 0], 0))
    w = m.tensor("w", [4, 6])
    m.op("DEQUANTIZE", [weights8], [w], version=2)
    y = m.tensor("y", [2, 4])
    m.op("FULLY_CONNECTED", [x, w, -1], [y], "FullyConnectedOptions")
    m.output(y)
    check(m, [normal(2, 6)])


@pytest.mark.parametrize("name", ["SQRT", "RSQRT", "LOG"])
def test_positive_domain_unary_matches_litert(name: str) -> None:
    m = TFLiteBuilder()
    x, y = m.input("x", [3, 7]), m.tensor("y", [3, 7])
    m.op(name, [x], [y])
    m.output(y)
    check(m, [np.abs(normal(3, 7)) + 0.1])


def test_squared_difference_pow_log_softmax_match_litert() -> None:
    m = TFLiteBuilder()
    a, b = m.input("a", [2, 5]), m.input("b", [2, 5])
    diff, power, logp = (
        m.tensor("diff", [2, 5]),
        m.tensor("power", [2, 5]),
        m.tensor("logp", [2, 5]),
    )
    m.op("SQUARED_DIFFERENCE", [a, b], [diff])
    m.op("POW", [diff, b], [power])
    m.op("LOG_SOFTMAX", [a], [logp], "LogSoftmaxOptions")
    for t in (diff, power, logp):
        m.output(t)
    check(m, [normal(2, 5), normal(2, 5).round()])


@pytest.mark.parametrize(
    "name", ["LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL"]
)
def test_comparison_then_select_matches_litert(name: str) -> None:
    m = TFLiteBuilder()
    a, b = m.input("a", [3, 4]), m.input("b", [1, 4])
    mask, picked = m.tensor("mask", [3, 4], np.bool_), m.tensor("picked", [3, 4])
    m.op(name, [a, b], [mask])
    m.op("SELECT_V2", [mask, a, b], [picked])
    negated, both = m.tensor("negated", [3, 4], np.bool_), m.tensor("both", [3, 4], np.bool_)
    m.op("LOGICAL_NOT", [mask], [negated])
    m.op("LOGICAL_AND", [mask, negated], [both])
    m.output(picked)
    m.output(both)
    check(m, [normal(3, 4).round(), normal(1, 4).round()])


@pytest.mark.parametrize(("padding", "size"), [(1, 8), (2, 9)])
def test_mediapipe_transpose_conv_bias_custom_op_matches_litert(padding: int, size: int) -> None:
    """Convolution2DTransposeBias: options are int32 padding (1 SAME, 2 VALID), strides."""
    m = TFLiteBuilder()
    x, w, b = (
        m.input("x", [1, 4, 4, 3]),
        m.constant("w", normal(2, 3, 3, 3)),
        m.constant("b", normal(2)),
    )
    y = m.tensor("y", [1, size, size, 2])
    params = struct.pack("<3i", padding, 2, 2)
    m.op("CUSTOM", [x, w, b], [y], custom="Convolution2DTransposeBias", custom_options=params)
    m.output(y)
    check(m, [normal(1, 4, 4, 3)])


def test_sparse_weights_through_densify_match_litert() -> None:
    m = TFLiteBuilder()
    x = m.input("x", [2, 8])
    dense = normal(5, 8) * (RNG.random((5, 8)) < 0.3)
    w = m.tensor("w", [5, 8])
    m.op("DENSIFY", [m.sparse_constant("w_sparse", dense)], [w])
    y = m.tensor("y", [2, 5])
    m.op("FULLY_CONNECTED", [x, w, -1], [y], "FullyConnectedOptions")
    m.output(y)
    check(m, [normal(2, 8)])
