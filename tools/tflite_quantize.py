"""Static int8 quantization of a float .tflite model by Google's AI Edge Quantizer (the
`ai-edge-quantizer` test dependency), for tests and benchmarks: real weights, int8
activations and inputs / outputs, int32 biases, per-channel weights (recipe
`static_wi8_ai8`), calibrated on seeded images.

    data = quantize_static(zoo_model("mp-hand-landmark-lite"))   # .tflite bytes

MediaPipe's models need two edits the quantizer asks for, neither of which changes what
they compute: float16 weights widened to float32 (the quantizer reads weights only from
constants, not through DEQUANTIZE), and a signature for subgraph 0 (it calibrates through
one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.tools import flatbuffer_utils
from ai_edge_quantizer import quantizer, recipe

from lamina.parser.tflite_model import TENSOR_DTYPES, read_tflite
from lamina.tools.tflite_check import image_feeds

SIGNATURE = "serving_default"


def quantize_static(path: Path, samples: int = 4) -> bytes:
    """The model quantized to int8, calibrated on `samples` images in [0, 1)."""
    model: Any = flatbuffer_utils.read_model(str(path))
    _widen_float16_weights(model)
    _add_signature(model)
    float_model = bytearray(flatbuffer_utils.convert_object_to_bytearray(model))
    names = [_name(model.subgraphs[0].tensors[i]) for i in model.subgraphs[0].inputs]
    calibration = [
        dict(zip(names, image_feeds(path, seed), strict=True)) for seed in range(samples)
    ]
    q = quantizer.Quantizer(float_model, recipe.static_wi8_ai8())
    quantized = q.quantize(q.calibrate({SIGNATURE: calibration})).quantized_model
    assert quantized is not None
    return bytes(quantized)


def _name(tensor: Any) -> str:
    name = tensor.name
    return name.decode() if isinstance(name, bytes) else str(name)


def _widen_float16_weights(model: Any) -> None:
    """Every DEQUANTIZE of a float16 constant becomes that constant in float32."""
    graph = model.subgraphs[0]
    kept = []
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        source = graph.tensors[op.inputs[0]]
        data = model.buffers[source.buffer].data
        if (
            max(code.builtinCode, code.deprecatedBuiltinCode) == schema.BuiltinOperator.DEQUANTIZE
            and source.type == schema.TensorType.FLOAT16
            and data is not None
        ):
            widened = np.frombuffer(bytes(data), np.float16).astype(np.float32)
            buffer: Any = schema.BufferT()
            buffer.data = np.frombuffer(widened.tobytes(), np.uint8)
            model.buffers.append(buffer)
            graph.tensors[op.outputs[0]].buffer = len(model.buffers) - 1
        else:
            kept.append(op)
    graph.operators = kept


def _add_signature(model: Any) -> None:
    graph = model.subgraphs[0]

    def entry(index: int) -> schema.TensorMapT:
        mapping = schema.TensorMapT()
        mapping.name, mapping.tensorIndex = _name(graph.tensors[index]), index
        return mapping

    signature = schema.SignatureDefT()
    signature.signatureKey, signature.subgraphIndex = SIGNATURE, 0
    signature.inputs = [entry(i) for i in graph.inputs]
    signature.outputs = [entry(i) for i in graph.outputs]
    model.signatureDefs = [signature]


def quantized_feeds(data: bytes, feeds: list[np.ndarray]) -> list[np.ndarray]:
    """Float `feeds` as the quantized model's integer inputs (its input quantization)."""
    model, _ = read_tflite(data)
    quantized = []
    for index, feed in zip(model.inputs, feeds, strict=True):
        tensor = model.tensors[index]
        assert tensor.data is None and tensor.quantization is not None
        dtype = TENSOR_DTYPES[tensor.type_code]
        scale, zero = tensor.quantization.scale[0], tensor.quantization.zero_point[0]
        info = np.iinfo(dtype)
        quantized.append(np.clip(np.rint(feed / scale) + zero, info.min, info.max).astype(dtype))
    return quantized
