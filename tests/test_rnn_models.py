"""Recurrent models against onnxruntime: the real Silero VAD exports (zoo weights, LSTM 128)
and the two exporter-style test models of tools/model_builders_rnn.py (a CRNN text
recognizer with two bidirectional LSTM layers, a GRU audio model), on the host JIT and as
cortex-a76 AOT bundles under qemu-aarch64.

Compared at each output's scale, max|err| <= 1e-3 max|ref| + 1e-4: f32 sums of a few
hundred products per step and layer, in another order (and fused on AArch64) than
onnxruntime's. Silero's speech probability is a sigmoid, so its input (the logit) is an
output too; the LSTM states are compared as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from helpers_cli import assert_close_at_scale, onnxruntime_outputs

import lamina
from lamina.compiler import compile_bundle
from lamina.runtime.qemu import run_bundle
from lamina.tools.model_builders_rnn import crnn, gru_audio
from lamina.tools.model_zoo import zoo_model
from lamina.tools.models import random_inputs

SILERO_SHAPES = {
    "silero-vad-sequence": {"input": [4, 576], "h": [1, 1, 128], "c": [1, 1, 128]},
    "silero-vad-openvino": {"input": [1, 576], "state": [2, 1, 128]},
}


def with_sigmoid_logit(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` with the input of its last Sigmoid as an extra output (typed by onnx shape
    inference)."""
    last = [n for n in model.graph.node if n.op_type == "Sigmoid"][-1]
    inferred = onnx.shape_inference.infer_shapes(model).graph.value_info
    model.graph.output.append(next(v for v in inferred if v.name == last.input[0]))
    return model


def silero(name: str) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """The zoo model with its logit exposed, and audio ~ N(0, 0.1²), states ~ N(0, 0.5²)."""
    rng = np.random.default_rng(0)
    feeds = {
        n: (rng.standard_normal(shape) * (0.1 if n == "input" else 0.5)).astype(np.float32)
        for n, shape in SILERO_SHAPES[name].items()
    }
    return with_sigmoid_logit(onnx.load(zoo_model(name))), feeds


Shapes = dict[str, list[int]] | None


def on_host(
    model: onnx.ModelProto, feeds: dict[str, np.ndarray], shapes: Shapes = None
) -> list[np.ndarray]:
    got = lamina.compile(model, device="host", input_shapes=shapes)(*feeds.values())
    return list(got) if isinstance(got, list | tuple) else [got]


def on_cortex_a76(
    model: onnx.ModelProto, feeds: dict[str, np.ndarray], tmp_path: Path, shapes: Shapes = None
) -> list[np.ndarray]:
    bundle = compile_bundle(model, "cortex-a76", tmp_path / "bundle", input_shapes=shapes)
    assert bundle.triple.startswith("aarch64")
    return list(run_bundle(tmp_path / "bundle", feeds).outputs)


@pytest.mark.parametrize("name", sorted(SILERO_SHAPES))
def test_silero_vad_on_host_matches_onnxruntime(name: str):
    model, feeds = silero(name)
    got = on_host(model, feeds, SILERO_SHAPES[name])
    assert_close_at_scale(got, onnxruntime_outputs(model, feeds))


def test_silero_vad_openvino_on_cortex_a76_under_qemu_matches_onnxruntime(tmp_path: Path):
    model, feeds = silero("silero-vad-openvino")
    got = on_cortex_a76(model, feeds, tmp_path, SILERO_SHAPES["silero-vad-openvino"])
    assert_close_at_scale(got, onnxruntime_outputs(model, feeds))


@pytest.mark.parametrize("build", [crnn, gru_audio], ids=["crnn", "gru_audio"])
@pytest.mark.parametrize("device", ["host", "cortex-a76"])
def test_recurrent_test_model_matches_onnxruntime(
    build: Callable[[], onnx.ModelProto], device: str, tmp_path: Path
):
    model = build()
    feeds = random_inputs(model)
    got = on_host(model, feeds) if device == "host" else on_cortex_a76(model, feeds, tmp_path)
    assert_close_at_scale(got, onnxruntime_outputs(model, feeds))
