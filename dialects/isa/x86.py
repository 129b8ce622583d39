"""The `x86vector` dialect (MLIR's name: xDSL's own `x86` is its assembly back end): x86-64
SIMD operations the generic LLVM path does not form from loop-level IR. Thin: one op per
instruction, verified on its vector shapes, emitted as the LLVM intrinsic of the
instruction (codegen/llvm_x86.py).

| op | instruction | LLVM IR |
|---|---|---|
| `x86vector.vpdpbusd` | `vpdpbusd` (AVX-512 VNNI; AVX-VNNI for 128 / 256 bits) | `llvm.x86.avx512.vpdpbusd.{128,256,512}` |

    %d1 = x86vector.vpdpbusd %d0, %x, %y : vector<16xi32>, vector<64xi8>
"""

from __future__ import annotations

from typing import ClassVar

from xdsl.ir import Dialect
from xdsl.irdl import irdl_op_definition

from lamina.dialects.isa.byte_dot import ByteDotOp


@irdl_op_definition
class VpdpbusdOp(ByteDotOp):
    """The bytes of `lhs` read as unsigned, those of `rhs` as signed (u8 x s8; the i32 sum
    wraps); `acc` an xmm, ymm or zmm register of i32 (dialects/isa/byte_dot.py).

        %d1 = x86vector.vpdpbusd %d0, %x, %y : vector<16xi32>, vector<64xi8>
    """

    name = "x86vector.vpdpbusd"
    ACCUMULATOR_LANES: ClassVar = (4, 8, 16)


X86Vector = Dialect("x86vector", [VpdpbusdOp], [])
