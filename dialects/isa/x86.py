"""The `x86vector` dialect (MLIR's name: xDSL's own `x86` is its assembly back end): x86-64
SIMD operations the generic LLVM path does not form from loop-level IR. Thin: one op per
instruction, verified on its vector shapes, emitted as the LLVM intrinsic of the
instruction (codegen/llvm_x86.py).

| op | instruction | LLVM IR |
|---|---|---|
| `x86vector.vpdpbusd` | `vpdpbusd` (AVX-512 VNNI; AVX-VNNI for 128 / 256 bits) | `llvm.x86.avx512.vpdpbusd.{128,256,512}` |
| `x86vector.vpmaddubsw` | `vpmaddubsw` (SSSE3, AVX2; AVX-512BW for 512 bits) | `llvm.x86.ssse3.pmadd.ub.sw.128`, `llvm.x86.avx2.pmadd.ub.sw`, `llvm.x86.avx512.pmaddubs.w.512` |
| `x86vector.vpmaddwd` | `vpmaddwd` (SSE2, AVX2; AVX-512BW for 512 bits) | `llvm.x86.sse2.pmadd.wd`, `llvm.x86.avx2.pmadd.wd`, `llvm.x86.avx512.pmaddw.d.512` |

    %d1 = x86vector.vpdpbusd %d0, %x, %y : vector<16xi32>, vector<64xi8>
    %h = x86vector.vpmaddubsw %x, %y : vector<32xi8> -> vector<16xi16>
    %w = x86vector.vpmaddwd %h, %ones : vector<16xi16> -> vector<8xi32>
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

from lamina.dialects.isa.byte_dot import ByteDotOp

REGISTER_BITS = (128, 256, 512)
"""The widths of an xmm, ymm and zmm register."""


@irdl_op_definition
class VpdpbusdOp(ByteDotOp):
    """The bytes of `lhs` read as unsigned, those of `rhs` as signed (u8 x s8; the i32 sum
    wraps); `acc` an xmm, ymm or zmm register of i32 (dialects/isa/byte_dot.py).

        %d1 = x86vector.vpdpbusd %d0, %x, %y : vector<16xi32>, vector<64xi8>
    """

    name = "x86vector.vpdpbusd"
    ACCUMULATOR_LANES: ClassVar = (4, 8, 16)


class PairMulAddOp(IRDLOperation):
    """Lane `i` of the result is `lhs[2i] * rhs[2i] + lhs[2i+1] * rhs[2i+1]`, at twice the
    operands' element width. `lhs` and `rhs` are one xmm, ymm or zmm register of
    `OPERAND_WIDTH`-bit integers; the result is the same register of half as many lanes."""

    OPERAND_WIDTH: ClassVar[int]
    T: ClassVar = VarConstraint("T", base(VectorType))
    lhs = operand_def(T)
    rhs = operand_def(T)
    result = result_def(VectorType)
    traits = traits_def(Pure())
    assembly_format = "$lhs `,` $rhs attr-dict `:` type($lhs) `->` type($result)"

    def __init__(self, lhs: SSAValue, rhs: SSAValue) -> None:
        t = lhs.type
        assert isa(t, VectorType[Attribute])
        wide = VectorType(IntegerType(2 * self.OPERAND_WIDTH), [t.get_shape()[0] // 2])
        super().__init__(operands=[lhs, rhs], result_types=[wide])

    def verify_(self) -> None:
        t, width = self.lhs.type, self.OPERAND_WIDTH
        if (
            not isa(t, VectorType[Attribute])
            or t.get_num_dims() != 1
            or t.element_type != IntegerType(width)
            or t.get_shape()[0] * width not in REGISTER_BITS
        ):
            *most, last = [f"vector<{bits // width}xi{width}>" for bits in REGISTER_BITS]
            raise VerifyException(f"{self.name}: operands {t} must be {', '.join(most)} or {last}")
        wide = VectorType(IntegerType(2 * width), [t.get_shape()[0] // 2])
        if self.result.type != wide:
            raise VerifyException(
                f"{self.name}: result {self.result.type} must be {wide} for operands {t}"
            )


@irdl_op_definition
class VpmaddubswOp(PairMulAddOp):
    """The bytes of `lhs` read as unsigned, those of `rhs` as signed (u8 x s8); each i16 pair
    sum saturates (255 * 127 * 2 does not fit: exact only while |sum| <= 32767).

        %h = x86vector.vpmaddubsw %x, %y : vector<32xi8> -> vector<16xi16>
    """

    name = "x86vector.vpmaddubsw"
    OPERAND_WIDTH: ClassVar = 8


@irdl_op_definition
class VpmaddwdOp(PairMulAddOp):
    """Signed i16 x i16; each i32 pair sum is exact but for the one that wraps
    ((-32768)^2 * 2 becomes -2^31). With a vector of ones it widens i16 pairs to i32.

        %w = x86vector.vpmaddwd %h, %ones : vector<16xi16> -> vector<8xi32>
    """

    name = "x86vector.vpmaddwd"
    OPERAND_WIDTH: ClassVar = 16


X86Vector = Dialect("x86vector", [VpdpbusdOp, VpmaddubswOp, VpmaddwdOp], [])
