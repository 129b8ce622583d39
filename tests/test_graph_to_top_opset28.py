"""convert-graph-to-top for the definitions new or changed since opset 23 (BitShift and Mod
at opset 28, Attention at 25), checked like tests/test_graph_to_top.py: the graph
reference interpreter (onnx.reference at the dialect's opset, since onnxruntime lacks
some of these definitions) before the pass, the top interpreter after it, and the
compiled path (JIT) against the reference. Integer results must match exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from lamina.compiler import compile as lamina_compile
from lamina.parser.onnx import import_onnx
from lamina.runtime.reference import run_reference
from lamina.tests.test_graph_to_top import BOOL, I64, F, check, model, rand

SHIFT_TYPES: dict[int, type[np.integer]] = {
    TensorProto.INT8: np.int8,
    TensorProto.INT32: np.int32,
    TensorProto.INT64: np.int64,
    TensorProto.UINT8: np.uint8,
}


def check_compiled(m, inputs: list[np.ndarray]) -> None:
    """The compiled path computes what the graph reference interpreter computes."""
    expected = run_reference(import_onnx(m), inputs)
    got = lamina_compile(m, opt_level=1)(*inputs)
    for e, g in zip(expected, got, strict=True):
        assert g.dtype == e.dtype and g.shape == e.shape
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5, equal_nan=True)
        np.testing.assert_array_equal(np.signbit(g), np.signbit(e))


@pytest.mark.parametrize("direction", ["LEFT", "RIGHT"])
@pytest.mark.parametrize("onnx_type", list(SHIFT_TYPES))
def test_bit_shift_out_of_range_and_negative_amounts_match_reference(
    direction: str, onnx_type: int
):
    dtype = SHIFT_TYPES[onnx_type]
    info = np.iinfo(dtype)
    width = 8 * np.dtype(dtype).itemsize
    x = np.array([1, 5, info.max, info.min, info.min + 3, 0, 7, info.max - 1], dtype)
    y = np.array([0, 1, width - 1, width, width + 3, 1, 2, 3], dtype)
    if info.min < 0:
        y[5:7] = [-1, -width]
    node = helper.make_node("BitShift", ["x", "y"], ["z"], direction=direction)
    m = model(
        [node], {"x": ([8], onnx_type), "y": ([8], onnx_type)}, {"z": (None, onnx_type)}, opset=28
    )
    check(m, [x, y])
    check_compiled(m, [x, y])


@pytest.mark.parametrize("fmod", [0, 1])
def test_float_mod_signs_zeros_and_infinities_match_reference(fmod: int):
    inf = np.inf
    x = np.array([5.5, -5.5, 5.5, -5.5, 0.0, -0.0, 3.0, -3.0, inf, 2.0, 4.0, 1e-3], np.float32)
    y = np.array([2.0, 2.0, -2.0, -2.0, -3.0, 3.0, inf, inf, 2.0, 0.0, 2.0, -7.0], np.float32)
    node = helper.make_node("Mod", ["x", "y"], ["z"], fmod=fmod)
    m = model([node], {"x": ([12], F), "y": ([12], F)}, {"z": (None, F)}, opset=28)
    check(m, [x, y])
    check_compiled(m, [x, y])


@pytest.mark.parametrize(
    ("left", "right", "causal"), [(2, 0, 1), (1, 1, 0), (-1, 2, 0), (0, -1, 0)]
)
def test_attention_sliding_window_with_past_matches_reference(left: int, right: int, causal: int):
    shapes = {
        "q": ([1, 2, 3, 4], F),
        "k": ([1, 2, 3, 4], F),
        "v": ([1, 2, 3, 4], F),
        "": ([], F),
        "pk": ([1, 2, 2, 4], F),
        "pv": ([1, 2, 2, 4], F),
    }
    shapes_without_mask = {k: v for k, v in shapes.items() if k}
    node = helper.make_node(
        "Attention",
        list(shapes),
        ["y"],
        left_window_size=left,
        right_window_size=right,
        is_causal=causal,
    )
    m = model([node], shapes_without_mask, {"y": (None, F)}, opset=25)
    inputs = [rand(*s, seed=i) for i, (s, _) in enumerate(shapes_without_mask.values())]
    check(m, inputs)
    check_compiled(m, inputs)


def test_attention_with_nonpad_kv_seqlen_and_a_short_bool_mask_matches_reference():
    # an external cache of 6 keys of which batch 0 holds 4, batch 1 all 6 (ends padded)
    inputs = {
        "q": ([2, 2, 2, 4], F),
        "k": ([2, 2, 6, 4], F),
        "v": ([2, 2, 6, 4], F),
        "m": ([2, 5], BOOL),
        "": ([], F),
        "_": ([], F),
        "n": ([2], I64),
    }
    node = helper.make_node("Attention", ["q", "k", "v", "m", "", "", "n"], ["y"], is_causal=1)
    shapes = {k: v for k, v in inputs.items() if k not in ("", "_")}
    m = model([node], shapes, {"y": (None, F)}, opset=25)
    mask = np.array([[True, False, True, True, True], [True, True, True, False, True]])
    values = [rand(2, 2, 2, 4), rand(2, 2, 6, 4, seed=1), rand(2, 2, 6, 4, seed=2), mask]
    values.append(np.array([4, 6], np.int64))
    check(m, values)
    check_compiled(m, values)


@pytest.mark.parametrize(("exclusive", "reverse"), [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_cum_prod_matches_reference(exclusive: int, reverse: int):
    node = helper.make_node("CumProd", ["x", "axis"], ["y"], exclusive=exclusive, reverse=reverse)
    m = model([node], {"x": ([3, 4], F)}, {"y": (None, F)}, {"axis": np.array(-1, np.int64)}, 28)
    x = rand(3, 4)
    check(m, [x])
    check_compiled(m, [x])


def test_swish_and_swiglu_with_alpha_match_reference():
    nodes = [
        helper.make_node("Swish", ["a"], ["s"], alpha=1.5),
        helper.make_node("SwiGLU", ["a", "b"], ["y"], alpha=0.7),
    ]
    m = model(
        nodes, {"a": ([2, 6], F), "b": ([2, 6], F)}, {"s": (None, F), "y": (None, F)}, None, 28
    )
    inputs = [rand(2, 6) * 4, rand(2, 6, seed=1)]
    check(m, inputs)
    check_compiled(m, inputs)


@pytest.mark.parametrize(
    ("source", "to", "values"),
    [
        (np.float32, TensorProto.INT32, [1.5, -0.0, np.inf, np.nan]),
        (np.uint32, TensorProto.INT32, [0, 1, 2**31, 2**32 - 1]),
        (np.bool_, TensorProto.UINT8, [True, False, True, False]),
        (np.int64, TensorProto.DOUBLE, [1, -1, 2**62, 0]),
    ],
)
def test_bit_cast_keeps_the_bits(source: type, to: int, values: list[object]):
    x = np.array(values, source)
    onnx_type = helper.np_dtype_to_tensor_dtype(x.dtype)
    node = helper.make_node("BitCast", ["x"], ["y"], to=to)
    m = model([node], {"x": ([4], onnx_type)}, {"y": (None, to)}, opset=28)
    [got] = lamina_compile(m, opt_level=1)(x)
    want = x.view(helper.tensor_dtype_to_np_dtype(to))
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))


@pytest.mark.parametrize(("interleaved", "rotary_dim"), [(0, 0), (1, 0), (0, 4), (1, 4)])
def test_rotary_embedding_3d_with_position_ids_matches_reference(interleaved: int, rotary_dim: int):
    half = (rotary_dim or 6) // 2
    node = helper.make_node(
        "RotaryEmbedding",
        ["x", "cos", "sin", "pos"],
        ["y"],
        interleaved=interleaved,
        rotary_embedding_dim=rotary_dim,
        num_heads=2,
    )
    shapes = {"x": ([2, 3, 12], F), "cos": ([5, half], F), "sin": ([5, half], F)}
    shapes["pos"] = ([2, 3], I64)
    m = model([node], shapes, {"y": (None, F)}, opset=23)
    angles = rand(5, half, seed=1)
    positions = np.array([[0, 1, 2], [4, 3, 0]], np.int64)
    inputs = [rand(2, 3, 12), np.cos(angles), np.sin(angles), positions]
    check(m, inputs)
    check_compiled(m, inputs)


def test_rotary_embedding_4d_without_position_ids_matches_reference():
    node = helper.make_node("RotaryEmbedding", ["x", "cos", "sin"], ["y"])
    shapes = {"x": ([1, 2, 3, 4], F), "cos": ([1, 3, 2], F), "sin": ([1, 3, 2], F)}
    m = model([node], shapes, {"y": (None, F)}, opset=23)
    inputs = [rand(1, 2, 3, 4), rand(1, 3, 2, seed=1), rand(1, 3, 2, seed=2)]
    check(m, inputs)
    check_compiled(m, inputs)


@pytest.mark.parametrize("mode", ["linear", "circular"])
def test_tensor_scatter_writes_each_batch_at_its_index(mode: str):
    node = helper.make_node("TensorScatter", ["past", "new", "at"], ["present"], mode=mode)
    shapes = {"past": ([2, 3, 5, 2], F), "new": ([2, 3, 2, 2], F), "at": ([2], I64)}
    m = model([node], shapes, {"present": (None, F)}, opset=24)
    at = np.array([1, 4 if mode == "circular" else 3], np.int64)
    inputs = [rand(2, 3, 5, 2), rand(2, 3, 2, 2, seed=1), at]
    check(m, inputs)
    check_compiled(m, inputs)


@pytest.mark.parametrize(
    ("activation", "with_past", "k"), [("none", False, 4), ("silu", True, 4), ("silu", True, 1)]
)
def test_causal_conv_with_state_and_bias_matches_reference(
    activation: str, with_past: bool, k: int
):
    names = ["x", "w", "bias", "past" if with_past else ""]
    node = helper.make_node("CausalConvWithState", names, ["y", "state"], activation=activation)
    shapes = {"x": ([2, 3, 5], F), "w": ([3, 1, k], F), "bias": ([3], F)}
    if with_past:  # k = 1 keeps an empty state
        shapes["past"] = ([2, 3, k - 1], F)
    m = model([node], shapes, {"y": (None, F), "state": (None, F)}, opset=27)
    inputs = [rand(*s, seed=i) for i, (s, _) in enumerate(shapes.values())]
    check(m, inputs)
    check_compiled(m, inputs)


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
@pytest.mark.parametrize("op_type", ["SpaceToDepth", "DepthToSpace"])
def test_space_depth_rearrangements_match_reference(op_type: str, mode: str):
    node = helper.make_node(op_type, ["x"], ["y"], blocksize=2, mode=mode)
    m = model([node], {"x": ([1, 8, 4, 6], F)}, {"y": (None, F)}, opset=28)
    x = rand(1, 8, 4, 6)
    check(m, [x])
    check_compiled(m, [x])


@pytest.mark.parametrize(
    ("rule", "decay_last", "beta_last"),
    [("linear", 0, 0), ("gated", 8, 0), ("delta", 0, 1), ("gated_delta", 2, 2)],
)
def test_linear_attention_gqa_with_past_state_matches_reference(
    rule: str, decay_last: int, beta_last: int
):
    # 4 query heads over 2 key / value heads, d_k = 4, d_v = 3, three tokens
    shapes = {"q": ([1, 3, 16], F), "k": ([1, 3, 8], F), "v": ([1, 3, 6], F)}
    shapes["past"] = ([1, 2, 4, 3], F)
    names = ["q", "k", "v", "past", "", ""]
    if decay_last:
        shapes["decay"], names[4] = ([1, 3, decay_last], F), "decay"
    if beta_last:
        shapes["beta"], names[5] = ([1, 3, beta_last], F), "beta"
    node = helper.make_node(
        "LinearAttention",
        names,
        ["y", "state"],
        q_num_heads=4,
        kv_num_heads=2,
        update_rule=rule,
    )
    m = model([node], shapes, {"y": (None, F), "state": (None, F)}, opset=27)
    inputs = [rand(*s, seed=i) * 0.5 for i, (s, _) in enumerate(shapes.values())]
    check(m, inputs)
    check_compiled(m, inputs)
