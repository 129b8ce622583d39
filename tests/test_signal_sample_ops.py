"""DFT, STFT, GridSample and AffineGrid through convert-graph-to-top and the compiled path,
checked like tests/test_index_ops.py: the top interpreter against the graph reference,
the JIT-compiled model against onnxruntime at the output's scale.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from onnx import helper

from lamina.tests.test_graph_to_top import I64, F, model, rand
from lamina.tests.test_index_ops import both, matches_onnxruntime


@pytest.mark.parametrize(
    ("inverse", "onesided", "parts", "length"),
    [(0, 0, 1, None), (0, 1, 1, 6), (1, 0, 2, None), (1, 1, 2, None), (0, 0, 2, 12)],
)
def test_dft_matches_onnxruntime(inverse: int, onesided: int, parts: int, length: int | None):
    x = rand(2, 8, 3, parts)
    weights = {"axis": np.array(1, np.int64)}
    inputs = ["x", "", "axis"]
    if length is not None:
        weights["n"] = np.array(length, np.int64)
        inputs[1] = "n"
    node = helper.make_node("DFT", inputs, ["y"], inverse=inverse, onesided=onesided)
    both(model([node], {"x": ([2, 8, 3, parts], F)}, {"y": (None, F)}, weights), [x])


@pytest.mark.parametrize("with_window", [False, True])
def test_stft_matches_onnxruntime(with_window: bool):
    signal = rand(1, 64, 1)
    weights = {"step": np.array(6, np.int64), "length": np.array(16, np.int64)}
    shapes = {"s": ([1, 64, 1], F)}
    arrays = [signal]
    if with_window:
        shapes["w"] = ([16], F)
        arrays.append(np.hanning(16).astype(np.float32))
    inputs = ["s", "step", "w" if with_window else "", "length"]
    node = helper.make_node("STFT", inputs, ["y"], onesided=1)
    both(model([node], shapes, {"y": (None, F)}, weights), arrays)


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
@pytest.mark.parametrize("padding", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align", [0, 1])
def test_grid_sample_outside_the_input_matches_onnxruntime(mode: str, padding: str, align: int):
    x = rand(2, 3, 4, 5)
    grid = (rand(2, 3, 6, 2, seed=1) * 0.9).clip(-1.7, 1.7)  # some points outside [-1, 1]
    node = helper.make_node("GridSample", ["x", "g"], ["y"], mode=mode, padding_mode=padding,
                            align_corners=align)  # fmt: skip
    m = model([node], {"x": ([2, 3, 4, 5], F), "g": ([2, 3, 6, 2], F)}, {"y": (None, F)})
    if mode == "cubic" and padding != "zeros":
        # the onnx reference pads the point before taking taps, onnxruntime and PyTorch
        # pad each tap; lamina follows onnxruntime
        matches_onnxruntime(m, [x, grid])
    else:
        both(m, [x, grid])


def test_volumetric_grid_sample_matches_onnxruntime():
    node = helper.make_node("GridSample", ["x", "g"], ["y"], mode="linear")
    m = model([node], {"x": ([1, 2, 3, 4, 5], F), "g": ([1, 2, 3, 2, 3], F)}, {"y": (None, F)})
    both(m, [rand(1, 2, 3, 4, 5), rand(1, 2, 3, 2, 3, seed=1)])


@pytest.mark.parametrize("size", [[2, 3, 4, 5], [2, 1, 3, 4, 2]])
@pytest.mark.parametrize("align", [0, 1])
def test_affine_grid_matches_onnxruntime(size: list[int], align: int):
    d = len(size) - 2
    node = helper.make_node("AffineGrid", ["theta", "size"], ["grid"], align_corners=align)
    weights = {"size": np.array(size, np.int64)}
    m = model([node], {"theta": ([2, d, d + 1], F)}, {"grid": (None, F)}, weights)
    both(m, [rand(2, d, d + 1)])


def test_affine_grid_feeds_grid_sample():
    nodes = [
        helper.make_node("AffineGrid", ["theta", "size"], ["grid"]),
        helper.make_node("GridSample", ["x", "grid"], ["y"], mode="linear"),
    ]
    weights = {"size": np.array([1, 2, 6, 5], np.int64)}
    m = model(nodes, {"theta": ([1, 2, 3], F), "x": ([1, 2, 4, 4], F)}, {"y": (None, F)}, weights)
    theta = np.array([[[0.8, -0.3, 0.1], [0.2, 1.1, -0.2]]], np.float32)
    both(m, [theta, rand(1, 2, 4, 4)])


def test_dft_of_int_length_input_rejects_a_computed_axis():
    from lamina.compiler import compile as lamina_compile
    from lamina.errors import UnsupportedOpError

    node = helper.make_node("DFT", ["x", "", "axis"], ["y"])
    m = model([node], {"x": ([2, 8, 1], F), "axis": ([], I64)}, {"y": (None, F)})
    with pytest.raises(UnsupportedOpError, match="axis must be a constant"):
        lamina_compile(m)


@pytest.mark.parametrize(
    ("mode", "grams", "skips", "weights"),
    [("TF", (1, 2), 2, None), ("IDF", (2, 2), 0, [0.5, 2.0, 3.0, 1.5, 0.25]),
     ("TFIDF", (1, 3), 1, [0.5, 2.0, 3.0, 1.5, 0.25])],
)  # fmt: skip
def test_tfidf_vectorizer_matches_onnxruntime(
    mode: str, grams: tuple[int, int], skips: int, weights: list[float] | None
):
    x = np.array([[1, 2, 3, 2, 3, 1, 2, 1], [3, 3, 1, 2, 1, 2, 3, 2]], np.int64)
    extra: dict[str, Any] = {"weights": weights} if weights else {}
    node = helper.make_node(
        "TfIdfVectorizer", ["x"], ["y"], mode=mode, min_gram_length=grams[0],
        max_gram_length=grams[1], max_skip_count=skips, ngram_counts=[0, 2, 6],
        ngram_indexes=[0, 1, 2, 3, 4], pool_int64s=[1, 2, 2, 3, 1, 2, 3, 2, 1], **extra,
    )  # fmt: skip
    both(model([node], {"x": ([2, 8], I64)}, {"y": (None, F)}), [x])


@pytest.mark.parametrize(
    ("mode", "transform"),
    [("avg", "half_pixel"), ("avg", "output_half_pixel"), ("max", "half_pixel")],
)
def test_roi_align_matches_onnxruntime(mode: str, transform: str):
    x = rand(2, 3, 8, 9)
    rois = np.array([[0.5, 1.0, 6.0, 7.5], [-2.0, 2.0, 3.0, 9.5], [4.0, 0.0, 8.5, 3.0]], np.float32)
    batch = np.array([1, 0, 1], np.int64)
    node = helper.make_node("RoiAlign", ["x", "rois", "b"], ["y"], mode=mode, output_height=3,
                            output_width=2, sampling_ratio=2, spatial_scale=0.9,
                            coordinate_transformation_mode=transform)  # fmt: skip
    shapes = {"x": ([2, 3, 8, 9], F), "rois": ([3, 4], F), "b": ([3], I64)}
    m = model([node], shapes, {"y": (None, F)}, opset=16)  # onnxruntime has RoiAlign-16
    both(m, [x, rois, batch])


@pytest.mark.parametrize(
    ("group", "offset_group", "mask"), [(1, 1, False), (2, 2, True), (1, 2, True)]
)
def test_deform_conv_matches_onnxruntime(group: int, offset_group: int, mask: bool):
    x, w = rand(1, 4, 7, 6), rand(6, 4 // group, 3, 2, seed=1)
    offset = rand(1, offset_group * 2 * 6, 3, 4, seed=2) * 1.5  # some taps leave the input
    inputs = ["x", "w", "offset", "b"] + (["mask"] if mask else [])
    shapes = {"x": ([1, 4, 7, 6], F), "w": ([6, 4 // group, 3, 2], F),
              "offset": ([1, offset_group * 12, 3, 4], F), "b": ([6], F)}  # fmt: skip
    arrays = [x, w, offset, rand(6, seed=3)]
    if mask:
        shapes["mask"] = ([1, offset_group * 6, 3, 4], F)
        arrays.append(np.abs(rand(1, offset_group * 6, 3, 4, seed=4)))
    node = helper.make_node("DeformConv", inputs, ["y"], kernel_shape=[3, 2], strides=[2, 1],
                            pads=[1, 0, 0, 0], dilations=[1, 2], group=group,
                            offset_group=offset_group)  # fmt: skip
    both(model([node], shapes, {"y": (None, F)}), arrays)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "nearest"])
def test_opset16_grid_sample_mode_names_match_onnxruntime(mode: str):
    node = helper.make_node("GridSample", ["x", "g"], ["y"], mode=mode, padding_mode="border")
    shapes = {"x": ([1, 2, 4, 5], F), "g": ([1, 3, 3, 2], F)}
    m = model([node], shapes, {"y": (None, F)}, opset=16)
    matches_onnxruntime(m, [rand(1, 2, 4, 5), rand(1, 3, 3, 2, seed=1)])
