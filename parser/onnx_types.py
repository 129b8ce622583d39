"""ONNX types, attributes and error messages as the `graph` dialect spells them.

Shared by the ONNX importer's model preparation (`onnx_prepare`) and IR builder
(`onnx_build`); see `docs/graph-dialect.md` for the attribute table.
"""

from __future__ import annotations

import re
from typing import NoReturn

import numpy as np
from onnx import AttributeProto, NodeProto, TensorProto, TypeProto, helper, numpy_helper
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    ArrayAttr,
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    UnrankedTensorType,
    f32,
    i64,
)
from xdsl.ir import Attribute

from lamina.dialects import weights
from lamina.dialects.graph_ops import GRAPH_OPSET
from lamina.errors import ModelImportError, UnsupportedError, UnsupportedOpError

ELEMENT_TYPES: dict[int, Attribute] = {
    code: weights.element_type(np.dtype(helper.tensor_dtype_to_np_dtype(code)))
    for code in (
        TensorProto.FLOAT,
        TensorProto.DOUBLE,
        TensorProto.FLOAT16,
        TensorProto.BFLOAT16,
        TensorProto.BOOL,
        TensorProto.INT8,
        TensorProto.INT16,
        TensorProto.INT32,
        TensorProto.INT64,
        TensorProto.UINT8,
        TensorProto.UINT16,
        TensorProto.UINT32,
        TensorProto.UINT64,
        TensorProto.INT4,
        TensorProto.UINT4,
        TensorProto.INT2,
        TensorProto.UINT2,
        TensorProto.FLOAT8E4M3FN,
        TensorProto.FLOAT8E4M3FNUZ,
        TensorProto.FLOAT8E5M2,
        TensorProto.FLOAT8E5M2FNUZ,
        TensorProto.FLOAT8E8M0,
        TensorProto.FLOAT4E2M1,
    )
}
"""ONNX element types with an MLIR builtin counterpart, the type of their numpy dtype
(`weights.element_type`: bool is `i1`, ints signless; int4,
uint4, int2, uint2 and float4e2m1, which ONNX packs in its protos, are one element a byte
once imported, like their `ml_dtypes` numpy views)."""


def node_label(node: NodeProto) -> str:
    """The node's name, or its first output when the model left it unnamed."""
    return node.name or next((out for out in node.output if out), "")


def node_message(node: NodeProto, reason: str) -> str:
    return f"node '{node_label(node)}' ({node.op_type}): {reason}"


def fail_node(node: NodeProto, reason: str, where: str) -> NoReturn:
    raise ModelImportError(node_message(node, reason), where)


def unsupported_node_error(node: NodeProto, reason: str, where: str) -> UnsupportedOpError:
    return UnsupportedOpError(node_message(node, reason), where)


def unsupported_node(node: NodeProto, reason: str, where: str) -> NoReturn:
    raise unsupported_node_error(node, reason, where)


def dtype_name(elem_type: int) -> str:
    try:
        return TensorProto.DataType.Name(elem_type)
    except ValueError:
        return f"#{elem_type}"


def element_type(elem_type: int, value: str, where: str) -> Attribute:
    """The MLIR element type of ONNX `elem_type`; `value` names the tensor in errors."""
    if elem_type in ELEMENT_TYPES:
        return ELEMENT_TYPES[elem_type]
    if elem_type == TensorProto.UNDEFINED:
        raise ModelImportError(f"the element type of '{value}' is unknown", where)
    raise UnsupportedError(
        f"tensor '{value}' has element type {dtype_name(elem_type)}, which has no MLIR type",
        where,
    )


def tensor_type(type_proto: TypeProto, value: str, where: str) -> Attribute:
    """`tensor<1x?x224xf32>`, `tensor<f32>` (rank 0) or `tensor<*xf32>` (unknown rank). A
    negative size is `?`: an exporter's "unknown", or what shape inference infers in a
    branch that never runs (a slice of a dim the taken branch has)."""
    kind = type_proto.WhichOneof("value")
    if kind != "tensor_type":
        what = kind.removesuffix("_type") if kind else "unknown"
        raise UnsupportedError(f"value '{value}' has {what} type; only tensors are", where)
    tensor = type_proto.tensor_type
    element = element_type(tensor.elem_type, value, where)
    if not tensor.HasField("shape"):
        return UnrankedTensorType(element)
    shape = [  # a negative size is an exporter's "unknown"
        dim.dim_value if dim.HasField("dim_value") and dim.dim_value >= 0 else DYNAMIC_INDEX
        for dim in tensor.shape.dim
    ]
    return TensorType(element, shape)


def initializer_type(tensor: TensorProto, where: str) -> TensorType[Attribute]:
    return TensorType(element_type(tensor.data_type, tensor.name, where), list(tensor.dims))


def tensor_to_array(tensor: TensorProto, node: NodeProto | None, where: str) -> np.ndarray:
    """The tensor's value as numpy, viewing the proto's bytes (no per-element work)."""
    element_type(tensor.data_type, tensor.name or "<attribute>", where)
    if tensor.data_location == TensorProto.EXTERNAL:
        reason = (
            f"tensor '{tensor.name}' is stored in external data; import the model from "
            "its file so the data can be found next to it"
        )
        if node is not None:
            fail_node(node, reason, where)
        raise ModelImportError(reason, where)
    try:
        return numpy_helper.to_array(tensor)
    except Exception as err:  # onnx raises ValueError, TypeError, ...: report them all alike
        reason = f"tensor '{tensor.name}' is malformed: {err}"
        if node is not None:
            fail_node(node, reason, where)
        raise ModelImportError(reason, where) from err


def attribute_value(node: NodeProto, attr: AttributeProto, where: str) -> Attribute | np.ndarray:
    """An ONNX attribute as a property (numpy for TENSOR: the caller makes the constant).

    GRAPH attributes are regions and are handled by the caller.
    """
    kind = attr.type
    if kind == AttributeProto.INT:
        return IntegerAttr(attr.i, i64)
    if kind == AttributeProto.FLOAT:
        return FloatAttr(attr.f, f32)
    if kind == AttributeProto.STRING:
        return StringAttr(_decode(node, attr, attr.s, where))
    if kind == AttributeProto.INTS:
        return DenseArrayBase.from_list(i64, list(attr.ints))
    if kind == AttributeProto.FLOATS:
        return DenseArrayBase.from_list(f32, list(attr.floats))
    if kind == AttributeProto.STRINGS:
        return ArrayAttr(StringAttr(_decode(node, attr, s, where)) for s in attr.strings)
    if kind == AttributeProto.TENSOR:
        return tensor_to_array(attr.t, node, where)
    kind_name = AttributeProto.AttributeType.Name(kind)
    unsupported_node(node, f"attribute '{attr.name}' of type {kind_name}", where)


def _decode(node: NodeProto, attr: AttributeProto, raw: bytes, where: str) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        fail_node(node, f"attribute '{attr.name}' is not UTF-8 text", where)


def onnx_error_reason(err: Exception) -> str:
    """The first informative line of an onnx / protobuf exception."""
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0].strip()


_CHECKER_CONTEXT = re.compile(r"Bad node spec for node\. Name: (\S*) OpType: (\S+)")
_INFERENCE_CONTEXT = re.compile(r"\(op_type:(\w+), node name: ([^)]*)\)")


def onnx_error_message(err: Exception) -> str:
    """`node 'n' (Op): reason` when the onnx message names a node, else the reason."""
    text = str(err)
    reason = onnx_error_reason(err)
    if match := _CHECKER_CONTEXT.search(text):
        return f"node '{match[1]}' ({match[2]}): {reason}"
    if match := _INFERENCE_CONTEXT.search(text):
        reason = _INFERENCE_CONTEXT.sub("", reason)
        reason = re.sub(r"\[ShapeInferenceError\]|\[TypeInferenceError\]", "", reason)
        reason = " ".join(reason.replace(" :", ":").split()).lstrip(": ")
        return f"node '{match[2]}' ({match[1]}): {reason}"
    return reason


def is_default_domain(domain: str) -> bool:
    return domain in ("", "ai.onnx")


SUPPORTED_OPSETS = range(1, GRAPH_OPSET + 1)
"""Opsets of the default domain lamina imports (converted to the newest where they differ)."""
