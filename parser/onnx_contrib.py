"""onnxruntime's quantized operators (domain `com.microsoft`, which its quantizer writes in
the QOperator form) expanded into standard ONNX nodes at import, as onnxruntime defines
them: each quantized input dequantized, the float operator, its result quantized.

    QLinearAdd(a, as, az, b, bs, bz, cs, cz)
      -> QuantizeLinear(Add(DequantizeLinear(a, as, az), DequantizeLinear(b, bs, bz)), cs, cz)

The QDQ form they become is what lamina computes exactly (lowering/graph_to_top_quant.py).
Other `com.microsoft` operators, and the forms of these that are not expanded (a channels-
last pool, a QLinearSoftmax of the opset-11 semantics on an axis that is not the last),
stay and are reported as unsupported with the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from onnx import AttributeProto, GraphProto, ModelProto, NodeProto, helper

from lamina.names import unused_name

CONTRIB_DOMAIN = "com.microsoft"


class _Expansion:
    """Builds the nodes that replace one contrib node; fresh value names derive from its
    first output's."""

    def __init__(self, node: NodeProto, taken: set[str]) -> None:
        self.node = node
        self.taken = taken
        self.nodes: list[NodeProto] = []

    def fresh(self, what: str) -> str:
        return unused_name(f"{self.node.output[0]}__{what}", self.taken)

    def add(
        self,
        op_type: str,
        inputs: list[str],
        attrs: dict[str, Any] | None = None,
        output: str | None = None,
    ) -> str:
        """A node `op_type(inputs)` with `attrs`; its output (a fresh name by default)."""
        out = output if output is not None else self.fresh(op_type.lower())
        while inputs and not inputs[-1]:  # absent trailing optional inputs
            inputs = inputs[:-1]
        name = f"{self.node.name or self.node.output[0]}/{op_type}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=name, **(attrs or {})))
        return out

    def dequantize(self, x: str, scale: str, zero_point: str, axis: int | None = None) -> str:
        attrs = None if axis is None else {"axis": axis}
        return self.add("DequantizeLinear", [x, scale, zero_point], attrs)

    def quantize(self, x: str, scale: str, zero_point: str) -> str:
        return self.add("QuantizeLinear", [x, scale, zero_point], output=self.node.output[0])


def _attrs(node: NodeProto, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute if a.name not in drop}


def _binary(op_type: str) -> Callable[[_Expansion], bool]:
    def expand(e: _Expansion) -> bool:
        a, a_s, a_z, b, b_s, b_z, c_s, c_z = [*e.node.input, *[""] * 8][:8]
        y = e.add(op_type, [e.dequantize(a, a_s, a_z), e.dequantize(b, b_s, b_z)])
        e.quantize(y, c_s, c_z)
        return True

    return expand


def _unary(op_type: str, keep: tuple[str, ...] = ()) -> Callable[[_Expansion], bool]:
    def expand(e: _Expansion) -> bool:
        x, x_s, x_z, y_s, y_z = [*e.node.input, *[""] * 5][:5]
        attrs = {k: v for k, v in _attrs(e.node).items() if k in keep}
        e.quantize(e.add(op_type, [e.dequantize(x, x_s, x_z)], attrs), y_s, y_z)
        return True

    return expand


def _channels_first_pool(op_type: str) -> Callable[[_Expansion], bool]:
    def expand(e: _Expansion) -> bool:
        attrs = _attrs(e.node, drop=("channels_last",))
        if _attrs(e.node).get("channels_last", 0):
            return False
        x, x_s, x_z, y_s, y_z = [*e.node.input, *[""] * 5][:5]
        e.quantize(e.add(op_type, [e.dequantize(x, x_s, x_z)], attrs), y_s, y_z)
        return True

    return expand


def _concat(e: _Expansion) -> bool:
    y_s, y_z, *parts = e.node.input
    if len(parts) % 3:
        return False
    floats = [e.dequantize(x, s, z) for x, s, z in zip(*[iter(parts)] * 3, strict=True)]
    e.quantize(e.add("Concat", floats, {"axis": _attrs(e.node)["axis"]}), y_s, y_z)
    return True


def _softmax(e: _Expansion) -> bool:
    attrs = _attrs(e.node)
    axis = int(attrs.get("axis", -1))
    if int(attrs.get("opset", 13)) < 13 and axis != -1:  # Softmax-11's flattening
        return False
    x, x_s, x_z, y_s, y_z = [*e.node.input, *[""] * 5][:5]
    e.quantize(e.add("Softmax", [e.dequantize(x, x_s, x_z)], {"axis": axis}), y_s, y_z)
    return True


def _gemm(e: _Expansion) -> bool:
    """QGemm: per-column b scales; the int32 bias c has the scale a_s * b_s; without a
    y scale the result stays float."""
    a, a_s, a_z, b, b_s, b_z, c, y_s, y_z = [*e.node.input, *[""] * 9][:9]
    attrs = _attrs(e.node)
    trans_b = int(attrs.get("transB", 0))
    inputs = [e.dequantize(a, a_s, a_z), e.dequantize(b, b_s, b_z, axis=0 if trans_b else 1)]
    if c:
        inputs.append(e.dequantize(c, e.add("Mul", [a_s, b_s]), "", axis=0))
    gemm = {k: v for k, v in attrs.items() if k in ("alpha", "transA", "transB")}
    if y_s:
        e.quantize(e.add("Gemm", inputs, gemm), y_s, y_z)
    else:
        e.add("Gemm", inputs, gemm, output=e.node.output[0])
    return True


EXPANSIONS: dict[str, Callable[[_Expansion], bool]] = {
    "QLinearAdd": _binary("Add"),
    "QLinearMul": _binary("Mul"),
    "QLinearConcat": _concat,
    "QLinearSigmoid": _unary("Sigmoid"),
    "QLinearLeakyRelu": _unary("LeakyRelu", keep=("alpha",)),
    "QLinearSoftmax": _softmax,
    "QLinearGlobalAveragePool": _channels_first_pool("GlobalAveragePool"),
    "QLinearAveragePool": _channels_first_pool("AveragePool"),
    "QGemm": _gemm,
}
"""How each expanded operator becomes standard nodes; False: this form is not expanded."""


def expand_contrib_ops(model: ModelProto) -> ModelProto:
    """`model` with the `com.microsoft` operators of `EXPANSIONS` expanded (in place, in
    every graph and subgraph); the domain's opset import goes when no node uses it."""
    if not any(n.domain == CONTRIB_DOMAIN for n in _nodes(model.graph)):
        return model
    taken = {name for n in _nodes(model.graph) for name in (*n.input, *n.output)}
    _expand_graph(model.graph, taken)
    if not any(n.domain == CONTRIB_DOMAIN for n in _nodes(model.graph)):
        kept = [o for o in model.opset_import if o.domain != CONTRIB_DOMAIN]
        del model.opset_import[:]
        model.opset_import.extend(kept)
    return model


def _expand_graph(graph: GraphProto, taken: set[str]) -> None:
    nodes: list[NodeProto] = []
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == AttributeProto.GRAPH:
                _expand_graph(attr.g, taken)
            for sub in attr.graphs:
                _expand_graph(sub, taken)
        expansion = _Expansion(node, taken)
        expand = EXPANSIONS.get(node.op_type) if node.domain == CONTRIB_DOMAIN else None
        nodes.extend(expansion.nodes if expand is not None and expand(expansion) else [node])
    del graph.node[:]
    graph.node.extend(nodes)


def _nodes(graph: GraphProto) -> Iterator[NodeProto]:
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == AttributeProto.GRAPH:
                yield from _nodes(attr.g)
            for sub in attr.graphs:
                yield from _nodes(sub)
