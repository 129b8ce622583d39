"""LLVM IR for the `x86vector` dialect (dialects/isa/x86.py), hooked into `codegen/llvm.py`.

    x86vector.vpdpbusd %d, %x, %y : vector<16xi32>, vector<64xi8>
        ->  call <16 x i32> @llvm.x86.avx512.vpdpbusd.512(%d, %x, %y)
    x86vector.vpmaddubsw %x, %y : vector<32xi8> -> vector<16xi16>
        ->  call <16 x i16> @llvm.x86.avx2.pmadd.ub.sw(%x, %y)

`check_x86_ops` runs before emission: `vpdpbusd` needs an x86-64 device with `+avx512vnni`,
`vpmaddubsw` / `vpmaddwd` one with AVX2 (their 512-bit forms `+avx512bw`); LLVM aborts the
process on an intrinsic the target cannot select, so this must be a diagnostic first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from xdsl.dialects.builtin import VectorType
from xdsl.ir import Attribute, Operation
from xdsl.utils.hints import isa

from lamina.codegen.llvm_core import llvm_type
from lamina.dialects.isa import x86
from lamina.errors import UnsupportedOpError
from lamina.targets import Device, has_avx2, has_avx512bw, has_vnni

if TYPE_CHECKING:
    from lamina.codegen.llvm_core import FunctionEmitter

_WIDTHS = {4: 128, 8: 256, 16: 512}
"""i32 lanes of the accumulator -> the register width in the intrinsic's name."""

_PAIR_INTRINSICS = {
    ("x86vector.vpmaddubsw", 128): "llvm.x86.ssse3.pmadd.ub.sw.128",
    ("x86vector.vpmaddubsw", 256): "llvm.x86.avx2.pmadd.ub.sw",
    ("x86vector.vpmaddubsw", 512): "llvm.x86.avx512.pmaddubs.w.512",
    ("x86vector.vpmaddwd", 128): "llvm.x86.sse2.pmadd.wd",
    ("x86vector.vpmaddwd", 256): "llvm.x86.avx2.pmadd.wd",
    ("x86vector.vpmaddwd", 512): "llvm.x86.avx512.pmaddw.d.512",
}
"""(op, register bits) -> the LLVM intrinsic of a pair multiply-add."""


def _register_bits(op: x86.PairMulAddOp) -> int:
    t = op.lhs.type
    assert isa(t, VectorType[Attribute])
    return t.get_shape()[0] * op.OPERAND_WIDTH


def _missing_feature(op: Operation, device: Device) -> str | None:
    """What `device` lacks to run the x86vector op `op`, None when it can."""
    if isinstance(op, x86.PairMulAddOp):
        if _register_bits(op) == 512:
            return None if has_avx512bw(device) else "+avx512bw"
        return None if has_avx2(device) else "+avx2"
    return None if has_vnni(device) else "+avx512vnni"


def check_x86_ops(ops: Iterable[Operation], device: Device) -> None:
    """Raise `UnsupportedOpError` (naming op and device) for an x86vector op `device` cannot run."""
    for op in ops:
        if not op.name.startswith("x86vector."):
            continue
        missing = _missing_feature(op, device)
        if missing is not None:
            raise UnsupportedOpError(
                f"'{op.name}' on device '{device.name}' ({device.triple}): it needs an x86-64 "
                f"device with {missing}",
                op=op,
            )


def emit_x86_op(e: FunctionEmitter, op: Operation) -> bool:
    """Emit an x86vector op; False when `op` is not one."""
    if isinstance(op, x86.PairMulAddOp):
        in_t, out_t = llvm_type(op.lhs.type, op), llvm_type(op.result.type, op)
        intrinsic = e.declare(_PAIR_INTRINSICS[op.name, _register_bits(op)], out_t, [in_t, in_t])
        e.set(op.result, e.builder.call(intrinsic, [e.get(op.lhs), e.get(op.rhs)]))
        return True
    if not isinstance(op, x86.VpdpbusdOp):
        return False
    acc_t, in_t = llvm_type(op.acc.type, op), llvm_type(op.lhs.type, op)
    bits = _WIDTHS[op.acc.type.get_shape()[0]]  # pyright: ignore[reportAttributeAccessIssue]
    intrinsic = e.declare(f"llvm.x86.avx512.vpdpbusd.{bits}", acc_t, [acc_t, in_t, in_t])
    e.set(op.result, e.builder.call(intrinsic, [e.get(op.acc), e.get(op.lhs), e.get(op.rhs)]))
    return True
