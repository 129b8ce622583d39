"""Quantized TFLite tensors in the QDQ form: an operator on int8 / uint8 / int16 / int32
affine-quantized tensors imports as its float meaning between `DequantizeLinear` and
`QuantizeLinear`, the form ONNX QDQ models have (docs/tflite-import.md):

    int8 x (scale sx, zero zx) --CONV_2D--> int8 y (sy, zy)
 -> y = QuantizeLinear(conv(DequantizeLinear(x, sx, zx), w_f32, b_f32), sy, zy)

The operators that accumulate products (CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED) on
8-bit activations and constant 8-bit weights sum on the integers
(parser/tflite_quant_accumulate.py), requantized as below; on other quantized inputs they
compute in levels, as TFLite's kernels do: the float op runs on x - zx and the integer
weights and bias (sums of integer products are exact in f32 below 2^24), is scaled by the
f32 multiplier sx * sw / sy per output channel, clamped by its fused activation in output
steps and quantized at scale 1 -- the requantization of XNNPACK, so results equal LiteRT's
rather than differing by a step wherever f32 rounding decides a tie:

 -> y = QuantizeLinear(clip(conv(DequantizeLinear(x, 1, zx), w - zw, b) * M, ...), 1, zy)

Other constant quantized tensors are dequantized at import; a run-time one is dequantized
once, however many operators read it. The converters see float stand-ins
only, so every float converter is also a quantized one; QUANTIZE and DEQUANTIZE of run-time
values become the identity between the two. Numerics are ONNX's (round half to even,
saturation), within one quantization step of TFLite's fixed-point kernels.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from xdsl.dialects.builtin import TensorType, f32
from xdsl.ir import SSAValue

from lamina.dialects.weights import element_type
from lamina.parser.tflite_graph import ACTIVATION_BOUNDS, Converter, GraphBuilder
from lamina.parser.tflite_model import TENSOR_DTYPES, Operator, Quantization, Tensor
from lamina.parser.tflite_quant_accumulate import (
    integer_conv,
    integer_fully_connected,
    sums_on_integers,
)
from lamina.parser.tflite_quant_integer import INTEGER_KERNELS

FLOAT32 = 0


def is_quantized(tensor: Tensor) -> bool:
    """An integer tensor with affine quantization parameters: it stands for real numbers."""
    dtype = TENSOR_DTYPES.get(tensor.type_code)
    return tensor.quantization is not None and dtype is not None and dtype.kind in "iu"


def dequantized(data: np.ndarray, quantization: Quantization | None) -> np.ndarray:
    """The real values of constant `data`: scale * (q - zero_point), per axis when several."""
    if quantization is None:
        return data.astype(np.float32)
    scale, zero = _parameters(quantization, data.ndim)
    return ((data.astype(np.float32) - zero) * scale).astype(np.float32)


def _parameters(quantization: Quantization, rank: int) -> tuple[np.ndarray, np.ndarray]:
    shape = [1] * rank
    if len(quantization.scale) > 1:
        shape[quantization.axis] = -1
    scale = np.array(quantization.scale, np.float32).reshape(shape)
    zero = np.array(quantization.zero_point, np.float32).reshape(shape)
    return scale, zero


ACCUMULATING = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0}
"""The accumulating operators, and the axis of their weights' output channels."""

INTEGER_SUMS: dict[str, Converter] = {
    "CONV_2D": integer_conv,
    "DEPTHWISE_CONV_2D": integer_conv,
    "FULLY_CONNECTED": integer_fully_connected,
}
"""The converters summing an accumulating operator on 8-bit integers
(parser/tflite_quant_accumulate.py)."""


@dataclass
class QuantizedOperator:
    """`op` rewritten to read and write float stand-ins of its quantized tensors, and the
    (quantized output, stand-in) pairs to quantize once its converter has run. With a
    `multiplier` the stand-in holds accumulator levels: scaled by it and clamped to
    `bounds` (output steps) before the quantization at scale 1."""

    op: Operator
    outputs: list[tuple[Tensor, Tensor]]
    multiplier: np.ndarray | None = None
    bounds: tuple[float | None, float | None] = (None, None)
    converter: Converter | None = None
    """Set where LiteRT computes `op` in fixed point: the exact integer ops to emit instead
    of the operator's float converter (parser/tflite_quant_integer.py)."""


class Quantizer:
    """The float stand-ins of one subgraph's quantized tensors."""

    def __init__(self, g: GraphBuilder) -> None:
        self.g = g
        self.dequantized: dict[int, Tensor] = {}
        """Quantized tensor index -> its float stand-in as an input (dequantized once)."""
        self.levels: dict[int, Tensor] = {}
        """Quantized tensor index -> its levels q - z in f32, for accumulating operators."""

    def prepare(self, op: Operator) -> QuantizedOperator:
        """`op` on float stand-ins: each quantized input dequantized (once), each quantized
        output a new float tensor for the converter to define."""
        tensors = self.g.tensors
        for i in (*op.inputs, *op.outputs):
            if i >= 0 and is_quantized(tensors[i]):
                self._check(op, tensors[i])
        if (accumulating := self._accumulating(op)) is not None:
            return accumulating
        kernel = INTEGER_KERNELS.get(op.name)
        if kernel is not None and kernel[0](self.g, op):
            return QuantizedOperator(op, [], converter=kernel[1])
        inputs = tuple(
            self._dequantized_input(tensors[i]).index if i >= 0 and is_quantized(tensors[i]) else i
            for i in op.inputs
        )
        outputs: list[tuple[Tensor, Tensor]] = []
        indices: list[int] = []
        for i in op.outputs:
            if i >= 0 and is_quantized(tensors[i]):
                stand_in = self._stand_in(tensors[i])
                outputs.append((tensors[i], stand_in))
                indices.append(stand_in.index)
            else:
                indices.append(i)
        return QuantizedOperator(replace(op, inputs=inputs, outputs=tuple(indices)), outputs)

    def _accumulating(self, op: Operator) -> QuantizedOperator | None:
        """`op` in levels (the module doc) when it is an accumulating operator on a run-time
        quantized input, constant quantized weights (and bias) and a per-tensor quantized
        output with no activation or a clamp; else None."""
        g, tensors = self.g, self.g.tensors
        if op.name not in ACCUMULATING or len(op.inputs) < 2 or len(op.outputs) != 1:
            return None
        x, w, out = tensors[op.inputs[0]], tensors[op.inputs[1]], tensors[op.outputs[0]]
        b = tensors[op.inputs[2]] if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        activation = op.options.get("FusedActivationFunction", 0)
        if not (is_quantized(x) and is_quantized(w) and is_quantized(out)) or x.index in g.arrays:
            return None
        wdata = g.arrays.get(w.index)
        bdata = None if b is None else g.arrays.get(b.index)
        assert x.quantization and w.quantization and out.quantization
        x_scales, w_scales, out_scales = (
            x.quantization.scale,
            w.quantization.scale,
            out.quantization.scale,
        )
        if (
            wdata is None
            or (b is not None and (bdata is None or not is_quantized(b)))
            or (len(w_scales) > 1 and w.quantization.axis != ACCUMULATING[op.name])
            or len(x_scales) != 1
            or len(out_scales) != 1
            or activation not in ACTIVATION_BOUNDS
        ):
            return None
        sx, sy = np.float32(x_scales[0]), np.float32(out_scales[0])
        multiplier = (sx * np.array(w_scales, np.float32) / sy).astype(np.float32)
        stand_in = self._stand_in(out)
        options = {**op.options, "FusedActivationFunction": 0}
        low, high = ACTIVATION_BOUNDS[activation]
        bounds = (None if low is None else low / sy, None if high is None else high / sy)
        if sums_on_integers(g, op):
            rewritten = replace(op, outputs=(stand_in.index,), options=options)
            converter = INTEGER_SUMS[op.name]
            return QuantizedOperator(
                rewritten, [(out, stand_in)], multiplier.reshape(-1), bounds, converter
            )
        inputs = [self._levels(x).index, self._constant_levels(w, wdata).index]
        if b is not None and bdata is not None:
            inputs.append(self._constant_levels(b, bdata).index)
        rewritten = replace(op, inputs=tuple(inputs), outputs=(stand_in.index,), options=options)
        return QuantizedOperator(rewritten, [(out, stand_in)], multiplier.reshape(-1), bounds)

    def _levels(self, tensor: Tensor) -> Tensor:
        """A run-time quantized tensor as its levels above the zero point, q - z, in f32."""
        if tensor.index in self.levels:
            return self.levels[tensor.index]
        stand_in = self.levels[tensor.index] = self._stand_in(tensor)
        if tensor.index in self.g.values:
            self.g.define(stand_in, self._dequantize(self.g.values[tensor.index], tensor, 1.0))
        return stand_in

    def _constant_levels(self, tensor: Tensor, data: np.ndarray) -> Tensor:
        assert tensor.quantization is not None
        _, zero = _parameters(tensor.quantization, data.ndim)
        stand_in = self._stand_in(tensor)
        self.g.arrays[stand_in.index] = (data.astype(np.float32) - zero).astype(np.float32)
        return stand_in

    def finish(self, quantized: QuantizedOperator) -> None:
        """Quantize what the converter made of each stand-in into its quantized output."""
        g = self.g
        for tensor, stand_in in quantized.outputs:
            data = g.arrays.get(stand_in.index)
            if data is not None and quantized.multiplier is None:
                g.arrays[tensor.index] = self._quantized_array(data, tensor)
            elif stand_in.index in g.values:
                value = g.values[stand_in.index]
                if quantized.multiplier is None:
                    g.define(tensor, self._quantize(value, tensor))
                else:
                    g.define(tensor, self._requantize(value, tensor, quantized))

    def _check(self, op: Operator, tensor: Tensor) -> None:
        """Parameters TFLite's kernels could not use are a diagnostic naming the operator."""
        q = tensor.quantization
        assert q is not None
        where = f"tensor '{tensor.name}'"
        if len(q.zero_point) != len(q.scale):
            self.g.fail(op, f"{where}: {len(q.scale)} scales but {len(q.zero_point)} zero points")
        if not all(np.isfinite(s) and s > 0 for s in q.scale):
            self.g.fail(op, f"{where}: a quantization scale is not a positive finite number")
        info = np.iinfo(TENSOR_DTYPES[tensor.type_code])
        if not all(info.min <= z <= info.max for z in q.zero_point):
            self.g.fail(op, f"{where}: a zero point is out of the range of {info.dtype}")
        if len(q.scale) > 1 and not (
            0 <= q.axis < len(tensor.shape) and tensor.shape[q.axis] == len(q.scale)
        ):
            reason = f"{len(q.scale)} scales along axis {q.axis} of shape {list(tensor.shape)}"
            self.g.fail(op, f"{where}: {reason}")

    def _stand_in(self, tensor: Tensor) -> Tensor:
        stand_in = Tensor(len(self.g.tensors), tensor.name, tensor.shape, FLOAT32, None, None)
        self.g.tensors.append(stand_in)
        return stand_in

    def _dequantized_input(self, tensor: Tensor) -> Tensor:
        g = self.g
        if tensor.index in self.dequantized:
            return self.dequantized[tensor.index]
        stand_in = self.dequantized[tensor.index] = self._stand_in(tensor)
        data = g.arrays.get(tensor.index)
        if data is not None:
            g.arrays[stand_in.index] = dequantized(data, tensor.quantization)
        elif tensor.index in g.values:
            g.define(stand_in, self._dequantize(g.values[tensor.index], tensor))
        return stand_in

    def _operands(
        self, tensor: Tensor, unit: float | None
    ) -> tuple[SSAValue, SSAValue, int | None]:
        """The scale (`unit` instead, when given) and zero point constants of `tensor` and
        the axis (None: per tensor)."""
        g, q = self.g, tensor.quantization
        assert q is not None
        dtype = TENSOR_DTYPES[tensor.type_code]
        per_axis = len(q.scale) > 1
        shape = (len(q.scale),) if per_axis else ()
        scales = np.array(q.scale if unit is None else [unit] * len(q.scale), np.float32)
        scale = g.constant(scales.reshape(shape), f"{tensor.name}.scale")
        zero = np.array(q.zero_point, np.int64).reshape(shape).astype(dtype)
        zero_point = g.constant(zero, f"{tensor.name}.zero_point")
        return scale, zero_point, (q.axis if per_axis else None)

    def _dequantize(self, value: SSAValue, tensor: Tensor, unit: float | None = None) -> SSAValue:
        scale, zero, axis = self._operands(tensor, unit)
        result = TensorType(f32, tensor.shape)
        return self.g.emit1("DequantizeLinear", [value, scale, zero], result, axis=axis)

    def _quantize(self, value: SSAValue, tensor: Tensor, unit: float | None = None) -> SSAValue:
        scale, zero, axis = self._operands(tensor, unit)
        dtype = TENSOR_DTYPES[tensor.type_code]
        result = TensorType(element_type(dtype), tensor.shape)
        return self.g.emit1("QuantizeLinear", [value, scale, zero], result, axis=axis)

    def _requantize(
        self, levels: SSAValue, tensor: Tensor, quantized: QuantizedOperator
    ) -> SSAValue:
        """Accumulator `levels` * multiplier, clamped, quantized at scale 1."""
        g = self.g
        assert quantized.multiplier is not None
        multiplier = g.constant(quantized.multiplier, f"{tensor.name}.multiplier")
        steps = g.emit1("Mul", [levels, multiplier], levels.type)
        low, high = quantized.bounds
        if low is not None or high is not None:
            bounds = [None if v is None else g.scalar(v, steps, "bound") for v in (low, high)]
            steps = g.emit1("Clip", [steps, *bounds], steps.type)
        return self._quantize(steps, tensor, 1.0)

    @staticmethod
    def _quantized_array(data: np.ndarray, tensor: Tensor) -> np.ndarray:
        q = tensor.quantization
        assert q is not None
        dtype = TENSOR_DTYPES[tensor.type_code]
        scale, zero = _parameters(q, data.ndim)
        info = np.iinfo(dtype)
        levels = np.rint(data.astype(np.float32) / scale) + zero
        return np.clip(levels, info.min, info.max).astype(dtype)
