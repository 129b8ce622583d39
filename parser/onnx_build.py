"""Building `graph` dialect IR from a prepared (checked, converted, inferred) ONNX model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NoReturn, TypeVar

import numpy as np
from onnx import AttributeProto, GraphProto, NodeProto, TensorProto, TypeProto, ValueInfoProto
from xdsl.dialects.builtin import ArrayAttr, ModuleOp, NoneType, StringAttr
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.irdl import VarOperandDef, VarResultDef

from lamina.dialects.graph import DIM_PARAMS, ONNX_OPS, ConstantOp, YieldOp
from lamina.errors import ModelImportError, UnsupportedError, all_unsupported
from lamina.parser.graph_names import location, none_at_top, sanitize_symbol, value_name_hint
from lamina.parser.onnx_prepare import PreparedModel
from lamina.parser.onnx_types import (
    attribute_value,
    fail_node,
    initializer_type,
    node_label,
    tensor_to_array,
    tensor_type,
    unsupported_node,
    unsupported_node_error,
)

T = TypeVar("T")

_CONSTANT_ATTRIBUTES = {
    "value_float": np.float32,
    "value_floats": np.float32,
    "value_int": np.int64,
    "value_ints": np.int64,
}


@dataclass
class _Scope:
    """The values and value types one ONNX graph sees (a subgraph also sees its parents')."""

    parent: _Scope | None
    values: dict[str, SSAValue] = field(default_factory=dict[str, SSAValue])
    types: dict[str, TypeProto] = field(default_factory=dict[str, TypeProto])

    def value(self, name: str) -> SSAValue | None:
        return self._innermost(name, lambda scope: scope.values)

    def type(self, name: str) -> TypeProto | None:
        return self._innermost(name, lambda scope: scope.types)

    def _innermost(self, name: str, table: Callable[[_Scope], dict[str, T]]) -> T | None:
        """`name`'s entry in `table` of the innermost scope that has one."""
        scope: _Scope | None = self
        while scope is not None:
            if name in (entries := table(scope)):
                return entries[name]
            scope = scope.parent
        return None


class ModuleBuilder:
    """Turns one prepared model into `builtin.module { func.func @<graph> ... }`."""

    def __init__(self, prepared: PreparedModel) -> None:
        self.where = prepared.where
        self.graph = prepared.model.graph
        self.weights = prepared.weights
        self.initializer_order = prepared.initializer_order
        self._none: SSAValue | None = None
        self._body = Block()
        self._unsupported: list[UnsupportedError] = []
        """What the model uses that lamina lacks, reported together at the end of build."""

    def build(self) -> ModuleOp:
        graph = self.graph
        scope = self._scope(graph, None)
        constants = {t.name for t in graph.initializer} | set(self.weights)
        inputs = [v for v in graph.input if v.name not in constants]
        self._body = Block(arg_types=[self._type(v.name, scope) for v in inputs])
        for arg, value in zip(self._body.args, inputs, strict=True):
            self._define(scope, value.name, arg)
            arg.location = location(value.name)
        used = _used_names(graph)
        # in the model's order; initializers the version converter added come last
        tensors = {t.name: t for t in graph.initializer} | self.weights
        order = dict.fromkeys([*self.initializer_order, *tensors])
        for name in order:
            if name in tensors and name in used:
                self._add_initializer(tensors[name], scope, self._body)
        for node in graph.node:
            self._add_supported_node(node, scope, self._body)
        if self._unsupported:
            raise all_unsupported(self._unsupported)
        results = [self._use(o.name, scope, None) for o in graph.output]
        self._body.add_op(ReturnOp(*results))
        function = FuncOp(
            sanitize_symbol(graph.name),
            ([a.type for a in self._body.args], [r.type for r in results]),
            Region(self._body),
        )
        params = [_dim_params(v) for v in inputs]
        if any(any(p) for p in params):
            function.attributes[DIM_PARAMS] = ArrayAttr(
                [ArrayAttr([StringAttr(p) for p in names]) for names in params]
            )
        return ModuleOp([function])

    # --- values ---------------------------------------------------------------------------

    def _scope(self, graph: GraphProto, parent: _Scope | None) -> _Scope:
        scope = _Scope(parent)
        for value in [*graph.input, *graph.value_info, *graph.output]:
            if value.type.WhichOneof("value") is not None:
                scope.types.setdefault(value.name, value.type)
        return scope

    def _type(self, name: str, scope: _Scope, node: NodeProto | None = None) -> Attribute:
        type_proto = scope.type(name)
        if type_proto is None:
            self._fail(f"the type of '{name}' is unknown after shape inference", node)
        return tensor_type(type_proto, name, self.where)

    def _fail(self, reason: str, node: NodeProto | None) -> NoReturn:
        """Raise the import error `reason`, naming `node` when the failure is one's."""
        if node is not None:
            fail_node(node, reason, self.where)
        raise ModelImportError(reason, self.where)

    def _define(self, scope: _Scope, name: str, value: SSAValue) -> None:
        scope.values[name] = value
        value.name_hint = value_name_hint(name)

    def _use(self, name: str, scope: _Scope, node: NodeProto | None) -> SSAValue:
        if not name:
            return self._none_value()
        value = scope.value(name)
        if value is None:
            self._fail(f"'{name}' is used but never defined", node)
        return value

    def _none_value(self) -> SSAValue:
        """One `graph.none` per function, at its top: it stands for every missing input."""
        if self._none is None:
            self._none = none_at_top(self._body)
            self._none.name_hint = "none"
        return self._none

    # --- constants ------------------------------------------------------------------------

    def _add_initializer(self, tensor: TensorProto, scope: _Scope, block: Block) -> None:
        initializer_type(tensor, self.where)
        array = tensor_to_array(tensor, None, self.where)
        self._add_constant(array, tensor.name, tensor.name, scope, block)

    def _add_constant(
        self, array: np.ndarray, name: str, loc: str, scope: _Scope, block: Block
    ) -> None:
        op = self._constant_op(array, name)
        op.location = location(loc)
        block.add_op(op)
        self._define(scope, name, op.results[0])

    def _constant_op(self, array: np.ndarray, name: str) -> ConstantOp:
        try:
            return ConstantOp.from_array(array, name)
        except UnsupportedError as err:  # e.g. bfloat16: the weight store has no numpy dtype
            what = err.message.removeprefix("not supported: ")
            raise UnsupportedError(f"tensor '{name}': {what}", self.where) from err

    def _add_constant_node(self, node: NodeProto, scope: _Scope, block: Block) -> None:
        (attr,) = node.attribute  # the checker allows exactly one
        if attr.name in ("value_string", "value_strings"):
            unsupported_node(node, "string constants (no MLIR element type)", self.where)
        if attr.name == "value":
            array = tensor_to_array(attr.t, node, self.where)
        elif attr.name in _CONSTANT_ATTRIBUTES:
            python_value = attr.f if attr.name == "value_float" else attr.i
            if attr.name.endswith("s"):
                python_value = list(attr.floats if attr.name == "value_floats" else attr.ints)
            array = np.array(python_value, _CONSTANT_ATTRIBUTES[attr.name])
        else:
            kind = AttributeProto.AttributeType.Name(attr.type)
            unsupported_node(node, f"attribute '{attr.name}' of type {kind}", self.where)
        self._add_constant(array, node.output[0], node_label(node), scope, block)

    # --- ops ------------------------------------------------------------------------------

    def _add_supported_node(self, node: NodeProto, scope: _Scope, block: Block) -> None:
        """`_add_node`; a node lamina cannot import is recorded, its outputs stand in as
        `graph.none`, so that the nodes after it are still checked."""
        try:
            self._add_node(node, scope, block)
        except UnsupportedError as err:
            if not err.message.startswith("not supported: node '"):
                what = err.message.removeprefix("not supported: ")
                err = unsupported_node_error(node, what, self.where)
            self._unsupported.append(err)
            for name in node.output:
                if name:
                    scope.values[name] = self._none_value()

    def _add_node(self, node: NodeProto, scope: _Scope, block: Block) -> None:
        if node.op_type == "Constant":
            self._add_constant_node(node, scope, block)
            return
        op_class = ONNX_OPS.get(node.op_type)
        if op_class is None:
            unsupported_node(node, "no graph op for this operator", self.where)
        definition = op_class.get_irdl_definition()
        operands = self._operands(node, definition.operands, scope)
        result_types = self._result_types(node, definition.results, scope)
        properties: dict[str, Attribute] = {}
        regions: dict[str, Region] = {}
        for attr in node.attribute:
            if attr.type == AttributeProto.GRAPH:
                regions[attr.name] = self._region(node, attr.g, scope)
                continue
            value = attribute_value(node, attr, self.where)
            if isinstance(value, np.ndarray):
                value = self._constant_op(value, f"{node_label(node)}.{attr.name}").value
            properties[attr.name] = value
        missing = [name for name, _ in definition.regions if name not in regions]
        if missing:
            fail_node(node, f"subgraph attribute '{missing[0]}' is missing", self.where)
        op = op_class.create(
            operands=operands,
            result_types=result_types,
            properties=properties,
            regions=[regions[name] for name, _ in definition.regions],
        )
        op.location = location(node_label(node))
        block.add_op(op)
        self._define_results(node, op, scope)

    def _operands(
        self, node: NodeProto, formal: Sequence[tuple[str, object]], scope: _Scope
    ) -> list[SSAValue]:
        names = list(node.input)
        fixed = len(formal) - 1 if formal and isinstance(formal[-1][1], VarOperandDef) else None
        if fixed is None:
            if len(names) > len(formal):
                fail_node(node, f"{len(names)} inputs, at most {len(formal)}", self.where)
            names += [""] * (len(formal) - len(names))
        else:
            names += [""] * max(0, fixed - len(names))
        return [self._use(name, scope, node) for name in names]

    def _result_types(
        self, node: NodeProto, formal: Sequence[tuple[str, object]], scope: _Scope
    ) -> list[Attribute]:
        names = list(node.output)
        if not (formal and isinstance(formal[-1][1], VarResultDef)):
            if len(names) > len(formal):
                fail_node(node, f"{len(names)} outputs, at most {len(formal)}", self.where)
            names += [""] * (len(formal) - len(names))
        return [self._type(name, scope, node) if name else NoneType() for name in names]

    def _define_results(self, node: NodeProto, op: Operation, scope: _Scope) -> None:
        for name, result in zip(node.output, op.results, strict=False):
            if name:
                self._define(scope, name, result)

    def _region(self, node: NodeProto, graph: GraphProto, parent: _Scope) -> Region:
        """A subgraph: block arguments are its inputs, `graph.yield` returns its outputs."""
        scope = self._scope(graph, parent)
        block = Block(arg_types=[self._type(v.name, scope, node) for v in graph.input])
        for arg, value in zip(block.args, graph.input, strict=True):
            self._define(scope, value.name, arg)
            arg.location = location(value.name)
        used = _used_names(graph)
        for tensor in graph.initializer:
            if tensor.name in used:
                self._add_initializer(tensor, scope, block)
        for inner in graph.node:
            self._add_supported_node(inner, scope, block)
        block.add_op(YieldOp(*(self._use(o.name, scope, node) for o in graph.output)))
        return Region(block)


def _used_names(graph: GraphProto) -> set[str]:
    """Names that nodes (also in subgraphs) or the graph outputs use."""
    used = {o.name for o in graph.output}
    for node in graph.node:
        used.update(node.input)
        for attr in node.attribute:
            if attr.HasField("g"):
                used |= _used_names(attr.g)
    return used


def build_module(prepared: PreparedModel) -> ModuleOp:
    return ModuleBuilder(prepared).build()


def _dim_params(value: ValueInfoProto) -> list[str]:
    """The ONNX dim_param of each dim of an input ("" where it has none)."""
    tensor = value.type.tensor_type
    return [d.dim_param if d.HasField("dim_param") else "" for d in tensor.shape.dim]
