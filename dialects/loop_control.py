"""Control flow on buffers at the `loop` level: a two-way branch and a pre-tested loop. They
produce no values: their regions read and write buffers (what bufferized `top.if` /
`top.loop` become). They are part of the `Loop` dialect object (dialects/loop.py).

    loop.if %c {
      loop.store %one, %y[] : memref<f32>
      loop.end
    } else {
      loop.store %zero, %y[] : memref<f32>
      loop.end
    }
    loop.while {
      %i = loop.load %counter[] : memref<i64>
      %go = arith.cmpi slt, %i, %n : i64
      loop.condition %go
    } do {
      ...
      loop.end
    }
"""

from __future__ import annotations

from xdsl.dialects.builtin import i1
from xdsl.ir import Region, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    lazy_traits_def,
    operand_def,
    region_def,
    traits_def,
)
from xdsl.traits import HasParent, IsTerminator, Pure, RecursiveMemoryEffect
from xdsl.utils.exceptions import VerifyException


@irdl_op_definition
class EndOp(IRDLOperation):
    """Ends a branch of `loop.if` or the body of `loop.while`.

    loop.end
    """

    name = "loop.end"
    traits = lazy_traits_def(lambda: (IsTerminator(), HasParent(IfOp, WhileOp), Pure()))
    assembly_format = "attr-dict"


@irdl_op_definition
class ConditionOp(IRDLOperation):
    """Ends the condition region of `loop.while`: the body runs again while `%c` holds.

    loop.condition %go
    """

    name = "loop.condition"
    cond = operand_def(i1)
    traits = lazy_traits_def(lambda: (IsTerminator(), HasParent(WhileOp), Pure()))
    assembly_format = "$cond attr-dict"

    def __init__(self, cond: SSAValue) -> None:
        super().__init__(operands=[cond])


@irdl_op_definition
class IfOp(IRDLOperation):
    """Runs `then` if the i1 `cond` holds, else `else`; both regions end in `loop.end`."""

    name = "loop.if"
    cond = operand_def(i1)
    then_region = region_def("single_block")
    else_region = region_def("single_block")
    traits = traits_def(RecursiveMemoryEffect())
    assembly_format = "$cond $then_region `else` $else_region attr-dict"

    def __init__(self, cond: SSAValue, then_region: Region, else_region: Region) -> None:
        super().__init__(operands=[cond], regions=[then_region, else_region])


@irdl_op_definition
class WhileOp(IRDLOperation):
    """A pre-tested loop: runs `before` (ending in `loop.condition %c`), and while `%c`
    holds runs `body` (ending in `loop.end`) and `before` again. State lives in buffers."""

    name = "loop.while"
    before = region_def("single_block")
    body = region_def("single_block")
    traits = traits_def(RecursiveMemoryEffect())
    assembly_format = "$before `do` $body attr-dict"

    def __init__(self, before: Region, body: Region) -> None:
        super().__init__(regions=[before, body])

    def verify_(self) -> None:
        if not isinstance(self.before.block.last_op, ConditionOp):
            raise VerifyException(
                "expected the loop.while condition region to end in loop.condition"
            )
        if not isinstance(self.body.block.last_op, EndOp):
            raise VerifyException("expected the loop.while body to end in loop.end")


LOOP_CONTROL_OPS: list[type[IRDLOperation]] = [IfOp, WhileOp, ConditionOp, EndOp]
"""Added to the `Loop` dialect object."""
