"""ConvTranspose and Col2Im on the compiled path (lowering/graph_to_top_conv_transpose.py:
a phase conv2d + an interleaving generic), through the host JIT against onnxruntime on the
same seeded inputs, over the attribute space: 1-D / 2-D, strides, dilations, asymmetric
pads, output_padding, output_shape, auto_pad, groups (depthwise too), bias; constant and
computed filters.

Tolerance: f32 sums of at most a few hundred products in another order than onnxruntime's,
at the output's scale: max|err| <= 1e-3 * max|ref| + 1e-4.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from lamina.compiler import compile as lamina_compile
from lamina.errors import UnsupportedOpError
from lamina.tests.test_graph_to_top import check
from lamina.tests.test_graph_to_top import model as reference_model
from lamina.tests.test_graph_to_top import rand as reference_rand

F: int = TensorProto.FLOAT


def close_at_scale(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape and got.dtype == want.dtype
    bound = 1e-3 * float(np.abs(want).max()) + 1e-4
    assert float(np.abs(got - want).max()) <= bound


def conv_transpose_model(
    x_shape: list[int],
    w: np.ndarray,
    bias: np.ndarray | None,
    *,
    weights_as_input: bool = False,
    **attrs: Any,
) -> onnx.ModelProto:
    """One ConvTranspose node; the filter (and bias) are initializers unless
    `weights_as_input` (then the filter is a graph input computed at run time)."""
    names = ["x", "w"] + ([] if bias is None else ["b"])
    inputs = [helper.make_tensor_value_info("x", F, x_shape)]
    inits = [] if bias is None else [numpy_helper.from_array(bias, "b")]
    if weights_as_input:
        inputs.append(helper.make_tensor_value_info("w", F, list(w.shape)))
    else:
        inits.append(numpy_helper.from_array(w, "w"))
    node = helper.make_node("ConvTranspose", names, ["y"], **attrs)
    graph = helper.make_graph(
        [node], "conv_transpose", inputs, [helper.make_tensor_value_info("y", F, None)], inits
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return onnx.shape_inference.infer_shapes(model)


def check_against_onnxruntime(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> None:
    (want,) = ort.InferenceSession(model.SerializeToString()).run(None, feeds)
    compiled = lamina_compile(model, opt_level=1)
    (got,) = compiled(*feeds.values())
    close_at_scale(np.asarray(got), np.asarray(want))


CASES_2D: list[tuple[str, list[int], list[int], dict[str, Any]]] = [
    ("k2_s2_ppocr_head", [1, 8, 5, 6], [8, 4, 2, 2], {"strides": [2, 2]}),
    ("k3_s1", [1, 3, 5, 5], [3, 2, 3, 3], {}),
    ("k3_s2_pads", [1, 3, 5, 4], [3, 5, 3, 3], {"strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ("asymmetric_pads", [1, 2, 4, 5], [2, 3, 3, 4], {"strides": [3, 2], "pads": [0, 2, 1, 1]}),
    ("dilations", [1, 2, 4, 4], [2, 3, 3, 2], {"dilations": [2, 3], "strides": [2, 1]}),
    ("dilation_stride_coprime", [1, 2, 5, 4], [2, 2, 3, 3], {"dilations": [2, 2], "strides": [3, 2]}),
    ("kernel_smaller_than_stride", [1, 2, 3, 3], [2, 2, 1, 2], {"strides": [3, 3]}),
    ("output_padding", [1, 2, 3, 3], [2, 2, 3, 3], {"strides": [3, 2], "output_padding": [1, 1]}),
    ("output_shape_crops", [1, 2, 3, 3], [2, 2, 3, 3], {"strides": [3, 2], "output_shape": [8, 6]}),
    ("output_shape_extends", [1, 2, 3, 3], [2, 2, 3, 3], {"strides": [3, 2], "output_shape": [10, 8]}),
    ("same_upper", [1, 2, 3, 4], [2, 2, 3, 3], {"strides": [2, 2], "auto_pad": "SAME_UPPER"}),
    ("same_lower", [1, 2, 3, 4], [2, 2, 4, 3], {"strides": [2, 2], "auto_pad": "SAME_LOWER"}),
    ("valid", [1, 2, 3, 4], [2, 2, 3, 3], {"strides": [2, 2], "auto_pad": "VALID"}),
    ("group_2", [2, 4, 3, 3], [4, 3, 3, 3], {"group": 2, "strides": [2, 2]}),
    ("depthwise", [1, 6, 4, 4], [6, 1, 3, 3], {"group": 6, "strides": [2, 2], "pads": [1, 1, 0, 0]}),
]  # fmt: skip


@pytest.mark.parametrize(
    "attrs",
    [{"strides": [2]}, {"strides": [3], "pads": [1, 2], "dilations": [2]}, {"output_padding": [1], "strides": [2]}],
    ids=["s2", "pads_dilations", "output_padding"],
)  # fmt: skip
def test_conv_transpose_1d_matches_onnxruntime(attrs: dict[str, Any]):
    rng = np.random.default_rng(3)
    w = rng.standard_normal((3, 2, 3)).astype(np.float32)
    b = rng.standard_normal(2).astype(np.float32)
    x = rng.standard_normal((2, 3, 7)).astype(np.float32)
    check_against_onnxruntime(conv_transpose_model([2, 3, 7], w, b, **attrs), {"x": x})


def test_conv_transpose_with_computed_filter_matches_onnxruntime():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((4, 3, 3, 2)).astype(np.float32)
    x = rng.standard_normal((1, 4, 4, 5)).astype(np.float32)
    model = conv_transpose_model(
        [1, 4, 4, 5], w, None, weights_as_input=True, strides=[2, 3], group=2, pads=[1, 0, 0, 1]
    )
    check_against_onnxruntime(model, {"x": x, "w": w})


def test_conv_transpose_large_enough_for_the_packed_gemm_matches_onnxruntime():
    # 32 -> 16 channels, k2 s2: the phase conv is a 1x1 conv with 64 filters (the GEMM path)
    rng = np.random.default_rng(7)
    w = (rng.standard_normal((32, 16, 2, 2)) * 0.2).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    x = rng.standard_normal((1, 32, 12, 10)).astype(np.float32)
    check_against_onnxruntime(conv_transpose_model([1, 32, 12, 10], w, b, strides=[2, 2]), {"x": x})


CASES_3D: list[tuple[str, list[int], list[int], dict[str, Any]]] = [
    ("plain", [1, 2, 3, 4, 3], [2, 3, 2, 3, 2], {}),
    ("strides_pads", [1, 2, 3, 3, 4], [2, 2, 3, 3, 3], {"strides": [2, 2, 1], "pads": [1, 0, 1, 0, 1, 1]}),
    ("dilations_output_padding", [2, 2, 3, 3, 3], [2, 2, 2, 2, 2], {"dilations": [2, 1, 2], "strides": [3, 2, 2], "output_padding": [1, 1, 0]}),
    ("group_2", [1, 4, 2, 3, 3], [4, 2, 2, 2, 2], {"group": 2, "strides": [2, 2, 2]}),
]  # fmt: skip


def random_cases(
    cases: list[tuple[str, list[int], list[int], dict[str, Any]]],
    variants: list[tuple[bool, bool]],
    seed_offset: int,
) -> list[Any]:
    """Each of `cases` once per (with_bias, weights_as_input) of `variants`, its inputs drawn
    from a generator seeded by the length of its name plus `seed_offset`."""
    return [
        pytest.param(
            x_shape,
            w_shape,
            attrs,
            with_bias,
            weights_as_input,
            len(name) + seed_offset,
            id=f"{name}-{'bias' if with_bias else 'no_bias'}-"
            f"{'filter_input' if weights_as_input else 'filter_constant'}",
        )
        for name, x_shape, w_shape, attrs in cases
        for with_bias, weights_as_input in variants
    ]


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "attrs", "with_bias", "weights_as_input", "seed"),
    random_cases(CASES_2D, [(False, False), (True, False)], 0)
    + random_cases(CASES_3D, [(True, False), (True, True)], 100),
)
def test_conv_transpose_2d_and_3d_match_onnxruntime(
    x_shape: list[int],
    w_shape: list[int],
    attrs: dict[str, Any],
    with_bias: bool,
    weights_as_input: bool,
    seed: int,
):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(w_shape).astype(np.float32)
    groups = attrs.get("group", 1)
    bias = rng.standard_normal(w_shape[1] * groups).astype(np.float32) if with_bias else None
    x = rng.standard_normal(x_shape).astype(np.float32)
    model = conv_transpose_model(x_shape, w, bias, weights_as_input=weights_as_input, **attrs)
    check_against_onnxruntime(model, {"x": x, "w": w} if weights_as_input else {"x": x})


def test_4d_conv_transpose_is_reported_unsupported():
    w = np.ones((1, 1, 2, 2, 2, 2), np.float32)
    model = conv_transpose_model([1, 1, 3, 3, 3, 3], w, None)
    with pytest.raises(UnsupportedOpError, match="4-D ConvTranspose"):
        lamina_compile(model)


def col2im_model(
    x_shape: list[int], image: list[int], block: list[int], **attrs: Any
) -> onnx.ModelProto:
    inits = [
        numpy_helper.from_array(np.array(image, np.int64), "image"),
        numpy_helper.from_array(np.array(block, np.int64), "block"),
    ]
    node = helper.make_node("Col2Im", ["x", "image", "block"], ["y"], **attrs)
    graph = helper.make_graph(
        [node],
        "col2im",
        [helper.make_tensor_value_info("x", F, x_shape)],
        [helper.make_tensor_value_info("y", F, None)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    return onnx.shape_inference.infer_shapes(model)


@pytest.mark.parametrize(
    ("x_shape", "image", "block", "attrs"),
    [
        ([1, 4, 12], [4, 5], [2, 2], {}),
        ([2, 18, 6], [5, 6], [3, 3], {"strides": [2, 2], "pads": [1, 0, 0, 1]}),
        ([1, 8, 4], [6, 5], [2, 2], {"dilations": [2, 3], "strides": [3, 1]}),
        ([1, 6, 3], [7], [3], {"strides": [2], "pads": [1, 0]}),
        ([1, 16, 18], [4, 5, 4], [2, 2, 2], {"strides": [2, 2, 1], "pads": [0, 1, 0, 1, 0, 0]}),
    ],
    ids=["plain", "strides_pads", "dilations", "1d", "3d"],
)
def test_col2im_matches_onnxruntime(
    x_shape: list[int], image: list[int], block: list[int], attrs: dict[str, Any]
):
    x = np.random.default_rng(9).standard_normal(x_shape).astype(np.float32)
    check_against_onnxruntime(col2im_model(x_shape, image, block, **attrs), {"x": x})


@pytest.mark.parametrize(
    "attrs",
    [{"strides": [2, 2]}, {"strides": [3, 2], "pads": [1, 0, 0, 2], "dilations": [1, 2]},
     {"strides": [2, 1], "output_padding": [1, 0]}],
    ids=["k2_s2", "pads_dilations", "output_padding"],
)  # fmt: skip
def test_lowering_keeps_the_graph_reference_semantics(attrs: dict[str, Any]):
    # the graph reference interpreter before convert-graph-to-top, the top one after
    # (groups only against onnxruntime: onnx.reference's grouped ConvTranspose fails)
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], **attrs)
    weights = {
        "w": reference_rand(4, 3, 3, 3, seed=1),
        "b": reference_rand(3, seed=2),
    }
    check(
        reference_model([node], {"x": ([1, 4, 3, 4], F)}, {"y": (None, F)}, weights),
        [reference_rand(1, 4, 3, 4)],
    )
