"""LLVM IR for the `x86vector` dialect (dialects/isa/x86.py), hooked into `codegen/llvm.py`.

    x86vector.vpdpbusd %d, %x, %y : vector<16xi32>, vector<64xi8>
        ->  call <16 x i32> @llvm.x86.avx512.vpdpbusd.512(%d, %x, %y)

`check_x86_ops` runs before emission: x86vector ops need an x86-64 device with `+avx512vnni`
(LLVM aborts the process on an intrinsic the target cannot select, so this must be a
diagnostic first).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from xdsl.ir import Operation

from lamina.codegen.llvm_core import llvm_type
from lamina.dialects.isa import x86
from lamina.errors import UnsupportedOpError
from lamina.targets import Device, has_vnni

if TYPE_CHECKING:
    from lamina.codegen.llvm_core import FunctionEmitter

_WIDTHS = {4: 128, 8: 256, 16: 512}
"""i32 lanes of the accumulator -> the register width in the intrinsic's name."""


def check_x86_ops(ops: Iterable[Operation], device: Device) -> None:
    """Raise `UnsupportedOpError` (naming op and device) for an x86vector op `device` cannot run."""
    for op in ops:
        if op.name.startswith("x86vector.") and not has_vnni(device):
            raise UnsupportedOpError(
                f"'{op.name}' on device '{device.name}' ({device.triple}): it needs an x86-64 "
                "device with +avx512vnni",
                op=op,
            )


def emit_x86_op(e: FunctionEmitter, op: Operation) -> bool:
    """Emit an x86vector op; False when `op` is not one."""
    if not isinstance(op, x86.VpdpbusdOp):
        return False
    acc_t, in_t = llvm_type(op.acc.type, op), llvm_type(op.lhs.type, op)
    bits = _WIDTHS[op.acc.type.get_shape()[0]]  # pyright: ignore[reportAttributeAccessIssue]
    intrinsic = e.declare(f"llvm.x86.avx512.vpdpbusd.{bits}", acc_t, [acc_t, in_t, in_t])
    e.set(op.result, e.builder.call(intrinsic, [e.get(op.acc), e.get(op.lhs), e.get(op.rhs)]))
    return True
