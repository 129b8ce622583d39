"""Multiply-accumulates of an ONNX model: what its Conv, Gemm and MatMul nodes compute, from
the shapes ONNX shape inference gives (the benchmarks' achieved GFLOP/s is 2 * MACs / s).

    macs = model_macs(model)   # an int; the main graph only (no If / Loop bodies)

Each node costs (elements of its output) * (MACs per output element): a Conv's weight
[F, C/group, k...] gives C/group * prod(k) per element, a Gemm's A [M, K] (or [K, M] with
transA) gives K, a MatMul's A [..., K] gives K. Biases, activations and the other ops are
not counted. A shape that is not static is `UnsupportedError`.
"""

from __future__ import annotations

import math

import onnx

from lamina.errors import UnsupportedError
from lamina.tools.models import inferred_values

Shape = tuple[int, ...]


def static_shapes(model: onnx.ModelProto) -> dict[str, Shape]:
    """The shape of each value whose dimensions are all known numbers: the weights' dims,
    then what the graph's inputs and outputs or shape inference say."""
    graph = model.graph
    shapes: dict[str, Shape] = {t.name: tuple(t.dims) for t in graph.initializer}
    for value in [*graph.input, *graph.output, *inferred_values(model)]:
        tensor = value.type.tensor_type
        if tensor.HasField("shape") and all(d.HasField("dim_value") for d in tensor.shape.dim):
            shapes.setdefault(value.name, tuple(d.dim_value for d in tensor.shape.dim))
    return shapes


def node_macs(node: onnx.NodeProto, shapes: dict[str, Shape]) -> int:
    """The multiply-accumulates of one Conv, Gemm or MatMul node (see the module docstring)."""

    def shape(name: str) -> Shape:
        found = shapes.get(name)
        if found is None:
            raise UnsupportedError(
                f"MACs of node '{node.name}' ({node.op_type}): the shape of '{name}' is not static"
            )
        return found

    outputs = math.prod(shape(node.output[0]))
    if node.op_type == "Conv":
        return outputs * math.prod(shape(node.input[1])[1:])
    a = shape(node.input[0])
    trans_a = any(attr.name == "transA" and attr.i for attr in node.attribute)
    reduced = a[0] if node.op_type == "Gemm" and trans_a else a[-1]
    return outputs * reduced


MAC_OPS = ("Conv", "Gemm", "MatMul")


def model_macs(model: onnx.ModelProto) -> int:
    """The multiply-accumulates of the model's Conv, Gemm and MatMul nodes."""
    nodes = [n for n in model.graph.node if n.op_type in MAC_OPS]
    shapes = static_shapes(model) if nodes else {}
    return sum(node_macs(node, shapes) for node in nodes)
