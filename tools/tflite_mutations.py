"""Seeded mutations of .tflite bytes, for the fuzz test and benchmark of the TFLite door.

    for data in mutations(seed_bytes, count=300, seed=0): ...

Each mutation is one of: flip a few bytes, overwrite an aligned 32-bit word with an
extreme or small value (offsets, lengths, indices and enum values are 32-bit words in a
flatbuffer), truncate, or cut a chunk out. The identifier stays intact in most of them, so
they reach the schema reader instead of stopping at the file check.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import numpy as np

from lamina.tools.tflite_builder import TFLiteBuilder

_WORDS = [
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    16,
    127,
    128,
    255,
    0x7FFF,
    0xFFFF,
    0x7FFFFFFF,
    0x80000000,
    0xFFFFFFFF,
]


def _weights_and_bias(
    m: TFLiteBuilder,
    rng: np.random.Generator,
    names: tuple[str, str],
    shape: tuple[int, ...],
    channels: int,
) -> tuple[int, int]:
    """The constants `names`: random float32 weights of `shape` and a zero bias, one per
    output channel."""
    weights = m.constant(names[0], rng.standard_normal(shape).astype(np.float32))
    return weights, m.constant(names[1], np.zeros(channels, np.float32))


def seed_model() -> bytes:
    """A small model touching the common operators: conv, depthwise conv, pool, add,
    reshape, fully connected, softmax."""
    rng = np.random.default_rng(0)
    m = TFLiteBuilder()
    x = m.input("x", [1, 8, 8, 2])
    w, b = _weights_and_bias(m, rng, ("w", "b"), (4, 3, 3, 2), 4)
    conv = m.tensor("conv", [1, 8, 8, 4])
    same_padded = partial(m.op, Padding=0, StrideW=1, StrideH=1)  # TFLite's Padding 0 is SAME
    same_padded("CONV_2D", [x, w, b], [conv], "Conv2DOptions", FusedActivationFunction=3)
    dw, db = _weights_and_bias(m, rng, ("dw", "db"), (1, 3, 3, 4), 4)
    depth = m.tensor("depth", [1, 8, 8, 4])
    same_padded(
        "DEPTHWISE_CONV_2D", [conv, dw, db], [depth], "DepthwiseConv2DOptions", DepthMultiplier=1
    )
    pooled = m.tensor("pooled", [1, 4, 4, 4])
    m.op(
        "MAX_POOL_2D",
        [depth],
        [pooled],
        "Pool2DOptions",
        Padding=1,
        StrideW=2,
        StrideH=2,
        FilterWidth=2,
        FilterHeight=2,
    )
    summed = m.tensor("summed", [1, 4, 4, 4])
    m.op("ADD", [pooled, pooled], [summed], "AddOptions", FusedActivationFunction=1)
    shape = m.constant("shape", np.array([1, 64], np.int32))
    flat = m.tensor("flat", [1, 64])
    m.op("RESHAPE", [summed, shape], [flat])
    fw, fb = _weights_and_bias(m, rng, ("fw", "fb"), (10, 64), 10)
    logits = m.tensor("logits", [1, 10])
    m.op("FULLY_CONNECTED", [flat, fw, fb], [logits], "FullyConnectedOptions")
    probs = m.tensor("probs", [1, 10])
    m.op("SOFTMAX", [logits], [probs], "SoftmaxOptions", Beta=1.0)
    m.output(logits)
    m.output(probs)
    return m.finish()


def mutate(data: bytes, rng: np.random.Generator) -> bytes:
    buffer = bytearray(data)
    kind = int(rng.integers(4))
    if kind == 0:
        for _ in range(int(rng.integers(1, 9))):
            buffer[int(rng.integers(8, len(buffer)))] = int(rng.integers(256))
    elif kind == 1:
        offset = 4 * int(rng.integers(2, len(buffer) // 4))
        word = (
            _WORDS[int(rng.integers(len(_WORDS)))]
            if rng.random() < 0.7
            else int(rng.integers(2**32))
        )
        buffer[offset : offset + 4] = word.to_bytes(4, "little")
    elif kind == 2:
        del buffer[int(rng.integers(0, len(buffer))) :]
    else:
        start = int(rng.integers(8, len(buffer)))
        del buffer[start : start + int(rng.integers(1, 64))]
    return bytes(buffer)


def mutations(data: bytes, count: int, seed: int = 0) -> Iterator[bytes]:
    rng = np.random.default_rng(seed)
    for _ in range(count):
        yield mutate(data, rng)
