"""Depthwise convs and padded pools on the phase planes of small planes (ShuffleNet's last
stages, lowering/top_to_loop_depthwise.py `fill_planes`: the rows and columns that read X
decided at compile time) against onnxruntime: stride 1 and 2, odd and even sizes,
asymmetric padding, padding wider than the stride, average (padding not counted) and max
(a NaN in a window wins)."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnxruntime
import pytest
from onnx import helper

from lamina.compiler import compile as lamina_compile
from lamina.tests.test_graph_to_top import F, model, rand


def _check(node: Any, x_shape: list[int], weights: dict[str, np.ndarray], exact: bool) -> None:
    m = model([node], {"x": (x_shape, F)}, {"y": (None, F)}, weights)
    x = rand(*x_shape)
    (ort_y,) = onnxruntime.InferenceSession(m.SerializeToString()).run(None, {"x": x})
    expected = np.asarray(ort_y)
    (got,) = lamina_compile(m, "host", threads=1)(x)
    if exact:
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("c", "size", "stride", "pads"),
    [
        (16, 7, 1, [1, 1, 1, 1]),  # ShuffleNet stage 4
        (8, 14, 2, [1, 1, 1, 1]),  # stage 4's downsampling
        (4, 9, 2, [0, 2, 1, 0]),  # asymmetric: no padding at the top, two columns left
        (3, 5, 3, [2, 2, 2, 2]),  # stride 3, padding wider than a tap reaches
    ],
)
def test_depthwise_on_small_planes_matches_onnxruntime(
    c: int, size: int, stride: int, pads: list[int]
) -> None:
    w = rand(c, 1, 3, 3, seed=1)
    node = helper.make_node(
        "Conv", ["x", "w"], ["y"], group=c, kernel_shape=[3, 3], strides=[stride] * 2, pads=pads
    )
    _check(node, [1, c, size, size], {"w": w}, exact=False)


@pytest.mark.parametrize(("op", "size"), [("AveragePool", 14), ("MaxPool", 13), ("MaxPool", 8)])
def test_padded_pool_on_small_planes_matches_onnxruntime(op: str, size: int) -> None:
    node = helper.make_node(
        op, ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]
    )
    _check(node, [2, 5, size, size], {}, exact=op == "MaxPool")


def test_a_nan_in_a_padded_max_pool_window_wins() -> None:
    x = rand(1, 2, 14, 14)
    x[0, 0, 0, 5] = np.nan  # padded row -1 above: in output row 0, columns 2 and 3
    node = helper.make_node(
        "MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]
    )
    m = model([node], {"x": ([1, 2, 14, 14], F)}, {"y": (None, F)})
    (got,) = lamina_compile(m, "host", threads=1)(x)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))
    np.testing.assert_array_equal(got, windows[:, :, ::2, ::2].max(axis=(4, 5)))
    assert np.isnan(got[0, 0, 0, 2:4]).all()


@pytest.mark.parametrize(
    ("op", "shape", "axes"),
    [
        ("GlobalAveragePool", [1, 5, 13, 13], None),  # SqueezeNet's: rows of 8 + 4 + 1 lanes
        ("GlobalAveragePool", [2, 3, 7, 7], None),  # ShuffleNet's, batch 2
        ("ReduceMean", [2, 3, 20], [1, 2]),  # rows of one vector + 4
        ("ReduceSum", [3, 64], [-1]),  # four whole vectors, no other reduced dim
    ],
)
def test_sums_of_short_rows_match_onnxruntime(op: str, shape: list[int], axes: list[int] | None):
    if axes is None:
        node, weights = helper.make_node(op, ["x"], ["y"]), {}
    else:
        node = helper.make_node(op, ["x", "axes"], ["y"], keepdims=0)
        weights = {"axes": np.array(axes, np.int64)}
    _check(node, shape, weights, exact=False)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "pads", "include_pad"),
    [
        (14, 3, 2, [1, 1, 1, 1], 0),  # ShuffleNet's: rows of 7, column 0 cut by the padding
        (13, 3, 2, [0, 2, 1, 0], 0),  # asymmetric: two padding columns left, none right
        (40, 3, 2, [1, 1, 1, 1], 1),  # rows of 20 = one vector + 4, padding counted
        (9, 5, 1, [2, 2, 2, 2], 0),  # a window wider than the row's unpadded part
    ],
)
def test_average_pool_rows_match_onnxruntime(
    size: int, kernel: int, stride: int, pads: list[int], include_pad: int
) -> None:
    node = helper.make_node(
        "AveragePool",
        ["x"],
        ["y"],
        kernel_shape=[kernel] * 2,
        strides=[stride] * 2,
        pads=pads,
        count_include_pad=include_pad,
    )
    _check(node, [1, 3, size, size], {}, exact=False)
