"""lamina's fixes to xDSL (xdsl_patches.py) keep xDSL's verdicts: here `isa`, the one-walk
`IsolatedFromAbove` check, the short op builder, the stack walk and the assembly formats
parsed on first use."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import ModuleOp, i32
from xdsl.ir import Block, BlockArgument, Operation, Region
from xdsl.utils.exceptions import VerifyException

import lamina.context  # noqa: F401 (applies the patches)


def _function(
    name: str, body: Callable[[BlockArgument], list[Operation]] = lambda arg: []
) -> func.FuncOp:
    """`func.func @name(%arg: i32)` holding `body(%arg)`, then `func.return`."""
    block = Block(arg_types=[i32])
    block.add_ops([*body(block.args[0]), func.ReturnOp()])
    return func.FuncOp(name, ((i32,), ()), Region(block))


def test_a_function_using_only_its_own_values_verifies() -> None:
    ModuleOp([_function("f", lambda arg: [arith.AddiOp(arg, arg)])]).verify()


def test_a_use_of_another_functions_value_is_refused() -> None:
    constant = arith.ConstantOp.from_int_and_width(1, i32)
    user = arith.AddiOp(constant.result, constant.result)
    module = ModuleOp([_function("a", lambda _: [constant]), _function("b", lambda _: [user])])
    with pytest.raises(VerifyException, match="defined out of its IsolatedFromAbove parent"):
        module.verify()


def test_a_use_of_the_enclosing_functions_argument_in_a_nested_function_is_refused() -> None:
    def nested(arg: BlockArgument) -> list[Operation]:
        return [_function("nested", lambda _: [arith.AddiOp(arg, arg)])]

    with pytest.raises(VerifyException, match="defined out of its IsolatedFromAbove parent"):
        ModuleOp([_function("outer", nested)]).verify()


def test_an_op_built_on_the_short_path_equals_the_one_xdsls_builder_makes() -> None:
    from xdsl.irdl.operations import IRDLOperation

    from lamina.xdsl_patches import _irdl_op_init  # pyright: ignore[reportPrivateUsage]

    constant = arith.ConstantOp.from_int_and_width(1, i32)
    short = arith.AddiOp(constant.result, constant.result)
    generic = arith.AddiOp.__new__(arith.AddiOp)
    _irdl_op_init(
        generic,
        arith.AddiOp.get_irdl_definition(),
        operands=[constant.result, constant.result],
        result_types=[i32],
        properties=dict(short.properties),
        attributes={"unused": None},
        successors=[],
        regions=[],
    )
    assert isinstance(short, IRDLOperation)
    assert str(short) == str(generic)
    assert short.properties == generic.properties and not generic.attributes
    assert [use.operation for use in constant.result.uses].count(short) == 2


def test_variadic_ops_built_on_the_short_path_equal_the_ones_xdsls_builder_makes() -> None:
    from xdsl.dialects import scf
    from xdsl.dialects.builtin import IndexType

    from lamina.xdsl_patches import (  # pyright: ignore[reportPrivateUsage]
        _irdl_op_init,
        _plain_irdl_op_init,
    )

    index = arith.ConstantOp.from_int_and_width(4, IndexType())
    value = arith.ConstantOp.from_int_and_width(1, i32)

    def arguments(cls: type[Operation]) -> dict[str, object]:
        """The builder's arguments of a `cls` op, with a fresh body for scf.for."""
        if cls is func.ReturnOp:
            return dict(operands=[[value.result, value.result]], result_types=[], regions=[])
        body = Block(arg_types=[IndexType(), i32])
        body.add_op(scf.YieldOp(body.args[1]))
        bounds = [index.result] * 3
        return dict(operands=[*bounds, (value.result,)], result_types=[[i32]], regions=[[body]])

    for cls in (func.ReturnOp, scf.ForOp):
        built = []
        for init in (_plain_irdl_op_init, _irdl_op_init):
            op = cls.__new__(cls)
            extra = dict(properties={}, attributes={}, successors=[])
            init(op, cls.get_irdl_definition(), **arguments(cls), **extra)  # pyright: ignore[reportArgumentType]
            built.append(op)
        short, generic = built
        assert str(short) == str(generic), cls
        assert len(short.operands) == 2 + 2 * (cls is scf.ForOp) and not short.attributes


def test_a_wrong_argument_still_gets_xdsls_builder_error() -> None:
    constant = arith.ConstantOp.from_int_and_width(1, i32)
    with pytest.raises(ValueError, match="Expected 1 result"):
        arith.AddiOp.build(operands=[constant.result, constant.result], result_types=[])
    with pytest.raises(ValueError, match="Expected 2 operand, but got 1"):
        arith.AddiOp.build(operands=[constant.result], result_types=[i32])
    with pytest.raises(ValueError, match="non-variadic"):
        arith.AddiOp.build(operands=[[constant.result] * 2, constant.result], result_types=[i32])


def _nested_module() -> ModuleOp:
    """Two functions, the second holding a function that holds a function: ops in regions
    three deep, some with ops after them."""

    def add(arg: BlockArgument) -> list[Operation]:
        return [arith.AddiOp(arg, arg)]

    def nest(arg: BlockArgument) -> list[Operation]:
        inner = _function("inner", lambda a: [_function("innermost", add), *add(a)])
        return [*add(arg), inner, *add(arg)]

    return ModuleOp([_function("a", add), _function("b", nest)])


def test_walks_hand_out_xdsls_ops_in_xdsls_order() -> None:
    from lamina.xdsl_patches import _xdsl_walks  # pyright: ignore[reportPrivateUsage]

    module = _nested_module()
    for what, xdsl_walk, count in zip(
        (module, module.body.block, module.body), _xdsl_walks, (14, 13, 13), strict=True
    ):
        ops = list(what.walk())
        assert ops == list(xdsl_walk(what)) and len(ops) == count  # pyright: ignore[reportArgumentType]
        assert list(what.walk(reverse=True, region_first=True)) == ops[::-1]


def test_a_walk_goes_on_as_xdsls_when_the_op_it_just_handed_out_is_erased() -> None:
    from lamina.xdsl_patches import _xdsl_walks  # pyright: ignore[reportPrivateUsage]

    def erasing_inner(walk: Callable[[ModuleOp], Iterable[Operation]]) -> list[str]:
        seen: list[str] = []
        for op in walk(_nested_module()):
            seen.append(op.name)
            if isinstance(op, func.FuncOp) and op.sym_name.data in ("a", "inner"):
                op.detach()
                op.erase(safe_erase=False)
        return seen

    assert erasing_inner(ModuleOp.walk) == erasing_inner(_xdsl_walks[0])
    assert len(erasing_inner(ModuleOp.walk)) > 5


def test_isa_keeps_xdsls_verdicts() -> None:
    from typing import Any

    from xdsl.dialects.builtin import (
        ArrayAttr,
        IntAttr,
        IntegerType,
        MemRefType,
        TensorType,
        VectorType,
        f32,
    )
    from xdsl.ir import Attribute
    from xdsl.utils.hints import isa

    from lamina.xdsl_patches import _xdsl_isa  # pyright: ignore[reportPrivateUsage]

    values: list[Any] = [
        MemRefType(f32, [2, 3]),
        MemRefType(i32, [4]),
        TensorType(f32, [2]),
        VectorType(f32, [16]),
        ArrayAttr([IntAttr(1)]),
        ArrayAttr([i32]),
        i32,
        3,
        [1, 2],
    ]
    hints: list[Any] = [
        MemRefType[Attribute],
        MemRefType[IntegerType],
        TensorType[Attribute],
        VectorType[Attribute],
        ArrayAttr[IntAttr],
        ArrayAttr[Attribute],
        IntegerType,
        Attribute,
        int,
        list[int],
        Any,
    ]
    assert isa is not _xdsl_isa
    for hint in hints:
        for value in values:
            assert isa(value, hint) == _xdsl_isa(value, hint), (value, hint)


def test_every_op_format_of_the_dialects_lamina_loads_parses() -> None:
    from lamina.xdsl_patches import FormatOnFirstUse

    lamina.context.make_context()
    assert len(FormatOnFirstUse.made) > 100  # arith, math, func, vector and lamina's ops
    for deferred in FormatOnFirstUse.made:
        assert deferred.parsed() is deferred.parsed()


def test_a_bad_format_fails_at_the_first_parse_of_its_op() -> None:
    from xdsl.context import Context
    from xdsl.irdl import IRDLOperation, irdl_op_definition
    from xdsl.irdl.declarative_assembly_format import FormatProgram
    from xdsl.parser import Parser
    from xdsl.utils.exceptions import PyRDLOpDefinitionError

    @irdl_op_definition
    class BadFormatOp(IRDLOperation):
        name = "test.bad_format"
        assembly_format = "attr-dict attr-dict"

    ctx = Context()
    ctx.load_op(BadFormatOp)
    with pytest.raises(PyRDLOpDefinitionError, match="assembly format"):
        Parser(ctx, "test.bad_format").parse_module()
    assert FormatProgram.from_str.__name__ == "FormatOnFirstUse"
