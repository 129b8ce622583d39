"""Lenient type annotations: what an exporter wrote in `value_info` and the graph outputs is a
hint, and shape inference decides.

Exporters leave annotations behind that no longer hold (a batch of -1 or 0 for "unknown",
a rank from before a graph rewrite). onnxruntime merges them leniently; onnx's strict shape
inference refuses them. So a size of -1 becomes an unknown dim everywhere, and when strict
inference rejects an annotation, the annotations are taken out, inference runs again, and
each one that disagrees with the inferred type is dropped with a `LaminaWarning` naming the
value. An annotation that agrees fills in what inference left unknown.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator

from onnx import GraphProto, ModelProto, TypeProto, ValueInfoProto

from lamina.errors import LaminaWarning
from lamina.parser.onnx_types import ELEMENT_TYPES, dtype_name

_STALE_ANNOTATION_ERRORS = (
    "Inferred shape and existing shape differ",
    "Inferred elem type differs from existing elem type",
)
"""Strict shape inference's words for an annotation that disagrees with the inferred type."""


def unknown_negative_dims(graph: GraphProto) -> None:
    """Dims of size -1 (an exporter's "unknown") become unknown dims, in every subgraph."""
    for value in _annotated_values(graph):
        for dim in value.type.tensor_type.shape.dim:
            if dim.HasField("dim_value") and dim.dim_value < 0:
                dim.Clear()


def is_stale_annotation_error(message: str) -> bool:
    return any(words in message for words in _STALE_ANNOTATION_ERRORS)


def infer_without_annotations(
    model: ModelProto, infer: Callable[[ModelProto], ModelProto], where: str
) -> ModelProto:
    """`infer(model)` with the value_info and output annotations (of every subgraph too)
    taken out first, then put back where they agree with the inferred types (a warning for
    each one that does not)."""
    stripped = ModelProto()
    stripped.CopyFrom(model)
    annotations = [_take_annotations(graph) for graph in _graphs(stripped.graph)]
    inferred = infer(stripped)
    for graph, taken in zip(_graphs(inferred.graph), annotations, strict=True):
        _restore_annotations(graph, taken, where)
    return inferred


def _graphs(graph: GraphProto) -> Iterator[GraphProto]:
    """`graph` and its subgraphs, depth first in node order."""
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            for subgraph in [attr.g] if attr.HasField("g") else attr.graphs:
                yield from _graphs(subgraph)


def _annotated_values(graph: GraphProto) -> Iterator[ValueInfoProto]:
    for each in _graphs(graph):
        yield from (*each.input, *each.output, *each.value_info)


def _take_annotations(graph: GraphProto) -> dict[str, TypeProto]:
    """Removes the graph's value_info and output shapes; returns them by value name."""
    annotations: dict[str, TypeProto] = {}
    for value in graph.value_info:
        annotations[value.name] = _copy(value.type)
    del graph.value_info[:]
    for value in graph.output:
        annotations[value.name] = _copy(value.type)
        value.type.tensor_type.ClearField("shape")
    return annotations


def _restore_annotations(graph: GraphProto, annotations: dict[str, TypeProto], where: str) -> None:
    inferred = {v.name: v for v in (*graph.input, *graph.output, *graph.value_info)}
    for name, annotated in annotations.items():
        value = inferred.get(name)
        if value is None:
            graph.value_info.add(name=name).type.CopyFrom(annotated)
        elif _disagree(annotated, value.type):
            warnings.warn(
                LaminaWarning(
                    f"the annotated type {_spell(annotated)} of '{name}' disagrees with its "
                    f"inferred type {_spell(value.type)}; keeping the inferred type",
                    where,
                ),
                stacklevel=2,
            )
        else:
            _fill_unknown(value.type, annotated)


def _disagree(annotated: TypeProto, inferred: TypeProto) -> bool:
    a, b = annotated.tensor_type, inferred.tensor_type
    if a.elem_type and b.elem_type and a.elem_type != b.elem_type:
        return True
    if not (a.HasField("shape") and b.HasField("shape")):
        return False
    if len(a.shape.dim) != len(b.shape.dim):
        return True
    return any(
        x.HasField("dim_value") and y.HasField("dim_value") and x.dim_value != y.dim_value
        for x, y in zip(a.shape.dim, b.shape.dim, strict=True)
    )


def _fill_unknown(inferred: TypeProto, annotated: TypeProto) -> None:
    """Static sizes and the shape of an agreeing annotation where inference has none."""
    target, source = inferred.tensor_type, annotated.tensor_type
    if not target.elem_type:
        target.elem_type = source.elem_type
    if not source.HasField("shape"):
        return
    if not target.HasField("shape"):
        target.shape.CopyFrom(source.shape)
        return
    for dim, hint in zip(target.shape.dim, source.shape.dim, strict=True):
        if not dim.HasField("dim_value") and hint.HasField("dim_value"):
            dim.dim_value = hint.dim_value


def _spell(type_proto: TypeProto) -> str:
    """`tensor<1x?x4xf32>`: a tensor type in warnings (`tensor<1x4xFLOAT8E5M2>` when the
    element type has no MLIR counterpart)."""
    tensor = type_proto.tensor_type
    element = ELEMENT_TYPES.get(tensor.elem_type)
    element_name = str(element) if element is not None else dtype_name(tensor.elem_type)
    if not tensor.HasField("shape"):
        return f"tensor<*x{element_name}>"
    dims = [str(d.dim_value) if d.HasField("dim_value") else "?" for d in tensor.shape.dim]
    return f"tensor<{'x'.join([*dims, element_name])}>"


def _copy(type_proto: TypeProto) -> TypeProto:
    copy = TypeProto()
    copy.CopyFrom(type_proto)
    return copy
