"""LLVM IR for the `hvx` dialect: each op is one call of `llvm.hexagon.V6.<insn>.128B`.

The intrinsics take HVX registers as `<32 x i32>` (V), `<64 x i32>` (W, a pair) and
`<128 x i1>` (Q); so every vector operand is bitcast to that type, the intrinsic is called
and its result is bitcast to the op's lane type. `hvx.vcast` is only the bitcast.

    %s = hvx.vaddbsat %a, %b : (vector<128xi8>, vector<128xi8>) -> vector<128xi8>
      ->  %a.w = bitcast <128 x i8> %a to <32 x i32>   (same for %b)
          %r = call <32 x i32> @llvm.hexagon.V6.vaddbsat.128B(<32 x i32> %a.w, <32 x i32> %b.w)
          %s = bitcast <32 x i32> %r to <128 x i8>
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import llvmlite.ir as ir
from xdsl.ir import Operation

from lamina.codegen.llvm_core import LLValue, llvm_type
from lamina.dialects.isa.hvx import HVXOp, VCastOp
from lamina.errors import UnsupportedOpError
from lamina.targets import HVX_FEATURE, Device, has_hvx128

if TYPE_CHECKING:
    from lamina.codegen.llvm_core import FunctionEmitter

_I32 = ir.IntType(32)


def intrinsic_type(t: ir.Type) -> ir.Type:
    """The type an HVX intrinsic uses for a value of LLVM type `t`."""
    if isinstance(t, ir.VectorType) and t.element == ir.IntType(1):
        return t
    if isinstance(t, ir.VectorType):
        bits = t.count * t.element.width
        return ir.VectorType(_I32, bits // 32)
    return t


def _bitcast(e: FunctionEmitter, value: LLValue, to: ir.Type) -> LLValue:
    return value if value.type == to else e.builder.bitcast(value, to)


def emit_hvx_op(e: FunctionEmitter, op: Operation) -> bool:
    """Emit an `hvx` op; False when `op` is not one."""
    if isinstance(op, VCastOp):
        target = llvm_type(op.result.type, op)
        source = _bitcast(e, e.get(op.source[0]), intrinsic_type(target))
        e.set(op.result, _bitcast(e, source, target))
        return True
    if not isinstance(op, HVXOp):
        return False
    args = [e.get(a) for a in op.args]
    arg_types = [intrinsic_type(a.type) for a in args]
    result_type = llvm_type(op.result.type, op)
    callee = e.declare(op.intrinsic(), intrinsic_type(result_type), arg_types)
    call = e.builder.call(callee, [_bitcast(e, a, t) for a, t in zip(args, arg_types, strict=True)])
    e.set(op.result, _bitcast(e, call, result_type))
    return True


def check_hvx_ops(ops: Iterable[Operation], device: Device) -> None:
    """Raise `UnsupportedOpError` (naming op and device) for an hvx op on a device without
    128-byte HVX."""
    if has_hvx128(device):
        return
    for op in ops:
        if op.name.startswith("hvx."):
            raise UnsupportedOpError(
                f"'{op.name}' on device '{device.name}' ({device.triple}): hvx ops need a "
                f"Hexagon device with {HVX_FEATURE}",
                op=op,
            )
