"""Models quantized by onnxruntime's own quantizer (per-channel int8 weights, uint8
activations; the QDQ form: QuantizeLinear / DequantizeLinear around float ops, and the
QOperator form: QLinearConv and onnxruntime's com.microsoft QLinear* / QGemm) compiled by
lamina and checked against onnxruntime's int8 run of the same file on the same inputs:
the top-1 class equal and at least 99% of the output elements within one quantization step
(tools/quantized.py). lamina computes them with the exact integer semantics of
QuantizeLinear / DequantizeLinear (lowering/graph_to_top_quant.py) around float ops; the
QOperator form is rewritten into the QDQ form (parser/onnx_contrib.py,
rewrites/graph/expand_quantized.rw)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import lamina
from lamina.compiler import compile_bundle
from lamina.errors import UnsupportedError
from lamina.runtime.qemu import run_bundle
from lamina.tools.models import light_model, mlp, random_inputs, with_logits
from lamina.tools.quantized import output_steps, quantize, within_one_step


def calibrated(model: onnx.ModelProto, qdq: bool = True) -> onnx.ModelProto:
    """`model` quantized on four seeded random feeds (QDQ or QOperator form)."""
    feeds = random_inputs(model)
    rng = np.random.default_rng(1)
    calibration = [
        {name: rng.standard_normal(v.shape).astype(np.float32) for name, v in feeds.items()}
        for _ in range(4)
    ]
    return quantize(model, calibration, qdq=qdq)


def every_contrib_op() -> onnx.ModelProto:
    """A small float net whose QOperator form has each expanded com.microsoft operator."""
    rng = np.random.default_rng(0)
    weights = {
        "w": rng.standard_normal((4, 3, 3, 3)) * 0.3,
        "b": rng.standard_normal(4) * 0.1,
        "gw": rng.standard_normal((5, 4)),
        "gb": rng.standard_normal(5),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("LeakyRelu", ["c"], ["l"], alpha=0.1),
        helper.make_node("Add", ["l", "c"], ["a"]),
        helper.make_node("Mul", ["a", "l"], ["m"]),
        helper.make_node("Sigmoid", ["m"], ["s"]),
        helper.make_node("AveragePool", ["s"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Concat", ["p", "p"], ["pp"], axis=1),
        helper.make_node("GlobalAveragePool", ["m"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "gw", "gb"], ["y"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "contrib",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [
            helper.make_tensor_value_info("pp", TensorProto.FLOAT, [1, 8, 4, 4]),
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5]),
        ],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def onnxruntime_outputs(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return [np.asarray(o) for o in session.run(None, feeds)]


def assert_matches_int8_run(model: onnx.ModelProto, got: list[np.ndarray]) -> None:
    feeds = random_inputs(model)
    want = onnxruntime_outputs(model, feeds)
    for g, w, step in zip(got, want, output_steps(model), strict=True):
        assert g.shape == w.shape
        assert np.array_equal(g.reshape(len(g), -1).argmax(1), w.reshape(len(w), -1).argmax(1))
        assert within_one_step(g, w, step) >= 0.99
        assert np.abs(w).max() > 10 * step, "an output of a few steps checks little"


@pytest.fixture(scope="module")
def squeezenet() -> onnx.ModelProto:
    return calibrated(with_logits(light_model("squeezenet")))


@pytest.fixture(scope="module")
def quantized_mlp() -> onnx.ModelProto:
    return calibrated(mlp())


def test_qdq_squeezenet_on_host_matches_onnxruntime_int8(squeezenet: onnx.ModelProto):
    ops = {node.op_type for node in squeezenet.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
    assert_matches_int8_run(squeezenet, lamina.compile(squeezenet)(**random_inputs(squeezenet)))


def test_qdq_mlp_on_host_matches_onnxruntime_int8(quantized_mlp: onnx.ModelProto):
    got = lamina.compile(quantized_mlp)(**random_inputs(quantized_mlp))
    assert_matches_int8_run(quantized_mlp, got)


def test_qdq_mlp_on_cortex_a76_under_qemu_matches_onnxruntime_int8(
    quantized_mlp: onnx.ModelProto, tmp_path: Path
):
    compile_bundle(quantized_mlp, "cortex-a76", tmp_path / "bundle", name="mlp_int8")
    run = run_bundle(tmp_path / "bundle", random_inputs(quantized_mlp))
    assert_matches_int8_run(quantized_mlp, run.outputs)


def test_qoperator_squeezenet_on_host_matches_onnxruntime_int8():
    model = calibrated(with_logits(light_model("squeezenet")), qdq=False)
    ops = {node.op_type for node in model.graph.node}
    assert {"QLinearConv", "QLinearConcat", "QLinearGlobalAveragePool"} <= ops
    assert_matches_int8_run(model, lamina.compile(model)(**random_inputs(model)))


def test_every_expanded_com_microsoft_operator_matches_onnxruntime_int8():
    model = calibrated(every_contrib_op(), qdq=False)
    contrib = {n.op_type for n in model.graph.node if n.domain == "com.microsoft"}
    assert contrib == {
        "QLinearLeakyRelu", "QLinearAdd", "QLinearMul", "QLinearSigmoid", "QLinearAveragePool",
        "QLinearConcat", "QLinearGlobalAveragePool", "QGemm",
    }  # fmt: skip
    assert_matches_int8_run(model, lamina.compile(model)(**random_inputs(model)))


def test_a_com_microsoft_form_that_is_not_expanded_is_named_as_unsupported():
    model = calibrated(every_contrib_op(), qdq=False)
    pool = next(n for n in model.graph.node if n.op_type == "QLinearAveragePool")
    pool.attribute.append(helper.make_attribute("channels_last", 1))
    with pytest.raises(UnsupportedError, match="QLinearAveragePool.*com.microsoft"):
        lamina.compile(model)
