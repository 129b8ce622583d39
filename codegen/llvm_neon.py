"""LLVM IR for the `neon` dialect (dialects/isa/neon.py), hooked into `codegen/llvm.py`.

    neon.fmla_lane %c, %b, %a[2] : vector<4xf32>, vector<4xf32>
        ->  %s = shufflevector <4 x float> %a, poison, <2, 2, 2, 2>
            call <4 x float> @llvm.fma.v4f32(%b, %s, %c)            (fmla v.4s, v.4s, v.s[2])
    neon.sdot %d, %x, %y : vector<4xi32>, vector<16xi8>
        ->  call <4 x i32> @llvm.aarch64.neon.sdot.v4i32.v16i8(%d, %x, %y)

`check_neon_ops` runs before emission: neon ops need an AArch64 device, and `sdot`/`udot` its
`+dotprod` feature (LLVM aborts the process on an intrinsic the target cannot select, so this
must be a diagnostic first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

import llvmlite.ir as ir
from xdsl.ir import Operation

from lamina.codegen.llvm_core import llvm_type, type_suffix
from lamina.dialects.isa import neon
from lamina.errors import UnsupportedOpError
from lamina.targets import Device, has_dotprod, is_aarch64

if TYPE_CHECKING:
    from lamina.codegen.llvm_core import FunctionEmitter

i32 = ir.IntType(32)


def check_neon_ops(ops: Iterable[Operation], device: Device) -> None:
    """Raise `UnsupportedOpError` (naming op and device) for a neon op `device` cannot run."""
    for op in ops:
        if not op.name.startswith("neon."):
            continue
        if not is_aarch64(device):
            raise UnsupportedOpError(
                f"'{op.name}' on device '{device.name}' ({device.triple}): neon ops need an "
                "AArch64 device",
                op=op,
            )
        if isinstance(op, neon.DotOp) and not has_dotprod(device):
            raise UnsupportedOpError(
                f"'{op.name}' on device '{device.name}': it lacks the +dotprod feature", op=op
            )


def emit_neon_op(e: FunctionEmitter, op: Operation) -> bool:
    """Emit a neon op; False when `op` is not one."""
    handler = _HANDLERS.get(type(op))
    if handler is None:
        return False
    handler(e, op)
    return True


def _fmla_lane(e: FunctionEmitter, op: neon.FmlaLaneOp) -> None:
    t = llvm_type(op.acc.type, op)
    lanes = e.get(op.lanes)
    count = cast(ir.VectorType, t).count
    mask = ir.Constant(ir.VectorType(i32, count), [op.lane.value.data] * count)
    splat = e.builder.shuffle_vector(lanes, ir.Constant(lanes.type, ir.Undefined), mask)
    fma = e.declare(f"llvm.fma.{type_suffix(t)}", t, [t, t, t])
    e.set(op.result, e.builder.call(fma, [e.get(op.rhs), splat, e.get(op.acc)]))


def _dot(e: FunctionEmitter, op: neon.DotOp) -> None:
    acc_t, in_t = llvm_type(op.acc.type, op), llvm_type(op.lhs.type, op)
    kind = "sdot" if isinstance(op, neon.SdotOp) else "udot"
    name = f"llvm.aarch64.neon.{kind}.{type_suffix(acc_t)}.{type_suffix(in_t)}"
    intrinsic = e.declare(name, acc_t, [acc_t, in_t, in_t])
    args = [e.get(op.acc), e.get(op.lhs), e.get(op.rhs)]
    e.set(op.result, e.builder.call(intrinsic, args))


_HANDLERS: dict[type[Operation], Callable[[FunctionEmitter, Any], None]] = {
    neon.FmlaLaneOp: _fmla_lane,
    neon.SdotOp: _dot,
    neon.UdotOp: _dot,
}
