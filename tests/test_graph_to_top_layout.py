"""The layout / data-movement lowerings (lowering/graph_to_top_layout.py) and the signal
windows, compiled for the host and compared with onnxruntime: data movement is exact, so
outputs must be equal (windows: at the output's scale, 1e-3 max|ref| + 1e-4)."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import lamina
from lamina.errors import UnsupportedOpError
from lamina.tests.test_graph_to_top import I64, F, model, rand
from lamina.tests.test_graph_to_top_math import assert_at_scale, onnxruntime_outputs

BOOL: int = TensorProto.BOOL


def compiled_equals_onnxruntime(
    m: onnx.ModelProto, feeds: dict[str, np.ndarray], constants: dict[str, np.ndarray]
) -> None:
    """`constants` are fed to onnxruntime and are initializers of the compiled model."""
    compiled = lamina.compile(m)
    assert compiled.stats.reads_inputs
    want = onnxruntime_outputs(with_inputs(m, constants), {**feeds, **constants})
    for g, w in zip(compiled(**feeds), want, strict=True):
        np.testing.assert_array_equal(np.asarray(g), w)


def with_inputs(m: onnx.ModelProto, constants: dict[str, np.ndarray]) -> onnx.ModelProto:
    """`m` with the initializers `constants` turned back into graph inputs."""
    copy = onnx.ModelProto()
    copy.CopyFrom(m)
    kept = [t for t in copy.graph.initializer if t.name not in constants]
    del copy.graph.initializer[:]
    copy.graph.initializer.extend(kept)
    for name, value in constants.items():
        elem = helper.np_dtype_to_tensor_dtype(value.dtype)
        copy.graph.input.append(helper.make_tensor_value_info(name, elem, value.shape))
    return copy


def node_model(
    op: str,
    x_shape: list[int],
    constants: dict[str, np.ndarray] | None = None,
    extra: dict[str, tuple[list[int], int]] | None = None,
    out: int = F,
    **attrs: Any,
) -> onnx.ModelProto:
    names = ["x", *(extra or {}), *(constants or {})]
    node = helper.make_node(op, names, ["y"], **attrs)
    inputs = {"x": (x_shape, F), **(extra or {})}
    return model([node], inputs, {"y": (None, out)}, constants)


@pytest.mark.parametrize(("op", "mode"), [("DepthToSpace", "DCR"), ("DepthToSpace", "CRD"),
                                          ("SpaceToDepth", "DCR")])  # fmt: skip
def test_depth_and_space_moves_match_onnxruntime(op: str, mode: str):
    shape = [2, 8, 3, 5] if op == "DepthToSpace" else [2, 3, 6, 4]
    attrs = {"blocksize": 2, **({"mode": mode} if op == "DepthToSpace" else {})}
    compiled_equals_onnxruntime(node_model(op, shape, **attrs), {"x": rand(*shape)}, {})


@pytest.mark.parametrize("repeats", [[2, 1, 3], [1, 1, 1], [3, 2, 1]])
def test_tile_matches_onnxruntime(repeats: list[int]):
    constants = {"r": np.array(repeats, np.int64)}
    m = node_model("Tile", [2, 3, 4], constants)
    compiled_equals_onnxruntime(m, {"x": rand(2, 3, 4)}, constants)


@pytest.mark.parametrize(("target", "axes"), [([5, 2, 6], None), ([7, 3], [0, -1])])
def test_center_crop_pad_crops_and_pads_around_the_centre(target: list[int], axes: Any):
    constants = {"s": np.array(target, np.int64)}
    m = node_model("CenterCropPad", [4, 5, 3], constants, **({"axes": axes} if axes else {}))
    compiled_equals_onnxruntime(m, {"x": rand(4, 5, 3)}, constants)


@pytest.mark.parametrize("axis", [None, 0, -1])
def test_compress_with_a_constant_condition_matches_onnxruntime(axis: int | None):
    condition = np.array([True, False, True] + ([False] * 9 if axis is None else []))
    constants = {"c": condition}
    attrs: dict[str, Any] = {} if axis is None else {"axis": axis}
    m = node_model("Compress", [3, 4], constants, **attrs)
    compiled_equals_onnxruntime(m, {"x": rand(3, 4)}, constants)


def test_compress_with_a_computed_condition_is_not_supported():
    m = node_model("Compress", [3, 4], extra={"c": ([3], BOOL)}, axis=0)
    with pytest.raises(UnsupportedOpError, match="condition"):
        lamina.compile(m)


@pytest.mark.parametrize(("batch_axis", "time_axis"), [(1, 0), (0, 1)])
def test_reverse_sequence_reverses_each_prefix(batch_axis: int, time_axis: int):
    shape = [4, 3, 2] if time_axis == 0 else [3, 4, 2]
    lens = np.array([4, 1, 3], np.int64)
    m = node_model("ReverseSequence", shape, extra={"lens": ([3], I64)},
                   batch_axis=batch_axis, time_axis=time_axis)  # fmt: skip
    compiled_equals_onnxruntime(m, {"x": rand(*shape), "lens": lens}, {})


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_one_hot_with_negative_and_out_of_range_indices_matches_onnxruntime(axis: int):
    indices = np.array([[0, -1, 4], [2, 7, -5]], np.int64)
    constants = {"depth": np.array(5, np.int64)}
    node = helper.make_node("OneHot", ["x", "depth", "v"], ["y"], axis=axis)
    m = model([node], {"x": ([2, 3], I64), "v": ([2], F)}, {"y": (None, F)}, constants)
    values = np.array([-2.0, 3.0], np.float32)
    compiled_equals_onnxruntime(m, {"x": indices, "v": values}, constants)


def test_eye_like_is_a_constant_of_the_input_shape():
    m = node_model("EyeLike", [3, 5], k=1)
    (got,) = lamina.compile(m)(rand(3, 5))
    np.testing.assert_array_equal(got, np.eye(3, 5, 1, dtype=np.float32))


@pytest.mark.parametrize("op", ["HannWindow", "HammingWindow", "BlackmanWindow"])
@pytest.mark.parametrize("periodic", [0, 1])
def test_windows_of_a_constant_size_match_onnxruntime(op: str, periodic: int):
    node = helper.make_node(op, ["n"], ["y"], periodic=periodic)
    size = {"n": np.array(10, np.int64)}
    m = model([node], {}, {"y": (None, F)}, size)
    (got,) = lamina.compile(m)()
    (want,) = onnxruntime_outputs(with_inputs(m, size), size)
    assert_at_scale(np.asarray(got), want)


@pytest.mark.parametrize("value_shape", [[], [1]])
def test_pad_with_a_computed_constant_value_fills_the_pads_with_it(value_shape: list[int]):
    constants = {"pads": np.array([1, 0, 2, 3], np.int64)}
    node = helper.make_node("Pad", ["x", "pads", "v"], ["y"], mode="constant")
    m = model([node], {"x": ([2, 3], F), "v": (value_shape, F)}, {"y": (None, F)}, constants)
    value = np.full(value_shape, -7.5, np.float32)
    compiled_equals_onnxruntime(m, {"x": rand(2, 3), "v": value}, constants)


@pytest.mark.parametrize("pads", [[1, 0, 2, 3], [2, 4, 0, 1]])
def test_pad_wrap_matches_onnxruntime(pads: list[int]):
    constants = {"pads": np.array(pads, np.int64)}
    m = node_model("Pad", [3, 4], constants, mode="wrap")
    compiled_equals_onnxruntime(m, {"x": rand(3, 4)}, constants)
