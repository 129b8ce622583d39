"""Buffers at the `loop` level: before memory planning `loop.alloc` / `loop.dealloc` (and
`loop.view`s, slices of a buffer at a byte offset); after it one `loop.arena` per memory
space and `loop.carve`s at static byte offsets into it, which the verifier checks fit and
are aligned.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import I64, IndexType, IntegerAttr, MemRefType, NoneAttr, i8, i64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.traits import MemoryAllocEffect, MemoryFreeEffect, NoMemoryEffect
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.hints import isa

from lamina.dialects.loop_base import (
    MemorySpace,
    SpaceAttr,
    buffer_bytes,
    memory_space_of,
    natural_alignment,
    optional_i64,
    show_value,
    verify_alignment,
)


@irdl_op_definition
class ArenaOp(IRDLOperation):
    """Declares the arena: one contiguous block of `N` bytes in one memory space, aligned to
    `align` bytes, from which the memory planner carves every buffer at a static offset.
    There is one arena per model and memory space; codegen makes it a static global, a stack
    slot or a VTCM reservation depending on the space.

        %arena = loop.arena align 64 : memref<1048576xi8, #loop.space<vtcm>>
    """

    name = "loop.arena"

    alignment = prop_def(IntegerAttr[I64])
    arena = result_def(MemRefType)

    traits = traits_def(MemoryAllocEffect())
    assembly_format = "`align` $alignment attr-dict `:` type($arena)"

    def __init__(
        self, size: int, alignment: int = 64, space: MemorySpace = MemorySpace.GLOBAL
    ) -> None:
        arena_type = MemRefType(i8, [size], memory_space=SpaceAttr(space))
        super().__init__(
            result_types=[arena_type], properties={"alignment": IntegerAttr(alignment, i64)}
        )

    @property
    def size(self) -> int:
        """The arena's size in bytes."""
        arena_type = self.arena.type
        assert isa(arena_type, MemRefType[Attribute])
        return arena_type.get_shape()[0]

    def verify_(self) -> None:
        _verify_arena_type(self.arena)
        verify_alignment(self.alignment, f"arena {show_value(self.arena, 'arena')}:")


def _verify_arena_type(arena: SSAValue) -> MemRefType[Attribute]:
    arena_type = arena.type
    if (
        not isa(arena_type, MemRefType[Attribute])
        or arena_type.element_type != i8
        or arena_type.get_num_dims() != 1
        or arena_type.get_shape()[0] < 0
        or not isinstance(arena_type.layout, NoneAttr)
    ):
        raise VerifyException(
            f"arena {show_value(arena, 'arena')} must be a 1-D memref of i8 with a static size"
        )
    return arena_type


@irdl_op_definition
class CarveOp(IRDLOperation):
    """A buffer at a static byte offset into an arena, placed there by memory planning.
    The buffer aliases arena bytes `[offset, offset + size)`; two live buffers never overlap
    (the planner's duty, not checked here). The buffer must have a static shape, the arena's
    memory space, and lie inside the arena; its offset must be a multiple of its alignment
    (`align`, else `natural_alignment` of its elements), which must not exceed the arena's
    alignment when that is known.

        %w = loop.carve %arena[4096] : memref<1048576xi8> -> memref<64x64xf32>
        %t = loop.carve %arena[0] align 128 : memref<8192xi8, #loop.space<vtcm>>
               -> memref<32xvector<32xf32>, #loop.space<vtcm>>
    """

    name = "loop.carve"

    arena = operand_def(MemRefType)
    offset = prop_def(IntegerAttr[I64])
    alignment = opt_prop_def(IntegerAttr[I64])
    buffer = result_def(MemRefType)

    traits = traits_def(NoMemoryEffect())
    assembly_format = (
        "$arena `[` $offset `]` (`align` $alignment^)? attr-dict `:` type($arena) `->` "
        "type($buffer)"
    )

    def __init__(
        self,
        arena: SSAValue | Operation,
        offset: int,
        buffer_type: MemRefType[Attribute],
        alignment: int | None = None,
    ) -> None:
        super().__init__(
            operands=[arena],
            result_types=[buffer_type],
            properties={"offset": IntegerAttr(offset, i64), "alignment": optional_i64(alignment)},
        )

    def verify_(self) -> None:
        arena_type = _verify_arena_type(self.arena)
        buffer_type = self.buffer.type
        assert isa(buffer_type, MemRefType[Attribute])
        size = buffer_bytes(buffer_type)
        natural = natural_alignment(buffer_type.element_type)
        if size is None or natural is None:
            raise VerifyException(
                f"carved buffer {self.shown()} needs a static shape and an element type of "
                "target-independent size"
            )
        if not isinstance(buffer_type.layout, NoneAttr):
            raise VerifyException(f"carved buffer {self.shown()} must have the identity layout")
        if memory_space_of(buffer_type) != memory_space_of(arena_type):
            raise VerifyException(
                f"carved buffer {self.shown()} is not in the memory space of arena "
                f"{show_value(self.arena, 'arena')}"
            )
        offset = self.offset.value.data
        arena_size = arena_type.get_shape()[0]
        if offset < 0 or offset + size > arena_size:
            raise VerifyException(
                f"carved buffer {self.shown()} of {size} bytes at offset {offset} does not fit in "
                f"arena {show_value(self.arena, 'arena')} of {arena_size} bytes"
            )
        if self.alignment is not None:
            verify_alignment(self.alignment, f"carved buffer {self.shown()}:")
        align = self.alignment.value.data if self.alignment else natural
        if offset % align:
            raise VerifyException(
                f"carved buffer {self.shown()} at offset {offset} is not aligned to {align} bytes"
            )
        arena_op = self.arena.owner
        if isinstance(arena_op, ArenaOp) and align > arena_op.alignment.value.data:
            raise VerifyException(
                f"carved buffer {self.shown()} asks for alignment {align} but arena "
                f"{show_value(self.arena, 'arena')} is only aligned to "
                f"{arena_op.alignment.value.data} bytes"
            )

    def shown(self) -> str:
        """The buffer as diagnostics name it (printed only for an error: printing its type
        costs more than the checks, on the thousand carves of a DenseNet-121)."""
        return show_value(self.buffer, "buffer")


@irdl_op_definition
class ViewOp(IRDLOperation):
    """A buffer aliasing bytes `[offset, offset + size)` of another buffer (any static one,
    not only an arena): a slice a producer writes in place, e.g. an input of a concat
    written straight into its part of the concat's buffer. Both have static shapes, the
    identity layout and one memory space; the view lies inside its source and its offset
    is a multiple of its elements' natural alignment. Memory planning folds a view of a
    planned buffer into a `loop.carve` (the view lives as long as its source).

        %s = loop.view %y[46464] : memref<1x128x55x55xf32> -> memref<1x64x55x55xf32>
    """

    name = "loop.view"

    source = operand_def(MemRefType)
    offset = prop_def(IntegerAttr[I64])
    buffer = result_def(MemRefType)

    traits = traits_def(NoMemoryEffect())
    assembly_format = "$source `[` $offset `]` attr-dict `:` type($source) `->` type($buffer)"

    def __init__(
        self, source: SSAValue | Operation, offset: int, buffer_type: MemRefType[Attribute]
    ) -> None:
        super().__init__(
            operands=[source],
            result_types=[buffer_type],
            properties={"offset": IntegerAttr(offset, i64)},
        )

    def verify_(self) -> None:
        sizes: list[int] = []
        for value in (self.source, self.buffer):
            value_type = value.type
            assert isa(value_type, MemRefType[Attribute])
            size = buffer_bytes(value_type)
            if (
                size is None
                or natural_alignment(value_type.element_type) is None
                or not isinstance(value_type.layout, NoneAttr)
            ):
                raise VerifyException(
                    f"view {show_value(value, 'buffer')} needs a static shape, the identity "
                    "layout and an element type of target-independent size"
                )
            sizes.append(size)
        buffer_type = self.buffer.type
        assert isa(buffer_type, MemRefType[Attribute])
        buffer, source = show_value(self.buffer, "buffer"), show_value(self.source, "source")
        if memory_space_of(buffer_type) != memory_space_of(self.source.type):  # pyright: ignore[reportArgumentType]
            raise VerifyException(f"view {buffer} is not in the memory space of {source}")
        offset = self.offset.value.data
        if offset < 0 or offset + sizes[1] > sizes[0]:
            raise VerifyException(
                f"view {buffer} of {sizes[1]} bytes at offset {offset} does not fit in "
                f"{source} of {sizes[0]} bytes"
            )
        align = natural_alignment(buffer_type.element_type)
        if align and offset % align:
            raise VerifyException(
                f"view {buffer} at offset {offset} is not aligned to {align} bytes"
            )


def uses_through_views(buffer: SSAValue) -> list[Operation]:
    """The ops that use `buffer` or a `loop.view` of it (views of views too), the views
    themselves included: what a buffer's live range must cover."""
    users: list[Operation] = []
    for use in buffer.uses:
        users.append(use.operation)
        if isinstance(use.operation, ViewOp):
            users += uses_through_views(use.operation.buffer)
    return users


@irdl_op_definition
class AllocOp(IRDLOperation):
    """A buffer not yet placed by memory planning, with one `index` operand per dynamic
    dimension. Freed by `loop.dealloc`; the planner turns each into a `loop.carve`.

        %b = loop.alloc() : memref<64x64xf32, #loop.space<local>>
        %d = loop.alloc(%n) align 64 : memref<?x64xf32>
    """

    name = "loop.alloc"

    dynamic_sizes = var_operand_def(IndexType)
    alignment = opt_prop_def(IntegerAttr[I64])
    buffer = result_def(MemRefType)

    traits = traits_def(MemoryAllocEffect())
    assembly_format = "`(` $dynamic_sizes `)` (`align` $alignment^)? attr-dict `:` type($buffer)"

    def __init__(
        self,
        buffer_type: MemRefType[Attribute],
        dynamic_sizes: Sequence[SSAValue | Operation] = (),
        alignment: int | None = None,
    ) -> None:
        super().__init__(
            operands=[dynamic_sizes],
            result_types=[buffer_type],
            properties={"alignment": optional_i64(alignment)},
        )

    def verify_(self) -> None:
        buffer_type = self.buffer.type
        assert isa(buffer_type, MemRefType[Attribute])
        dynamic = sum(1 for d in buffer_type.get_shape() if d < 0)
        if dynamic != len(self.dynamic_sizes):
            raise VerifyException(
                f"buffer {show_value(self.buffer, 'buffer')} has {dynamic} dynamic dimensions "
                f"but {len(self.dynamic_sizes)} sizes were given"
            )
        verify_alignment(self.alignment, f"buffer {show_value(self.buffer, 'buffer')}:")


@irdl_op_definition
class DeallocOp(IRDLOperation):
    """Frees a buffer made by `loop.alloc`:

        loop.dealloc %b : memref<64x64xf32, #loop.space<local>>

    Buffers carved from an arena are never freed one by one.
    """

    name = "loop.dealloc"

    buffer = operand_def(MemRefType)

    traits = traits_def(MemoryFreeEffect())
    assembly_format = "$buffer attr-dict `:` type($buffer)"

    def __init__(self, buffer: SSAValue | Operation) -> None:
        super().__init__(operands=[buffer])

    def verify_(self) -> None:
        if isinstance(self.buffer.owner, CarveOp | ArenaOp):
            raise VerifyException(
                f"cannot deallocate {show_value(self.buffer, 'buffer')}: it lives in an arena"
            )
