"""`loop-to-x86`: the signed i8 dot-product loops of loop-level IR (lowering/dot_loops.py) ->
AVX-512 VNNI `vpdpbusd`, for x86-64 devices with `+avx512vnni`: 64 bytes a step into a
vector<16xi32>. `vpdpbusd` multiplies unsigned by signed bytes, so a signed `a` is read as
`a xor 0x80` (= a + 128 unsigned) and the step subtracts what that adds:

    acc' = vpdpbusd(acc, a ^ 0x80, b) - vpdpbusd(0, splat(0x80), b)    (= acc + a . b)

Exact: i32 addition wraps and is associative. Loops of unsigned bytes stay as they are (the
int8 matmuls of lowering/graph_to_top_quant.py shift their operands to signed bytes). On an
x86-64 device without VNNI nothing is rewritten (LLVM's vectorizer keeps the loops); on
another architecture the pass is an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, IntegerType, ModuleOp, VectorType
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

from lamina.dialects.isa.x86 import VpdpbusdOp
from lamina.errors import UnsupportedError
from lamina.lowering.dot_loops import DotLoop, DotStep, rewrite_dot_loops
from lamina.targets import Device, has_vnni, load_device

LANES = 64
"""Bytes of a zmm register: one vpdpbusd step."""


def _signed_step(acc: SSAValue, a: SSAValue, b: SSAValue) -> Sequence[Operation]:
    bytes_type = VectorType(IntegerType(8), [LANES])
    bias = arith.ConstantOp(DenseIntOrFPElementsAttr.from_list(bytes_type, [-128]))
    acc_type = VectorType(IntegerType(32), [LANES // 4])
    zero = arith.ConstantOp(DenseIntOrFPElementsAttr.from_list(acc_type, [0]))
    unsigned = arith.XOrIOp(a, bias)
    products = VpdpbusdOp(acc, unsigned.result, b)
    excess = VpdpbusdOp(zero.result, bias.result, b)
    return [bias, zero, unsigned, products, excess, arith.SubiOp(products, excess)]


def _dot_instruction(dot: DotLoop) -> DotStep | None:
    return None if dot.unsigned else _signed_step


def loop_to_x86(module: ModuleOp, device: Device) -> int:
    """Rewrite the signed dot-product loops of `module` for `device`; returns how many."""
    if not device.triple.startswith("x86_64"):
        raise UnsupportedError(f"loop-to-x86 for device '{device.name}' ({device.triple})")
    if not has_vnni(device):
        return 0
    return rewrite_dot_loops(module, LANES, _dot_instruction)


@dataclass(frozen=True)
class LoopToX86Pass(ModulePass):
    """Rewrite the int8 dot-product loops of loop-level IR into AVX-512 VNNI `vpdpbusd` for
    `device` (an x86-64 device name in `targets/`, or `host`)."""

    name = "loop-to-x86"

    device: str = "host"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        loop_to_x86(op, load_device(self.device))
