"""The `graph-layout-nhwc` rules: NCHW Conv / pools -> NHWC layout ops with the transposes
pushed to the edges and cancelled. Each model runs in the reference interpreter before and
after the rewrite on the same inputs; a small CNN also compiles end to end against
onnxruntime."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import BlockArgument

import lamina
from lamina.context import make_context
from lamina.errors import LaminaError
from lamina.lowering.graph_to_top import ConvertGraphToTopPass
from lamina.parser.onnx import import_onnx
from lamina.rewrites.apply_rules import ApplyRulesPass
from lamina.runtime.reference import run_reference
from lamina.tools.models import light_model, random_inputs, with_logits

RNG = np.random.default_rng(0)

# The NHWC ops run the same ONNX kernels on transposed copies, so only the transposed
# constant weights and the summation order inside the kernels could differ: a few ulps.
RTOL, ATOL = 1e-5, 1e-6


def _const(name: str, array: np.ndarray) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(array, name))


def _random(*dims: int) -> np.ndarray:
    return RNG.standard_normal(dims).astype(np.float32)


def _model(nodes: list[onnx.NodeProto], inputs: dict[str, list[int]]) -> onnx.ModelProto:
    """A float model with output `y`, typed by ONNX shape inference."""
    values = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()]
    probe = helper.make_graph(nodes, "g", values, [helper.make_empty_tensor_value_info("y")])
    opsets = [helper.make_opsetid("", 17)]
    inferred = onnx.shape_inference.infer_shapes(helper.make_model(probe, opset_imports=opsets))
    out = next(v for v in inferred.graph.value_info if v.name == "y")
    return helper.make_model(helper.make_graph(nodes, "g", values, [out]), opset_imports=opsets)


def _to_nhwc(module: ModuleOp) -> ModuleOp:
    ApplyRulesPass(set="graph-layout-nhwc").apply(make_context(), module)
    module.verify()
    return module


def _ops(module: ModuleOp) -> Counter[str]:
    return Counter(op.name for op in module.walk())


def _transposes_at_edges(module: ModuleOp) -> bool:
    """Every transpose reads a function argument or feeds the return (and nothing else)."""
    for op in module.walk():
        if op.name == "graph.transpose":
            from_argument = isinstance(op.operands[0], BlockArgument)
            to_return = all(use.operation.name == "func.return" for use in op.results[0].uses)
            if not (from_argument or to_return):
                return False
    return True


def _check_layout_keeps_numbers(model: onnx.ModelProto) -> ModuleOp:
    inputs = {i.name: _random(*(d.dim_value for d in i.type.tensor_type.shape.dim))
              for i in model.graph.input}  # fmt: skip
    before = run_reference(import_onnx(model), inputs)
    module = _to_nhwc(import_onnx(model))
    after = run_reference(module, inputs)
    for b, a in zip(before, after, strict=True):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    return module


def _conv(
    x: str, w: str, y: str, cin: int, cout: int, k: int, group: int = 1, **attrs: Any
) -> list[onnx.NodeProto]:
    """A Conv with a random constant cout x cin/group x k x k filter `w`."""
    return [_const(w, _random(cout, cin // group, k, k)),
            helper.make_node("Conv", [x, w], [y], group=group, **attrs)]  # fmt: skip


def test_conv_relu_chain_keeps_numbers_and_two_transposes():
    nodes = [
        *_conv("x", "w1", "c1", 3, 8, 3, pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        *_conv("r1", "w2", "c2", 8, 8, 3, strides=[2, 2], group=2),
        helper.make_node("Sigmoid", ["c2"], ["s2"]),
        *_conv("s2", "w3", "y", 8, 4, 1),
    ]
    ops = _ops(_check_layout_keeps_numbers(_model(nodes, {"x": [1, 3, 9, 9]})))
    assert ops["graph.nhwc_conv"] == 3 and ops["graph.conv"] == 0
    assert ops["graph.transpose"] == 2


def test_pools_keep_numbers():
    nodes = [
        helper.make_node("MaxPool", ["x"], ["m"], kernel_shape=[3, 3], strides=[2, 2],
                         pads=[1, 1, 0, 0], ceil_mode=1),
        helper.make_node("AveragePool", ["m"], ["a"], kernel_shape=[2, 2], pads=[1, 1, 1, 1],
                         count_include_pad=1),
        helper.make_node("AveragePool", ["a"], ["b"], kernel_shape=[2, 2], pads=[0, 0, 1, 1]),
        helper.make_node("GlobalAveragePool", ["b"], ["y"]),
    ]  # fmt: skip
    ops = _ops(_check_layout_keeps_numbers(_model(nodes, {"x": [2, 4, 10, 10]})))
    assert ops["graph.nhwc_max_pool"] == 1 and ops["graph.nhwc_average_pool"] == 2
    assert ops["graph.nhwc_global_average_pool"] == 1 and ops["graph.transpose"] == 2


def test_add_mul_and_concat_commute_with_transposes():
    nodes = [
        *_conv("x", "w1", "a", 4, 6, 1),
        *_conv("x", "w2", "b", 4, 6, 3, pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["a", "b"], ["s"]),
        _const("k", _random(6, 1, 1)),
        helper.make_node("Mul", ["s", "k"], ["m"]),
        _const("j", _random(5)),
        helper.make_node("Add", ["j", "m"], ["n"]),
        helper.make_node("Concat", ["n", "a"], ["cat"], axis=1),
        helper.make_node("LeakyRelu", ["cat"], ["l"], alpha=0.2),
        *_conv("l", "w3", "y", 12, 3, 1),
    ]
    module = _check_layout_keeps_numbers(_model(nodes, {"x": [1, 4, 5, 5]}))
    # x feeds two convs: each gets its own transpose of x (no CSE in the rules)
    assert _transposes_at_edges(module) and _ops(module)["graph.transpose"] == 3
    concat = next(op for op in _to_nhwc(import_onnx(_model(nodes, {"x": [1, 4, 5, 5]}))).walk()
                  if op.name == "graph.concat")  # fmt: skip
    assert str(concat.properties["axis"]).startswith("3")


def test_conv_with_filter_input_transposes_the_filter():
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]), helper.make_node("Relu", ["c"], ["y"])]
    module = _check_layout_keeps_numbers(_model(nodes, {"x": [1, 3, 6, 6], "w": [5, 3, 3, 3]}))
    # x -> nhwc, w -> hwcf, result -> nchw
    assert _ops(module)["graph.transpose"] == 3


def test_light_squeezenet_keeps_numbers_with_transposes_only_at_the_edges():
    model = with_logits(light_model("squeezenet"))
    inputs = random_inputs(model)
    before = run_reference(import_onnx(model), inputs)
    # before graph-default: its activation fusion makes graph.fused_conv, which these rules
    # do not rewrite
    ops = _ops(module := _to_nhwc(import_onnx(model)))
    after = run_reference(module, inputs)
    # 26 convs: the transposed weights round differently in no place, but the kernels'
    # summation order over 26 layers can move the logits by a few ulps of their scale.
    for b, a in zip(before, after, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * float(np.abs(b).max()))
    assert ops["graph.conv"] == 0 and ops["graph.nhwc_conv"] > 0
    assert ops["graph.transpose"] == 2


def test_small_cnn_compiled_after_layout_rules_matches_onnxruntime():
    nodes = [
        *_conv("x", "w1", "c1", 3, 8, 3, pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        *_conv("p1", "w2", "e1", 8, 8, 1),
        *_conv("p1", "w3", "e3", 8, 8, 3, group=2, pads=[1, 1, 1, 1]),
        helper.make_node("Concat", ["e1", "e3"], ["cat"], axis=1),
        helper.make_node("Relu", ["cat"], ["r2"]),
        helper.make_node("AveragePool", ["r2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["p2"], ["y"]),
    ]
    model = _model(nodes, {"x": [1, 3, 16, 16]})
    x = _random(1, 3, 16, 16)
    module = _to_nhwc(import_onnx(model))
    assert _ops(module)["graph.transpose"] == 2
    (got,) = lamina.compile(module)(x)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = session.run(None, {"x": x})
    # f32 sums of <= 144 terms, in another order than onnxruntime's
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-4, atol=1e-5)


def test_unsupported_auto_pad_of_nhwc_conv_names_the_op():
    nodes = [*_conv("x", "w", "y", 3, 4, 3, auto_pad="SAME_UPPER")]
    module = _to_nhwc(import_onnx(_model(nodes, {"x": [1, 3, 6, 6]})))
    conv = next(op for op in module.walk() if op.name == "graph.nhwc_conv")
    conv.properties["auto_pad"] = StringAttr("WRONG")
    with pytest.raises(LaminaError, match="not supported: 'graph.nhwc_conv'.*auto_pad = WRONG"):
        ConvertGraphToTopPass().apply(make_context(), module)
