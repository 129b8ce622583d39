"""Control flow on tensors at the `top` level, the MLIR way (scf.if, scf.while): ops with
regions that yield tensors. They are part of the `Top` dialect object (dialects/top.py).

`top.if` runs one of two regions; `top.loop` is ONNX Loop on static shapes: a counted loop
that may stop early on a condition, with loop-carried tensors and per-iteration scan
outputs stacked along a new leading dim. Regions read values from above (no isolation),
like ONNX subgraphs; every region ends in `top.region_yield`.

    %y = top.if %c : tensor<i1> -> (tensor<4xf32>) {
      top.region_yield %a : tensor<4xf32>
    } else {
      top.region_yield %b : tensor<4xf32>
    }
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from xdsl.dialects.builtin import DYNAMIC_INDEX, IntegerType, TensorType
from xdsl.dialects.utils import AbstractYieldOperation
from xdsl.ir import Attribute, Region, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    lazy_traits_def,
    operand_def,
    region_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.traits import HasParent, IsTerminator, Pure, RecursiveMemoryEffect
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.hints import isa


def _types(values: Sequence[SSAValue]) -> str:
    return "(" + ", ".join(str(v.type) for v in values) + ")"


def _is_scalar_of(value: SSAValue, width: int) -> bool:
    """A tensor of one element (rank 0, or every dim 1) of a `width`-bit integer."""
    t = value.type
    if not isa(t, TensorType[Attribute]) or any(d != 1 for d in t.get_shape()):
        return False
    element = t.get_element_type()
    return isinstance(element, IntegerType) and cast(IntegerType, element).bitwidth == width


@irdl_op_definition
class RegionYieldOp(AbstractYieldOperation[Attribute]):
    """Ends a region of `top.if` or `top.loop` with the tensors it produces.

    top.region_yield %a, %b : tensor<4xf32>, tensor<i1>
    """

    name = "top.region_yield"
    traits = lazy_traits_def(lambda: (IsTerminator(), HasParent(IfOp, LoopOp), Pure()))


def _yielded(region: Region) -> list[SSAValue]:
    terminator = region.block.last_op
    return list(terminator.operands) if isinstance(terminator, RegionYieldOp) else []


@irdl_op_definition
class IfOp(IRDLOperation):
    """Runs `then` if the one-element boolean `cond` holds, else `else`; the results are the
    values the region that ran yields (both yield the result types).

        %y = top.if %c : tensor<i1> -> (tensor<4xf32>) {
          top.region_yield %a : tensor<4xf32>
        } else {
          top.region_yield %b : tensor<4xf32>
        }
    """

    name = "top.if"
    cond = operand_def(TensorType)
    res = var_result_def(TensorType)
    then_region = region_def("single_block")
    else_region = region_def("single_block")
    traits = traits_def(RecursiveMemoryEffect())
    assembly_format = (
        "$cond `:` type($cond) `->` `(` type($res) `)` $then_region `else` $else_region attr-dict"
    )

    def __init__(
        self, cond: SSAValue, result_types: Sequence[Attribute], then_region: Region,
        else_region: Region,
    ) -> None:  # fmt: skip
        super().__init__(
            operands=[cond], result_types=[result_types], regions=[then_region, else_region]
        )

    def verify_(self) -> None:
        if not _is_scalar_of(self.cond, 1):
            raise VerifyException(
                f"expected the condition type {self.cond.type} to be one boolean (tensor<i1>)"
            )
        for which, region in (("then", self.then_region), ("else", self.else_region)):
            yielded = _yielded(region)
            if [v.type for v in yielded] != [r.type for r in self.res]:
                raise VerifyException(
                    f"the {which} region yields {_types(yielded)}, but the results are "
                    f"{_types(self.res)}"
                )


@irdl_op_definition
class LoopOp(IRDLOperation):
    """ONNX Loop on static shapes: `i = 0; c = cond; while i < max_trips and c: body`. The
    body takes (i : tensor<i64>, c : tensor<i1>, carried...) and yields (next c, next
    carried..., scan elements...). Results: the carried values after the last iteration
    (the inits when the body never runs), then one tensor per scan element stacking the
    iterations along a new leading dim, whose size must be the number of iterations that run.

        %sum, %rows = top.loop %m, %c iter_args(%init) : (tensor<i64>, tensor<i1>,
            tensor<3xf32>) -> (tensor<3xf32>, tensor<5x3xf32>) {
        ^bb0(%i: tensor<i64>, %ci: tensor<i1>, %acc: tensor<3xf32>):
          ...
          top.region_yield %ci, %next, %next : tensor<i1>, tensor<3xf32>, tensor<3xf32>
        }
    """

    name = "top.loop"
    max_trips = operand_def(TensorType)
    cond = operand_def(TensorType)
    inits = var_operand_def(TensorType)
    res = var_result_def(TensorType)
    body = region_def("single_block")
    traits = traits_def(RecursiveMemoryEffect())
    assembly_format = (
        "$max_trips `,` $cond `iter_args` `(` $inits `)` `:` functional-type(operands, results)"
        " $body attr-dict"
    )

    def __init__(
        self, max_trips: SSAValue, cond: SSAValue, inits: Sequence[SSAValue],
        result_types: Sequence[Attribute], body: Region,
    ) -> None:  # fmt: skip
        super().__init__(
            operands=[max_trips, cond, inits], result_types=[result_types], regions=[body]
        )

    @property
    def carried(self) -> Sequence[SSAValue]:
        """The results that are loop-carried values (the scan outputs follow them)."""
        return self.res[: len(self.inits)]

    @property
    def stacked(self) -> Sequence[SSAValue]:
        """The results that stack one scan element per iteration."""
        return self.res[len(self.inits) :]

    def verify_(self) -> None:
        if not _is_scalar_of(self.max_trips, 64):
            raise VerifyException(
                f"expected the trip count type {self.max_trips.type} to be one i64 (tensor<i64>)"
            )
        if not _is_scalar_of(self.cond, 1):
            raise VerifyException(
                f"expected the condition type {self.cond.type} to be one boolean (tensor<i1>)"
            )
        inits = [v.type for v in self.inits]
        args = [a.type for a in self.body.block.args]
        block_args = self.body.block.args
        if (
            len(args) != 2 + len(inits)
            or args[2:] != inits
            or not (_is_scalar_of(block_args[0], 64) and _is_scalar_of(block_args[1], 1))
        ):
            raise VerifyException(
                f"expected the body arguments {_types(self.body.block.args)} to be "
                f"(tensor<i64>, tensor<i1>) then the iter_args {_types(self.inits)}"
            )
        if [r.type for r in self.carried] != inits:
            raise VerifyException(
                f"expected the first results {_types(self.carried)} to have the iter_args types "
                f"{_types(self.inits)}"
            )
        yielded = _yielded(self.body)
        if len(yielded) != 1 + len(self.res) or [v.type for v in yielded[1 : 1 + len(inits)]] != (
            inits
        ):
            raise VerifyException(
                f"expected the body to yield the condition, the iter_args types "
                f"{_types(self.inits)} and one element per scan output, got {_types(yielded)}"
            )
        for element, stacked in zip(yielded[1 + len(inits) :], self.stacked, strict=True):
            _verify_stacked(element, stacked)


def _verify_stacked(element: SSAValue, stacked: SSAValue) -> None:
    e, s = element.type, stacked.type
    assert isa(e, TensorType[Attribute]) and isa(s, TensorType[Attribute])
    rows = s.get_shape()[1:]
    if (
        s.get_element_type() != e.get_element_type()
        or len(rows) != len(e.get_shape())
        or any(
            a != b and DYNAMIC_INDEX not in (a, b)
            for a, b in zip(rows, e.get_shape(), strict=False)
        )
    ):
        raise VerifyException(
            f"expected the scan output type {s} to stack elements of type {e} along dim 0"
        )


TOP_CONTROL_OPS: list[type[IRDLOperation]] = [IfOp, LoopOp, RegionYieldOp]
"""Added to the `Top` dialect object."""
