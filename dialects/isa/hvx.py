"""The `hvx` dialect: Hexagon HVX instructions on 128-byte vector registers (v66, 128B mode).

Thin: `hvx.<insn>` is the instruction whose LLVM intrinsic is `llvm.hexagon.V6.<insn>.128B`
(codegen/llvm_hvx.py bitcasts every register to `<32 x i32>` and calls it). Each op has a
fixed signature, written with these kinds (MLIR integers are signless: the op name says
whether a lane is signed, `ub`/`uh`, or not):

| kind | type | register |
|---|---|---|
| `b` / `h` / `w` | `vector<128xi8>` / `vector<64xi16>` / `vector<32xi32>` | V (1024 bits) |
| `bb` / `hh` / `ww` | `vector<256xi8>` / `vector<128xi16>` / `vector<64xi32>` | W (pair Vn+1:n) |
| `q` | `vector<128xi1>` | Q (predicate, one bit a byte) |
| `r` | `i32` | R (scalar) |

Lane orders follow the hardware: widening ops (`vmpybv`, `vmpyhv`, `vsb`, `vmpyuhv`) put the
products of even lanes in the low register of the pair, odd lanes in the high one; the
narrowing shifts `vasrhbsat`/`vasrwhsat`/`vasrwh` interleave them back (lane 2i from the
second vector operand, 2i+1 from the first); `vpackhb.sat`/`vpackwh.sat` concatenate (low
half from the second operand). `hvx.vcast` reinterprets a register (no instruction).

    %s = hvx.vaddbsat %a, %b : (vector<128xi8>, vector<128xi8>) -> vector<128xi8>
    %acc1 = hvx.vrmpybusv.acc %acc0, %x, %w
        : (vector<32xi32>, vector<128xi8>, vector<128xi8>) -> vector<32xi32>
"""

from __future__ import annotations

from typing import ClassVar

from xdsl.dialects.builtin import IntegerType, VectorType, i1, i8, i16, i32
from xdsl.ir import Attribute, Dialect, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import Pure
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.hints import isa

VECTOR_BYTES = 128
"""Bytes of one HVX register in 128B mode."""

KINDS: dict[str, Attribute] = {
    "b": VectorType(i8, [128]),
    "h": VectorType(i16, [64]),
    "w": VectorType(i32, [32]),
    "bb": VectorType(i8, [256]),
    "hh": VectorType(i16, [128]),
    "ww": VectorType(i32, [64]),
    "q": VectorType(i1, [128]),
    "r": i32,
}
"""The type of each operand kind of an HVX signature."""


def register_bits(t: Attribute) -> int | None:
    """Bits of a value as an HVX operand: 1024 (V), 2048 (W), 128-lane i1 (Q) as 1024."""
    if not isa(t, VectorType[Attribute]) or t.get_num_dims() != 1:
        return None
    element = t.element_type
    if not isinstance(element, IntegerType):
        return None
    if element.bitwidth == 1:
        return 1024 if t.get_shape()[0] == 128 else None
    bits = element.bitwidth * t.get_shape()[0]
    return bits if bits in (1024, 2048) else None


class HVXOp(IRDLOperation):
    """One HVX instruction: operands and result typed by `SIGNATURE` = (result, *operands)."""

    SIGNATURE: ClassVar[tuple[str, ...]] = ()

    args = var_operand_def()
    result = result_def()
    traits = traits_def(Pure())
    assembly_format = "$args attr-dict `:` functional-type($args, $result)"

    def __init__(self, *args: SSAValue | Operation) -> None:
        super().__init__(operands=[list(args)], result_types=[KINDS[self.SIGNATURE[0]]])

    @classmethod
    def intrinsic(cls) -> str:
        """The LLVM intrinsic this op becomes."""
        return f"llvm.hexagon.V6.{cls.name.removeprefix('hvx.')}.128B"

    def verify_(self) -> None:
        expected = [KINDS[k] for k in self.SIGNATURE[1:]]
        got = [a.type for a in self.args]
        if got != expected or self.result.type != KINDS[self.SIGNATURE[0]]:
            want = ", ".join(str(t) for t in expected)
            raise VerifyException(
                f"'{self.name}' takes ({want}) -> {KINDS[self.SIGNATURE[0]]}, got "
                f"({', '.join(str(t) for t in got)}) -> {self.result.type}"
            )


@irdl_op_definition
class VCastOp(IRDLOperation):
    """Reinterpret the bits of an HVX register (V or W) as another lane type; no code.

    %b = hvx.vcast %w : vector<32xi32> to vector<128xi8>
    """

    name = "hvx.vcast"
    source = var_operand_def()
    result = result_def()
    traits = traits_def(Pure())
    assembly_format = "$source attr-dict `:` type($source) `to` type($result)"

    def __init__(self, source: SSAValue | Operation, result_type: Attribute) -> None:
        super().__init__(operands=[[source]], result_types=[result_type])

    def verify_(self) -> None:
        if len(self.source) != 1:
            raise VerifyException("'hvx.vcast' takes one register")
        source, result = self.source[0].type, self.result.type
        bits = register_bits(source)
        if bits is None or bits != register_bits(result) or 1 in _element_bits(source, result):
            raise VerifyException(
                f"'hvx.vcast' needs two integer HVX registers of the same size, got {source} "
                f"to {result}"
            )


def _element_bits(*types: Attribute) -> set[int]:
    widths: set[int] = set()
    for t in types:
        if isa(t, VectorType[Attribute]):
            element: Attribute = t.element_type
            if isinstance(element, IntegerType):
                widths.add(element.bitwidth)
    return widths


def _op(insn: str, signature: str, doc: str) -> type[HVXOp]:
    """An HVX op class: `hvx.<insn>` with `signature` = "result:operand,operand,...".

    The classes are made from a table because each is only a name, a signature and a line
    of semantics; the table below reads like the instruction reference."""
    result, operands = signature.split(":")
    kinds = (result, *operands.split(","))
    namespace = {"name": f"hvx.{insn}", "__doc__": doc, "__module__": __name__}
    cls = irdl_op_definition(type(_class_name(insn), (HVXOp,), namespace))
    cls.SIGNATURE = kinds  # a ClassVar: set after IRDL has read the op's fields
    return cls


def _class_name(insn: str) -> str:
    return "".join(part.capitalize() for part in insn.replace("_", ".").split(".")) + "Op"


# insn, "result:operands", semantics (per lane; `sat` clamps to the result lane type)
_TABLE: list[tuple[str, str, str]] = [
    ("vaddb", "b:b,b", "a + b, wrapping"),
    ("vaddh", "h:h,h", "a + b, wrapping"),
    ("vaddw", "w:w,w", "a + b, wrapping"),
    ("vaddbsat", "b:b,b", "sat(a + b), signed"),
    ("vaddhsat", "h:h,h", "sat(a + b), signed"),
    ("vaddwsat", "w:w,w", "sat(a + b), signed"),
    ("vaddubsat", "b:b,b", "sat(a + b), unsigned"),
    ("vsubb", "b:b,b", "a - b, wrapping"),
    ("vsubh", "h:h,h", "a - b, wrapping"),
    ("vsubw", "w:w,w", "a - b, wrapping"),
    ("vsubbsat", "b:b,b", "sat(a - b), signed"),
    ("vsubhsat", "h:h,h", "sat(a - b), signed"),
    ("vsubwsat", "w:w,w", "sat(a - b), signed"),
    ("vsububsat", "b:b,b", "sat(a - b), unsigned"),
    ("vmaxb", "b:b,b", "max(a, b), signed"),
    ("vmaxub", "b:b,b", "max(a, b), unsigned"),
    ("vmaxh", "h:h,h", "max(a, b), signed"),
    ("vmaxw", "w:w,w", "max(a, b), signed"),
    ("vminb", "b:b,b", "min(a, b), signed"),
    ("vminub", "b:b,b", "min(a, b), unsigned"),
    ("vminh", "h:h,h", "min(a, b), signed"),
    ("vminw", "w:w,w", "min(a, b), signed"),
    ("vabsh", "h:h", "|a|, wrapping at -32768"),
    ("vand", "w:w,w", "a & b"),
    ("vmpybv", "hh:b,b", "a * b, s8 x s8 -> s16 pair (even lanes low, odd lanes high)"),
    ("vmpyhv", "ww:h,h", "a * b, s16 x s16 -> s32 pair (even lanes low, odd lanes high)"),
    ("vmpyuhv", "ww:h,h", "a * b, u16 x u16 -> u32 pair (even lanes low, odd lanes high)"),
    ("vmpyihv", "h:h,h", "a * b, low 16 bits"),
    ("vmpyiwb", "w:w,r", "a * r.b[i % 4], low 32 bits"),
    ("vmpyieoh", "w:w,w", "(a.h[2i] * b.h[2i+1]) << 16"),
    ("vmpyiowh", "w:w,w", "a * b.h[2i+1], low 32 bits"),
    ("vmpyiewuh.acc", "w:w,w,w", "acc + a * b.uh[2i], low 32 bits"),
    ("vmpyewuh", "w:w,w", "(a * b.uh[2i]) >> 16"),
    ("vmpyowh.rnd.sacc", "w:w,w,w", "sat(acc + ((a * b.h[2i+1]) << 1 + rnd) >> 16)"),
    ("vmpyowh.sacc", "w:w,w,w", "sat(acc + ((a * b.h[2i+1]) << 1) >> 16)"),
    ("vmpabus", "hh:bb,r", "u8 pair x r.b, pairwise sums (2-tap filter)"),
    ("vrmpybusv", "w:b,b", "sum of 4 u8 x s8 products per 32-bit lane"),
    ("vrmpybusv.acc", "w:w,b,b", "acc + sum of 4 u8 x s8 products per 32-bit lane"),
    ("vrmpybv", "w:b,b", "sum of 4 s8 x s8 products per 32-bit lane"),
    ("vrmpybv.acc", "w:w,b,b", "acc + sum of 4 s8 x s8 products per 32-bit lane"),
    ("vrmpyubv", "w:b,b", "sum of 4 u8 x u8 products per 32-bit lane"),
    ("vrmpybus", "w:b,r", "sum of 4 u8 lanes x the 4 s8 bytes of r per 32-bit lane"),
    ("vasrw", "w:w,r", "a >> r, arithmetic"),
    ("vlsrw", "w:w,r", "a >> r, logical"),
    ("vaslw", "w:w,r", "a << r"),
    ("vasrh", "h:h,r", "a >> r, arithmetic"),
    ("vasrhbsat", "b:h,h,r", "interleave sat8(b >> r), sat8(a >> r)"),
    ("vasrhubsat", "b:h,h,r", "interleave satu8(b >> r), satu8(a >> r)"),
    ("vasrhubrndsat", "b:h,h,r", "interleave satu8(rnd(b >> r)), satu8(rnd(a >> r))"),
    ("vasrwh", "h:w,w,r", "interleave (b >> r), (a >> r), truncated to 16 bits"),
    ("vasrwhsat", "h:w,w,r", "interleave sat16(b >> r), sat16(a >> r)"),
    ("vpackhb.sat", "b:h,h", "concatenate sat8(b), sat8(a)"),
    ("vpackwh.sat", "h:w,w", "concatenate sat16(b), sat16(a)"),
    ("vsb", "hh:b", "sign-extend bytes to a halfword pair (even lanes low, odd high)"),
    ("vshuffvdd", "ww:w,w,r", "shuffle a and b in groups of r bytes"),
    ("vdealvdd", "ww:w,w,r", "deal a and b in groups of r bytes"),
    ("vshuffeb", "b:b,b", "even bytes interleaved: b.b[2i], a.b[2i]"),
    ("vdealb", "b:b", "even bytes to the low half, odd bytes to the high half"),
    ("vlutvvb", "b:b,b,r", "32-entry byte table lookup (vlut32), table segment r"),
    ("vlutvwh", "hh:b,h,r", "16-entry halfword table lookup (vlut16), table segment r"),
    ("vgtb", "q:b,b", "a > b, signed"),
    ("vgth", "q:h,h", "a > b, signed"),
    ("vgtw", "q:w,w", "a > b, signed"),
    ("veqw", "q:w,w", "a == b"),
    ("vmux", "w:q,w,w", "q ? a : b, per byte"),
    ("lvsplatw", "w:r", "splat a word"),
    ("lo", "w:ww", "the low register of a pair"),
    ("hi", "w:ww", "the high register of a pair"),
    ("vcombine", "ww:w,w", "the pair (high a, low b)"),
]

OPS: dict[str, type[HVXOp]] = {insn: _op(insn, sig, doc) for insn, sig, doc in _TABLE}
"""Every HVX instruction op by instruction name (`OPS["vrmpybusv.acc"]`)."""

HVX = Dialect("hvx", [*OPS.values(), VCastOp], [])
