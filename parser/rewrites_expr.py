"""Expressions of the rewrite language compiled to Python closures, and the conversions
between Python values and IR (attributes, types, constants) that rules need."""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    NoneType,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, Operation
from xdsl.irdl import AttrConstraint, ConstraintContext
from xdsl.utils.exceptions import VerifyException

from lamina.dialects.graph_base import property_candidates
from lamina.errors import RewriteRuleError
from lamina.parser.rewrites import (
    Call,
    Cond,
    Expr,
    Index,
    ListExpr,
    Lit,
    Op,
    Pos,
    Slice,
    ValueRef,
    VarRef,
)
from lamina.rewrites.helpers import HELPERS

Env = dict[str, Any]
"""Bindings while a rule runs: "%x" -> SSAValue (or list), "$a" -> Python value."""

Compiled = Callable[[Env], Any]


def equal(a: object, b: object) -> bool:
    """`==` of the language: arrays and lists compare by value, floats with f32 tolerance."""
    if a is None or b is None:
        return a is b
    if isinstance(a, np.ndarray | list | tuple) or isinstance(b, np.ndarray | list | tuple):
        x, y = np.asarray(a), np.asarray(b)
        if x.shape != y.shape:
            return False
        if x.dtype.kind == "f" or y.dtype.kind == "f":
            return bool(np.allclose(x, y, rtol=1e-6, atol=0.0))
        return bool(np.array_equal(x, y))
    if isinstance(a, float | int) and isinstance(b, float | int):
        return bool(np.isclose(float(a), float(b), rtol=1e-6, atol=0.0))
    return a == b


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": operator.mod,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": equal,
    "!=": lambda a, b: not equal(a, b),
    "in": lambda a, b: any(equal(a, x) for x in b),
    "not in": lambda a, b: not any(equal(a, x) for x in b),
}


def compile_expr(e: Expr, scope: set[str]) -> Compiled:
    """A closure computing `e` from the bindings; names and functions are checked now."""
    if isinstance(e, Lit):
        constant = e.value
        return lambda env: constant
    if isinstance(e, ValueRef | VarRef):
        name = e.name
        if name not in scope:
            raise RewriteRuleError(f"unknown binding {name}", str(e.pos))
        return lambda env: env[name]
    if isinstance(e, Call):
        return _compile_call(e, scope)
    if isinstance(e, ListExpr):
        items = [compile_expr(i, scope) for i in e.items]
        return lambda env: [i(env) for i in items]
    if isinstance(e, Index):
        base, index = compile_expr(e.base, scope), compile_expr(e.index, scope)
        return lambda env: base(env)[index(env)]
    if isinstance(e, Slice):
        base = compile_expr(e.base, scope)
        lower = compile_expr(e.lower, scope) if e.lower else lambda env: None
        upper = compile_expr(e.upper, scope) if e.upper else lambda env: None
        return lambda env: base(env)[lower(env) : upper(env)]
    if isinstance(e, Cond):
        then, cond = compile_expr(e.then, scope), compile_expr(e.cond, scope)
        otherwise = compile_expr(e.otherwise, scope)
        return lambda env: then(env) if cond(env) else otherwise(env)
    assert isinstance(e, Op)
    args = [compile_expr(a, scope) for a in e.args]
    if e.op == "and":
        return lambda env: all(a(env) for a in args)
    if e.op == "or":
        return lambda env: any(a(env) for a in args)
    if e.op == "not":
        return lambda env: not args[0](env)
    if len(args) == 1:
        sign = -1 if e.op == "-" else 1
        return lambda env: sign * args[0](env)
    fn, (lhs, rhs) = _BINARY[e.op], args
    return lambda env: fn(lhs(env), rhs(env))


def _compile_call(e: Call, scope: set[str]) -> Compiled:
    fn = HELPERS.get(e.fn)
    if fn is None:
        raise RewriteRuleError(f"unknown function '{e.fn}'", str(e.pos))
    try:
        inspect.signature(fn).bind(*e.args)
    except TypeError as err:
        raise RewriteRuleError(f"{e.fn}(): {err}", str(e.pos)) from None
    except ValueError:  # a builtin without a signature: checked when called
        pass
    args = [compile_expr(a, scope) for a in e.args]
    if len(args) == 1:
        (only,) = args
        return lambda env: fn(only(env))
    return lambda env: fn(*(a(env) for a in args))


# ---- Python values <-> IR ----


def attr_to_python(attr: Attribute) -> object:
    """What `{name = $v}` binds: int, float, str, lists, numpy arrays; other attributes as is."""
    from lamina.dialects.graph import attribute_value

    if isinstance(attr, IntegerAttr | FloatAttr | StringAttr | DenseArrayBase | ArrayAttr):
        return attribute_value(attr)
    try:
        return attribute_value(attr)
    except Exception:
        return attr


@cache
def _property_constraint(op_class: type[Operation], name: str) -> AttrConstraint | None:
    """The IRDL constraint of property `name` of `op_class` (None: not a declared property)."""
    get_definition = getattr(op_class, "get_irdl_definition", None)
    if get_definition is None:
        return None
    prop = get_definition().properties.get(name)
    return None if prop is None else prop.constr


def _accepts(constraint: AttrConstraint, attr: Attribute) -> bool:
    try:
        constraint.verify(attr, ConstraintContext())
    except VerifyException:
        return False
    return True


def python_to_attr(op_class: type[Operation], name: str, v: object, pos: Pos) -> Attribute:
    """A Python value as the property `name` of `op_class`: the first reading of it (i64 or
    f32, scalar or array) that the property's declared constraint accepts."""
    if isinstance(v, Attribute):
        return v
    constraint = _property_constraint(op_class, name)
    for attr in property_candidates(v):
        if constraint is None or _accepts(constraint, attr):
            return attr
    raise RewriteRuleError(f"cannot make attribute '{name}' from {v!r}", str(pos))


def make_constant(v: object, name: str) -> Operation:
    """A `graph.constant` of a number, list or array (Python int -> i64, float -> f32)."""
    from lamina.dialects.graph import ConstantOp

    if isinstance(v, bool):
        array = np.asarray(v)
    elif isinstance(v, int):
        array = np.asarray(v, np.int64)
    elif isinstance(v, float):
        array = np.asarray(v, np.float32)
    else:
        array = np.asarray(v)
        if array.dtype == np.float64 and not isinstance(v, np.ndarray):
            array = array.astype(np.float32)
    return ConstantOp.from_array(array, name)


_ELEMENT_TYPES = {"f16", "bf16", "f32", "f64", "i1", "i8", "i16", "i32", "i64", "ui8", "ui16"}
_ELEMENT_TYPES |= {"ui32", "ui64", "?"}


def compile_type_pattern(text: str, pos: Pos) -> Callable[[Attribute], bool]:
    """`f32`, `none`, or `tensor<2x?x*xf32>`-like patterns (`?` any dim or element type, `*`
    any dims) -> a predicate on types."""
    if text == "none":
        return lambda t: isinstance(t, NoneType)
    if not text.startswith("tensor<"):
        text = f"tensor<*x{text}>"
    *dims, element = text[len("tensor<") : -1].split("x")
    if element not in _ELEMENT_TYPES:
        raise RewriteRuleError(f"unknown element type '{element}'", str(pos))
    any_rank = dims == ["*"]
    if not any_rank and not all(d == "?" or d.isdigit() for d in dims):
        raise RewriteRuleError(f"bad type pattern '{text}' (dims are N, ? or one *)", str(pos))
    wanted: Sequence[int | None] = [] if any_rank else [None if d == "?" else int(d) for d in dims]

    def check(t: Attribute) -> bool:
        if not isinstance(t, TensorType):
            return False
        if element != "?" and str(t.element_type) != element:
            return False
        if any_rank:
            return True
        shape = t.get_shape()
        return len(shape) == len(wanted) and all(
            w in (None, d) for w, d in zip(wanted, shape, strict=False)
        )

    return check
