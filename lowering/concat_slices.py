"""Concat inputs written in place: which inputs of a `top.concat` may be produced straight
into their slice of the concat's buffer (a `loop.view` of it), so that the concat copies
nothing for them (as MLIR's in-place bufferization does with `memref.subview`, or TVM's
and onnxruntime's planners for concat).

An input qualifies when
- the slice is contiguous: every dim of the result before `axis` is 1 and all shapes are
  static (so the slice is one byte range, `slice_offset` bytes into the buffer);
- it is the result of a `top` op of the concat's block without regions (a `top.generic`
  or a nest-lowered op: it writes whatever buffer it is given), not yet given a buffer
  (not a function result, not part of an in-place chain);
- every other use of it comes before the concat (in block order), and it is the first
  operand of the concat holding that value. Its slice is then written only by its
  producer until the concat, and no op after the concat reads it, so the concat's result
  (and whoever updates it in place later) may own those bytes from then on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, Operation, OpResult, SSAValue
from xdsl.utils.hints import isa

from lamina.dialects import top
from lamina.dialects.loop import ViewOp, byte_size
from lamina.lowering.epilogue_fusion import is_top_op


def slice_offset(shape: Sequence[int], axis: int, start: int, element_bytes: int) -> int:
    """Byte offset of index `start` along `axis` in a dense row-major buffer of `shape`."""
    return start * prod(shape[axis + 1 :]) * element_bytes


def contiguous_slices(op: top.ConcatOp) -> list[int] | None:
    """Each input's byte offset in the concat's buffer, or None when the slices are not
    single byte ranges (a non-unit dim before `axis`, a dynamic shape)."""
    axis = op.axis.value.data
    result = op.result.type
    if not isa(result, TensorType[Attribute]) or not result.has_static_shape():
        return None
    shape = result.get_shape()
    element = byte_size(result.get_element_type())
    if element is None or any(d != 1 for d in shape[:axis]):
        return None
    offsets: list[int] = []
    start = 0
    for value in op.inputs:
        offsets.append(slice_offset(shape, axis, start, element))
        value_type = value.type
        assert isa(value_type, TensorType[Attribute])  # the verifier's
        start += value_type.get_shape()[axis]
    return offsets


def in_place_inputs(
    op: top.ConcatOp, has_buffer: Callable[[SSAValue], bool]
) -> list[tuple[SSAValue, int]]:
    """The inputs of `op` that may be produced into their slice (see the module docstring),
    each with its byte offset in the concat's buffer."""
    offsets = contiguous_slices(op)
    block = op.parent_block()
    if offsets is None or block is None:
        return []
    found: list[tuple[SSAValue, int]] = []
    for index, (value, offset) in enumerate(zip(op.inputs, offsets, strict=True)):
        if (
            isinstance(value, OpResult)
            and is_top_op(value.op)
            and (isinstance(value.op, top.GenericOp) or not value.op.regions)
            and value.op.parent_block() is block
            and not has_buffer(value)
            and value not in op.inputs[:index]
            and all(_before(use.operation, op) for use in value.uses)
        ):
            found.append((value, offset))
    return found


def _before(user: Operation, op: top.ConcatOp) -> bool:
    """Whether `user` is `op` or (an op inside) an op before `op` in `op`'s block."""
    block = op.parent_block()
    assert block is not None
    ancestor = block.find_ancestor_op_in_block(user)
    return ancestor is op or (ancestor is not None and ancestor.is_before_in_block(op))


def view_root(buffer: SSAValue) -> tuple[SSAValue, int]:
    """The buffer `buffer` is a (chain of) `loop.view`(s) of, and its byte offset in it."""
    offset = 0
    while isinstance(buffer.owner, ViewOp):
        offset += buffer.owner.offset.value.data
        buffer = buffer.owner.source
    return buffer, offset


def written_in_place(x: SSAValue, y: SSAValue, offset: int) -> bool:
    """Whether buffer `x` is the slice of buffer `y` at byte `offset` (so a concat of `x`
    into `y` there has nothing to copy)."""
    x_root, x_offset = view_root(x)
    y_root, y_offset = view_root(y)
    return x_root is y_root and x_offset == y_offset + offset
