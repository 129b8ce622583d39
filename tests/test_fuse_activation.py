"""Activation fusion (rewrites/graph/fuse_activation.rw): graph.fused_conv / graph.fused_gemm
compute what the Conv / Gemm followed by its activation computes, in the reference
interpreter and compiled, and the default rule set fuses them on whole models."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import onnx
import pytest
from helpers_cli import (
    constant_node,
    graph_op_counts,
    inferred_model,
    onnxruntime_outputs,
    rewritten_by_graph_default,
)
from onnx import helper
from xdsl.dialects.builtin import ModuleOp

import lamina
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


def _activation_nodes(op_type: str, attrs: dict[str, Any], x: str) -> list[onnx.NodeProto]:
    """`y = op_type(x)`; Clip gets constant bounds (-0.5, 0.5) so it clips both sides."""
    if op_type != "Clip":
        return [helper.make_node(op_type, [x], ["y"], **attrs)]
    lo, hi = np.array(-0.5, np.float32), np.array(0.5, np.float32)
    return [
        constant_node("lo", lo),
        constant_node("hi", hi),
        helper.make_node("Clip", [x, "lo", "hi"], ["y"]),
    ]


def conv_model(activation: str) -> onnx.ModelProto:
    """Conv 3x3 (3 -> 4 channels, pads 1, bias) then `activation`, on 1x3x8x8."""
    op_type, attrs = ACTIVATIONS[activation]
    nodes = [
        constant_node("w", _random(4, 3, 3, 3)),
        constant_node("b", _random(4)),
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        *_activation_nodes(op_type, attrs, "c"),
    ]
    return inferred_model(nodes, {"x": [1, 3, 8, 8]}, "y")


def gemm_model(activation: str) -> onnx.ModelProto:
    """Gemm 2x6 @ (5x6)^T + c (alpha 0.5) then `activation`."""
    op_type, attrs = ACTIVATIONS[activation]
    nodes = [
        constant_node("b", _random(5, 6)),
        constant_node("c", _random(5)),
        helper.make_node("Gemm", ["a", "b", "c"], ["g"], transB=1, alpha=0.5),
        *_activation_nodes(op_type, attrs, "g"),
    ]
    return inferred_model(nodes, {"a": [2, 6]}, "y")


def _fuse_and_compare(model: onnx.ModelProto) -> ModuleOp:
    """graph-default on the model; the same kernels run, so the same outputs to 1e-6."""
    return rewritten_by_graph_default(model, random_inputs(model), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_conv_activation_fuses_and_keeps_numbers(activation: str):
    ops = graph_op_counts(_fuse_and_compare(conv_model(activation)))
    assert ops["graph.fused_conv"] == 1 and ops["graph.conv"] == 0
    assert ops[f"graph.{activation}"] == 0


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gemm_activation_fuses_and_keeps_numbers(activation: str):
    ops = graph_op_counts(_fuse_and_compare(gemm_model(activation)))
    assert ops["graph.fused_gemm"] == 1 and ops["graph.gemm"] == 0
    assert ops[f"graph.{activation}"] == 0


def test_clip_without_max_fuses_with_the_largest_float_as_max():
    nodes = [
        constant_node("w", _random(4, 3, 1, 1)),
        constant_node("lo", np.array(0.0, np.float32)),
        helper.make_node("Conv", ["x", "w"], ["c"]),
        helper.make_node("Clip", ["c", "lo", ""], ["y"]),
    ]
    module = _fuse_and_compare(inferred_model(nodes, {"x": [1, 3, 4, 4]}, "y"))
    (fused,) = [op for op in module.walk() if op.name == "graph.fused_conv"]
    assert "array<f32: 0.000000e+00, 3.40282347e+38>" in str(fused)


def test_clip_with_a_computed_bound_and_a_conv_with_two_uses_stay_unfused():
    nodes = [
        constant_node("w", _random(4, 3, 1, 1)),
        helper.make_node("Conv", ["x", "w"], ["c"]),
        helper.make_node("ReduceMin", ["x"], ["lo"], keepdims=0),
        helper.make_node("Clip", ["c", "lo"], ["clipped"]),
        helper.make_node("Conv", ["x", "w"], ["c2"]),
        helper.make_node("Relu", ["c2"], ["r"]),
        helper.make_node("Add", ["c2", "r"], ["s"]),
        helper.make_node("Add", ["clipped", "s"], ["y"]),
    ]
    ops = graph_op_counts(_fuse_and_compare(inferred_model(nodes, {"x": [1, 3, 4, 4]}, "y")))
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
    module = rewritten_by_graph_default(model, random_inputs(model))
    ops = graph_op_counts(module)
    relus = sum(node.op_type == "Relu" for node in model.graph.node)
    fused = _fusable_activations(model)
    assert fused > 0 and ops["graph.batch_normalization"] == 0
    assert ops["graph.fused_conv"] == fused and ops["graph.relu"] == relus - fused


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
    for g, w in zip(got, onnxruntime_outputs(model, feeds), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
