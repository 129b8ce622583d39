"""Max pools whose windows all lie inside X, read straight from X a vector of output
columns at a time (lowering/top_to_loop_row_pool.py), equal to onnxruntime element for
element: SqueezeNet's 3x3 stride-2 pools (the last block overlapping the one before, a tap
whose paired loads would pass the row's end), stride 1, an even kernel, batch 2, ceil mode
whose last window still fits; a NaN in a window wins as numpy's max says."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnxruntime
import pytest
from onnx import helper

from lamina.compiler import compile as lamina_compile
from lamina.compiler import lower_model
from lamina.targets import load_device
from lamina.tests.test_graph_to_top import F, model, rand


def _max_pool(x_shape: list[int], **attrs: Any):
    node = helper.make_node("MaxPool", ["x"], ["y"], **attrs)
    return model([node], {"x": (x_shape, F)}, {"y": (None, F)})


@pytest.mark.parametrize(
    ("x_shape", "attrs"),
    [
        ([1, 16, 27, 27], {"kernel_shape": [3, 3], "strides": [2, 2]}),  # SqueezeNet, 8 lanes
        ([1, 3, 55, 55], {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
        ([2, 3, 9, 9], {"kernel_shape": [2, 2], "strides": [2, 2]}),  # even kernel, 4 lanes
        ([1, 5, 19, 20], {"kernel_shape": [3, 2], "strides": [1, 1]}),  # stride 1, 16 lanes
        ([1, 4, 33, 40], {"kernel_shape": [5, 5], "strides": [3, 2]}),  # row stride 3
    ],
)
def test_max_pool_read_straight_from_x_equals_onnxruntime(
    x_shape: list[int], attrs: dict[str, Any]
) -> None:
    m = _max_pool(x_shape, **attrs)
    text = str(lower_model(m, load_device("host")).module)
    assert "loop.vload" in text and "lamina.arena_size = 0 " in text, "no phase planes"
    assert ("vector.shuffle" in text) == (attrs["strides"][1] == 2)
    x = rand(*x_shape)
    (expected,) = onnxruntime.InferenceSession(m.SerializeToString()).run(None, {"x": x})
    (got,) = lamina_compile(m, "host", threads=1)(x)
    np.testing.assert_array_equal(got, expected)


def test_a_nan_in_the_window_wins() -> None:
    x = rand(1, 2, 27, 27)
    x[0, 1, 4, 7] = np.nan  # in the windows of output rows 1, 2 and columns 3
    (got,) = lamina_compile(_max_pool([1, 2, 27, 27], kernel_shape=[3, 3], strides=[2, 2]))(x)
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(2, 3))
    np.testing.assert_array_equal(got, windows[:, :, ::2, ::2].max(axis=(4, 5)))
    assert np.isnan(got[0, 1, 1:3, 3]).all()
