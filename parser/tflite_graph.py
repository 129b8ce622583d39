"""The IR builder the TFLite operator converters share: tensors to SSA values, graph ops.

A converter (`parser/tflite_ops*.py`) reads one `Operator` and emits `graph` ops through a
`GraphBuilder`: `value(i)` is tensor i as an SSA value (a constant becomes a
`graph.constant` on first use), `array(i)` its constant elements (None at run time),
`emit(...)` one graph op with ONNX attribute names, `define(i, v)` binds an output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NoReturn, cast

import numpy as np
from xdsl.dialects.builtin import (
    NoneType,
    TensorType,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.irdl import IRDLOperation, VarOperandDef

from lamina.dialects.graph import ONNX_OPS, ConstantOp
from lamina.dialects.graph_base import property_of
from lamina.dialects.weights import element_type, numpy_dtype
from lamina.errors import ModelImportError, UnsupportedError, UnsupportedOpError
from lamina.parser.graph_names import location, none_at_top, value_name_hint
from lamina.parser.tflite_model import TENSOR_DTYPES, TENSOR_TYPE_NAMES, Operator, Tensor

Converter = Callable[["GraphBuilder", Operator], None]

FUSED_ACTIVATIONS = {0: None, 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
"""TFLite ActivationFunctionType -> the activation op it stands for."""

ACTIVATION_BOUNDS = {0: (None, None), 1: (0.0, None), 2: (-1.0, 1.0), 3: (0.0, 6.0)}
"""The fused activations that are clamps (NONE, RELU, RELU_N1_TO_1, RELU6) -> their
bounds in real numbers (None: unbounded)."""


class GraphBuilder:
    """Emits the ops of one subgraph into `block`."""

    def __init__(self, tensors: list[Tensor], block: Block, where: str) -> None:
        self.tensors = tensors
        self.block = block
        self.where = where
        self.values: dict[int, SSAValue] = {}
        self.arrays = {t.index: t.data for t in tensors if t.data is not None}
        """Tensors known at import: the model's constants and what the importer folded."""
        self._none: SSAValue | None = None
        self.label = ""
        """The location of the ops being emitted: the operator's first output tensor."""

    # --- errors ---------------------------------------------------------------------------

    def fail(self, op: Operator, reason: str) -> NoReturn:
        raise ModelImportError(f"{op.label}: {reason}", self.where)

    def unsupported(self, op: Operator, what: str) -> NoReturn:
        raise UnsupportedOpError(f"{op.label}: {what}", self.where)

    # --- tensors --------------------------------------------------------------------------

    def tensor(self, op: Operator, position: int) -> Tensor:
        """Input `position` of `op`; a missing or omitted required input fails."""
        if position >= len(op.inputs) or op.inputs[position] < 0:
            self.fail(op, f"input {position} is missing")
        return self.tensors[op.inputs[position]]

    def has_input(self, op: Operator, position: int) -> bool:
        return position < len(op.inputs) and op.inputs[position] >= 0

    def output(self, op: Operator, position: int = 0) -> Tensor:
        if position >= len(op.outputs) or op.outputs[position] < 0:
            self.fail(op, f"output {position} is missing")
        return self.tensors[op.outputs[position]]

    def type_of(self, tensor: Tensor) -> TensorType[Attribute]:
        dtype = TENSOR_DTYPES.get(tensor.type_code)
        if dtype is None:
            kind = TENSOR_TYPE_NAMES.get(tensor.type_code, f"#{tensor.type_code}")
            raise UnsupportedError(f"tensor '{tensor.name}' of type {kind}", self.where)
        return TensorType(element_type(dtype), tensor.shape)

    def array(self, op: Operator, position: int) -> np.ndarray | None:
        """The constant elements of input `position`, None for a run-time value."""
        return self.arrays.get(self.tensor(op, position).index)

    def const_array(self, op: Operator, position: int, what: str) -> np.ndarray:
        array = self.array(op, position)
        if array is None:
            self.unsupported(op, f"{what} computed at run time")
        return array

    def value(self, op: Operator, position: int) -> SSAValue:
        return self.value_of(self.tensor(op, position))

    def value_of(self, tensor: Tensor) -> SSAValue:
        if tensor.index not in self.values:
            data = self.arrays.get(tensor.index)
            if data is None:
                reason = f"tensor '{tensor.name}' is used before it is computed"
                raise ModelImportError(reason, self.where)
            self.define(tensor, self.constant(data, tensor.name))
        return self.values[tensor.index]

    def define(self, tensor: Tensor, value: SSAValue) -> None:
        self.values[tensor.index] = value
        value.name_hint = value_name_hint(tensor.name)

    def none(self) -> SSAValue:
        """One `graph.none` per function, at its top: every omitted optional operand."""
        if self._none is None:
            self._none = none_at_top(self.block)
        return self._none

    # --- ops ------------------------------------------------------------------------------

    def constant(self, array: np.ndarray, name: str) -> SSAValue:
        op = ConstantOp.from_array(np.asarray(array, order="C"), name)
        op.location = location(name)
        self.block.add_op(op)
        return op.results[0]

    def ints(self, values: Sequence[int], name: str = "shape") -> SSAValue:
        """An int64 vector constant (shapes, pads, axes), named for the current op."""
        return self.constant(np.array(list(values), np.int64), f"{self.label}.{name}")

    def scalar(self, value: float, like: SSAValue, name: str = "scalar") -> SSAValue:
        """A 0-d constant of `like`'s element type."""
        dtype = numpy_dtype(cast(TensorType[Attribute], like.type).element_type)
        return self.constant(np.array(value, dtype), f"{self.label}.{name}")

    def emit(
        self,
        op_type: str | type[IRDLOperation],
        operands: Sequence[SSAValue | None],
        result_types: Sequence[Attribute] | Attribute,
        **attributes: object,
    ) -> Operation:
        """One graph op (an ONNX op_type or a layout op class); None operands and missing
        trailing optional operands become `graph.none`."""
        op_class = ONNX_OPS[op_type] if isinstance(op_type, str) else op_type
        formal = op_class.get_irdl_definition().operands
        values = [self.none() if v is None else v for v in operands]
        if not (formal and isinstance(formal[-1][1], VarOperandDef)):
            values += [self.none()] * (len(formal) - len(values))
        types = [result_types] if isinstance(result_types, Attribute) else list(result_types)
        op = op_class.create(
            operands=values,
            result_types=[NoneType() if t is None else t for t in types],
            properties={k: property_of(v) for k, v in attributes.items() if v is not None},
        )
        op.location = location(self.label)
        self.block.add_op(op)
        return op

    def emit1(
        self,
        op_type: str | type[IRDLOperation],
        operands: Sequence[SSAValue | None],
        result_type: Attribute,
        **attributes: object,
    ) -> SSAValue:
        return self.emit(op_type, operands, result_type, **attributes).results[0]

    def reshape(self, value: SSAValue, shape: Sequence[int]) -> SSAValue:
        vtype = cast(TensorType[Attribute], value.type)
        if vtype.get_shape() == tuple(shape):
            return value
        result = TensorType(vtype.element_type, list(shape))
        return self.emit1("Reshape", [value, self.ints(shape)], result)

    def transpose(self, value: SSAValue, perm: Sequence[int]) -> SSAValue:
        vtype = cast(TensorType[Attribute], value.type)
        shape = vtype.get_shape()
        result = TensorType(vtype.element_type, [shape[p] for p in perm])
        return self.emit1("Transpose", [value], result, perm=list(perm))

    def activate(self, op: Operator, value: SSAValue, code: int) -> SSAValue:
        """`value` after the fused activation `code` of `op`."""
        name = FUSED_ACTIVATIONS.get(code, f"#{code}")
        if name is None:
            return value
        if name == "RELU":
            return self.emit1("Relu", [value], value.type)
        if name in ("RELU6", "RELU_N1_TO_1"):
            low, high = (0.0, 6.0) if name == "RELU6" else (-1.0, 1.0)
            bounds = [self.scalar(low, value, "min"), self.scalar(high, value, "max")]
            return self.emit1("Clip", [value, *bounds], value.type)
        if name == "TANH":
            return self.emit1("Tanh", [value], value.type)
        self.unsupported(op, f"fused activation {name}")
