"""Real .tflite models with real weights (MediaPipe's, from the zoo) compiled for the host,
two of them for cortex-a76 (AOT bundle under qemu-aarch64), against LiteRT on the same
inputs at the output's scale: max|err| <= 1e-3 * max|ref| + 1e-4. An output that a final
LOGISTIC squashes into a probability is checked on the LOGISTIC's input (its logits)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

import lamina
from lamina.compiler import compile_bundle
from lamina.errors import UnsupportedOpError
from lamina.parser.tflite import import_tflite
from lamina.parser.tflite_model import read_tflite
from lamina.runtime.qemu import run_bundle
from lamina.tools.model_zoo import zoo_model

pytestmark = pytest.mark.filterwarnings(
    "ignore:Warning. Enabling .experimental_preserve_all_tensors"
)
"""LiteRT warns that keeping intermediate tensors (to read the logits) costs memory."""

MODELS = [
    "mp-face-detection",
    "mp-face-detection-sparse",
    "mp-face-landmark",
    "mp-hand-landmark-full",
    "mp-hand-landmark-lite",
    "mp-hand-recrop",
    "mp-iris-landmark",
    "mp-palm-detection-full",
    "mp-palm-detection-lite",
    "mp-pose-detection",
    "mp-pose-landmark-full",
    "mp-selfie-segmentation",
    "mp-selfie-segmentation-landscape",
]


def logits_outputs(path: Path) -> list[str]:
    """The model's output tensors, each one a LOGISTIC computes replaced by its input."""
    model, _ = read_tflite(path)
    producers = {o: op for op in model.operators for o in op.outputs}
    names: list[str] = []
    for index in model.outputs:
        op = producers.get(index)
        source = op.inputs[0] if op is not None and op.name == "LOGISTIC" else index
        names.append(model.tensors[source].name)
    return names


def litert(path: Path, names: list[str], feeds: list[np.ndarray]) -> list[np.ndarray]:
    interpreter = Interpreter(model_path=str(path), experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    for detail, value in zip(interpreter.get_input_details(), feeds, strict=True):
        interpreter.set_tensor(detail["index"], value)
    interpreter.invoke()
    index = {d["name"]: d["index"] for d in interpreter.get_tensor_details()}
    return [np.array(interpreter.get_tensor(index[name])) for name in names]


def image_feeds(path: Path) -> list[np.ndarray]:
    """Images in [0, 1), the range MediaPipe's graphs feed these models."""
    model, _ = read_tflite(path)
    rng = np.random.default_rng(5)
    return [rng.random(model.tensors[i].shape).astype(np.float32) for i in model.inputs]


def assert_close(got: list[np.ndarray], want: list[np.ndarray]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape
        scale = float(np.abs(w).max(initial=0))
        assert scale > 1e-3, "an output that is ~0 everywhere checks nothing"
        assert float(np.abs(g - w).max(initial=0)) <= 1e-3 * scale + 1e-4


@pytest.mark.parametrize("name", MODELS)
def test_mediapipe_model_on_host_matches_litert(name: str):
    path = zoo_model(name)
    names, feeds = logits_outputs(path), image_feeds(path)
    compiled = lamina.compile(import_tflite(path, outputs=names))
    assert_close(compiled(*feeds), litert(path, names, feeds))


@pytest.mark.parametrize("name", ["mp-face-detection", "mp-palm-detection-lite"])
def test_mediapipe_model_on_cortex_a76_under_qemu_matches_litert(name: str, tmp_path: Path):
    path = zoo_model(name)
    names, feeds = logits_outputs(path), image_feeds(path)
    module = import_tflite(path, outputs=names)
    bundle = compile_bundle(module, "cortex-a76", tmp_path / "bundle", name="model_a76")
    assert bundle.triple.startswith("aarch64")
    model, _ = read_tflite(path)
    inputs = {model.tensors[i].name: f for i, f in zip(model.inputs, feeds, strict=True)}
    assert_close(run_bundle(tmp_path / "bundle", inputs).outputs, litert(path, names, feeds))


def test_model_with_mediapipe_only_custom_ops_names_them_all():
    with pytest.raises(UnsupportedOpError) as error:
        import_tflite(zoo_model("mp-face-landmark-attention"))
    message = error.value.message
    for op in ("Landmarks2TransformMatrix", "TransformTensorBilinear", "TransformLandmarks"):
        assert f"custom op '{op}'" in message
