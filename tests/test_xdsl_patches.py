"""lamina's fixes to xDSL (xdsl_patches.py) keep xDSL's verdicts: here the one-walk
`IsolatedFromAbove` check."""

from __future__ import annotations

import pytest
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import ModuleOp, i32
from xdsl.ir import Block, Region
from xdsl.utils.exceptions import VerifyException

import lamina.context  # noqa: F401 (applies the patches)


def _function(name: str, *ops: object) -> func.FuncOp:
    body = Block(arg_types=[i32])
    body.add_ops([*ops, func.ReturnOp()])  # type: ignore[list-item]
    return func.FuncOp(name, ((i32,), ()), Region(body))


def test_a_function_using_only_its_own_values_verifies() -> None:
    inner = _function("f")
    arg = inner.body.block.args[0]
    inner.body.block.insert_op_before(arith.AddiOp(arg, arg), inner.body.block.first_op)
    ModuleOp([inner]).verify()


def test_a_use_of_another_functions_value_is_refused() -> None:
    constant = arith.ConstantOp.from_int_and_width(1, i32)
    user = arith.AddiOp(constant.result, constant.result)
    module = ModuleOp([_function("a", constant), _function("b", user)])
    with pytest.raises(VerifyException, match="defined out of its IsolatedFromAbove parent"):
        module.verify()


def test_a_use_of_the_enclosing_functions_argument_in_a_nested_function_is_refused() -> None:
    outer = _function("outer")
    nested = _function("nested", arith.AddiOp(outer.body.block.args[0], outer.body.block.args[0]))
    outer.body.block.insert_op_before(nested, outer.body.block.first_op)
    with pytest.raises(VerifyException, match="defined out of its IsolatedFromAbove parent"):
        ModuleOp([outer]).verify()
