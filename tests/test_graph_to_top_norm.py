"""Normalisations over computed statistics, LpPool and deterministic Dropout
(lowering/graph_to_top_norm.py, graph_to_top_shape.py), compiled for the host and compared
with onnxruntime (BatchNormalization in training mode: with numpy's population statistics,
which ONNX specifies and onnxruntime's inference build does not run). Tolerance at the
output's scale: max|err| <= 1e-3 max|ref| + 1e-4 (f32 means summed in another order)."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import lamina
from lamina.errors import UnsupportedOpError
from lamina.tests.test_graph_to_top import I64, F, model, rand
from lamina.tests.test_graph_to_top_math import assert_at_scale, compiled_matches_onnxruntime

BOOL: int = TensorProto.BOOL
U8: int = TensorProto.UINT8


def with_params(
    op: str, x_shape: list[int], params: dict[str, np.ndarray], **attrs: Any
) -> onnx.ModelProto:
    node = helper.make_node(op, ["x", *params], ["y"], **attrs)
    return model([node], {"x": (x_shape, F)}, {"y": (None, F)}, params)


def same_shape(
    op: str, shape: list[int], params: dict[str, np.ndarray], **attrs: Any
) -> onnx.ModelProto:
    """`op`(x, params...) whose output, of x's shape, is typed by hand: onnx's shape
    inference fails on the function bodies of MeanVarianceNormalization without `axes` and
    of GroupNormalization (a default attribute they refer to)."""
    node = helper.make_node(op, ["x", *params], ["y"], **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", F, shape)],
                              [helper.make_tensor_value_info("y", F, shape)],
                              [numpy_helper.from_array(a, n) for n, a in params.items()])  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])


def test_instance_norm_matches_onnxruntime():
    params = {"s": rand(3, seed=1), "b": rand(3, seed=2)}
    m = with_params("InstanceNormalization", [2, 3, 4, 5], params, epsilon=1e-3)
    compiled_matches_onnxruntime(m, {"x": rand(2, 3, 4, 5) * 3 + 1})


@pytest.mark.parametrize("groups", [2, 3])
def test_group_norm_with_per_channel_scales_matches_onnxruntime(groups: int):
    params = {"s": rand(6, seed=1), "b": rand(6, seed=2)}
    m = same_shape("GroupNormalization", [2, 6, 3, 4], params, num_groups=groups)
    compiled_matches_onnxruntime(m, {"x": rand(2, 6, 3, 4) * 2 - 1})


@pytest.mark.parametrize("axes", [None, [1, 2]])
def test_mean_variance_normalization_matches_onnxruntime(axes: list[int] | None):
    attrs: dict[str, Any] = {} if axes is None else {"axes": axes}
    m = same_shape("MeanVarianceNormalization", [2, 3, 4, 2], {}, **attrs)
    compiled_matches_onnxruntime(m, {"x": rand(2, 3, 4, 2) + 5})


def test_batch_norm_in_training_mode_uses_batch_statistics():
    x = rand(4, 3, 2, 5) * 2 + 1
    scale, bias, mean, var = rand(3, seed=1), rand(3, seed=2), rand(3, seed=3), rand(3, seed=4) ** 2
    names = ["x", "s", "b", "m", "v"]
    node = helper.make_node("BatchNormalization", names, ["y", "rm", "rv"],
                            training_mode=1, momentum=0.8, epsilon=1e-3)  # fmt: skip
    inputs = {
        n: (list(a.shape), F) for n, a in zip(names, [x, scale, bias, mean, var], strict=True)
    }
    m = model([node], inputs, {"y": (None, F), "rm": (None, F), "rv": (None, F)})
    y, running_mean, running_var = lamina.compile(m)(x, scale, bias, mean, var)
    batch_mean, batch_var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    c = (1, 3, 1, 1)
    normal = (x - batch_mean.reshape(c)) / np.sqrt(batch_var.reshape(c) + 1e-3)
    assert_at_scale(np.asarray(y), normal * scale.reshape(c) + bias.reshape(c))
    assert_at_scale(np.asarray(running_mean), mean * 0.8 + batch_mean * 0.2)
    assert_at_scale(np.asarray(running_var), var * 0.8 + batch_var * 0.2)


@pytest.mark.parametrize(
    "attrs",
    [
        {"kernel_shape": [2, 2], "p": 2},
        {"kernel_shape": [3, 3], "p": 3, "pads": [1, 1, 1, 1], "strides": [2, 2]},
        {"kernel_shape": [2, 2], "p": 1, "dilations": [2, 1]},
        {"kernel_shape": [2, 3], "p": 2, "auto_pad": "SAME_UPPER"},
    ],
)
def test_lp_pool_matches_onnxruntime(attrs: dict[str, Any]):
    m = with_params("LpPool", [1, 2, 7, 6], {}, **attrs)
    compiled_matches_onnxruntime(m, {"x": rand(1, 2, 7, 6)})


def _dropout(ratio: float, training: bool) -> onnx.ModelProto:
    node = helper.make_node("Dropout", ["x", "r", "t"], ["y", "mask"])
    weights = {"r": np.array(ratio, np.float32), "t": np.array(training)}
    return model([node], {"x": ([3, 4], F)}, {"y": (None, F), "mask": (None, BOOL)}, weights)


@pytest.mark.parametrize(("ratio", "training"), [(0.0, True), (0.5, False)])
def test_dropout_that_keeps_everything_passes_x_and_a_true_mask(ratio: float, training: bool):
    x = rand(3, 4)
    y, mask = lamina.compile(_dropout(ratio, training))(x)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(mask, np.ones((3, 4), np.bool_))


def test_random_dropout_is_not_supported():
    with pytest.raises(UnsupportedOpError, match="random"):
        lamina.compile(_dropout(0.5, True))


@pytest.mark.parametrize(
    "attrs",
    [
        {"kernel_shape": [2, 2], "strides": [2, 2]},
        {"kernel_shape": [2, 2]},  # overlapping windows (the reference kernel's indices differ)
        {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [2, 2], "storage_order": 1},
        {"kernel_shape": [2, 2], "dilations": [2, 2], "ceil_mode": 1, "strides": [2, 2]},
    ],
)
def test_max_pool_indices_match_onnxruntime(attrs: dict[str, Any]):
    node = helper.make_node("MaxPool", ["x"], ["y", "i"], **attrs)
    m = model([node], {"x": ([2, 3, 7, 6], F)}, {"y": (None, F), "i": (None, I64)})
    compiled_matches_onnxruntime(m, {"x": rand(2, 3, 7, 6)})


@pytest.mark.parametrize("output_shape", [None, [1, 2, 5, 7]])
def test_max_unpool_puts_each_value_back_at_its_index(output_shape: list[int] | None):
    pool = helper.make_node("MaxPool", ["x"], ["p", "i"], kernel_shape=[2, 2], strides=[2, 2])
    inputs = ["p", "i"] + ([] if output_shape is None else ["shape"])
    unpool = helper.make_node("MaxUnpool", inputs, ["y"], kernel_shape=[2, 2], strides=[2, 2])
    weights = {} if output_shape is None else {"shape": np.array(output_shape, np.int64)}
    graph = helper.make_graph(  # typed by hand: onnx infers no shape from output_shape
        [pool, unpool], "g", [helper.make_tensor_value_info("x", F, [1, 2, 4, 6])],
        [helper.make_tensor_value_info("y", F, output_shape or [1, 2, 4, 6])],
        [numpy_helper.from_array(a, n) for n, a in weights.items()])  # fmt: skip
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    compiled_matches_onnxruntime(m, {"x": rand(1, 2, 4, 6)})


def test_max_pool_of_uint8_matches_onnxruntime():
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    m = model([node], {"x": ([1, 2, 5, 5], U8)}, {"y": (None, U8)})
    x = np.random.default_rng(0).integers(0, 256, (1, 2, 5, 5), dtype=np.uint8)
    compiled_matches_onnxruntime(m, {"x": x})
