"""The form the ISA dialects' 8-bit dot products share (neon.sdot / udot, x86vector.vpdpbusd):
each i32 lane `i` of `acc` adds the dot product of the four i8 lanes `4i..4i+3` of `lhs`
and `rhs`; how each operand's bytes are read (signed or unsigned) is the op's.

    %d1 = <op> %d0, %x, %y : vector<Nxi32>, vector<4Nxi8>
"""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import IntegerType, VectorType
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import IRDLOperation, VarConstraint, base, operand_def, result_def, traits_def
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.hints import isa


class ByteDotOp(IRDLOperation):
    """`acc` (= result) is `vector<Nxi32>` with N one of `ACCUMULATOR_LANES` (the
    instruction's registers); `lhs` and `rhs` are `vector<4Nxi8>`."""

    ACCUMULATOR_LANES: ClassVar[tuple[int, ...]]
    T: ClassVar = VarConstraint("T", base(VectorType))
    U: ClassVar = VarConstraint("U", base(VectorType))
    acc = operand_def(T)
    lhs = operand_def(U)
    rhs = operand_def(U)
    result = result_def(T)
    traits = traits_def(Pure())
    assembly_format = "$acc `,` $lhs `,` $rhs attr-dict `:` type($acc) `,` type($lhs)"

    def __init__(self, acc: SSAValue, lhs: SSAValue, rhs: SSAValue) -> None:
        super().__init__(operands=[acc, lhs, rhs], result_types=[acc.type])

    def verify_(self) -> None:
        acc, lhs = self.acc.type, self.lhs.type
        if (
            not isa(acc, VectorType[Attribute])
            or acc.get_num_dims() != 1
            or acc.element_type != IntegerType(32)
            or acc.get_shape()[0] not in self.ACCUMULATOR_LANES
        ):
            *most, last = [f"vector<{n}xi32>" for n in self.ACCUMULATOR_LANES]
            allowed = f"{', '.join(most)} or {last}" if most else last
            raise VerifyException(f"{self.name}: accumulator {acc} must be {allowed}")
        lanes = 4 * acc.get_shape()[0]
        if lhs != VectorType(IntegerType(8), [lanes]):
            raise VerifyException(
                f"{self.name}: operands {lhs} must be vector<{lanes}xi8> for an accumulator {acc}"
            )
