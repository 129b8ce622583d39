"""`loop-to-ocl-dot`: the i8 dot-product loops of loop-level IR (lowering/dot_loops.py) ->
OpenCL `char4` / `uchar4` dot products, for OpenCL devices: 16 bytes a step (a `vload16`
of each operand), an `int4` of `ocl.dot_char4` (`ocl.dot_uchar4` for unsigned bytes):

    loop.for %k ... iter_args(%acc = %init) -> (i32) {     loop.for %k ... step 16 iter_args(%a = dense<0>) -> (vector<4xi32>) {
      %p = arith.muli (extsi A[.., %k]), (extsi B[.., %k])   ->  %d = ocl.dot_char4 %a, vload16 A[.., %k], vload16 B[.., %k]
      loop.yield (arith.addi %acc, %p)                          loop.yield %d }
    }                                                        vector.reduction <add>, then the scalar loop for the rest

Exact: i32 addition wraps and is associative. Run before `convert-loop-to-ocl`, which moves
the rewritten loops into kernels like any other; codegen/opencl.py prints the dot products
as `dot(char4, char4)` where the device's OpenCL C compiler has it, else as widening
multiply-adds.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from lamina.dialects.isa.ocl import DotChar4Op, DotUchar4Op
from lamina.lowering.dot_loops import DotLoop, DotStep, require_device, rewrite_dot_loops
from lamina.targets import Device, is_opencl, load_device

LANES = 16
"""Bytes of one operand of `ocl.dot_char4` (a `char16`: four `char4`s)."""


def _dot_instruction(dot: DotLoop) -> DotStep:
    op = DotUchar4Op if dot.unsigned else DotChar4Op
    return lambda acc, a, b: [op(acc, a, b)]


def loop_to_ocl_dot(module: ModuleOp, device: Device) -> int:
    """Rewrite the dot-product loops of `module` for `device`; returns how many."""
    require_device("loop-to-ocl-dot", device, is_opencl(device), "it is not an OpenCL device")
    return rewrite_dot_loops(module, LANES, _dot_instruction)


@dataclass(frozen=True)
class LoopToOCLDotPass(ModulePass):
    """Rewrite the int8 dot-product loops of loop-level IR into OpenCL `char4` dot products
    for `device` (an OpenCL device name in `targets/`)."""

    name = "loop-to-ocl-dot"

    device: str = "opencl"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        loop_to_ocl_dot(op, load_device(self.device))
