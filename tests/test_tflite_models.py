"""Real .tflite models with real weights (MediaPipe's, from the zoo) compiled for the host,
two of them for cortex-a76 (AOT bundle under qemu-aarch64; all of them in
benchmarks/tflite_models.py), against LiteRT on the same inputs at the output's scale:
max|err| <= 1e-3 * max|ref| + 1e-4. An output that a final LOGISTIC squashes into a
probability is checked on the LOGISTIC's input (its logits)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lamina
from lamina.compiler import compile_bundle
from lamina.errors import UnsupportedOpError
from lamina.parser.tflite import import_tflite
from lamina.parser.tflite_model import read_tflite
from lamina.runtime.qemu import run_bundle
from lamina.tools.model_zoo import MEDIAPIPE_MODELS, zoo_model
from lamina.tools.tflite_check import image_feeds, litert_tensors, logits_outputs, mismatch


def assert_close(got: list[np.ndarray], want: list[np.ndarray]) -> None:
    assert (wrong := mismatch(got, want)) is None, wrong


@pytest.mark.parametrize("name", MEDIAPIPE_MODELS)
def test_mediapipe_model_on_host_matches_litert(name: str):
    path = zoo_model(name)
    names, feeds = logits_outputs(path), image_feeds(path)
    compiled = lamina.compile(import_tflite(path, outputs=names))
    assert_close(compiled(*feeds), litert_tensors(path, names, feeds))


@pytest.mark.parametrize("name", ["mp-face-detection", "mp-hand-recrop"])
def test_mediapipe_model_on_cortex_a76_under_qemu_matches_litert(name: str, tmp_path: Path):
    path = zoo_model(name)
    names, feeds = logits_outputs(path), image_feeds(path)
    module = import_tflite(path, outputs=names)
    bundle = compile_bundle(module, "cortex-a76", tmp_path / "bundle", name="model_a76")
    assert bundle.triple.startswith("aarch64")
    model, _ = read_tflite(path)
    inputs = {model.tensors[i].name: f for i, f in zip(model.inputs, feeds, strict=True)}
    assert_close(
        run_bundle(tmp_path / "bundle", inputs).outputs, litert_tensors(path, names, feeds)
    )


def test_model_with_mediapipe_only_custom_ops_names_them_all():
    with pytest.raises(UnsupportedOpError) as error:
        import_tflite(zoo_model("mp-face-landmark-attention"))
    message = error.value.message
    for op in ("Landmarks2TransformMatrix", "TransformTensorBilinear", "TransformLandmarks"):
        assert f"custom op '{op}'" in message
