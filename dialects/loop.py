"""The `loop` dialect: buffers with a memory space, explicit loop nests, scalar and vector
memory access.

Buffers are builtin `memref` types whose memory space is a `#loop.space<...>` attribute
(no memory space means `global`). Reusing `memref` rather than a buffer type of our own keeps
xDSL's `vector`, `memref` and `llvm` tooling usable on loop-level IR, and a memref already
carries all a buffer needs (shape, element type, layout, space). Computation stays in xDSL's
`arith`, `math` and `vector`; functions are `func.func` taking memrefs.

Memory is planned in two steps. Before planning, buffers come from `loop.alloc` and go back
with `loop.dealloc`. The planner replaces them with `loop.carve`s at static byte offsets into
one `loop.arena` per memory space, and the verifier checks that each carved buffer fits.

    func.func @scale(%x: memref<64xf32>, %y: memref<64xf32>, %s: f32) {
      %c0 = arith.constant 0 : index
      %c64 = arith.constant 64 : index
      %c8 = arith.constant 8 : index
      loop.for %i = %c0 to %c64 step %c8 parallel vector 8 {
        %v = loop.vload %x[%i] : memref<64xf32>, vector<8xf32>
        %sv = vector.broadcast %s : f32 to vector<8xf32>
        %r = arith.mulf %v, %sv : vector<8xf32>
        loop.vstore %r, %y[%i] : memref<64xf32>, vector<8xf32>
      }
      func.return
    }
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Self

from xdsl.dialects.arith import ConstantOp
from xdsl.dialects.builtin import (
    I64,
    FixedBitwidthType,
    IndexType,
    IntegerAttr,
    MemRefType,
    NoneAttr,
    UnitAttr,
    VectorType,
    i8,
    i64,
)
from xdsl.dialects.utils import AbstractYieldOperation, parse_assignment, print_assignment
from xdsl.dialects.utils.enum_attribute import EnumAttribute
from xdsl.ir import Attribute, Block, Dialect, Operation, Region, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    lazy_traits_def,
    operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import AttrParser, Parser, UnresolvedOperand
from xdsl.printer import Printer
from xdsl.traits import (
    HasParent,
    IsTerminator,
    MemoryAllocEffect,
    MemoryFreeEffect,
    MemoryReadEffect,
    MemoryWriteEffect,
    NoMemoryEffect,
    Pure,
    RecursiveMemoryEffect,
    SingleBlockImplicitTerminator,
    ensure_terminator,
)
from xdsl.utils.bitwise_casts import is_power_of_two
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.hints import isa
from xdsl.utils.str_enum import StrEnum

from lamina.dialects.loop_control import LOOP_CONTROL_OPS
from lamina.dialects.loop_shape import LOOP_SHAPE_OPS

# ---------------------------------------------------------------------------------------------
# Memory spaces


class MemorySpace(StrEnum):
    """Where a buffer lives; codegen maps each to an address space or an allocator."""

    GLOBAL = "global"  # device main memory (DRAM): LLVM addrspace 0, OpenCL __global
    LOCAL = "local"  # on-chip memory shared by a work-group: OpenCL __local
    VTCM = "vtcm"  # Hexagon vector tightly-coupled memory
    STACK = "stack"  # the current function's stack frame (alloca)


@irdl_attr_definition
class SpaceAttr(EnumAttribute[MemorySpace]):
    """The memory space of a buffer, used as the memory space of a builtin memref:

        memref<64x64xf32, #loop.space<vtcm>>

    A memref without a memory space is in `global`.
    """

    name = "loop.space"

    def print_parameter(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_string(self.data.value)

    @classmethod
    def parse_parameter(cls, parser: AttrParser) -> MemorySpace:
        with parser.in_angle_brackets():
            return parser.parse_str_enum(MemorySpace)


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


def _show(value: SSAValue, role: str) -> str:
    """`%name : type` for a diagnostic, or `role : type` when the value has no name."""
    name = f"%{value.name_hint}" if value.name_hint else role
    return f"{name} : {value.type}"


def _verify_alignment(alignment: IntegerAttr[I64] | None, what: str) -> None:
    if alignment is not None and not is_power_of_two(alignment.value.data):
        raise VerifyException(f"{what} alignment {alignment.value.data} is not a power of two")


def _i64(value: int | IntegerAttr[I64] | None) -> IntegerAttr[I64] | None:
    if value is None or isinstance(value, IntegerAttr):
        return value
    return IntegerAttr(value, i64)


# ---------------------------------------------------------------------------------------------
# Buffers


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
        _verify_alignment(self.alignment, f"arena {_show(self.arena, 'arena')}:")


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
            f"arena {_show(arena, 'arena')} must be a 1-D memref of i8 with a static size"
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
            properties={"offset": IntegerAttr(offset, i64), "alignment": _i64(alignment)},
        )

    def verify_(self) -> None:
        arena_type = _verify_arena_type(self.arena)
        buffer_type = self.buffer.type
        assert isa(buffer_type, MemRefType[Attribute])
        buffer = _show(self.buffer, "buffer")
        size = buffer_bytes(buffer_type)
        natural = natural_alignment(buffer_type.element_type)
        if size is None or natural is None:
            raise VerifyException(
                f"carved buffer {buffer} needs a static shape and an element type of "
                "target-independent size"
            )
        if not isinstance(buffer_type.layout, NoneAttr):
            raise VerifyException(f"carved buffer {buffer} must have the identity layout")
        if memory_space_of(buffer_type) != memory_space_of(arena_type):
            raise VerifyException(
                f"carved buffer {buffer} is not in the memory space of arena "
                f"{_show(self.arena, 'arena')}"
            )
        offset = self.offset.value.data
        arena_size = arena_type.get_shape()[0]
        if offset < 0 or offset + size > arena_size:
            raise VerifyException(
                f"carved buffer {buffer} of {size} bytes at offset {offset} does not fit in "
                f"arena {_show(self.arena, 'arena')} of {arena_size} bytes"
            )
        _verify_alignment(self.alignment, f"carved buffer {buffer}:")
        align = self.alignment.value.data if self.alignment else natural
        if offset % align:
            raise VerifyException(
                f"carved buffer {buffer} at offset {offset} is not aligned to {align} bytes"
            )
        arena_op = self.arena.owner
        if isinstance(arena_op, ArenaOp) and align > arena_op.alignment.value.data:
            raise VerifyException(
                f"carved buffer {buffer} asks for alignment {align} but arena "
                f"{_show(self.arena, 'arena')} is only aligned to "
                f"{arena_op.alignment.value.data} bytes"
            )


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
            properties={"alignment": _i64(alignment)},
        )

    def verify_(self) -> None:
        buffer_type = self.buffer.type
        assert isa(buffer_type, MemRefType[Attribute])
        dynamic = sum(1 for d in buffer_type.get_shape() if d < 0)
        if dynamic != len(self.dynamic_sizes):
            raise VerifyException(
                f"buffer {_show(self.buffer, 'buffer')} has {dynamic} dynamic dimensions "
                f"but {len(self.dynamic_sizes)} sizes were given"
            )
        _verify_alignment(self.alignment, f"buffer {_show(self.buffer, 'buffer')}:")


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
                f"cannot deallocate {_show(self.buffer, 'buffer')}: it lives in an arena"
            )


# ---------------------------------------------------------------------------------------------
# Loops


@irdl_op_definition
class YieldOp(AbstractYieldOperation[Attribute]):
    """Ends a `loop.for` body, passing the next values of its iter_args. Implicit (and not
    printed) when the loop carries no values.

        loop.yield %sum : f32
    """

    name = "loop.yield"

    traits = lazy_traits_def(lambda: (IsTerminator(), HasParent(ForOp), Pure()))


_HINTS = ("parallel", "unroll", "vector")


@irdl_op_definition
class ForOp(IRDLOperation):
    """A counted loop: the body runs for `%i = lb, lb + step, ...` while `%i < ub`, with
    `step > 0`. Values in `iter_args` are carried from one iteration to the next through
    `loop.yield`; the results are their values after the last iteration (the initial values
    when the loop runs zero times). Hints for later passes and codegen:
    `parallel` (iterations are independent, so they carry no values), `unroll N`
    (unroll by N), `vector N` (vectorize N lanes wide).

        loop.for %i = %c0 to %c64 step %c1 parallel vector 8 {
          ...
        }
        %sum = loop.for %k = %c0 to %c64 step %c1 unroll 4 iter_args(%acc = %zero) -> (f32) {
          %x = loop.load %a[%k] : memref<64xf32>
          %next = arith.addf %acc, %x : f32
          loop.yield %next : f32
        }
    """

    name = "loop.for"

    lb = operand_def(IndexType)
    ub = operand_def(IndexType)
    step = operand_def(IndexType)
    iter_args = var_operand_def()
    parallel = opt_prop_def(UnitAttr)
    unroll = opt_prop_def(IntegerAttr[I64])
    vector = opt_prop_def(IntegerAttr[I64])
    res = var_result_def()
    body = region_def("single_block")

    traits = traits_def(SingleBlockImplicitTerminator(YieldOp), RecursiveMemoryEffect())

    def __init__(
        self,
        lb: SSAValue | Operation,
        ub: SSAValue | Operation,
        step: SSAValue | Operation,
        iter_args: Sequence[SSAValue | Operation] = (),
        body: Region | Block | None = None,
        *,
        parallel: bool = False,
        unroll: int | None = None,
        vector: int | None = None,
    ) -> None:
        """`body` defaults to an empty block with the induction variable and one argument
        per iter_arg; the caller fills it and ends it with a `loop.yield`."""
        carried = [SSAValue.get(a).type for a in iter_args]
        if body is None:
            body = Block(arg_types=[IndexType(), *carried])
        super().__init__(
            operands=[lb, ub, step, iter_args],
            result_types=[carried],
            regions=[[body] if isinstance(body, Block) else body],
            properties={
                "parallel": UnitAttr() if parallel else None,
                "unroll": _i64(unroll),
                "vector": _i64(vector),
            },
        )

    @property
    def induction_var(self) -> SSAValue:
        return self.body.block.args[0]

    def verify_(self) -> None:
        args = self.body.block.args
        if not args or not isinstance(args[0].type, IndexType):
            raise VerifyException("loop.for body must take the index induction variable first")
        carried = args[1:]
        if [a.type for a in carried] != [a.type for a in self.iter_args]:
            raise VerifyException(
                f"loop.for body arguments ({', '.join(str(a.type) for a in carried)}) do not "
                f"match its iter_args ({', '.join(str(a.type) for a in self.iter_args)})"
            )
        if self.parallel is not None and self.iter_args:
            raise VerifyException(
                "parallel loop.for cannot carry iter_args: its iterations must be independent"
            )
        for hint in (self.unroll, self.vector):
            if hint is not None and hint.value.data < 1:
                which = "unroll" if hint is self.unroll else "vector"
                raise VerifyException(
                    f"loop.for {which} factor must be positive, got {hint.value.data}"
                )
        step = self.step.owner
        if (
            isinstance(step, ConstantOp)
            and isinstance(step.value, IntegerAttr)
            and step.value.value.data <= 0
        ):
            raise VerifyException(
                f"loop.for step {_show(self.step, 'step')} = {step.value.value.data} "
                "must be positive"
            )
        terminator = self.body.block.last_op
        if isinstance(terminator, YieldOp):
            yielded = [v.type for v in terminator.arguments]
            if yielded != [a.type for a in self.iter_args]:
                raise VerifyException(
                    f"loop.yield types ({', '.join(map(str, yielded))}) do not match the "
                    f"loop.for iter_args ({', '.join(str(a.type) for a in self.iter_args)})"
                )

    def print(self, printer: Printer) -> None:
        indvar, *carried = self.body.block.args
        printer.print_string(" ")
        printer.print_ssa_value(indvar)
        printer.print_string(" = ")
        printer.print_ssa_value(self.lb)
        printer.print_string(" to ")
        printer.print_ssa_value(self.ub)
        printer.print_string(" step ")
        printer.print_ssa_value(self.step)
        if self.parallel is not None:
            printer.print_string(" parallel")
        if self.unroll is not None:
            printer.print_string(f" unroll {self.unroll.value.data}")
        if self.vector is not None:
            printer.print_string(f" vector {self.vector.value.data}")
        if carried:
            printer.print_string(" iter_args(")
            printer.print_list(
                zip(carried, self.iter_args, strict=True),
                lambda pair: print_assignment(printer, *pair),
            )
            printer.print_string(") -> (")
            printer.print_list((a.type for a in carried), printer.print_attribute)
            printer.print_string(")")
        printer.print_string(" ")
        printer.print_region(
            self.body,
            print_entry_block_args=False,
            print_empty_block=False,
            print_block_terminators=bool(carried),
        )
        printer.print_op_attributes(self.attributes)

    @classmethod
    def parse(cls, parser: Parser) -> Self:
        index = IndexType()
        indvar = parser.parse_argument(expect_type=False)
        parser.parse_punctuation("=")
        lb = parser.parse_operand(index)
        parser.parse_keyword("to")
        ub = parser.parse_operand(index)
        parser.parse_keyword("step")
        step = parser.parse_operand(index)
        hints: dict[str, int] = {}
        while (hint := parser.parse_optional_keyword_in(_HINTS)) is not None:
            if hint in hints:
                parser.raise_error(f"loop.for hint '{hint}' given twice")
            hints[hint] = 1 if hint == "parallel" else parser.parse_integer(allow_boolean=False)
        block_args = [indvar.resolve(index)]
        init_values: list[UnresolvedOperand] = []
        types: list[Attribute] = []
        pos = parser.pos
        if parser.parse_optional_keyword("iter_args"):
            pairs = parser.parse_comma_separated_list(
                Parser.Delimiter.PAREN, lambda: parse_assignment(parser)
            )
            parser.parse_punctuation("->")
            types = parser.parse_comma_separated_list(Parser.Delimiter.PAREN, parser.parse_type)
            if len(types) != len(pairs):
                parser.raise_error(f"loop.for has {len(pairs)} iter_args but {len(types)} types")
            block_args += [arg.resolve(t) for (arg, _), t in zip(pairs, types, strict=True)]
            init_values = [operand for _, operand in pairs]
        inits = parser.resolve_operands(init_values, types, pos)
        body = parser.parse_region(block_args)
        op = cls(
            lb,
            ub,
            step,
            inits,
            body,
            parallel="parallel" in hints,
            unroll=hints.get("unroll"),
            vector=hints.get("vector"),
        )
        op.attributes |= parser.parse_optional_attr_dict()
        if not inits:
            for trait in op.get_traits_of_type(SingleBlockImplicitTerminator):
                ensure_terminator(op, trait)
        return op


# ---------------------------------------------------------------------------------------------
# Memory access


def _verify_indices(buffer: SSAValue, indices: Sequence[SSAValue]) -> MemRefType[Attribute]:
    buffer_type = buffer.type
    assert isa(buffer_type, MemRefType[Attribute])
    if len(indices) != buffer_type.get_num_dims():
        raise VerifyException(
            f"{len(indices)} indices given for {_show(buffer, 'buffer')} of rank "
            f"{buffer_type.get_num_dims()}"
        )
    return buffer_type


def _print_access(printer: Printer, buffer: SSAValue, indices: Sequence[SSAValue]) -> None:
    printer.print_ssa_value(buffer)
    printer.print_string("[")
    printer.print_list(indices, printer.print_ssa_value)
    printer.print_string("]")


def _parse_access(parser: Parser) -> tuple[UnresolvedOperand, Sequence[SSAValue]]:
    """`%buf[%i, %j]`: the buffer stays unresolved until its type is parsed after the `:`."""
    buffer = parser.parse_unresolved_operand()
    indices = parser.parse_comma_separated_list(
        Parser.Delimiter.SQUARE, lambda: parser.parse_operand(IndexType())
    )
    return buffer, indices


def _parse_buffer_type(parser: Parser) -> MemRefType[Attribute]:
    pos = parser.pos
    buffer_type = parser.parse_type()
    if not isa(buffer_type, MemRefType[Attribute]):
        parser.raise_error(f"expected a memref type, got {buffer_type}", pos, parser.pos)
    return buffer_type


@irdl_op_definition
class LoadOp(IRDLOperation):
    """Reads one element of a buffer, with one `index` per dimension:

        %x = loop.load %a[%i, %j] : memref<64x64xf32, #loop.space<vtcm>>

    The result has the buffer's element type.
    """

    name = "loop.load"

    buffer = operand_def(MemRefType)
    indices = var_operand_def(IndexType)
    result = result_def()

    traits = traits_def(MemoryReadEffect())

    def __init__(self, buffer: SSAValue | Operation, indices: Sequence[SSAValue | Operation]):
        buffer_type = SSAValue.get(buffer).type
        assert isa(buffer_type, MemRefType[Attribute])
        super().__init__(operands=[buffer, indices], result_types=[buffer_type.element_type])

    def verify_(self) -> None:
        buffer_type = _verify_indices(self.buffer, self.indices)
        if self.result.type != buffer_type.element_type:
            raise VerifyException(
                f"loaded value {_show(self.result, 'result')} does not have the element type "
                f"of {_show(self.buffer, 'buffer')}"
            )

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        _print_access(printer, self.buffer, self.indices)
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.buffer.type)

    @classmethod
    def parse(cls, parser: Parser) -> Self:
        buffer, indices = _parse_access(parser)
        attributes = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        buffer_type = _parse_buffer_type(parser)
        op = cls(parser.resolve_operand(buffer, buffer_type), indices)
        op.attributes |= attributes
        return op


@irdl_op_definition
class StoreOp(IRDLOperation):
    """Writes one element of a buffer, with one `index` per dimension:

        loop.store %x, %a[%i, %j] : memref<64x64xf32, #loop.space<vtcm>>

    The value must have the buffer's element type.
    """

    name = "loop.store"

    value = operand_def()
    buffer = operand_def(MemRefType)
    indices = var_operand_def(IndexType)

    traits = traits_def(MemoryWriteEffect())

    def __init__(
        self,
        value: SSAValue | Operation,
        buffer: SSAValue | Operation,
        indices: Sequence[SSAValue | Operation],
    ):
        super().__init__(operands=[value, buffer, indices])

    def verify_(self) -> None:
        buffer_type = _verify_indices(self.buffer, self.indices)
        if self.value.type != buffer_type.element_type:
            raise VerifyException(
                f"stored value {_show(self.value, 'value')} does not have the element type "
                f"of {_show(self.buffer, 'buffer')}"
            )

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_ssa_value(self.value)
        printer.print_string(", ")
        _print_access(printer, self.buffer, self.indices)
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_attribute(self.buffer.type)

    @classmethod
    def parse(cls, parser: Parser) -> Self:
        value = parser.parse_unresolved_operand()
        parser.parse_punctuation(",")
        buffer, indices = _parse_access(parser)
        attributes = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        buffer_type = _parse_buffer_type(parser)
        op = cls(
            parser.resolve_operand(value, buffer_type.element_type),
            parser.resolve_operand(buffer, buffer_type),
            indices,
        )
        op.attributes |= attributes
        return op


def _verify_vector_access(buffer: SSAValue, indices: Sequence[SSAValue], vector: SSAValue) -> None:
    buffer_type = _verify_indices(buffer, indices)
    vector_type = vector.type
    assert isa(vector_type, VectorType[Attribute])
    shown = _show(vector, "vector")
    if vector_type.get_num_dims() != 1 or vector_type.get_num_scalable_dims():
        raise VerifyException(f"vector {shown} must be 1-D with a fixed length")
    lanes = vector_type.get_shape()[0]
    if lanes <= 0:
        raise VerifyException(f"vector {shown} must have at least one lane")
    if vector_type.element_type != buffer_type.element_type:
        raise VerifyException(
            f"vector {shown} does not have the element type of {_show(buffer, 'buffer')}"
        )
    if buffer_type.get_num_dims() == 0:
        raise VerifyException(
            f"vector access needs a buffer of rank >= 1, got {_show(buffer, 'buffer')}"
        )
    innermost = buffer_type.get_shape()[-1]
    if 0 <= innermost < lanes:
        raise VerifyException(
            f"vector {shown} is longer than the innermost dimension of {_show(buffer, 'buffer')}"
        )


@irdl_op_definition
class VLoadOp(IRDLOperation):
    """Reads N contiguous elements along the innermost dimension, starting at the indices,
    into a `vector<Nxelt>`. Reading past the end of the row is undefined.

        %v = loop.vload %a[%i, %j] : memref<64x64xf32>, vector<8xf32>
    """

    name = "loop.vload"

    buffer = operand_def(MemRefType)
    indices = var_operand_def(IndexType)
    result = result_def(VectorType)

    traits = traits_def(MemoryReadEffect())
    assembly_format = "$buffer `[` $indices `]` attr-dict `:` type($buffer) `,` type($result)"

    def __init__(
        self,
        buffer: SSAValue | Operation,
        indices: Sequence[SSAValue | Operation],
        result_type: VectorType[Attribute],
    ):
        super().__init__(operands=[buffer, indices], result_types=[result_type])

    def verify_(self) -> None:
        _verify_vector_access(self.buffer, self.indices, self.result)


@irdl_op_definition
class VStoreOp(IRDLOperation):
    """Writes a `vector<Nxelt>` to N contiguous elements along the innermost dimension,
    starting at the indices. Writing past the end of the row is undefined.

        loop.vstore %v, %a[%i, %j] : memref<64x64xf32>, vector<8xf32>
    """

    name = "loop.vstore"

    value = operand_def(VectorType)
    buffer = operand_def(MemRefType)
    indices = var_operand_def(IndexType)

    traits = traits_def(MemoryWriteEffect())
    assembly_format = (
        "$value `,` $buffer `[` $indices `]` attr-dict `:` type($buffer) `,` type($value)"
    )

    def __init__(
        self,
        value: SSAValue | Operation,
        buffer: SSAValue | Operation,
        indices: Sequence[SSAValue | Operation],
    ):
        super().__init__(operands=[value, buffer, indices])

    def verify_(self) -> None:
        _verify_vector_access(self.buffer, self.indices, self.value)


Loop = Dialect(
    "loop",
    [
        ArenaOp,
        CarveOp,
        AllocOp,
        DeallocOp,
        ForOp,
        YieldOp,
        LoadOp,
        StoreOp,
        VLoadOp,
        VStoreOp,
        *LOOP_CONTROL_OPS,
        *LOOP_SHAPE_OPS,
    ],
    [SpaceAttr],
)
