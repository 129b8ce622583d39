"""Real exported models (PP-OCR text-line classifier and recognizer from the zoo, with their
real weights) and exporter-shaped YOLO and transformer models (tools/model_builders.py)
compile for host and cortex-a76 (AOT bundle under qemu-aarch64) and match onnxruntime at
the output's scale: max|err| <= 1e-3 * max|ref| + 1e-4, on the logits before each model's
final Softmax."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from helpers_cli import assert_close_at_scale, onnxruntime_outputs

import lamina
from lamina.compiler import compile_bundle
from lamina.runtime.qemu import run_bundle
from lamina.tools.model_builders import transformer_encoder, yolo_detector
from lamina.tools.model_zoo import zoo_model
from lamina.tools.models import random_inputs, with_logits

ZOO_SHAPES = {"ppocr-cls": [1, 3, 48, 192], "ppocr-rec": [1, 3, 48, 320]}
"""The PP-OCR models take `x` [?, 3, ?, ?]; these are the sizes their pipelines feed."""

LOGITS_RANK = {"ppocr-cls": 2, "ppocr-rec": 3}
"""Rank of the input of each model's last Softmax, which onnx cannot infer at `?` sizes."""


def zoo(name: str) -> tuple[onnx.ModelProto, dict[str, list[int]]]:
    return with_logits(onnx.load(zoo_model(name)), LOGITS_RANK[name]), {"x": ZOO_SHAPES[name]}


BUILT = {"yolo": yolo_detector, "transformer": transformer_encoder}


def model_named(name: str) -> tuple[onnx.ModelProto, dict[str, list[int]]]:
    return (BUILT[name](), {}) if name in BUILT else zoo(name)


@pytest.mark.parametrize("name", [*ZOO_SHAPES, *BUILT])
def test_model_on_host_matches_onnxruntime(name: str):
    model, shapes = model_named(name)
    feeds = random_inputs(model, shapes=shapes)
    compiled = lamina.compile(model, device="host", input_shapes=shapes)
    assert compiled.stats.reads_inputs  # computed at run time, not folded
    assert_close_at_scale(compiled(**feeds), onnxruntime_outputs(model, feeds))


@pytest.mark.parametrize("name", ["ppocr-cls", *BUILT])
def test_model_on_cortex_a76_under_qemu_matches_onnxruntime(name: str, tmp_path: Path):
    model, shapes = model_named(name)
    feeds = random_inputs(model, shapes=shapes)
    bundle = compile_bundle(model, "cortex-a76", tmp_path / "bundle", input_shapes=shapes)
    assert bundle.triple.startswith("aarch64")
    run = run_bundle(bundle.directory, feeds)
    assert_close_at_scale(run.outputs, onnxruntime_outputs(model, feeds))


def test_yolo_detector_is_built_the_way_exporters_emit_it():
    ops = {node.op_type for node in yolo_detector().graph.node}
    assert ops >= {"Slice", "Sigmoid", "Mul", "Split", "Resize", "Concat", "Softmax"}
    assert ops >= {"Range", "Expand", "Unsqueeze", "Reshape", "Transpose", "Conv"}


def test_transformer_encoder_uses_both_gelu_forms_and_a_mask():
    ops = [node.op_type for node in transformer_encoder().graph.node]
    assert {"Gather", "LayerNormalization", "MatMul", "Gelu", "Erf", "Cast"} <= set(ops)
    assert ops.count("Softmax") == 2
