"""Running symbolic shape inference (graph_dims.py) over a function: symbols for the
inputs' dynamic dims, then each op's rule (graph_dims_rules.py) in order; and the table of
a module's functions that the graph -> top lowerings read while they run
(`symbolic_shapes`, `shapes_for`)."""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import cast

from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    ModuleOp,
    StringAttr,
)
from xdsl.ir import Operation

from lamina.dialects import graph
from lamina.dialects.graph import DIM_PARAMS
from lamina.lowering import symbolic_dims as sd
from lamina.lowering.graph_dims import SymbolicShapes, has_dynamic_dims, static_dims
from lamina.lowering.graph_dims_rules import SHAPE_RULES, VALUE_RULES
from lamina.lowering.symbolic_dims import Size

_ACTIVE: ContextVar[dict[Operation, SymbolicShapes] | None] = ContextVar(
    "symbolic_shapes", default=None
)


@contextmanager
def symbolic_shapes(module: ModuleOp) -> Generator[dict[Operation, SymbolicShapes]]:
    """While lowering `module`: the symbolic shapes of each function with dynamic inputs,
    for `shapes_for` (and yielded: function -> shapes)."""
    table: dict[Operation, SymbolicShapes] = {}
    functions = [f for f in module.walk() if isinstance(f, func.FuncOp) and not f.is_declaration]
    for function in functions:
        if any(has_dynamic_dims(a) for a in function.body.block.args):
            table[function] = infer_function(function)
    token = _ACTIVE.set(table)
    try:
        yield table
    finally:
        _ACTIVE.reset(token)


def shapes_for(op: Operation) -> SymbolicShapes | None:
    """The symbolic shapes of the function around `op`, None outside `symbolic_shapes`."""
    table = _ACTIVE.get()
    if not table:
        return None
    parent = op.parent_op()
    while parent is not None and not isinstance(parent, func.FuncOp):
        parent = parent.parent_op()
    return None if parent is None else table.get(parent)


def infer_function(function: func.FuncOp) -> SymbolicShapes:
    """Symbolic dims of every value of `function` (its top-level block, in order)."""
    shapes = SymbolicShapes(list(function.body.block.args))
    params = function.attributes.get(DIM_PARAMS)
    names: list[list[str]] = []
    if isinstance(params, ArrayAttr):
        for entry in cast(ArrayAttr[ArrayAttr[StringAttr]], params):
            names.append([s.data for s in entry])
    for index, arg in enumerate(function.body.block.args):
        static = static_dims(arg)
        dims: list[Size | None] = []
        for axis, d in enumerate(static):
            if d is not None:
                dims.append(d)
                continue
            given = names[index][axis] if index < len(names) and axis < len(names[index]) else ""
            name = given or f"{arg.name_hint or f'arg{index}'}.{axis}"
            if name in shapes.bindings:  # a shared dim_param: an alias, checked equal
                alias = f"{name}@{arg.name_hint or index}.{axis}"
                shapes.bindings[alias] = (index, axis)
                message = (
                    f"input '{arg.name_hint or index}' dim {axis} is not the size '{name}' "
                    "the inputs before it have"
                )
                shapes.checks.append((sd.symbol(name), sd.symbol(alias), message))
            else:
                shapes.bindings[name] = (index, axis)
            dims.append(sd.symbol(name))
        shapes.dims[arg] = tuple(dims)
    for op in function.body.block.ops:
        _infer_op(op, shapes)
    return shapes


def _infer_op(op: Operation, shapes: SymbolicShapes) -> None:
    op_type: str = getattr(type(op), "onnx_op_type", "")
    value_rule = VALUE_RULES.get(op_type)
    if value_rule is not None and op.results:
        known = value_rule(op, shapes)
        if known is not None:
            shapes.values[op.results[0]] = known
    if not any(has_dynamic_dims(r) for r in op.results):
        return
    rule = SHAPE_RULES.get(op_type)
    if rule is None:
        return
    attrs = graph.onnx_attributes(op)
    try:
        inferred = rule(op, attrs, shapes)
    except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError):
        return  # no rule applies: the dims stay unknown
    for result, dims in zip(op.results, inferred, strict=False):
        static = static_dims(result)
        if dims is not None and len(dims) == len(static):
            shapes.dims[result] = tuple(
                s if s is not None else d for s, d in zip(static, dims, strict=True)
            )
