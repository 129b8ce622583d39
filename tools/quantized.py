"""Quantized ONNX models made by onnxruntime's own quantizer, and how their outputs are
compared, for tests and benchmarks (onnxruntime is a test dependency only).

    q = calibrated(model)                            # quantize() on 4 seeded random feeds
    q = quantize(model, calibration_inputs)          # QDQ, per-channel int8 weights,
    steps = output_steps(q)                          # uint8 activations
    within_one_step(got, want, steps[0]) >= 0.99
    quantized_mismatch(q, got_outputs, onnxruntime_outputs)   # None, or why not
    d = quantize_dynamic(model)                      # int8 weights, activations quantized
                                                     # at run time (float outputs)

A quantized model's output is the dequantization of an integer: two runtimes that round one
intermediate differently differ by whole quantization steps, so outputs are compared in
steps (the scale of the DequantizeLinear that makes each output).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import onnx
import onnx.version_converter
from onnx import numpy_helper

QDQ_OPSET = 13
"""DequantizeLinear takes `axis` (per-channel weights) from opset 13 on."""


def quantize(
    model: onnx.ModelProto,
    calibration: Sequence[dict[str, np.ndarray]],
    *,
    qdq: bool = True,
    per_channel: bool = True,
) -> onnx.ModelProto:
    """`model` quantized by `onnxruntime.quantization.quantize_static`, calibrated on the
    feeds `calibration`: int8 weights (per output channel when `per_channel`), uint8
    activations, in the QDQ form (or the QOperator form: QLinearConv, ...)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Feeds(CalibrationDataReader):
        def __init__(self) -> None:
            self.rest = iter(calibration)

        # onnxruntime's annotation says dict, its loop ends on None
        def get_next(self) -> dict[str, np.ndarray] | None:  # pyright: ignore[reportIncompatibleMethodOverride]
            return next(self.rest, None)

    return _through_files(
        model,
        lambda source, quantized: quantize_static(
            source,
            quantized,
            Feeds(),
            quant_format=QuantFormat.QDQ if qdq else QuantFormat.QOperator,
            per_channel=per_channel,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        ),
    )


def quantize_dynamic(model: onnx.ModelProto, *, unsigned_weights: bool = False) -> onnx.ModelProto:
    """`model` quantized by `onnxruntime.quantization.quantize_dynamic`: the weights of its
    Conv, MatMul and Gemm int8 (uint8 when `unsigned_weights`), each activation that feeds
    one quantized at run time by DynamicQuantizeLinear into ConvInteger / MatMulInteger."""
    from onnxruntime.quantization import QuantType
    from onnxruntime.quantization import quantize_dynamic as onnxruntime_quantize_dynamic

    return _through_files(
        model,
        lambda source, quantized: onnxruntime_quantize_dynamic(
            source,
            quantized,
            op_types_to_quantize=["Conv", "MatMul", "Gemm"],
            weight_type=QuantType.QUInt8 if unsigned_weights else QuantType.QInt8,
        ),
    )


def _through_files(
    model: onnx.ModelProto, quantizer: Callable[[str, str], None]
) -> onnx.ModelProto:
    """`model` (at opset QDQ_OPSET at least) saved, given to `quantizer(source, quantized)`
    (onnxruntime's quantizers work on paths) and the quantized file loaded back."""
    if model.opset_import[0].version < QDQ_OPSET:
        model = onnx.version_converter.convert_version(model, QDQ_OPSET)
    with tempfile.TemporaryDirectory(prefix="lamina-quantize-") as scratch:
        source, quantized = Path(scratch) / "model.onnx", Path(scratch) / "quantized.onnx"
        onnx.save(model, source)
        quantizer(str(source), str(quantized))
        return onnx.load(quantized)


def output_steps(model: onnx.ModelProto) -> list[float]:
    """The quantization step of each graph output: the scale of the DequantizeLinear that
    produces it."""
    producers = {out: node for node in model.graph.node for out in node.output}
    constants = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    steps: list[float] = []
    for output in model.graph.output:
        node = producers[output.name]
        if node.op_type != "DequantizeLinear":
            raise ValueError(f"output {output.name} is made by {node.op_type}")
        steps.append(float(constants[node.input[1]]))
    return steps


def within_one_step(got: np.ndarray, want: np.ndarray, step: float) -> float:
    """The share of elements of `got` within one quantization step of `want`."""
    return float(np.mean(np.abs(got.astype(np.float64) - want) <= step * 1.0001))


def calibrated(model: onnx.ModelProto, qdq: bool = True) -> onnx.ModelProto:
    """`model` quantized (QDQ or QOperator form) on four seeded random feeds."""
    from lamina.tools.models import random_inputs

    feeds = random_inputs(model)
    rng = np.random.default_rng(1)
    calibration = [
        {name: rng.standard_normal(v.shape).astype(np.float32) for name, v in feeds.items()}
        for _ in range(4)
    ]
    return quantize(model, calibration, qdq=qdq)


def quantized_mismatch(
    model: onnx.ModelProto, got: Sequence[np.ndarray], want: Sequence[np.ndarray]
) -> str | None:
    """Why the outputs `got` of a quantized `model` do not match onnxruntime's `want`, or
    None: the top-1 class equal and, for outputs made by DequantizeLinear, >= 99% of the
    elements within one quantization step; float outputs (a dynamic quantization: both
    engines sum the same integer products) within 1e-5 of the largest."""
    producers = {out: node.op_type for node in model.graph.node for out in node.output}
    for output, g, w in zip(model.graph.output, got, want, strict=True):
        if g.shape != w.shape:
            return f"{output.name}: shape {g.shape}, expected {w.shape}"
        rows = len(g) if g.ndim else 1
        if not np.array_equal(g.reshape(rows, -1).argmax(1), w.reshape(rows, -1).argmax(1)):
            return f"{output.name}: another top-1 class"
        if producers.get(output.name) == "DequantizeLinear":
            step = output_steps(model)[list(model.graph.output).index(output)]
            share = within_one_step(g, w, step)
            if share < 0.99:
                return f"{output.name}: {share:.1%} of the elements within one step"
        else:
            worst, scale = float(np.abs(g - w).max()), float(np.abs(w).max())
            if worst > 1e-5 * scale:
                return f"{output.name}: max abs error {worst:.3g} at output scale {scale:.3g}"
    return None
