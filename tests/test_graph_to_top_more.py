"""convert-graph-to-top for the ops added for ONNX conformance (index / loss / integer
ops), checked numerically like tests/test_graph_to_top.py: the graph reference interpreter
before the pass, the top interpreter after it, on the same inputs (rtol 1e-4, atol 1e-5:
float32 on both sides, summed in different orders); a few run through the full compiled
path (JIT) too.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.context import Context

from lamina.compiler import compile as lamina_compile
from lamina.errors import UnsupportedOpError
from lamina.lowering.graph_to_top import refine_result_types
from lamina.parser.onnx import import_onnx
from lamina.rewrites.apply_rules import ApplyRulesPass
from lamina.runtime.reference import run_reference
from lamina.runtime.reference.top_interpreter import run_top
from lamina.tests.test_graph_to_top import I64, F, check, lower, model, rand

U8: int = TensorProto.UINT8
I32: int = TensorProto.INT32


@pytest.mark.parametrize(("op", "last"), [("ArgMax", 0), ("ArgMin", 0), ("ArgMax", 1)])
@pytest.mark.parametrize("keepdims", [0, 1])
def test_arg_reduce_matches_reference(op: str, last: int, keepdims: int):
    x = np.round(rand(3, 5, 4) * 2)  # ties, so select_last_index matters
    node = helper.make_node(op, ["x"], ["y"], axis=1, keepdims=keepdims, select_last_index=last)
    check(model([node], {"x": ([3, 5, 4], F)}, {"y": (None, I64)}), [x])


def test_hardmax_matches_reference():
    node = helper.make_node("Hardmax", ["x"], ["y"], axis=-1)
    check(model([node], {"x": ([2, 3, 6], F)}, {"y": (None, F)}), [rand(2, 3, 6)])


@pytest.mark.parametrize("upper", [0, 1])
def test_trilu_with_k_input_matches_reference(upper: int):
    node = helper.make_node("Trilu", ["x", "k"], ["y"], upper=upper)
    m = model([node], {"x": ([2, 4, 5], F), "k": ([], I64)}, {"y": (None, F)})
    check(m, [rand(2, 4, 5), np.array(-1, np.int64)])


def test_gather_elements_with_negative_indices_matches_reference():
    node = helper.make_node("GatherElements", ["x", "i"], ["y"], axis=1)
    m = model([node], {"x": ([3, 4], F), "i": ([3, 2], I64)}, {"y": (None, F)})
    check(m, [rand(3, 4), np.array([[0, -1], [3, 1], [-4, 2]], np.int64)])


@pytest.mark.parametrize(("exclusive", "reverse"), [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_cumsum_matches_reference(exclusive: int, reverse: int):
    node = helper.make_node("CumSum", ["x", "axis"], ["y"], exclusive=exclusive, reverse=reverse)
    m = model([node], {"x": ([2, 5], F)}, {"y": (None, F)}, {"axis": np.array(1, np.int64)})
    check(m, [rand(2, 5)])


@pytest.mark.parametrize("op", ["LayerNormalization", "RMSNormalization"])
def test_normalizations_match_reference(op: str):
    node = helper.make_node(op, ["x", "s"], ["y"], axis=-2, epsilon=1e-3)
    weights = {"s": rand(3, 4, seed=1)}
    check(model([node], {"x": ([2, 3, 4], F)}, {"y": (None, F)}, weights), [rand(2, 3, 4)])


def test_l2_normalization_matches_reference():
    node = helper.make_node("LpNormalization", ["x"], ["y"], axis=0, p=2)
    x = rand(3, 4)
    x[:, 1] = 0  # a zero norm: 0 out, not nan
    check(model([node], {"x": ([3, 4], F)}, {"y": (None, F)}), [x])


def test_l1_normalization_divides_by_the_sum_of_magnitudes():
    # onnx.reference sums x, not |x|, for p = 1; the operator spec says |x|
    node = helper.make_node("LpNormalization", ["x"], ["y"], axis=0, p=1)
    x = rand(3, 4)
    (got,) = run_top(lower(import_onnx(model([node], {"x": ([3, 4], F)}, {"y": (None, F)}))), [x])
    np.testing.assert_allclose(got, x / np.abs(x).sum(axis=0, keepdims=True), rtol=1e-5)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_nll_loss_with_weights_and_ignore_index_matches_reference(reduction: str):
    node = helper.make_node(
        "NegativeLogLikelihoodLoss", ["x", "t", "w"], ["y"], reduction=reduction, ignore_index=1
    )
    m = model([node], {"x": ([3, 4, 2], F), "t": ([3, 2], I64), "w": ([4], F)}, {"y": (None, F)})
    target = np.array([[0, 1], [3, 2], [1, 0]], np.int64)
    check(m, [rand(3, 4, 2), target, np.abs(rand(4, seed=2))])


def test_softmax_cross_entropy_with_log_prob_matches_reference():
    node = helper.make_node("SoftmaxCrossEntropyLoss", ["x", "t"], ["y", "logp"], reduction="mean")
    m = model([node], {"x": ([3, 5], F), "t": ([3], I32)}, {"y": (None, F), "logp": (None, F)})
    check(m, [rand(3, 5), np.array([4, 0, 2], np.int32)])


@pytest.mark.parametrize("op", ["Add", "Sub", "Div", "Max", "Mod", "Less"])
def test_uint8_binary_ops_match_reference(op: str):
    node = helper.make_node(op, ["a", "b"], ["y"])
    out = TensorProto.BOOL if op == "Less" else U8
    m = model([node], {"a": ([6], U8), "b": ([6], U8)}, {"y": (None, out)})
    a = np.array([200, 3, 255, 0, 17, 128], np.uint8)
    check(m, [a, np.array([7, 250, 2, 9, 17, 1], np.uint8)])


@pytest.mark.parametrize("fmod", [0, 1])
def test_integer_mod_takes_the_sign_onnx_says(fmod: int):
    node = helper.make_node("Mod", ["a", "b"], ["y"], fmod=fmod)
    m = model([node], {"a": ([4], I32), "b": ([4], I32)}, {"y": (None, I32)})
    check(m, [np.array([7, -7, 7, -7], np.int32), np.array([3, 3, -3, -3], np.int32)])


def test_float_fmod_matches_reference():
    node = helper.make_node("Mod", ["a", "b"], ["y"], fmod=1)
    m = model([node], {"a": ([5], F), "b": ([5], F)}, {"y": (None, F)})
    check(m, [rand(5) * 10, np.array([3, -3, 2.5, 1, -0.5], np.float32)])


def test_bit_shift_matches_reference():
    node = helper.make_node("BitShift", ["a", "b"], ["y"], direction="RIGHT")
    m = model([node], {"a": ([3], U8), "b": ([3], U8)}, {"y": (None, U8)})
    check(m, [np.array([255, 16, 3], np.uint8), np.array([1, 4, 0], np.uint8)])


def test_range_of_constants_becomes_a_constant():
    nodes = [
        helper.make_node("Range", ["s", "l", "d"], ["r"]),
        helper.make_node("Add", ["r", "x"], ["y"]),
    ]
    consts = {n: np.array(v, np.float32) for n, v in [("s", 1.0), ("l", 4.0), ("d", 0.5)]}
    check(model(nodes, {"x": ([6], F)}, {"y": (None, F)}, consts), [rand(6)])


def test_range_with_a_computed_delta_is_not_supported():
    node = helper.make_node("Range", ["s", "l", "d"], ["y"])
    consts = {"s": np.array(1.0, np.float32), "l": np.array(4.0, np.float32)}
    m = model([node], {"d": ([], F)}, {"y": (None, F)}, consts)
    with pytest.raises(UnsupportedOpError, match=r"'graph.range' \(node 'y'\): dynamic shape"):
        lower(import_onnx(m))


def test_refine_gives_static_types_after_constant_axes():
    # reduce_mean over axes computed by Range(Shape): import leaves the result unranked
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Size", ["s"], ["r"]),
        helper.make_node("Range", ["one", "r", "one"], ["axes"]),
        helper.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=1),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", F, [2, 3, 4])],
        [helper.make_tensor_value_info("y", F, ["a", "b", "c"])],
        [numpy_helper.from_array(np.array(1, np.int64), "one")],
    )
    module = import_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)]))
    ApplyRulesPass(set="graph-default").apply(Context(), module)
    refine_result_types(module)
    reduce = next(op for op in module.walk() if op.name == "graph.reduce_mean")
    assert str(reduce.results[0].type) == "tensor<2x1x1xf32>"  # imported as tensor<?x?x?xf32>
    x = rand(2, 3, 4)
    (got,) = run_reference(module, [x])
    np.testing.assert_allclose(got, x.mean(axis=(1, 2), keepdims=True), rtol=1e-5)


@pytest.mark.parametrize(
    "attrs",
    [
        {"mode": "nearest", "nearest_mode": "round_prefer_ceil"},
        {"mode": "linear", "coordinate_transformation_mode": "align_corners"},
        {"mode": "cubic", "antialias": 1},
    ],
)
def test_resize_matches_reference(attrs: dict[str, object]):
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], **attrs)  # type: ignore[arg-type]
    scales = {"scales": np.array([1, 1, 0.6, 1.75], np.float32)}
    check(model([node], {"x": ([1, 2, 5, 4], F)}, {"y": (None, F)}, scales), [rand(1, 2, 5, 4)])


def test_resize_crop_with_extrapolation_matches_reference():
    node = helper.make_node(
        "Resize",
        ["x", "roi", "", "sizes"],
        ["y"],
        mode="linear",
        coordinate_transformation_mode="tf_crop_and_resize",
        extrapolation_value=10.0,
    )
    consts = {
        "roi": np.array([0, 0, -0.2, 0.4, 1, 1, 0.6, 1.3], np.float32),
        "sizes": np.array([1, 1, 3, 3], np.int64),
    }
    check(model([node], {"x": ([1, 1, 4, 4], F)}, {"y": (None, F)}, consts), [rand(1, 1, 4, 4)])


def test_attention_gqa_causal_softcap_with_bool_mask_matches_reference():
    node = helper.make_node(
        "Attention", ["q", "k", "v", "m"], ["y"], is_causal=1, softcap=2.0, scale=0.3
    )
    inputs = {"q": ([1, 4, 3, 8], F), "k": ([1, 2, 5, 8], F), "v": ([1, 2, 5, 6], F)}
    m = model([node], {**inputs, "m": ([3, 5], TensorProto.BOOL)}, {"y": (None, F)})
    mask = np.array([[1, 1, 0, 1, 1], [1, 1, 1, 1, 0], [0, 0, 0, 0, 0]], bool)  # a row all masked
    check(m, [rand(1, 4, 3, 8), rand(1, 2, 5, 8, seed=1), rand(1, 2, 5, 6, seed=2), mask])


def test_attention_3d_with_past_and_qk_output_matches_reference():
    node = helper.make_node(
        "Attention",
        ["q", "k", "v", "", "pk", "pv"],
        ["y", "present_k", "present_v", "qk"],
        q_num_heads=2,
        kv_num_heads=2,
        qk_matmul_output_mode=3,
    )
    shapes = {
        "q": ([2, 3, 8], F),
        "k": ([2, 4, 8], F),
        "v": ([2, 4, 8], F),
        "pk": ([2, 2, 2, 4], F),
        "pv": ([2, 2, 2, 4], F),
    }
    outputs = {n: (None, F) for n in ["y", "present_k", "present_v", "qk"]}
    arrays = [rand(*shape, seed=i) for i, (shape, _) in enumerate(shapes.values())]
    check(model([node], shapes, outputs), arrays)


def test_compiled_path_runs_argmax_and_uint8_div():
    nodes = [
        helper.make_node("ArgMax", ["x"], ["i"], axis=0, keepdims=0),
        helper.make_node("Div", ["a", "b"], ["q"]),
    ]
    m = model(
        nodes,
        {"x": ([4, 3], F), "a": ([3], U8), "b": ([3], U8)},
        {"i": (None, I64), "q": (None, U8)},
    )
    x = rand(4, 3)
    a, b = np.array([250, 9, 7], np.uint8), np.array([3, 2, 250], np.uint8)
    index, quotient = lamina_compile(m, opt_level=1)(x, a, b)
    np.testing.assert_array_equal(index, x.argmax(axis=0))
    np.testing.assert_array_equal(quotient, a // b)
