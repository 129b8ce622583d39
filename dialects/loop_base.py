"""What the `loop` op families share: the memory space of a buffer (`#loop.space<...>` on a
builtin memref; none means `global`), byte sizes and alignments of buffer types, and the
way diagnostics show a value.
"""

from __future__ import annotations

from math import prod

from xdsl.dialects.builtin import (
    I64,
    FixedBitwidthType,
    IntegerAttr,
    MemRefType,
    NoneAttr,
    VectorType,
    i64,
)
from xdsl.dialects.utils.enum_attribute import EnumAttribute
from xdsl.ir import Attribute, SSAValue
from xdsl.irdl import irdl_attr_definition
from xdsl.utils.bitwise_casts import is_power_of_two
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.hints import isa
from xdsl.utils.str_enum import StrEnum

from lamina.dialects.enum_syntax import AngleBracketEnum

# ---------------------------------------------------------------------------------------------
# Memory spaces


class MemorySpace(StrEnum):
    """Where a buffer lives; codegen maps each to an address space or an allocator."""

    GLOBAL = "global"  # device main memory (DRAM): LLVM addrspace 0, OpenCL __global
    LOCAL = "local"  # on-chip memory shared by a work-group: OpenCL __local
    VTCM = "vtcm"  # Hexagon vector tightly-coupled memory
    STACK = "stack"  # the current function's stack frame (alloca)


@irdl_attr_definition
class SpaceAttr(AngleBracketEnum[MemorySpace], EnumAttribute[MemorySpace]):
    """The memory space of a buffer, used as the memory space of a builtin memref:

        memref<64x64xf32, #loop.space<vtcm>>

    A memref without a memory space is in `global`.
    """

    name = "loop.space"


def memory_space_of(buffer_type: MemRefType[Attribute]) -> MemorySpace | None:
    """The space of a memref: `global` when it has none, None when it is not a `loop.space`."""
    space = buffer_type.memory_space
    if isinstance(space, NoneAttr):
        return MemorySpace.GLOBAL
    if isinstance(space, SpaceAttr):
        return space.data
    return None


def byte_size(element_type: Attribute) -> int | None:
    """Bytes of one element in memory, None when it depends on the target (e.g. `index`)."""
    if isinstance(element_type, FixedBitwidthType):
        return element_type.size
    if isa(element_type, VectorType[Attribute]) and not element_type.get_num_scalable_dims():
        inner = byte_size(element_type.element_type)
        return None if inner is None else inner * prod(element_type.get_shape())
    return None


def natural_alignment(element_type: Attribute) -> int | None:
    """The alignment a buffer of these elements needs by default: that of one scalar (the
    largest power of two dividing its size), so vector elements need only scalar alignment."""
    if isa(element_type, VectorType[Attribute]):
        element_type = element_type.element_type
    size = byte_size(element_type)
    return None if size is None else size & -size


def buffer_bytes(buffer_type: MemRefType[Attribute]) -> int | None:
    """Bytes a buffer of this type occupies, None unless its shape and element size are
    static (what memory planning needs to place it in an arena)."""
    element_bytes = byte_size(buffer_type.element_type)
    if element_bytes is None or any(d < 0 for d in buffer_type.get_shape()):
        return None
    return element_bytes * prod(buffer_type.get_shape())


def show_value(value: SSAValue, role: str) -> str:
    """`%name : type` for a diagnostic, or `role : type` when the value has no name."""
    name = f"%{value.name_hint}" if value.name_hint else role
    return f"{name} : {value.type}"


def verify_alignment(alignment: IntegerAttr[I64] | None, what: str) -> None:
    if alignment is not None and not is_power_of_two(alignment.value.data):
        raise VerifyException(f"{what} alignment {alignment.value.data} is not a power of two")


def optional_i64(value: int | IntegerAttr[I64] | None) -> IntegerAttr[I64] | None:
    if value is None or isinstance(value, IntegerAttr):
        return value
    return IntegerAttr(value, i64)
