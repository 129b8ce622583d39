"""`loop-to-hvx`: the i8 dot-product loops of loop-level IR (lowering/dot_loops.py) -> HVX
`vrmpy`, for Hexagon devices with 128-byte HVX: 128 bytes a step, a vector<32xi32> of
`hvx.vrmpybv.acc` (s8 x s8, 4 products into each i32 lane). Loops of unsigned bytes stay
as they are (HVX has no accumulating u8 x u8 vrmpy; the int8 matmuls of
lowering/graph_to_top_quant.py shift their operands to signed bytes). Everything else is
left to LLVM.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from lamina.dialects.isa.hvx import OPS, VECTOR_BYTES
from lamina.lowering.dot_loops import DotLoop, DotStep, require_device, rewrite_dot_loops
from lamina.targets import Device, has_hvx128, load_device


def _dot_instruction(dot: DotLoop) -> DotStep | None:
    return None if dot.unsigned else lambda acc, a, b: [OPS["vrmpybv.acc"](acc, a, b)]


def loop_to_hvx(module: ModuleOp, device: Device) -> int:
    """Rewrite the signed dot-product loops of `module` for `device`; returns how many."""
    require_device(
        "loop-to-hvx", device, has_hvx128(device), "it needs 128-byte HVX (+hvx-length128b)"
    )
    return rewrite_dot_loops(module, VECTOR_BYTES, _dot_instruction)


@dataclass(frozen=True)
class LoopToHVXPass(ModulePass):
    """Rewrite the int8 dot-product loops of loop-level IR into HVX `vrmpy` for `device` (a
    Hexagon device name in `targets/`)."""

    name = "loop-to-hvx"

    device: str = "hexagon-v66-hvx128"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        loop_to_hvx(op, load_device(self.device))
