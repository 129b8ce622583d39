"""Models quantized by onnxruntime's own quantizer (QDQ form: QuantizeLinear /
DequantizeLinear around float ops, per-channel int8 weights, uint8 activations) compiled by
lamina and checked against onnxruntime's int8 run of the same file on the same inputs:
the top-1 class equal and at least 99% of the output elements within one quantization step
(tools/quantized.py). lamina computes them with the exact integer semantics of
QuantizeLinear / DequantizeLinear (lowering/graph_to_top_quant.py) around float ops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import lamina
from lamina.compiler import compile_bundle
from lamina.runtime.qemu import run_bundle
from lamina.tools.models import light_model, mlp, random_inputs, with_logits
from lamina.tools.quantized import output_steps, quantize, within_one_step


def calibrated(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` quantized on four seeded random feeds."""
    feeds = random_inputs(model)
    rng = np.random.default_rng(1)
    calibration = [
        {name: rng.standard_normal(v.shape).astype(np.float32) for name, v in feeds.items()}
        for _ in range(4)
    ]
    return quantize(model, calibration)


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
