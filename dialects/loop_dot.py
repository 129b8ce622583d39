"""`loop.byte_dot`: the four-byte dot product an int8 GEMM micro-kernel steps with
(lowering/top_to_loop_byte_gemm.py), in a form every back end reads. Lane `i` of the result
is `acc[i]` plus the dot product of the bytes `4i..4i+3` of `lhs`, read unsigned, and of
`rhs`, read signed (u8 x s8; the i32 sum wraps):

    %d1 = loop.byte_dot %d0, %u, %s : vector<16xi32>, vector<64xi8>

It is what x86's `vpdpbusd` computes (loop-to-x86 makes it that, or `vpmaddubsw` +
`vpmaddwd` without VNNI); LLVM codegen otherwise widens, multiplies and adds the four
products of each lane (codegen/llvm_ops.py).
"""

from __future__ import annotations

from typing import ClassVar

from xdsl.irdl import irdl_op_definition

from lamina.dialects.isa import byte_dot


@irdl_op_definition
class ByteDotOp(byte_dot.ByteDotOp):
    """`acc` (= result) an xmm, ymm or zmm-sized vector of i32, `lhs` (unsigned bytes) and
    `rhs` (signed bytes) four times as many i8 (dialects/isa/byte_dot.py).

        %d1 = loop.byte_dot %d0, %u, %s : vector<16xi32>, vector<64xi8>
    """

    name = "loop.byte_dot"
    ACCUMULATOR_LANES: ClassVar = (4, 8, 16)
