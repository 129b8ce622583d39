"""Activation fusion (rewrites/graph/fuse_activation.rw): graph.fused_conv / graph.fused_gemm
compute what the Conv / Gemm followed by its activation computes, in the reference
interpreter and compiled, and the default rule set fuses them on whole models."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import ModuleOp

import lamina
from lamina.context import make_context
from lamina.parser.onnx import import_onnx
from lamina.rewrites.apply_rules import ApplyRulesPass
from lamina.runtime.reference import run_reference
from lamina.tools.models import light_model, random_inputs, with_logits

RNG = np.random.default_rng(0)

ACTIVATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "relu": ("Relu", {}),
    "sigmoid": ("Sigmoid", {}),
    "tanh": ("Tanh", {}),
    "leaky_relu": ("LeakyRelu", {"alpha": 0.3}),
    "hard_sigmoid": ("HardSigmoid", {"alpha": 0.25, "beta": 0.4}),
    "clip": ("Clip", {}),
}
"""fused activation name -> (ONNX op, attributes the test model gives it)."""


def _random(*dims: int) -> np.ndarray:
    return RNG.standard_normal(dims).astype(np.float32)


def _const(name: str, array: np.ndarray) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(array, name))


def _activation_nodes(op_type: str, attrs: dict[str, Any], x: str) -> list[onnx.NodeProto]:
    """`y = op_type(x)`; Clip gets constant bounds (-0.5, 0.5) so it clips both sides."""
    if op_type != "Clip":
        return [helper.make_node(op_type, [x], ["y"], **attrs)]
    lo, hi = np.array(-0.5, np.float32), np.array(0.5, np.float32)
    return [_const("lo", lo), _const("hi", hi), helper.make_node("Clip", [x, "lo", "hi"], ["y"])]


def _model(nodes: list[onnx.NodeProto], inputs: dict[str, list[int]]) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "fused",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return onnx.shape_inference.infer_shapes(model)


def conv_model(activation: str) -> onnx.ModelProto:
    """Conv 3x3 (3 -> 4 channels, pads 1, bias) then `activation`, on 1x3x8x8."""
    op_type, attrs = ACTIVATIONS[activation]
    nodes = [
        _const("w", _random(4, 3, 3, 3)),
        _const("b", _random(4)),
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        *_activation_nodes(op_type, attrs, "c"),
    ]
    return _model(nodes, {"x": [1, 3, 8, 8]})


def gemm_model(activation: str) -> onnx.ModelProto:
    """Gemm 2x6 @ (5x6)^T + c (alpha 0.5) then `activation`."""
    op_type, attrs = ACTIVATIONS[activation]
    nodes = [
        _const("b", _random(5, 6)),
        _const("c", _random(5)),
        helper.make_node("Gemm", ["a", "b", "c"], ["g"], transB=1, alpha=0.5),
        *_activation_nodes(op_type, attrs, "g"),
    ]
    return _model(nodes, {"a": [2, 6]})


def _ops(module: ModuleOp) -> Counter[str]:
    return Counter(op.name for op in module.walk())


def _fuse_and_compare(model: onnx.ModelProto) -> ModuleOp:
    """graph-default on the model; the reference interpreter gives the same outputs."""
    feeds = random_inputs(model)
    before = run_reference(import_onnx(model), feeds)
    module = import_onnx(model)
    ApplyRulesPass(set="graph-default").apply(make_context(), module)
    module.verify()
    after = run_reference(module, feeds)
    for got, want in zip(after, before, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)  # the same kernels run
    return module


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_conv_activation_fuses_and_keeps_numbers(activation: str):
    ops = _ops(_fuse_and_compare(conv_model(activation)))
    assert ops["graph.fused_conv"] == 1 and ops["graph.conv"] == 0
    assert ops[f"graph.{activation}"] == 0


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gemm_activation_fuses_and_keeps_numbers(activation: str):
    ops = _ops(_fuse_and_compare(gemm_model(activation)))
    assert ops["graph.fused_gemm"] == 1 and ops["graph.gemm"] == 0
    assert ops[f"graph.{activation}"] == 0


def test_clip_without_max_fuses_with_the_largest_float_as_max():
    nodes = [
        _const("w", _random(4, 3, 1, 1)),
        _const("lo", np.array(0.0, np.float32)),
        helper.make_node("Conv", ["x", "w"], ["c"]),
        helper.make_node("Clip", ["c", "lo", ""], ["y"]),
    ]
    module = _fuse_and_compare(_model(nodes, {"x": [1, 3, 4, 4]}))
    (fused,) = [op for op in module.walk() if op.name == "graph.fused_conv"]
    assert "array<f32: 0.000000e+00, 3.40282347e+38>" in str(fused)


def test_clip_with_a_computed_bound_and_a_conv_with_two_uses_stay_unfused():
    nodes = [
        _const("w", _random(4, 3, 1, 1)),
        helper.make_node("Conv", ["x", "w"], ["c"]),
        helper.make_node("ReduceMin", ["x"], ["lo"], keepdims=0),
        helper.make_node("Clip", ["c", "lo"], ["clipped"]),
        helper.make_node("Conv", ["x", "w"], ["c2"]),
        helper.make_node("Relu", ["c2"], ["r"]),
        helper.make_node("Add", ["c2", "r"], ["s"]),
        helper.make_node("Add", ["clipped", "s"], ["y"]),
    ]
    ops = _ops(_fuse_and_compare(_model(nodes, {"x": [1, 3, 4, 4]})))
    assert ops["graph.fused_conv"] == 0 and ops["graph.clip"] == 1 and ops["graph.relu"] == 1


def _fusable_activations(model: onnx.ModelProto) -> int:
    """Relus whose input is a Conv, or a BatchNormalization of a Conv, used only there."""
    producer = {out: node for node in model.graph.node for out in node.output}
    uses = Counter(name for node in model.graph.node for name in node.input)
    count = 0
    for node in model.graph.node:
        source = producer.get(node.input[0]) if node.op_type == "Relu" else None
        if source is not None and source.op_type == "BatchNormalization":
            source = producer.get(source.input[0]) if uses[source.output[0]] == 1 else None
        count += source is not None and source.op_type == "Conv" and uses[node.input[0]] == 1
    return count


@pytest.mark.parametrize("name", ["squeezenet", "resnet50"])
def test_light_models_fold_every_batchnorm_and_fuse_every_conv_relu(name: str):
    model = with_logits(light_model(name))
    module = _fuse_and_compare_loosely(model)
    ops = _ops(module)
    relus = sum(node.op_type == "Relu" for node in model.graph.node)
    fused = _fusable_activations(model)
    assert fused > 0 and ops["graph.batch_normalization"] == 0
    assert ops["graph.fused_conv"] == fused and ops["graph.relu"] == relus - fused


def _fuse_and_compare_loosely(model: onnx.ModelProto) -> ModuleOp:
    feeds = random_inputs(model)
    module = import_onnx(model)
    before = run_reference(module, feeds)
    ApplyRulesPass(set="graph-default").apply(make_context(), module)
    after = run_reference(module, feeds)
    # folding BatchNorm into conv weights reorders float32 arithmetic: ~1e-6 relative
    for got, want in zip(after, before, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    return module


def _onnxruntime(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return [np.asarray(x) for x in session.run(None, feeds)]


@pytest.mark.parametrize(
    "model",
    [conv_model("relu"), conv_model("clip"), conv_model("hard_sigmoid"), gemm_model("sigmoid")],
    ids=["conv_relu", "conv_clip", "conv_hard_sigmoid", "gemm_sigmoid"],
)
def test_compiled_fused_model_matches_onnxruntime(model: onnx.ModelProto):
    feeds = random_inputs(model)
    compiled = lamina.compile(model)
    got = compiled(**feeds)
    # a 27-term dot product per output in a different order than onnxruntime's: ~1e-6
    for g, w in zip(got, _onnxruntime(model, feeds), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
