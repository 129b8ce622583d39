"""Reading, validating and normalizing an ONNX model before it becomes IR.

The onnx library's checker, version converter and shape inference serialize the whole
model, so on a 100 MB model they would cost seconds. They run on a *skeleton* instead:
the model with its large initializers turned into typed graph inputs. The weights stay
in the original protos and are handed to the IR builder by name.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import onnx
import onnx.inliner
from google.protobuf.message import Message
from onnx import GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto, helper

from lamina.dialects.graph_ops import GRAPH_OPSET
from lamina.errors import ModelImportError, UnsupportedError, all_unsupported
from lamina.parser.onnx_annotations import (
    infer_without_annotations,
    is_stale_annotation_error,
    unknown_negative_dims,
)
from lamina.parser.onnx_contrib import expand_contrib_ops
from lamina.parser.onnx_opsets import definition_version, reads_as_dialect_op
from lamina.parser.onnx_types import (
    SUPPORTED_OPSETS,
    is_default_domain,
    onnx_error_message,
    onnx_error_reason,
    unsupported_node_error,
)

P = ParamSpec("P")
R = TypeVar("R")

TARGET_OPSET = GRAPH_OPSET
"""The graph dialect's ops have the semantics of this opset (each operator's newest
definition); a model of another opset is converted where its definitions differ."""

_INLINE_WEIGHT_ELEMENTS = 64
"""Initializers up to this size stay in the skeleton: shape inference may read their
values (a Reshape's shape, a Slice's starts); weights are larger."""


@dataclass
class PreparedModel:
    """A checked, opset-converted, shape-inferred skeleton and the weights it refers to."""

    model: ModelProto
    weights: dict[str, TensorProto]
    initializer_order: list[str]
    where: str


def prepare_model(
    model: ModelProto, where: str, input_shapes: Mapping[str, Sequence[int]] | None
) -> PreparedModel:
    if not model.HasField("graph") or model.ir_version == 0:
        raise ModelImportError("not an ONNX model (no ir_version or no graph)", where)
    opset = _default_opset(model, where)
    for tensor in model.graph.initializer:
        if tensor.data_location == TensorProto.EXTERNAL:
            raise ModelImportError(
                f"initializer '{tensor.name}' is stored in external data; import the model "
                "from its file so that the data next to it can be read",
                where,
            )
    skeleton, weights = _strip_weights(model)
    unknown_negative_dims(skeleton.graph)
    if skeleton.functions:
        skeleton = _onnx_step(onnx.inliner.inline_local_functions, where, skeleton)
    skeleton = expand_contrib_ops(skeleton)
    if not all(isinstance(text, str) for text in _graph_text(skeleton.graph)):
        raise ModelImportError("the model holds names that are not UTF-8 text", where)
    _check_operators(skeleton.graph, opset, where)
    _onnx_step(onnx.checker.check_model, where, skeleton)
    if input_shapes:
        _bind_input_shapes(skeleton.graph, weights, input_shapes, where)
    skeleton = _at_graph_opset(skeleton, opset, where)
    _spell_out_function_defaults(skeleton.graph)
    _explicit_stft_onesided(skeleton.graph)
    skeleton = _infer_shapes(skeleton, where)
    order = [t.name for t in model.graph.initializer]
    return PreparedModel(skeleton, weights, order, where)


def _infer_shapes(model: ModelProto, where: str) -> ModelProto:
    """Strict shape inference; annotations it rejects as stale are dropped with a warning."""

    def infer(model: ModelProto) -> ModelProto:
        return onnx.shape_inference.infer_shapes(
            model, check_type=True, strict_mode=True, data_prop=True
        )

    try:
        return infer(model)
    except Exception as err:  # InferenceError, or another onnx error reported below
        if not is_stale_annotation_error(str(err)):
            raise ModelImportError(onnx_error_message(err), where) from err
    return _onnx_step(infer_without_annotations, where, model, infer, where)


def _spell_out_function_defaults(graph: GraphProto) -> None:
    """Give nodes of ops defined by a function body their missing attributes' defaults: the
    body may refer to one (MeanVarianceNormalization's `value_ints = @axes`), and onnx's
    shape inference does not substitute a default there."""
    for node in graph.node:
        if not is_default_domain(node.domain) or not onnx.defs.has(node.op_type):
            continue
        schema = onnx.defs.get_schema(node.op_type, TARGET_OPSET)
        if not schema.function_body.node:  # not defined by a function
            continue
        present = {a.name for a in node.attribute}
        for name, attr in schema.attributes.items():
            if name not in present and attr.default_value.name:
                default = onnx.AttributeProto()
                default.CopyFrom(attr.default_value)
                default.name = name
                node.attribute.append(default)


def _explicit_stft_onesided(graph: GraphProto) -> None:
    """Give STFT nodes their schema default `onesided = 1` explicitly: onnx's STFT shape
    inference reads a missing `onesided` as 0 and then rejects the model's true shape."""
    for node in graph.node:
        stft = node.op_type == "STFT" and is_default_domain(node.domain)
        if stft and not any(a.name == "onesided" for a in node.attribute):
            node.attribute.append(helper.make_attribute("onesided", 1))


def _onnx_step(step: Callable[P, R], where: str, *args: P.args, **kwargs: P.kwargs) -> R:
    """Run an onnx library step, turning its exceptions into a ModelImportError."""
    try:
        return step(*args, **kwargs)
    except Exception as err:  # onnx raises ValidationError, InferenceError, RuntimeError, ...
        raise ModelImportError(onnx_error_message(err), where) from err


def _default_opset(model: ModelProto, where: str) -> int:
    versions = [o.version for o in model.opset_import if is_default_domain(o.domain)]
    if not versions:
        domains = sorted({o.domain for o in model.opset_import})
        if domains:
            raise UnsupportedError(f"operators of domains {', '.join(domains)}", where)
        raise ModelImportError("the model imports no opset of the default ONNX domain", where)
    opset = versions[0]
    if opset < SUPPORTED_OPSETS[0] or opset > onnx.defs.onnx_opset_version():
        first, last = SUPPORTED_OPSETS[0], onnx.defs.onnx_opset_version()
        raise ModelImportError(
            f"opset {opset} of the default domain is outside the supported range {first}-{last}",
            where,
        )
    return opset


def _at_graph_opset(model: ModelProto, opset: int, where: str) -> ModelProto:
    """The model at GRAPH_OPSET, converted only where a node's definition differs.

    When every node means at the model's opset what the graph dialect's op means, only the
    import is rewritten. Otherwise the version converter's adapters convert the model; a
    node whose definition is newer than the dialect's is unsupported.
    """
    nodes = list(_all_nodes(model.graph))
    errors: list[UnsupportedError] = []
    for node in nodes:
        since = definition_version(node.op_type, opset)
        if since > GRAPH_OPSET:
            reason = (
                f"the opset-{since} definition of '{node.op_type}' (lamina has opset {GRAPH_OPSET})"
            )
            errors.append(unsupported_node_error(node, reason, where))
    if errors:
        raise all_unsupported(errors)
    if opset < GRAPH_OPSET and not all(reads_as_dialect_op(node, opset) for node in nodes):
        try:
            return onnx.version_converter.convert_version(model, GRAPH_OPSET)
        except Exception as err:  # the converter raises RuntimeError, ValidationError, ...
            raise ModelImportError(
                f"cannot convert the model from opset {opset} to {GRAPH_OPSET}: "
                f"{onnx_error_message(err)}",
                where,
            ) from err
    relabeled = ModelProto()
    relabeled.CopyFrom(model)
    for entry in relabeled.opset_import:
        if is_default_domain(entry.domain):
            entry.version = GRAPH_OPSET
    return relabeled


def _strip_weights(model: ModelProto) -> tuple[ModelProto, dict[str, TensorProto]]:
    """A copy of `model` whose large initializers are graph inputs of the same type."""
    graph = model.graph
    weights = {t.name: t for t in graph.initializer if math.prod(t.dims) > _INLINE_WEIGHT_ELEMENTS}
    skeleton = ModelProto()
    _copy_fields(model, skeleton, skip={"graph"})
    _copy_fields(graph, skeleton.graph, skip={"initializer", "input"})
    skeleton.graph.initializer.extend(t for t in graph.initializer if t.name not in weights)
    skeleton.graph.input.extend(v for v in graph.input if v.name not in weights)
    skeleton.graph.input.extend(
        helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in weights.values()
    )
    return skeleton, weights


def _copy_fields(source: Message, target: Message, skip: set[str]) -> None:
    for field, value in source.ListFields():
        if field.name in skip:
            continue
        if field.is_repeated:
            getattr(target, field.name).extend(value)
        elif field.message_type is not None:
            getattr(target, field.name).CopyFrom(value)
        else:
            setattr(target, field.name, value)


def _check_operators(graph: GraphProto, opset: int, where: str) -> None:
    """Unknown domains and operators fail as unsupported before the checker sees them, all
    in one error."""
    errors = [e for node in _all_nodes(graph) if (e := _operator_error(node, opset, where))]
    if errors:
        raise all_unsupported(errors)


def _operator_error(node: NodeProto, opset: int, where: str) -> UnsupportedError | None:
    if not is_default_domain(node.domain):
        return unsupported_node_error(node, f"operators of domain '{node.domain}'", where)
    if not onnx.defs.has(node.op_type):
        return unsupported_node_error(node, f"'{node.op_type}' is not an operator of ONNX", where)
    try:
        schema = onnx.defs.get_schema(node.op_type, opset)
    except onnx.defs.SchemaError:
        reason = f"'{node.op_type}' does not exist in opset {opset}"
        return unsupported_node_error(node, reason, where)
    if schema.deprecated:
        reason = f"'{node.op_type}' is deprecated in opset {opset}"
        return unsupported_node_error(node, reason, where)
    if node.op_type == "Scan" and schema.since_version < 9:
        # the version converter drops the batch axis without reshaping the inputs
        return unsupported_node_error(node, "the opset-8 Scan (batch axis, sequence_lens)", where)
    return None


def _graph_text(graph: GraphProto) -> Iterator[object]:
    """Every name in the graph: protobuf hands out invalid UTF-8 as bytes, not str."""
    yield graph.name
    yield from (t.name for t in graph.initializer)
    for value in [*graph.input, *graph.output, *graph.value_info]:
        yield value.name
        yield from (dim.dim_param for dim in value.type.tensor_type.shape.dim)
    for node in graph.node:
        yield from (node.name, node.op_type, node.domain, *node.input, *node.output)
        for attr in node.attribute:
            yield attr.name
            if attr.HasField("g"):
                yield from _graph_text(attr.g)
            for subgraph in attr.graphs:
                yield from _graph_text(subgraph)


def _all_nodes(graph: GraphProto) -> Iterator[NodeProto]:
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.HasField("g"):
                yield from _all_nodes(attr.g)
            for subgraph in attr.graphs:
                yield from _all_nodes(subgraph)


def _bind_input_shapes(
    graph: GraphProto,
    weights: Mapping[str, TensorProto],
    input_shapes: Mapping[str, Sequence[int]],
    where: str,
) -> None:
    """Give the named inputs static shapes; a bound symbolic dim binds it in every input."""
    constants = {t.name for t in graph.initializer} | set(weights)
    inputs = {v.name: v for v in graph.input if v.name not in constants}
    symbols: dict[str, int] = {}
    for name, shape in input_shapes.items():
        if name not in inputs:
            known = ", ".join(f"'{n}'" for n in inputs) or "none"
            raise ModelImportError(
                f"input shape given for '{name}', which is not a graph input (inputs: {known})",
                where,
            )
        symbols |= _bind_shape(inputs[name], list(shape), where)
    for value in inputs.values():
        for dim in value.type.tensor_type.shape.dim:
            if dim.HasField("dim_param") and dim.dim_param in symbols:
                dim.dim_value = symbols[dim.dim_param]


def _bind_shape(value: ValueInfoProto, shape: list[int], where: str) -> dict[str, int]:
    """Binds `value`'s dims to `shape`; a size of 0 in the model (an exporter's "unknown",
    like -1) yields to the given size."""
    if value.type.WhichOneof("value") != "tensor_type":
        raise ModelImportError(f"input '{value.name}' is not a tensor", where)
    if any(size < -1 for size in shape):
        raise ModelImportError(f"input shape {shape} of '{value.name}' has a negative size", where)
    tensor = value.type.tensor_type
    given = "x".join("?" if size < 0 else str(size) for size in shape) or "scalar"
    if tensor.HasField("shape") and len(tensor.shape.dim) != len(shape):
        raise ModelImportError(
            f"input shape {given} of '{value.name}' has rank {len(shape)}, "
            f"but the input has rank {len(tensor.shape.dim)}",
            where,
        )
    dims = list(tensor.shape.dim) if tensor.HasField("shape") else []
    if not dims:
        tensor.shape.SetInParent()
        dims = [tensor.shape.dim.add() for _ in shape]
    symbols: dict[str, int] = {}
    for index, (dim, size) in enumerate(zip(dims, shape, strict=True)):
        if size < 0:
            continue
        if dim.HasField("dim_value") and dim.dim_value not in (0, size):
            raise ModelImportError(
                f"input shape {given} of '{value.name}' conflicts with its static size "
                f"{dim.dim_value} in dimension {index}",
                where,
            )
        if dim.HasField("dim_param"):
            symbols[dim.dim_param] = size
        dim.dim_value = size
    return symbols


ModelSource = str | os.PathLike[str] | bytes | ModelProto
"""A model file path, the serialized model, or a loaded ModelProto (left unchanged)."""


def where_of(model: ModelSource) -> str:
    """How errors name the model: its file path, `<bytes>` or `<model>`."""
    if isinstance(model, bytes):
        return "<bytes>"
    if isinstance(model, ModelProto):
        return "<model>"
    return os.fspath(model)


def load_model(model: ModelSource, where: str) -> ModelProto:
    """The ModelProto of a path (external data loaded from beside it), bytes or proto."""
    if isinstance(model, ModelProto):
        return model
    try:
        if isinstance(model, bytes):
            return onnx.load_from_string(model)
        return onnx.load(os.fspath(model))
    except Exception as err:  # protobuf DecodeError, OSError, onnx's ValidationError, ...
        raise ModelImportError(f"cannot read the model: {onnx_error_reason(err)}", where) from err
