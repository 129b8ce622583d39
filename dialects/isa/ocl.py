"""The `ocl` dialect: OpenCL kernels, work-item ids, local memory, barriers and the host's
kernel launches. Thin: each op prints to one OpenCL C construct or runtime call
(codegen/opencl.py); the computation inside a kernel stays `loop`/`arith`/`math`/`vector`.

| op | OpenCL |
|---|---|
| `ocl.kernel @k(...)` | `__kernel void k(...)` (`reqd_work_group_size` when given) |
| `ocl.global_id 0` (`local_id`, `group_id`, `global_size`, `local_size`, `num_groups`) | `get_global_id(0)`, ... |
| `ocl.local_alloc` | a `__local` array at kernel scope |
| `ocl.barrier` / `ocl.barrier global` | `barrier(CLK_LOCAL_MEM_FENCE)` / `(... \\| CLK_GLOBAL_MEM_FENCE)` |
| `ocl.launch @k global [..] local [..] (%buf[off], ...)` | `clEnqueueNDRangeKernel` on the in-order queue |
| `ocl.dot_char4` / `ocl.dot_uchar4` | four `char4` / `uchar4` dot products added to an `int4` |

Buffers are memrefs; their address space is the memref's memory space: none or
`#loop.space<global>` is `__global`, `#loop.space<local>` is `__local`, and
`#ocl.space<constant>` is `__constant`. Vectors are `vector<N x T>` of a scalar type, N in
2, 3, 4, 8, 16 (`float4`, `int4`, `char16`, ...).

    ocl.kernel @relu(%x: memref<64xf32>) attributes {reqd_work_group_size = array<i64: 64, 1, 1>} {
      %i = ocl.global_id 0
      %v = loop.load %x[%i] : memref<64xf32>
      ...
      ocl.return
    }
    func.func @main(%weights: memref<0xi8>, %arena: memref<256xi8>, ...) {
      ocl.launch @relu global [64] local [64] (%arena[0]) : memref<256xi8>
      func.return
    }
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Self, cast

from xdsl.dialects.builtin import (
    I64,
    DenseArrayBase,
    Float16Type,
    Float32Type,
    Float64Type,
    FunctionType,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    NoneAttr,
    StringAttr,
    SymbolRefAttr,
    UnitAttr,
    i64,
)
from xdsl.dialects.utils import parse_func_op_like, print_func_op_like
from xdsl.dialects.utils.enum_attribute import EnumAttribute
from xdsl.ir import Attribute, Dialect, Operation, Region, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    lazy_traits_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import (
    HasAncestor,
    HasParent,
    IsolatedFromAbove,
    IsTerminator,
    MemoryAllocEffect,
    NoMemoryEffect,
    SymbolOpInterface,
    SymbolTable,
)
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.hints import isa
from xdsl.utils.str_enum import StrEnum

from lamina.dialects.enum_syntax import AngleBracketEnum
from lamina.dialects.isa.byte_dot import ByteDotOp
from lamina.dialects.loop_base import MemorySpace, SpaceAttr, buffer_bytes, memory_space_of

MAX_DIMS = 3
"""OpenCL NDRanges have one to three dimensions."""
VECTOR_LANES = (2, 3, 4, 8, 16)
"""The lane counts of OpenCL C vector types (`float2` ... `float16`)."""


class AddressSpace(StrEnum):
    """An OpenCL C address space qualifier."""

    GLOBAL = "global"
    LOCAL = "local"
    CONSTANT = "constant"


@irdl_attr_definition
class AddressSpaceAttr(AngleBracketEnum[AddressSpace], EnumAttribute[AddressSpace]):
    """An OpenCL address space as a memref memory space, for what `#loop.space` cannot say:

    memref<64xf32, #ocl.space<constant>>
    """

    name = "ocl.space"


_FROM_LOOP = {MemorySpace.GLOBAL: AddressSpace.GLOBAL, MemorySpace.LOCAL: AddressSpace.LOCAL}


def address_space_of(buffer_type: MemRefType[Attribute]) -> AddressSpace | None:
    """The OpenCL address space of a memref, None when it has none (stack, vtcm, foreign)."""
    space = buffer_type.memory_space
    if isinstance(space, AddressSpaceAttr):
        return space.data
    loop_space = memory_space_of(buffer_type)
    return _FROM_LOOP.get(loop_space) if loop_space is not None else None


def local_memref(shape: Sequence[int], element_type: Attribute) -> MemRefType[Attribute]:
    """`memref<shape x element_type, #loop.space<local>>`."""
    return MemRefType(element_type, shape, memory_space=SpaceAttr(MemorySpace.LOCAL))


def _is_scalar(t: Attribute) -> bool:
    return isinstance(t, IntegerType | Float16Type | Float32Type | Float64Type)


# ---------------------------------------------------------------------------------------------
# Kernels


@irdl_op_definition
class ReturnOp(IRDLOperation):
    """Ends an `ocl.kernel` (kernels return nothing):

    ocl.return
    """

    name = "ocl.return"

    traits = lazy_traits_def(lambda: (IsTerminator(), HasParent(KernelOp), NoMemoryEffect()))
    assembly_format = "attr-dict"

    def __init__(self) -> None:
        super().__init__()


@irdl_op_definition
class KernelOp(IRDLOperation):
    """An OpenCL kernel: a function of buffers (memrefs in `__global`, `__local` or
    `__constant` space) and scalars (integers, floats), returning nothing, isolated from
    above. `reqd_work_group_size` (three sizes) promises the work-group shape of every launch.

    ocl.kernel @k(%a: memref<16x16xf32>, %n: i32) attributes {reqd_work_group_size = array<i64: 16, 16, 1>} {
      ocl.return
    }
    """

    name = "ocl.kernel"

    sym_name = prop_def(StringAttr)
    function_type = prop_def(FunctionType)
    reqd_work_group_size = opt_prop_def(DenseArrayBase.constr(i64))
    body = region_def("single_block")

    traits = traits_def(IsolatedFromAbove(), SymbolOpInterface())

    def __init__(
        self,
        name: str,
        input_types: Sequence[Attribute],
        body: Region,
        reqd_work_group_size: Sequence[int] | None = None,
    ) -> None:
        sizes = (
            None
            if reqd_work_group_size is None
            else DenseArrayBase.from_list(i64, list(reqd_work_group_size))
        )
        super().__init__(
            regions=[body],
            properties={
                "sym_name": StringAttr(name),
                "function_type": FunctionType.from_lists(input_types, []),
                "reqd_work_group_size": sizes,
            },
        )

    @property
    def work_group_size(self) -> tuple[int, ...] | None:
        """The required work-group size, None when the kernel does not fix it."""
        sizes = self.reqd_work_group_size
        return None if sizes is None else tuple(sizes.get_values())

    def verify_(self) -> None:
        where = f"kernel @{self.sym_name.data}"
        if self.function_type.outputs.data:
            raise VerifyException(f"{where} must not return values")
        args = self.body.block.args
        if [a.type for a in args] != list(self.function_type.inputs.data):
            raise VerifyException(f"{where}: block arguments do not match the function type")
        for index, arg in enumerate(args):
            if isa(arg.type, MemRefType[Attribute]):
                if address_space_of(arg.type) is None:
                    raise VerifyException(
                        f"{where}: argument {index} : {arg.type} is not in the global, local "
                        "or constant address space"
                    )
            elif not _is_scalar(arg.type):
                raise VerifyException(
                    f"{where}: argument {index} : {arg.type} must be a memref, an integer or a "
                    "float"
                )
        sizes = self.work_group_size
        if sizes is not None and (len(sizes) != MAX_DIMS or min(sizes) < 1):
            raise VerifyException(
                f"{where}: reqd_work_group_size must be three positive sizes, got {list(sizes)}"
            )
        last = self.body.block.last_op
        if not isinstance(last, ReturnOp):
            raise VerifyException(f"{where} must end with ocl.return")

    def print(self, printer: Printer) -> None:
        attributes = dict(self.attributes)
        if self.reqd_work_group_size is not None:
            attributes["reqd_work_group_size"] = self.reqd_work_group_size
        print_func_op_like(
            printer,
            self.sym_name,
            self.function_type,
            self.body,
            attributes,
            reserved_attr_names=("sym_name", "function_type"),
        )

    @classmethod
    def parse(cls, parser: Parser) -> Self:
        name, inputs, outputs, region, extra, _, _ = parse_func_op_like(
            parser, reserved_attr_names=("sym_name", "function_type")
        )
        if outputs:
            parser.raise_error(f"kernel @{name} must not return values")
        attributes = dict(extra.data) if extra is not None else {}
        sizes = attributes.pop("reqd_work_group_size", None)
        op = cls(name, inputs, region)
        if sizes is not None:
            if not isa(sizes, DenseArrayBase[IntegerType]):
                parser.raise_error("reqd_work_group_size must be an array<i64: x, y, z>")
            op.reqd_work_group_size = sizes
        op.attributes |= attributes
        return op


# ---------------------------------------------------------------------------------------------
# Work-item functions


class WorkItemOp(IRDLOperation):
    """Base of the work-item queries: one `index` along NDRange dimension 0, 1 or 2."""

    dimension = prop_def(IntegerAttr[I64])
    result = result_def(IndexType())

    traits = traits_def(NoMemoryEffect(), HasAncestor(KernelOp))
    assembly_format = "$dimension attr-dict"

    def __init__(self, dimension: int) -> None:
        super().__init__(
            result_types=[IndexType()], properties={"dimension": IntegerAttr(dimension, i64)}
        )

    @property
    def dim(self) -> int:
        return self.dimension.value.data

    @property
    def FUNCTION(self) -> str:
        """The OpenCL C built-in this op prints to: `get_global_id` for `ocl.global_id`."""
        return "get_" + self.name.removeprefix("ocl.")

    def verify_(self) -> None:
        if not 0 <= self.dim < MAX_DIMS:
            raise VerifyException(f"{self.name} dimension {self.dim} is not 0, 1 or 2")


def _work_item_op(name: str, doc: str) -> type[WorkItemOp]:
    """The work-item query op `name` (`ocl.global_id` is the class GlobalIdOp)."""
    class_name = "".join(w.title() for w in name.removeprefix("ocl.").split("_")) + "Op"
    fields = {"name": name, "__doc__": doc, "__module__": __name__, "__qualname__": class_name}
    return irdl_op_definition(cast(type[WorkItemOp], type(class_name, (WorkItemOp,), fields)))


GlobalIdOp = _work_item_op(
    "ocl.global_id", "This work-item's index in the NDRange: `%i = ocl.global_id 0`."
)
LocalIdOp = _work_item_op(
    "ocl.local_id", "This work-item's index in its work-group: `%i = ocl.local_id 0`."
)
GroupIdOp = _work_item_op("ocl.group_id", "This work-group's index: `%g = ocl.group_id 0`.")
GlobalSizeOp = _work_item_op("ocl.global_size", "The NDRange's size: `%n = ocl.global_size 0`.")
LocalSizeOp = _work_item_op("ocl.local_size", "The work-group's size: `%n = ocl.local_size 0`.")
NumGroupsOp = _work_item_op("ocl.num_groups", "How many work-groups: `%n = ocl.num_groups 0`.")


# ---------------------------------------------------------------------------------------------
# Local memory and synchronisation


@irdl_op_definition
class LocalAllocOp(IRDLOperation):
    """A `__local` buffer shared by the work-group, declared at kernel scope (OpenCL allows
    local variables nowhere else), static shape:

    %tile = ocl.local_alloc : memref<16x16xf32, #loop.space<local>>
    """

    name = "ocl.local_alloc"

    buffer = result_def(MemRefType)

    traits = traits_def(MemoryAllocEffect(), HasParent(KernelOp))
    assembly_format = "attr-dict `:` type($buffer)"

    def __init__(self, buffer_type: MemRefType[Attribute]) -> None:
        super().__init__(result_types=[buffer_type])

    def verify_(self) -> None:
        buffer_type = self.buffer.type
        assert isa(buffer_type, MemRefType[Attribute])
        if address_space_of(buffer_type) != AddressSpace.LOCAL:
            raise VerifyException(f"ocl.local_alloc of {buffer_type} must be in local space")
        if buffer_bytes(buffer_type) is None or not isinstance(buffer_type.layout, NoneAttr):
            raise VerifyException(
                f"ocl.local_alloc of {buffer_type} needs a static shape and identity layout"
            )


@irdl_op_definition
class BarrierOp(IRDLOperation):
    """Waits until every work-item of the work-group reaches it; local memory writes before
    it are visible after it (and global ones with `global`). Every work-item of a group
    must reach the same barrier.

    ocl.barrier
    ocl.barrier global
    """

    name = "ocl.barrier"

    global_fence = opt_prop_def(UnitAttr)

    traits = traits_def(HasAncestor(KernelOp))
    assembly_format = "(`global` $global_fence^)? attr-dict"

    def __init__(self, global_fence: bool = False) -> None:
        super().__init__(properties={"global_fence": UnitAttr() if global_fence else None})


# ---------------------------------------------------------------------------------------------
# Dot products


class Dot4Op(ByteDotOp):
    """Four 4-byte dot products (dialects/isa/byte_dot.py) on OpenCL C vectors: `acc` an
    `int4`, `lhs` and `rhs` `char16`s. Lane `i` of the result is `acc[i]` plus the dot
    product of the `char4`s `lhs.s(4i..4i+3)` and `rhs.s(4i..4i+3)`; the i32 sum wraps.
    Printed as `dot(char4, char4)`s where the device's OpenCL C has them
    (`cl_khr_integer_dot_product`), else as the same sums widened to `int16` (codegen/opencl.py).
    Unlike the other ops of the dialect they need no kernel around them: loop-to-ocl-dot puts
    them in loop-level functions that convert-loop-to-ocl then turns into kernels."""

    ACCUMULATOR_LANES: ClassVar = (4,)


@irdl_op_definition
class DotChar4Op(Dot4Op):
    """Signed bytes (`char4`):

    %d1 = ocl.dot_char4 %d0, %x, %y : vector<4xi32>, vector<16xi8>
    """

    name = "ocl.dot_char4"


@irdl_op_definition
class DotUchar4Op(Dot4Op):
    """Unsigned bytes: the i8 operands are read as `uchar4`s:

    %d1 = ocl.dot_uchar4 %d0, %x, %y : vector<4xi32>, vector<16xi8>
    """

    name = "ocl.dot_uchar4"


# ---------------------------------------------------------------------------------------------
# Host side


def _i64_array(values: Sequence[int]) -> DenseArrayBase[IntegerType]:
    return DenseArrayBase.from_list(i64, list(values))


@irdl_op_definition
class LaunchOp(IRDLOperation):
    """Enqueues kernel `@kernel` on an NDRange of `global` work-items in work-groups of
    `local` (left to the runtime when absent). Each operand is a root buffer (a 1-D i8
    memref: the weights blob, the arena, an input or output) bound at a byte offset to the
    kernel's next `__global`/`__constant` buffer argument; `__local` arguments are
    allocated by the runtime. Launches run in program order.

    ocl.launch @k global [64, 55, 55] local [16, 5, 5] (%arena[4096], %weights[0])
        : memref<1024xi8>, memref<4096xi8>
    """

    name = "ocl.launch"

    kernel = prop_def(SymbolRefAttr)
    global_size = prop_def(DenseArrayBase.constr(i64))
    local_size = opt_prop_def(DenseArrayBase.constr(i64))
    offsets = prop_def(DenseArrayBase.constr(i64))
    buffers = var_operand_def(MemRefType)

    def __init__(
        self,
        kernel: str,
        global_size: Sequence[int],
        local_size: Sequence[int] | None,
        buffers: Sequence[SSAValue | Operation],
        offsets: Sequence[int],
    ) -> None:
        super().__init__(
            operands=[buffers],
            properties={
                "kernel": SymbolRefAttr(kernel),
                "global_size": _i64_array(global_size),
                "local_size": None if local_size is None else _i64_array(local_size),
                "offsets": _i64_array(offsets),
            },
        )

    @property
    def global_sizes(self) -> tuple[int, ...]:
        return tuple(self.global_size.get_values())

    @property
    def local_sizes(self) -> tuple[int, ...] | None:
        return None if self.local_size is None else tuple(self.local_size.get_values())

    @property
    def byte_offsets(self) -> tuple[int, ...]:
        return tuple(self.offsets.get_values())

    def verify_(self) -> None:
        where = f"launch of {self.kernel}"
        sizes, local = self.global_sizes, self.local_sizes
        if not 1 <= len(sizes) <= MAX_DIMS or min(sizes) < 1:
            raise VerifyException(f"{where}: global size {list(sizes)} needs 1 to 3 positive sizes")
        if local is not None and (
            len(local) != len(sizes)
            or any(lo < 1 or g % lo for g, lo in zip(sizes, local, strict=True))
        ):
            raise VerifyException(
                f"{where}: local size {list(local)} does not divide global size {list(sizes)}"
            )
        if len(self.byte_offsets) != len(self.buffers):
            raise VerifyException(f"{where}: one offset per buffer is needed")
        callee = SymbolTable.lookup_symbol(self, self.kernel)
        if callee is None:
            return
        if not isinstance(callee, KernelOp):
            raise VerifyException(f"{where}: {self.kernel} is not an ocl.kernel")
        self._verify_bindings(callee, where)

    def _verify_bindings(self, callee: KernelOp, where: str) -> None:
        params = [
            t
            for t in callee.function_type.inputs.data
            if isa(t, MemRefType[Attribute]) and address_space_of(t) != AddressSpace.LOCAL
        ]
        if len(params) != len(callee.function_type.inputs.data) - _local_params(callee):
            raise VerifyException(f"{where}: scalar kernel arguments cannot be launched yet")
        if len(params) != len(self.buffers):
            raise VerifyException(
                f"{where}: the kernel takes {len(params)} buffers, {len(self.buffers)} given"
            )
        for param, root, offset in zip(params, self.buffers, self.byte_offsets, strict=True):
            root_type = root.type
            assert isa(root_type, MemRefType[Attribute])
            size = buffer_bytes(param) or 0
            if offset < 0 or offset + size > (buffer_bytes(root_type) or 0):
                raise VerifyException(
                    f"{where}: {param} at offset {offset} does not fit in {root_type}"
                )

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_attribute(self.kernel)
        printer.print_string(f" global {list(self.global_sizes)}")
        if self.local_sizes is not None:
            printer.print_string(f" local {list(self.local_sizes)}")
        printer.print_string(" (")
        printer.print_list(
            zip(self.buffers, self.byte_offsets, strict=True),
            lambda pair: (printer.print_ssa_value(pair[0]), printer.print_string(f"[{pair[1]}]")),
        )
        printer.print_string(")")
        printer.print_op_attributes(self.attributes)
        if self.buffers:
            printer.print_string(" : ")
            printer.print_list((b.type for b in self.buffers), printer.print_attribute)

    @classmethod
    def parse(cls, parser: Parser) -> Self:
        kernel = parser.parse_symbol_name().data
        parser.parse_keyword("global")
        sizes = parser.parse_comma_separated_list(Parser.Delimiter.SQUARE, parser.parse_integer)
        local = None
        if parser.parse_optional_keyword("local"):
            local = parser.parse_comma_separated_list(Parser.Delimiter.SQUARE, parser.parse_integer)

        def parse_binding() -> tuple[object, int]:
            buffer = parser.parse_unresolved_operand()
            parser.parse_punctuation("[")
            offset = parser.parse_integer()
            parser.parse_punctuation("]")
            return buffer, offset

        bindings = parser.parse_comma_separated_list(Parser.Delimiter.PAREN, parse_binding)
        attributes = parser.parse_optional_attr_dict()
        types: list[Attribute] = []
        if bindings:
            parser.parse_punctuation(":")
            types = parser.parse_comma_separated_list(Parser.Delimiter.NONE, parser.parse_type)
        if len(types) != len(bindings):
            parser.raise_error(f"{len(bindings)} buffers but {len(types)} types")
        buffers = [
            parser.resolve_operand(b, t)  # pyright: ignore[reportArgumentType]
            for (b, _), t in zip(bindings, types, strict=True)
        ]
        op = cls(kernel, sizes, local, buffers, [o for _, o in bindings])
        op.attributes |= attributes
        return op


def _local_params(kernel: KernelOp) -> int:
    return sum(
        1
        for t in kernel.function_type.inputs.data
        if isa(t, MemRefType[Attribute]) and address_space_of(t) == AddressSpace.LOCAL
    )


OCL = Dialect(
    "ocl",
    [
        KernelOp,
        ReturnOp,
        GlobalIdOp,
        LocalIdOp,
        GroupIdOp,
        GlobalSizeOp,
        LocalSizeOp,
        NumGroupsOp,
        LocalAllocOp,
        BarrierOp,
        LaunchOp,
        DotChar4Op,
        DotUchar4Op,
    ],
    [AddressSpaceAttr],
)
