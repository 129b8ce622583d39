"""Real int8 .tflite models: MediaPipe's float models (real weights, from the zoo) quantized
by Google's AI Edge Quantizer (tools/tflite_quantize.py: int8 activations, inputs and
outputs, per-channel int8 weights), compiled by lamina and run on the same int8 inputs as
LiteRT. Their convolutions compute in levels with XNNPACK's requantization
(parser/tflite_quant.py), so the outputs equal LiteRT's: at least 99.9% of the elements,
every one within a quantization step. (Models with a bilinear resize differ more:
TFLite's int8 resize weighs in fixed point; benchmarks/tflite_int8_models.py lists them.)"""

from __future__ import annotations

import pytest

import lamina
from lamina.parser.tflite_model import read_tflite
from lamina.tools.model_zoo import zoo_model
from lamina.tools.tflite_check import image_feeds, litert_outputs, quantized_mismatch
from lamina.tools.tflite_quantize import quantize_static, quantized_feeds


@pytest.mark.parametrize("name", ["mp-hand-landmark-lite", "mp-selfie-segmentation"])
def test_int8_mediapipe_model_on_host_equals_litert(name: str):
    path = zoo_model(name)
    data = quantize_static(path)
    model, _ = read_tflite(data)
    assert all(model.tensors[i].type_code == 9 for i in (*model.inputs, *model.outputs))
    feeds = quantized_feeds(data, image_feeds(path))
    got, want = lamina.compile(data)(*feeds), litert_outputs(data, feeds)
    assert quantized_mismatch(got, want, equal=0.999) is None
