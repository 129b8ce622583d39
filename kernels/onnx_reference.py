"""The `onnx.reference` side of kernels/operators.py: one operator of fixed attributes as a
one-node graph run by onnx's `ReferenceEvaluator`. operators.py imports this module only
when an operator without a hand-written kernel runs, so folding the common operators
never loads onnx."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

Value = Any
"""A runtime value, as in kernels/operators.py."""


def reference_evaluator(
    op_type: str,
    attrs: Mapping[str, object],
    n_outputs: int,
    inputs: Sequence[Value],
    scope: Mapping[str, Value],
    opset: int,
) -> ReferenceEvaluator:
    """The evaluator of `op_type` with `attrs` at `opset`: it is fed `x<i>` for each of
    `inputs` that is not None (a missing optional input) and the enclosing graph's `scope`
    by name, and gives `y0` ... `y<n_outputs - 1>`."""
    input_names = ["" if v is None else f"x{i}" for i, v in enumerate(inputs)]
    output_names = [f"y{i}" for i in range(n_outputs)]
    node = helper.make_node(op_type, input_names, output_names)
    node.attribute.extend(_attribute_protos(op_type, attrs, opset))
    graph = helper.make_graph(
        [node],
        "reference",
        [_value_info(f"x{i}", v) for i, v in enumerate(inputs) if v is not None]
        + [_value_info(name, v) for name, v in scope.items()],
        [onnx.ValueInfoProto(name=n) for n in output_names],
    )
    return ReferenceEvaluator(graph, opsets={"": opset})


def _elem_type(array: np.ndarray) -> int:
    if array.dtype.kind in "OUS":
        return onnx.TensorProto.STRING
    return helper.np_dtype_to_tensor_dtype(array.dtype)


def _value_info(name: str, value: Value) -> onnx.ValueInfoProto:
    if value is None:
        return onnx.ValueInfoProto(name=name)
    if isinstance(value, list):
        elem = _elem_type(value[0]) if value else onnx.TensorProto.FLOAT
        return helper.make_tensor_sequence_value_info(name, elem, None)
    return helper.make_tensor_value_info(name, _elem_type(value), [None] * value.ndim)


def _attribute_protos(
    op_type: str, attrs: Mapping[str, object], opset: int
) -> list[onnx.AttributeProto]:
    schema = onnx.defs.get_schema(op_type, opset, "")
    protos: list[onnx.AttributeProto] = []
    for name, value in attrs.items():
        formal = schema.attributes.get(name)
        # the schema's type says what an empty list is (make_attribute cannot guess);
        # the pybind stub of AttrType lacks __int__, which the enum has
        attr_type = None if formal is None else int(formal.type)  # pyright: ignore[reportArgumentType]
        if isinstance(value, np.ndarray):
            value = numpy_helper.from_array(value)
        proto = helper.make_attribute(name, value, attr_type=attr_type)
        if formal is None or not _is_default(proto, formal):
            protos.append(proto)
    return protos


def _is_default(proto: onnx.AttributeProto, formal: onnx.defs.OpSchema.Attribute) -> bool:
    """Whether the attribute holds its schema default; such attributes are left out, as
    some onnx.reference kernels lack parameters for attributes of their own opset
    (CastLike_25 takes no `round_mode`)."""
    default = formal.default_value
    if not default.name:
        return False
    return helper.get_attribute_value(proto) == helper.get_attribute_value(default)
