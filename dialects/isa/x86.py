"""The `x86vector` dialect: x86-64 SIMD operations the generic LLVM path does not form from
loop-level IR. Thin: one op per instruction, verified on its vector shapes, emitted as the
LLVM intrinsic of the instruction (codegen/llvm_x86.py).

| op | instruction | LLVM IR |
|---|---|---|
| `x86vector.vpdpbusd` | `vpdpbusd` (AVX-512 VNNI; AVX-VNNI for 128 / 256 bits) | `llvm.x86.avx512.vpdpbusd.{128,256,512}` |

    %d1 = x86vector.vpdpbusd %d0, %x, %y : vector<16xi32>, vector<64xi8>
"""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import IntegerType, VectorType
from xdsl.ir import Attribute, Dialect, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    VarConstraint,
    base,
    irdl_op_definition,
    operand_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.hints import isa

ACCUMULATOR_LANES = (4, 8, 16)
"""i32 lanes of an xmm, ymm and zmm register."""


@irdl_op_definition
class VpdpbusdOp(IRDLOperation):
    """Each i32 lane `i` of `acc` adds the dot product of the four bytes `4i..4i+3` of `lhs`,
    read as unsigned, and of `rhs`, read as signed (u8 x s8; the i32 sum wraps). `acc` (=
    result) is `vector<Nxi32>` with N in 4, 8, 16; `lhs` and `rhs` are `vector<4Nxi8>`.

        %d1 = x86vector.vpdpbusd %d0, %x, %y : vector<16xi32>, vector<64xi8>
    """

    name = "x86vector.vpdpbusd"
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
            or acc.get_shape()[0] not in ACCUMULATOR_LANES
        ):
            raise VerifyException(
                f"x86vector.vpdpbusd: accumulator {acc} must be vector<4xi32>, vector<8xi32> or "
                "vector<16xi32>"
            )
        lanes = 4 * acc.get_shape()[0]
        if lhs != VectorType(IntegerType(8), [lanes]):
            raise VerifyException(
                f"x86vector.vpdpbusd: operands {lhs} must be vector<{lanes}xi8> for an accumulator {acc}"
            )


X86Vector = Dialect("x86vector", [VpdpbusdOp], [])
