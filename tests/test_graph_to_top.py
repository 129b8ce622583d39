"""convert-graph-to-top, checked numerically: each model runs on the graph reference
interpreter before the pass and on the top interpreter after it, on the same inputs.

Tolerances: rtol 1e-4, atol 1e-5. Both sides compute in float32 but sum in different
orders (e.g. a folded batch norm rounds x * scale' + bias' instead of
(x - mean) / sqrt(var + eps) * scale + b; tensordot vs the reference's conv kernel);
errors of a few ulps per op stay far below these bounds, and a wrong index, pad or
broadcast is far above them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp

from lamina.errors import UnsupportedOpError
from lamina.lowering.graph_to_top import ConvertGraphToTopPass, graph_to_top_patterns
from lamina.parser.onnx import import_onnx
from lamina.runtime.reference import run_reference
from lamina.runtime.reference.top_interpreter import run_top
from lamina.tools.models import light_model

RTOL, ATOL = 1e-4, 1e-5
F: int = TensorProto.FLOAT
I64: int = TensorProto.INT64
BOOL: int = TensorProto.BOOL


def lower(module: ModuleOp) -> ModuleOp:
    ConvertGraphToTopPass().apply(Context(), module)
    module.verify()
    leftover = {op.name for op in module.walk() if op.name.startswith("graph.")}
    assert leftover <= {"graph.constant", "graph.none"}, leftover
    return module


def check(model: onnx.ModelProto, inputs: Sequence[np.ndarray]) -> ModuleOp:
    """Runs `model` before and after the lowering and compares every output."""
    module = import_onnx(model)
    expected = run_reference(module, list(inputs))
    got = run_top(lower(module), list(inputs))
    assert len(got) == len(expected)
    for e, g in zip(expected, got, strict=True):
        assert g.shape == e.shape and g.dtype == e.dtype
        np.testing.assert_allclose(g, e, rtol=RTOL, atol=ATOL, equal_nan=True)
    return module


def model(
    nodes: list[onnx.NodeProto],
    inputs: dict[str, tuple[list[int], int]],
    outputs: dict[str, tuple[None, int]],
    weights: dict[str, np.ndarray] | None = None,
    opset: int = 23,
) -> onnx.ModelProto:
    """A model whose output types onnx shape inference fills in (the checker wants them)."""
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, t, s) for n, (s, t) in inputs.items()],
        [helper.make_empty_tensor_value_info(n) for n in outputs],
        [numpy_helper.from_array(a, n) for n, a in (weights or {}).items()],
    )
    built = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    return onnx.shape_inference.infer_shapes(built)


def rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def i64(*values: int) -> np.ndarray:
    return np.array(values, np.int64)


def unary(op: str, shape: list[int], **attrs: Any) -> tuple[onnx.ModelProto, list[np.ndarray]]:
    node = helper.make_node(op, ["x"], ["y"], **attrs)
    return model([node], {"x": (shape, F)}, {"y": (None, F)}), [rand(*shape)]


# --- elementwise -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op, attrs",
    [
        ("Relu", {}),
        ("Sigmoid", {}),
        ("Tanh", {}),
        ("Exp", {}),
        ("Neg", {}),
        ("Abs", {}),
        ("Erf", {}),
        ("Floor", {}),
        ("Sign", {}),
        ("Softplus", {}),
        ("Softsign", {}),
        ("LeakyRelu", {"alpha": 0.2}),
        ("Elu", {"alpha": 0.7}),
        ("Selu", {}),
        ("Celu", {"alpha": 2.0}),
        ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}),
        ("HardSwish", {}),
        ("Gelu", {}),
        ("Gelu", {"approximate": "tanh"}),
        ("Mish", {}),
    ],
)
def test_unary_activation_matches_reference(op: str, attrs: dict[str, Any]) -> None:
    check(*unary(op, [2, 3, 4], **attrs))


def test_log_sqrt_reciprocal_pow_of_positive_values_match_reference() -> None:
    nodes = [
        helper.make_node("Abs", ["x"], ["a"]),
        helper.make_node("Add", ["a", "one"], ["p"]),
        helper.make_node("Log", ["p"], ["log"]),
        helper.make_node("Sqrt", ["p"], ["sqrt"]),
        helper.make_node("Reciprocal", ["p"], ["rec"]),
        helper.make_node("Pow", ["p", "x"], ["pow"]),
    ]
    outputs = {name: (None, F) for name in ("log", "sqrt", "rec", "pow")}
    weights = {"one": np.ones((1,), np.float32)}
    check(model(nodes, {"x": ([3, 4], F)}, outputs, weights), [rand(3, 4)])


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Max", "Min", "Pow"])
def test_binary_op_broadcasts_like_numpy(op: str) -> None:
    node = helper.make_node(op, ["a", "b"], ["y"])
    m = model([node], {"a": ([2, 1, 4], F), "b": ([3, 1], F)}, {"y": (None, F)})
    a, b = rand(2, 1, 4), rand(3, 1, seed=1)
    if op == "Pow":
        a = np.abs(a) + 0.5
    check(m, [a, b])


def test_variadic_sum_mean_max_broadcast() -> None:
    nodes = [
        helper.make_node("Sum", ["a", "b", "c"], ["s"]),
        helper.make_node("Mean", ["a", "b", "c"], ["m"]),
        helper.make_node("Max", ["a", "b", "c"], ["x"]),
    ]
    inputs = {"a": ([2, 3], F), "b": ([3], F), "c": ([2, 1], F)}
    m = model(nodes, inputs, {"s": (None, F), "m": (None, F), "x": (None, F)})
    check(m, [rand(2, 3), rand(3, seed=1), rand(2, 1, seed=2)])


def test_integer_add_div_and_cast_match_reference() -> None:
    nodes = [
        helper.make_node("Cast", ["x"], ["i"], to=TensorProto.INT64),
        helper.make_node("Add", ["i", "k"], ["s"]),
        helper.make_node("Div", ["s", "k"], ["d"]),
        helper.make_node("Cast", ["d"], ["y"], to=TensorProto.FLOAT),
    ]
    m = model(nodes, {"x": ([8], F)}, {"y": (None, F)}, {"k": i64(-3)})
    check(m, [rand(8) * 10])


def test_where_comparisons_and_logic_match_reference() -> None:
    nodes = [
        helper.make_node("Less", ["a", "b"], ["lt"]),
        helper.make_node("GreaterOrEqual", ["a", "zero"], ["ge"]),
        helper.make_node("And", ["lt", "ge"], ["both"]),
        helper.make_node("Not", ["both"], ["neither"]),
        helper.make_node("Where", ["neither", "a", "b"], ["y"]),
        helper.make_node("Equal", ["a", "a"], ["eq"]),
    ]
    outputs = {"y": (None, F), "eq": (None, BOOL)}
    m = model(nodes, {"a": ([3, 4], F), "b": ([4], F)}, outputs, {"zero": np.zeros(1, np.float32)})
    check(m, [rand(3, 4), rand(4, seed=1)])


@pytest.mark.parametrize("bounds", [("lo", "hi"), ("lo", ""), ("", "hi")])
def test_clip_with_optional_bounds(bounds: tuple[str, str]) -> None:
    node = helper.make_node("Clip", ["x", *bounds], ["y"])
    weights = {"lo": np.array(-0.5, np.float32), "hi": np.array(0.25, np.float32)}
    weights = {k: v for k, v in weights.items() if k in bounds}
    check(model([node], {"x": ([2, 5], F)}, {"y": (None, F)}, weights), [rand(2, 5)])


# --- neural-network ops ------------------------------------------------------------------


@pytest.mark.parametrize(
    "attrs",
    [
        {"pads": [1, 0, 2, 1], "strides": [2, 1]},
        {"auto_pad": "SAME_LOWER", "strides": [2, 2], "dilations": [1, 2]},
        {"auto_pad": "SAME_UPPER", "group": 2},
        {"auto_pad": "VALID", "group": 4},
    ],
)
def test_conv_pads_strides_groups_match_reference(attrs: dict[str, Any]) -> None:
    group = int(attrs.get("group", 1))  # type: ignore[arg-type]
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], **attrs)
    weights = {"w": rand(8, 4 // group, 3, 3, seed=1), "b": rand(8, seed=2)}
    check(model([node], {"x": ([2, 4, 9, 8], F)}, {"y": (None, F)}, weights), [rand(2, 4, 9, 8)])


def test_conv_1d_matches_reference() -> None:
    node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[2, 1], strides=[2])
    weights = {"w": rand(5, 3, 4, seed=1)}
    check(model([node], {"x": ([1, 3, 11], F)}, {"y": (None, F)}, weights), [rand(1, 3, 11)])


@pytest.mark.parametrize("constant_parameters", [True, False])
def test_batch_normalization_inference_matches_reference(constant_parameters: bool) -> None:
    node = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3)
    params = {"s": rand(4, seed=1), "b": rand(4, seed=2), "m": rand(4, seed=3)}
    params["v"] = np.abs(rand(4, seed=4)) + 0.5
    inputs = {"x": ([2, 4, 3, 3], F)}
    if constant_parameters:
        m = model([node], inputs, {"y": (None, F)}, params)
        check(m, [rand(2, 4, 3, 3)])
    else:
        inputs |= {name: ([4], F) for name in params}
        m = model([node], inputs, {"y": (None, F)})
        check(m, [rand(2, 4, 3, 3), *params.values()])


@pytest.mark.parametrize(
    "op, attrs",
    [
        ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
        ("MaxPool", {"kernel_shape": [2, 3], "pads": [1, 1, 0, 1], "dilations": [2, 1]}),
        ("MaxPool", {"kernel_shape": [3, 3], "auto_pad": "SAME_UPPER", "strides": [2, 2]}),
        ("AveragePool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}),
        ("AveragePool", {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1}),
        ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
        ("AveragePool", {"kernel_shape": [2, 2], "strides": [2, 2], "pads": [1, 1, 1, 1],
                         "ceil_mode": 1, "count_include_pad": 1}),
        ("GlobalAveragePool", {}),
        ("GlobalMaxPool", {}),
    ],
)  # fmt: skip
def test_pooling_matches_reference(op: str, attrs: dict[str, Any]) -> None:
    check(*unary(op, [1, 3, 8, 8], **attrs))


@pytest.mark.parametrize(
    "attrs, a_shape, b_shape, c_shape",
    [
        ({}, [3, 4], [4, 5], None),
        ({"alpha": 0.5, "beta": 2.0, "transA": 1}, [4, 3], [4, 5], [5]),
        ({"transB": 1}, [3, 4], [5, 4], [3, 1]),
        ({"alpha": 3.0}, [3, 4], [4, 5], [3, 5]),
    ],
)
def test_gemm_matches_reference(
    attrs: dict[str, Any], a_shape: list[int], b_shape: list[int], c_shape: list[int] | None
) -> None:
    names = ["a", "b", "c"] if c_shape else ["a", "b"]
    node = helper.make_node("Gemm", names, ["y"], **attrs)
    weights = {"b": rand(*b_shape, seed=1)}
    if c_shape:
        weights["c"] = rand(*c_shape, seed=2)
    check(model([node], {"a": (a_shape, F)}, {"y": (None, F)}, weights), [rand(*a_shape)])


@pytest.mark.parametrize(
    "a_shape, b_shape",
    [([3, 4], [4, 5]), ([2, 1, 3, 4], [5, 4, 2]), ([4], [2, 4, 3]), ([2, 3, 4], [4])],
)
def test_mat_mul_batches_and_vectors_match_reference(
    a_shape: list[int], b_shape: list[int]
) -> None:
    node = helper.make_node("MatMul", ["a", "b"], ["y"])
    m = model([node], {"a": (a_shape, F), "b": (b_shape, F)}, {"y": (None, F)})
    check(m, [rand(*a_shape), rand(*b_shape, seed=1)])


def test_mlp_of_matmul_add_relu_softmax_matches_reference() -> None:
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"]),
        helper.make_node("Add", ["h", "b1"], ["hb"]),
        helper.make_node("Relu", ["hb"], ["r"]),
        helper.make_node("Gemm", ["r", "w2", "b2"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["y"]),
    ]
    weights = {"w1": rand(16, 32, seed=1), "b1": rand(32, seed=2), "w2": rand(10, 32, seed=3)}
    weights["b2"] = rand(10, seed=4)
    check(model(nodes, {"x": ([4, 16], F)}, {"y": (None, F)}, weights), [rand(4, 16)])


@pytest.mark.parametrize("op, axis", [("Softmax", 1), ("Softmax", -1), ("LogSoftmax", 0)])
def test_softmax_along_axis_matches_reference(op: str, axis: int) -> None:
    check(*unary(op, [3, 4, 5], axis=axis))


@pytest.mark.parametrize("size", [3, 4, 5])
def test_lrn_matches_reference(size: int) -> None:
    check(*unary("LRN", [1, 7, 3, 4], size=size, alpha=1e-2, beta=0.75, bias=2.0))


@pytest.mark.parametrize(
    "op", ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
           "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp"],
)  # fmt: skip
@pytest.mark.parametrize("keepdims", [0, 1])
def test_reductions_match_reference(op: str, keepdims: int) -> None:
    node = helper.make_node(op, ["x", "axes"], ["y"], keepdims=keepdims)
    weights = {"axes": i64(-1, 0)}
    check(model([node], {"x": ([2, 3, 4], F)}, {"y": (None, F)}, weights), [rand(2, 3, 4)])


def test_reduce_without_axes_reduces_everything() -> None:
    check(*unary("ReduceMean", [2, 3, 4], keepdims=0))


# --- data movement ------------------------------------------------------------------------


def test_reshape_flatten_squeeze_unsqueeze_transpose_concat() -> None:
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["r"]),
        helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1, 3]),
        helper.make_node("Flatten", ["t"], ["f"], axis=2),
        helper.make_node("Unsqueeze", ["f", "ax"], ["u"]),
        helper.make_node("Squeeze", ["u", "ax"], ["s"]),
        helper.make_node("Concat", ["s", "s"], ["y"], axis=-1),
    ]
    weights = {"shape": i64(0, 2, -1, 3), "ax": i64(1)}
    check(model(nodes, {"x": ([2, 4, 3, 3], F)}, {"y": (None, F)}, weights), [rand(2, 4, 3, 3)])


def test_identity_and_inference_dropout_are_the_input() -> None:
    nodes = [
        helper.make_node("Identity", ["x"], ["i"]),
        helper.make_node("Dropout", ["i"], ["y"]),
    ]
    check(model(nodes, {"x": ([3], F)}, {"y": (None, F)}), [rand(3)])


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad_modes_match_reference(mode: str) -> None:
    names = ["x", "pads", "v"] if mode == "constant" else ["x", "pads"]
    node = helper.make_node("Pad", names, ["y"], mode=mode)
    weights = {"pads": i64(0, 2, 1, 0, 1, 2)}
    if mode == "constant":
        weights["v"] = np.array(0.5, np.float32)
    check(model([node], {"x": ([2, 4, 5], F)}, {"y": (None, F)}, weights), [rand(2, 4, 5)])


def test_slice_with_negative_step_and_split_match_reference() -> None:
    nodes = [
        helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["s"]),
        helper.make_node("Split", ["x", "split"], ["a", "b"], axis=1),
    ]
    weights = {
        "starts": i64(-1, 1),
        "ends": i64(-100, 100),
        "axes": i64(2, 0),
        "steps": i64(-2, 1),
        "split": i64(1, 3),
    }
    outputs = {"s": (None, F), "a": (None, F), "b": (None, F)}
    check(model(nodes, {"x": ([3, 4, 7], F)}, outputs, weights), [rand(3, 4, 7)])


def test_gather_with_negative_indices_matches_reference() -> None:
    node = helper.make_node("Gather", ["x", "idx"], ["y"], axis=1)
    weights = {"idx": np.array([[0, -1], [2, 1]], np.int64)}
    check(model([node], {"x": ([3, 5], F)}, {"y": (None, F)}, weights), [rand(3, 5)])


def test_shape_constant_of_shape_and_expand_fold_static_shapes() -> None:
    value = helper.make_tensor("v", F, [1], [0.25])
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"]),
        helper.make_node("ConstantOfShape", ["shape"], ["c"], value=value),
        helper.make_node("Add", ["x", "c"], ["y"]),
        helper.make_node("Expand", ["b", "eshape"], ["e"]),
    ]
    inputs = {"x": ([2, 3], F), "b": ([3], F)}
    outputs = {"y": (None, F), "e": (None, F)}
    weights = {"eshape": i64(2, 1, 3)}  # Expand's result is static only for a constant shape
    check(model(nodes, inputs, outputs, weights), [rand(2, 3), rand(3, seed=1)])


# --- whole models -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["squeezenet", "bvlc_alexnet", "shufflenet"])
def test_light_model_matches_reference(name: str) -> None:
    # the logits as a second output: a saturated softmax would hide errors
    onnx_model = light_model(name)
    inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(onnx_model).graph.value_info}
    softmax = next(n for n in onnx_model.graph.node if n.op_type == "Softmax")
    onnx_model.graph.output.append(inferred[softmax.input[0]])
    x = rand(1, 3, 224, 224)
    module = check(onnx_model, [x])
    assert not [op for op in module.walk() if op.name == "graph.conv"]


# --- what is not supported ------------------------------------------------------------------


def test_dynamic_dim_names_the_op_and_its_node() -> None:
    """LRN is lowered at static shapes only (Relu, lowered with dynamic dims, is not the
    error)."""
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="act1"),
        helper.make_node("LRN", ["r"], ["y"], name="norm1", size=3),
    ]
    module = import_onnx(model(nodes, {"x": (["n", 4, 2, 2], F)}, {"y": (None, F)}))  # type: ignore[dict-item]
    with pytest.raises(UnsupportedOpError, match=r"not supported: 'graph.lrn' \(node 'norm1'\)"):
        lower(module)


def test_op_without_lowering_fails_before_rewriting() -> None:
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="act"),
        helper.make_node("Bernoulli", ["r"], ["y"], name="pick"),
    ]
    module = import_onnx(model(nodes, {"x": ([2, 2], F)}, {"y": (None, F)}))
    with pytest.raises(
        UnsupportedOpError, match="'graph.bernoulli' \\(node 'pick'\\): no lowering"
    ):
        lower(module)
    assert any(op.name == "graph.relu" for op in module.walk())


def test_patterns_are_named_lowerings() -> None:
    names = [type(p).__name__ for p in graph_to_top_patterns()]
    assert all(name.endswith("Lowering") for name in names)
    assert "ConvLowering" in names and "GemmLowering" in names
