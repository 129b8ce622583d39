"""Multiply-accumulates of an ONNX model: what its Conv, Gemm and MatMul nodes compute, from
the shapes ONNX shape inference gives, or, where it cannot follow shapes computed at run
time, from the types of lamina's graph-level import (the benchmarks' achieved GFLOP/s is
2 * MACs / s).

    macs = model_macs(model)   # an int; the main graph only (no If / Loop bodies)

Each node costs (elements of its output) * (MACs per output element): a Conv's weight
[F, C/group, k...] gives C/group * prod(k) per element, a Gemm's A [M, K] (or [K, M] with
transA) gives K, a MatMul's A [..., K] gives K. Biases, activations and the other ops are
not counted. A shape that neither knows as static is `UnsupportedError`.
"""

from __future__ import annotations

import math
from typing import cast

import onnx
from xdsl.dialects.builtin import IntegerAttr, TensorType
from xdsl.ir import Attribute
from xdsl.utils.hints import isa

from lamina.compiler import import_model
from lamina.dialects import graph
from lamina.errors import LaminaError, UnsupportedError
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

    trans_a = any(attr.name == "transA" and attr.i for attr in node.attribute)
    output, a = shape(node.output[0]), shape(node.input[0])
    w = shape(node.input[1]) if node.op_type == "Conv" else ()  # only a Conv's window counts
    return macs_of(node.op_type, output, a, w, trans_a)


def macs_of(op_type: str, output: Shape, a: Shape, w: Shape, trans_a: bool) -> int:
    """A Conv's, Gemm's or MatMul's MACs from its output, first and second operand shapes."""
    if op_type == "Conv":
        return math.prod(output) * math.prod(w[1:])
    return math.prod(output) * (a[0] if op_type == "Gemm" and trans_a else a[-1])


MAC_OPS = ("Conv", "Gemm", "MatMul")
GRAPH_MAC_OPS = {graph.ConvOp: "Conv", graph.GemmOp: "Gemm", graph.MatMulOp: "MatMul"}
"""The graph ops of the MAC_OPS, as lamina imports them."""


def model_macs(model: onnx.ModelProto) -> int:
    """The multiply-accumulates of the model's Conv, Gemm and MatMul nodes."""
    nodes = [n for n in model.graph.node if n.op_type in MAC_OPS]
    shapes = static_shapes(model) if nodes else {}
    try:
        return sum(node_macs(node, shapes) for node in nodes)
    except UnsupportedError as not_static:
        try:
            macs = imported_macs(model)
        except LaminaError:  # lamina does not import it: the first answer stands
            macs = None
        if macs is None:
            raise not_static from None
        return macs


def imported_macs(model: onnx.ModelProto) -> int | None:
    """The MACs of the graph.conv / gemm / mat_mul ops of lamina's import of `model`, None
    when one of their shapes is not static there either."""
    total = 0
    for op in import_model(model).walk():
        if type(op) not in GRAPH_MAC_OPS:
            continue
        types = [op.results[0].type, op.operands[0].type, op.operands[1].type]
        if not all(isa(t, TensorType[Attribute]) and t.has_static_shape() for t in types):
            return None
        output, a, w = (tuple(cast(TensorType[Attribute], t).get_shape()) for t in types)
        trans_a = op.properties.get("transA")
        transposed = isinstance(trans_a, IntegerAttr) and trans_a.value.data != 0
        total += macs_of(GRAPH_MAC_OPS[type(op)], output, a, w, transposed)
    return total
