"""Run-time dimensions at the `loop` level (MLIR's `memref.dim`): the extent of one
dimension of a buffer as an `index`. A buffer with dynamic dims (`?`) carries their
extents at run time: a `loop.alloc` from its size operands, a function argument from the
extents passed after its pointer (the kernel ABI, docs/pipeline.md). Part of the `Loop`
dialect object (dialects/loop.py).

    %n = loop.dim %x, 0 : memref<?x64xf32>
"""

from __future__ import annotations

from xdsl.dialects.builtin import MemRefType
from xdsl.irdl import irdl_op_definition, operand_def

from lamina.dialects.shaped_dim import DimOpBase


@irdl_op_definition
class DimOp(DimOpBase):
    """The extent of dim `axis` of `buffer` (0 <= axis < rank)."""

    name = "loop.dim"
    buffer = operand_def(MemRefType)
    assembly_format = "$buffer `,` $axis attr-dict `:` type($buffer)"


LOOP_SHAPE_OPS = (DimOp,)
