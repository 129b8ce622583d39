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

from lamina.errors import ModelImportError, UnsupportedError
from lamina.parser.onnx_types import (
    SUPPORTED_OPSETS,
    is_default_domain,
    onnx_error_message,
    onnx_error_reason,
    unsupported_node,
)

P = ParamSpec("P")
R = TypeVar("R")

TARGET_OPSET = SUPPORTED_OPSETS[-1]
"""The graph dialect's ops have the semantics of this opset; older models are converted."""

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
    if skeleton.functions:
        skeleton = _onnx_step(onnx.inliner.inline_local_functions, where, skeleton)
    if not all(isinstance(text, str) for text in _graph_text(skeleton.graph)):
        raise ModelImportError("the model holds names that are not UTF-8 text", where)
    _check_operators(skeleton.graph, opset, where)
    _onnx_step(onnx.checker.check_model, where, skeleton)
    if opset > TARGET_OPSET:
        skeleton = _lower_opset(skeleton, opset, where)
        opset = TARGET_OPSET
    if input_shapes:
        _bind_input_shapes(skeleton.graph, weights, input_shapes, where)
    if opset < TARGET_OPSET:
        try:
            skeleton = onnx.version_converter.convert_version(skeleton, TARGET_OPSET)
        except Exception as err:  # the converter raises RuntimeError, ValidationError, ...
            raise ModelImportError(
                f"cannot convert the model from opset {opset} to {TARGET_OPSET}: "
                f"{onnx_error_message(err)}",
                where,
            ) from err
    _explicit_stft_onesided(skeleton.graph)
    skeleton = _onnx_step(
        onnx.shape_inference.infer_shapes,
        where,
        skeleton,
        check_type=True,
        strict_mode=True,
        data_prop=True,
    )
    order = [t.name for t in model.graph.initializer]
    return PreparedModel(skeleton, weights, order, where)


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


def _lower_opset(model: ModelProto, opset: int, where: str) -> ModelProto:
    """The model at TARGET_OPSET, for a model of a newer opset.

    The version converter's down-adapters come first. Where it has none, an operator whose
    definition has not changed since TARGET_OPSET means the same at both opsets, so only the
    import is rewritten; a node using a newer definition is unsupported.
    """
    try:
        return onnx.version_converter.convert_version(model, TARGET_OPSET)
    except Exception:  # no down-adapter for some node: decide node by node below
        pass
    for node in _all_nodes(model.graph):
        since = onnx.defs.get_schema(node.op_type, opset).since_version
        if since > TARGET_OPSET:
            unsupported_node(
                node,
                f"the opset-{since} definition of '{node.op_type}' "
                f"(lamina has opset {TARGET_OPSET})",
                where,
            )
    lowered = ModelProto()
    lowered.CopyFrom(model)
    for entry in lowered.opset_import:
        if is_default_domain(entry.domain):
            entry.version = TARGET_OPSET
    return lowered


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
    """Unknown domains and operators fail as unsupported before the checker sees them."""
    for node in _all_nodes(graph):
        if not is_default_domain(node.domain):
            unsupported_node(node, f"operators of domain '{node.domain}'", where)
        if not onnx.defs.has(node.op_type):
            unsupported_node(node, f"'{node.op_type}' is not an operator of ONNX", where)
        try:
            schema = onnx.defs.get_schema(node.op_type, opset)
        except onnx.defs.SchemaError:
            unsupported_node(node, f"'{node.op_type}' does not exist in opset {opset}", where)
        if schema.deprecated:
            unsupported_node(node, f"'{node.op_type}' is deprecated in opset {opset}", where)


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
        if dim.HasField("dim_value") and dim.dim_value != size:
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
