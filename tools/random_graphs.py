"""Random small ONNX graphs, valid by construction, for differential tests against
onnxruntime: `random_graph(seed)` is the same model for the same seed.

Three families, drawn in turn by `seed % 3`:
- conv: 1-3 Conv layers of random groups (1, depthwise, or a divisor of the channels),
  kernel 1-5 (also non-square), stride 1-2, dilation 1-2, random pads, each maybe with
  BatchNormalization, an activation and a pool, on a 1-2 x C x H x W input;
- mlp: 1-3 Gemm (transB or not) or MatMul + Add layers with activations;
- shapes: chains of Reshape, Transpose, Flatten, Unsqueeze / Squeeze, Slice, Concat and
  broadcasting elementwise ops.
Weights are seeded normals scaled by 1/sqrt(fan-in), so outputs stay of order one.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
ACTIVATIONS = ("Relu", "Sigmoid", "Tanh", "LeakyRelu", "HardSigmoid", "Clip", "Elu", None)


class _Graph:
    """Nodes and weights of the graph being drawn; values are (name, shape) pairs."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.np_rng = np.random.default_rng(rng.randrange(1 << 30))
        self.nodes: list[onnx.NodeProto] = []
        self.weights: list[onnx.TensorProto] = []
        self.count = 0

    def name(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    def weight(self, shape: tuple[int, ...], scale: float = 1.0) -> str:
        name = self.name("w")
        array = (self.np_rng.standard_normal(shape) * scale).astype(np.float32)
        self.weights.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], **attrs: Any) -> str:
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def activation(self, x: str) -> str:
        kind = self.rng.choice(ACTIVATIONS)
        if kind is None:
            return x
        if kind == "Clip":
            low, high = self.weight(()), self.weight(())
            self.weights[-2] = numpy_helper.from_array(np.array(0.0, np.float32), low)
            self.weights[-1] = numpy_helper.from_array(np.array(6.0, np.float32), high)
            return self.node("Clip", [x, low, high])
        if kind == "LeakyRelu":
            return self.node(kind, [x], alpha=0.1)
        return self.node(kind, [x])


def _conv_out(size: int, kernel: int, stride: int, dilation: int, pads: tuple[int, int]) -> int:
    return (size + pads[0] + pads[1] - dilation * (kernel - 1) - 1) // stride + 1


def _conv_layer(g: _Graph, x: str, shape: list[int]) -> tuple[str, list[int]]:
    rng = g.rng
    n, c, h, w = shape
    groups = rng.choice([1, c, *[d for d in range(2, c) if c % d == 0]])
    out_c = groups * rng.randint(1, 3) if groups > 1 else rng.randint(1, 16)
    kernel = (
        (rng.randint(1, 5), rng.randint(1, 5)) if rng.random() < 0.3 else (rng.randint(1, 5),) * 2
    )
    stride, dilation = rng.randint(1, 2), rng.choice([1, 1, 2])
    pads = [rng.randint(0, k - 1) if k > 1 else 0 for k in kernel for _ in range(2)]
    begin_end = [(pads[0], pads[1]), (pads[2], pads[3])]  # (h0, h1), (w0, w1)
    out_h = _conv_out(h, kernel[0], stride, dilation, begin_end[0])
    out_w = _conv_out(w, kernel[1], stride, dilation, begin_end[1])
    if out_h < 1 or out_w < 1:
        return x, shape
    fan_in = c // groups * kernel[0] * kernel[1]
    inputs = [x, g.weight((out_c, c // groups, *kernel), 1 / math.sqrt(fan_in))]
    if rng.random() < 0.7:
        inputs.append(g.weight((out_c,), 0.1))
    onnx_pads = [pads[0], pads[2], pads[1], pads[3]]
    y = g.node(
        "Conv", inputs, group=groups, kernel_shape=list(kernel), strides=[stride] * 2,
        dilations=[dilation] * 2, pads=onnx_pads,
    )  # fmt: skip
    shape = [n, out_c, out_h, out_w]
    if rng.random() < 0.4:
        scale = g.weight((out_c,), 0.1)
        g.weights[-1] = numpy_helper.from_array(1 + numpy_helper.to_array(g.weights[-1]), scale)
        variance = g.weight((out_c,), 0.1)
        g.weights[-1] = numpy_helper.from_array(
            0.5 + np.abs(numpy_helper.to_array(g.weights[-1])), variance
        )
        bn_inputs = [y, scale, g.weight((out_c,), 0.1), g.weight((out_c,), 0.1), variance]
        y = g.node("BatchNormalization", bn_inputs, epsilon=1e-5)
    y = g.activation(y)
    return _maybe_pool(g, y, shape)


def _maybe_pool(g: _Graph, x: str, shape: list[int]) -> tuple[str, list[int]]:
    rng = g.rng
    kind = rng.choice(["MaxPool", "AveragePool", "GlobalAveragePool", None, None])
    n, c, h, w = shape
    if kind == "GlobalAveragePool":
        return g.node(kind, [x]), [n, c, 1, 1]
    if kind is None:
        return x, shape
    kernel, stride = rng.randint(2, 3), rng.randint(1, 2)
    pad = rng.randint(0, kernel // 2)
    out_h, out_w = (_conv_out(s, kernel, stride, 1, (pad, pad)) for s in (h, w))
    if out_h < 1 or out_w < 1:
        return x, shape
    attrs: dict[str, Any] = {"kernel_shape": [kernel] * 2, "strides": [stride] * 2}
    attrs["pads"] = [pad] * 4
    if kind == "AveragePool":
        attrs["count_include_pad"] = rng.randint(0, 1)
    return g.node(kind, [x], **attrs), [n, c, out_h, out_w]


def _conv_family(g: _Graph) -> tuple[list[int], str, list[int]]:
    shape = [g.rng.randint(1, 2), g.rng.randint(1, 12), g.rng.randint(5, 20), g.rng.randint(5, 20)]
    x, current = "x", list(shape)
    for _ in range(g.rng.randint(1, 3)):
        x, current = _conv_layer(g, x, current)
    if x == "x":
        x = g.node("Relu", [x])
    return shape, x, current


def _mlp_family(g: _Graph) -> tuple[list[int], str, list[int]]:
    batch, width = g.rng.randint(1, 4), g.rng.randint(1, 64)
    x, shape = "x", [batch, width]
    for _ in range(g.rng.randint(1, 3)):
        out = g.rng.randint(1, 64)
        scale = 1 / math.sqrt(width)
        if g.rng.random() < 0.5:
            trans_b = g.rng.randint(0, 1)
            w = g.weight((out, width) if trans_b else (width, out), scale)
            x = g.node("Gemm", [x, w, g.weight((out,), 0.1)], transB=trans_b)
        else:
            x = g.node(
                "Add", [g.node("MatMul", [x, g.weight((width, out), scale)]), g.weight((out,))]
            )
        x, width = g.activation(x), out
    return [batch, shape[1]], x, [batch, width]


def _shape_family(g: _Graph) -> tuple[list[int], str, list[int]]:
    rng = g.rng
    dims = [rng.randint(1, 5) for _ in range(rng.randint(2, 4))]
    x, shape = "x", list(dims)
    for _ in range(rng.randint(2, 5)):
        x, shape = rng.choice(_SHAPE_STEPS)(g, x, shape)
    return dims, x, shape


def _int64(g: _Graph, values: list[int]) -> str:
    name = g.name("k")
    g.weights.append(numpy_helper.from_array(np.array(values, np.int64), name))
    return name


def _transpose(g: _Graph, x: str, shape: list[int]) -> tuple[str, list[int]]:
    perm = list(range(len(shape)))
    g.rng.shuffle(perm)
    return g.node("Transpose", [x], perm=perm), [shape[p] for p in perm]


def _reshape(g: _Graph, x: str, shape: list[int]) -> tuple[str, list[int]]:
    total = math.prod(shape)
    first = g.rng.choice([d for d in range(1, total + 1) if total % d == 0])
    new = [first, -1] if g.rng.random() < 0.5 else [first, total // first]
    return g.node("Reshape", [x, _int64(g, new)]), [first, total // first]


def _unsqueeze_squeeze(g: _Graph, x: str, shape: list[int]) -> tuple[str, list[int]]:
    axis = g.rng.randint(0, len(shape))
    y = g.node("Unsqueeze", [x, _int64(g, [axis])])
    if g.rng.random() < 0.5:
        return y, [*shape[:axis], 1, *shape[axis:]]
    return g.node("Squeeze", [y, _int64(g, [axis])]), shape


def _slice(g: _Graph, x: str, shape: list[int]) -> tuple[str, list[int]]:
    axis = g.rng.randrange(len(shape))
    start = g.rng.randint(0, shape[axis] - 1)
    end = g.rng.randint(start + 1, shape[axis])
    y = g.node("Slice", [x, _int64(g, [start]), _int64(g, [end]), _int64(g, [axis])])
    return y, [*shape[:axis], end - start, *shape[axis + 1 :]]


def _concat(g: _Graph, x: str, shape: list[int]) -> tuple[str, list[int]]:
    axis = g.rng.randrange(len(shape))
    other = list(shape)
    other[axis] = g.rng.randint(1, 3)
    y = g.node("Concat", [x, g.weight(tuple(other))], axis=axis)
    return y, [*shape[:axis], shape[axis] + other[axis], *shape[axis + 1 :]]


def _broadcast_binary(g: _Graph, x: str, shape: list[int]) -> tuple[str, list[int]]:
    other = [d if g.rng.random() < 0.5 else 1 for d in shape][g.rng.randint(0, len(shape) - 1) :]
    op = g.rng.choice(["Add", "Sub", "Mul", "Max", "Min"])
    operands = [x, g.weight(tuple(other))]
    g.rng.shuffle(operands)
    return g.node(op, operands), shape


def _flatten(g: _Graph, x: str, shape: list[int]) -> tuple[str, list[int]]:
    axis = g.rng.randint(0, len(shape))
    return g.node("Flatten", [x], axis=axis), [math.prod(shape[:axis]), math.prod(shape[axis:])]


_SHAPE_STEPS: list[Callable[[_Graph, str, list[int]], tuple[str, list[int]]]] = [
    _transpose, _reshape, _unsqueeze_squeeze, _slice, _concat, _broadcast_binary, _flatten,
]  # fmt: skip
FAMILIES = {"conv": _conv_family, "mlp": _mlp_family, "shapes": _shape_family}


def random_graph(seed: int) -> onnx.ModelProto:
    """A valid model drawn from family `seed % 3` (conv, mlp, shapes) with input `x`."""
    rng = random.Random(seed)
    family = list(FAMILIES.values())[seed % len(FAMILIES)]
    g = _Graph(rng)
    input_shape, output, output_shape = family(g)
    graph = helper.make_graph(
        g.nodes,
        f"random{seed}",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, output_shape)],
        g.weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(model, full_check=True)
    return model


def random_feeds(model: onnx.ModelProto, seed: int) -> dict[str, np.ndarray]:
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    return {"x": np.random.default_rng(seed).standard_normal(shape).astype(np.float32)}
