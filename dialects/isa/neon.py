"""The `neon` dialect: AArch64 Advanced SIMD operations the generic LLVM path does not form
reliably from loop-level IR. Thin: one op per instruction family, verified on its vector
shapes, emitted as the LLVM intrinsic the instruction comes from (codegen/llvm_neon.py).

| op | instruction | LLVM IR |
|---|---|---|
| `neon.fmla_lane` | `fmla v.4s, v.4s, v.s[lane]` (`vfmaq_laneq_f32`) | `shufflevector` lane splat + `llvm.fma.v4f32` |
| `neon.sdot` | `sdot v.4s, v.16b, v.16b` (`vdotq_s32`, +dotprod) | `llvm.aarch64.neon.sdot.v4i32.v16i8` |
| `neon.udot` | `udot v.4s, v.16b, v.16b` (`vdotq_u32`, +dotprod) | `llvm.aarch64.neon.udot.v4i32.v16i8` |

LLVM 22 has no `llvm.aarch64.neon.fmla*` intrinsic: clang emits `vfmaq_laneq_f32` as the
splat + `llvm.fma` pair above, which instruction selection folds into the by-element form.

    %c1 = neon.fmla_lane %c0, %b, %a[2] : vector<4xf32>, vector<4xf32>
    %d1 = neon.sdot %d0, %x, %y : vector<4xi32>, vector<16xi8>
"""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import (
    I64,
    Float32Type,
    Float64Type,
    IntegerAttr,
    IntegerType,
    VectorType,
)
from xdsl.ir import Attribute, Dialect, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    VarConstraint,
    base,
    irdl_op_definition,
    operand_def,
    prop_def,
    result_def,
    traits_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.hints import isa

from lamina.dialects.isa.byte_dot import ByteDotOp

REGISTER_BITS = (64, 128)
"""The widths of a NEON D (64-bit) and Q (128-bit) register."""


def _vector_bits(t: Attribute) -> int | None:
    """Bits of a fixed 1-D vector of f32/f64/iN, None for anything else."""
    if not isa(t, VectorType[Attribute]) or t.get_num_dims() != 1 or t.get_num_scalable_dims():
        return None
    element = t.element_type
    if isinstance(element, Float32Type):
        width = 32
    elif isinstance(element, Float64Type):
        width = 64
    elif isinstance(element, IntegerType):
        width = element.bitwidth
    else:
        return None
    return width * t.get_shape()[0]


def _lanes(t: Attribute) -> int:
    assert isa(t, VectorType[Attribute])
    return t.get_shape()[0]


@irdl_op_definition
class FmlaLaneOp(IRDLOperation):
    """`result = acc + rhs * splat(lanes[lane])`, fused (one rounding), per lane.

    `acc`, `rhs` and the result share one type: a D or Q register of f32 or f64
    (`vector<2xf32>`, `vector<4xf32>`, `vector<2xf64>`); `lanes` is a D or Q register of the
    same element type and `0 <= lane < lanes of lanes`.

        %c1 = neon.fmla_lane %c0, %b, %a[3] : vector<4xf32>, vector<4xf32>
    """

    name = "neon.fmla_lane"
    T: ClassVar = VarConstraint("T", base(VectorType))
    acc = operand_def(T)
    rhs = operand_def(T)
    lanes = operand_def(VectorType)
    lane = prop_def(IntegerAttr[I64])
    result = result_def(T)
    traits = traits_def(Pure())
    assembly_format = (
        "$acc `,` $rhs `,` $lanes `[` $lane `]` attr-dict `:` type($acc) `,` type($lanes)"
    )

    def __init__(self, acc: SSAValue, rhs: SSAValue, lanes: SSAValue, lane: int) -> None:
        super().__init__(
            operands=[acc, rhs, lanes],
            result_types=[acc.type],
            properties={"lane": IntegerAttr(lane, 64)},
        )

    def verify_(self) -> None:
        t, lanes_type = self.acc.type, self.lanes.type
        if _vector_bits(t) not in REGISTER_BITS or not isa(t, VectorType[Attribute]):
            raise VerifyException(f"neon.fmla_lane: {t} is not a 64- or 128-bit vector")
        if not isinstance(t.element_type, Float32Type | Float64Type):
            raise VerifyException(f"neon.fmla_lane: {t} must have f32 or f64 elements")
        if _vector_bits(lanes_type) not in REGISTER_BITS or not isa(
            lanes_type, VectorType[Attribute]
        ):
            raise VerifyException(f"neon.fmla_lane: lane source {lanes_type} is not a register")
        if lanes_type.element_type != t.element_type:
            raise VerifyException(
                f"neon.fmla_lane: lane source {lanes_type} and accumulator {t} differ in "
                "element type"
            )
        lane = self.lane.value.data
        if not 0 <= lane < _lanes(lanes_type):
            raise VerifyException(f"neon.fmla_lane: lane {lane} is outside {lanes_type}")


class DotOp(ByteDotOp):
    """The 8-bit dot products (dialects/isa/byte_dot.py): `acc` is a D or Q
    register of i32 (`vector<2xi32>`, `vector<4xi32>`). Needs the `+dotprod` feature
    (Armv8.2-A and later: Cortex-A55/A76)."""

    ACCUMULATOR_LANES: ClassVar = (4, 2)


@irdl_op_definition
class SdotOp(DotOp):
    """Signed 8-bit dot product into i32 lanes (`sdot`).

    %d1 = neon.sdot %d0, %x, %y : vector<4xi32>, vector<16xi8>
    """

    name = "neon.sdot"


@irdl_op_definition
class UdotOp(DotOp):
    """Unsigned 8-bit dot product into i32 lanes (`udot`); the i8 operands are read as u8.

    %d1 = neon.udot %d0, %x, %y : vector<4xi32>, vector<16xi8>
    """

    name = "neon.udot"


Neon = Dialect("neon", [FmlaLaneOp, SdotOp, UdotOp], [])
