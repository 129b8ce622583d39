"""ONNX operators on numpy arrays: what the reference interpreter runs per op and constant
folding runs on model constants.

`run_onnx_op` runs one operator of the default domain with its exact ONNX semantics at
`OPSET`. The hot operators of real CNNs have hand-written numpy kernels
(`HANDWRITTEN`: kernels/nn.py, tensor.py, rnn.py); everything else runs through `onnx.reference`, the numpy
implementations that ship with the onnx package, so the long tail needs no code here.

A hand-written kernel may decline a call (an integer Conv, a BatchNormalization in training
mode) by returning None; that call then runs through `onnx.reference` too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from lamina.dialects.graph_ops import GRAPH_OPSET
from lamina.errors import UnsupportedOpError
from lamina.kernels.nn import NN_KERNELS, Kernel
from lamina.kernels.rnn import RNN_KERNELS
from lamina.kernels.tensor import TENSOR_KERNELS

HANDWRITTEN: dict[str, Kernel] = {**NN_KERNELS, **TENSOR_KERNELS, **RNN_KERNELS}
"""The operators with a hand-written numpy kernel; all others run through onnx.reference."""

OPSET = GRAPH_OPSET
"""The opset whose semantics the kernels implement (the graph dialect's opset)."""

Value = Any
"""A runtime value: an np.ndarray, None for a missing optional value, or a list for
ONNX sequences."""


def run_onnx_op(
    op_type: str,
    inputs: Sequence[Value],
    attrs: Mapping[str, object],
    n_outputs: int,
    *,
    opset: int = OPSET,
    scope: Mapping[str, Value] | None = None,
) -> list[Value]:
    """Runs the ONNX operator `op_type` on `inputs` and returns its first `n_outputs`
    outputs (None where the operator leaves an optional output unset).

    `inputs` holds None for a missing optional input. `attrs` maps ONNX attribute names to
    Python values (int, float, str, lists of them, np.ndarray for TENSOR, onnx.GraphProto
    for GRAPH); an absent attribute takes its schema default. `scope` holds the values of
    the enclosing graph that GRAPH attributes refer to by name.
    """
    return OnnxKernel(op_type, attrs, n_outputs, opset=opset)(inputs, scope)


class OnnxKernel:
    """One operator with fixed attributes, ready to run many times (the interpreter keeps
    one per op, so attribute conversion and `onnx.reference` set-up happen once)."""

    def __init__(
        self,
        op_type: str,
        attrs: Mapping[str, object],
        n_outputs: int,
        *,
        opset: int = OPSET,
        name: str | None = None,
    ) -> None:
        self.op_type = op_type
        self.attrs = {k: v for k, v in attrs.items() if v is not None}
        self.n_outputs = n_outputs
        self.opset = opset
        self.name = name
        self._handwritten = HANDWRITTEN.get(op_type) if opset >= OPSET else None
        self._evaluators: dict[tuple[object, ...], ReferenceEvaluator] = {}

    def __call__(
        self, inputs: Sequence[Value], scope: Mapping[str, Value] | None = None
    ) -> list[Value]:
        if self._handwritten is not None:
            outputs = self._handwritten(list(inputs), self.attrs, self.n_outputs)
            if outputs is not None:
                return _fit(outputs, self.n_outputs)
        return _fit(self._run_onnx_reference(inputs, scope or {}), self.n_outputs)

    def _run_onnx_reference(
        self, inputs: Sequence[Value], scope: Mapping[str, Value]
    ) -> list[Value]:
        present = len(inputs)
        while present and inputs[present - 1] is None:
            present -= 1
        inputs = list(inputs[:present])
        signature = (
            *(_signature(v) for v in inputs),
            *((name, *_signature(v)) for name, v in sorted(scope.items())),
        )
        evaluator = self._evaluators.get(signature)
        if evaluator is None:
            evaluator = self._build_evaluator(inputs, scope)
            self._evaluators[signature] = evaluator
        feeds = {f"x{i}": v for i, v in enumerate(inputs) if v is not None}
        feeds.update(scope)
        return list(evaluator.run(None, feeds))

    def _build_evaluator(
        self, inputs: Sequence[Value], scope: Mapping[str, Value]
    ) -> ReferenceEvaluator:
        input_names = ["" if v is None else f"x{i}" for i, v in enumerate(inputs)]
        output_names = [f"y{i}" for i in range(self.n_outputs)]
        try:
            node = helper.make_node(self.op_type, input_names, output_names)
            node.attribute.extend(_attribute_protos(self.op_type, self.attrs, self.opset))
            graph = helper.make_graph(
                [node],
                "reference",
                [_value_info(f"x{i}", v) for i, v in enumerate(inputs) if v is not None]
                + [_value_info(name, v) for name, v in scope.items()],
                [onnx.ValueInfoProto(name=n) for n in output_names],
            )
            return ReferenceEvaluator(graph, opsets={"": self.opset})
        except Exception as e:
            raise UnsupportedOpError(
                f"operator '{self.op_type}' in the reference kernels ({e})", self.name
            ) from e


def _fit(outputs: Sequence[Value], n_outputs: int) -> list[Value]:
    outputs = [np.asarray(v) if isinstance(v, np.generic) else v for v in outputs]
    return (list(outputs) + [None] * n_outputs)[:n_outputs]


def _signature(value: Value) -> tuple[object, ...]:
    if value is None:
        return ("none",)
    if not isinstance(value, np.ndarray | list):
        return (type(value).__name__,)
    if isinstance(value, list):
        return ("seq", *(_signature(v) for v in value[:1]))
    return (str(value.dtype), value.ndim)


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
