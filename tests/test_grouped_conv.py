"""Grouped convs on the packed GEMM per group (lowering/top_to_loop_conv.py) against
onnxruntime: ShuffleNet's 1x1 convs of 4 groups on rows of 7, 14, 28 and 56 (each output row
copied out as whole vectors, then the binary split of the rest), odd rows, a padded 3x3
stride-2 grouped conv, and fused consumers: a residual add with a ReLU (on whole vectors)
and a LeakyRelu (its select keeps the scalar copy-out)."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from onnx import helper

from lamina.compiler import compile as lamina_compile
from lamina.tests.test_graph_to_top import F, model, rand


def _check(c: int, size: int, f: int, groups: int, kernel: int, stride: int, tail: str) -> None:
    """Conv(x, w, b) [then `tail`: "add_relu" with a residual input, "leaky"] vs ort."""
    pad = kernel // 2
    nodes = [
        helper.make_node(
            "Conv",
            ["x", "w", "b"],
            ["y" if tail == "" else "c"],
            group=groups,
            kernel_shape=[kernel] * 2,
            strides=[stride] * 2,
            pads=[pad, pad, pad + 1 if stride > 1 else pad, pad],
        )
    ]
    out = (size + 2 * pad + (1 if stride > 1 else 0) - kernel) // stride + 1
    inputs = {"x": ([1, c, size, size], F)}
    feeds = {"x": rand(1, c, size, size)}
    if tail == "add_relu":
        inputs["r"] = ([1, f, out, out], F)
        feeds["r"] = rand(1, f, out, out, seed=3)
        nodes += [
            helper.make_node("Add", ["c", "r"], ["s"]),
            helper.make_node("Relu", ["s"], ["y"]),
        ]
    elif tail == "leaky":
        nodes.append(helper.make_node("LeakyRelu", ["c"], ["y"], alpha=0.1))
    weights = {"w": rand(f, c // groups, kernel, kernel, seed=1), "b": rand(f, seed=2)}
    m = model(nodes, inputs, {"y": (None, F)}, weights)
    (expected,) = onnxruntime.InferenceSession(m.SerializeToString()).run(None, feeds)
    (got,) = lamina_compile(m, "host", threads=1)(*feeds.values())
    np.testing.assert_allclose(got, np.asarray(expected), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize(
    ("c", "size", "f", "groups", "kernel", "stride", "tail"),
    [
        (160, 7, 160, 4, 1, 1, ""),  # stage 4: rows of 7 = 4 + 2 + 1 lanes
        (272, 14, 272, 4, 1, 1, "add_relu"),  # stage 3 with its residual: 8 + 4 + 2
        (96, 13, 64, 4, 1, 1, "leaky"),  # odd rows, a consumer that does not vectorise
        (24, 56, 112, 4, 1, 1, ""),  # the first unit: 6 channels a group, rows of 3 x 16 + 8
        (48, 19, 48, 3, 3, 2, "add_relu"),  # padded 3x3 stride 2, rows of 10 = 8 + 2
    ],
)
def test_grouped_conv_matches_onnxruntime(
    c: int, size: int, f: int, groups: int, kernel: int, stride: int, tail: str
) -> None:
    _check(c, size, f, groups, kernel, stride, tail)
