"""Bufferization for `convert-top-to-loop`: every tensor value of a function gets a buffer,
and the function takes the lamina kernel ABI of docs/pipeline.md:

    func.func @f(%weights: memref<Wxi8>, %arena: memref<0xi8>, %x: memref<...>,
                 %y: memref<...>) attributes {lamina.abi = "kernel-v1", lamina.weights = "key"}

- function tensor arguments -> input memrefs; results -> output memrefs written in place;
- `graph.constant`s -> one weights blob (64-byte aligned pieces) carved from `%weights`;
- every `top` op result -> a buffer: the output memref when the value is returned (so the
  last op writes straight into the output), the buffer of an init it may overwrite (a
  single-use init of `top.generic`, or a single-use elementwise input read through the
  same permutation map), its slice of a concat's buffer (a `loop.view`, for an input the
  concat need not copy: lowering/concat_slices.py), or a `loop.alloc` placed before the
  first op that writes it (a concat's: before the first op writing any of its slices).

The `top` ops themselves stay until the lowering patterns replace them (in reverse order, so
that an op's results have no users left when it goes); `finish` then drops the tensor
arguments and constants, adds a `loop.dealloc` after the last use of each buffer the
lowering did not free itself (scratch buffers of a GEMM or conv nest are freed where their
nest ends) and sets the function's type and attributes. The arena stays `memref<0xi8>` until `plan-memory`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, cast

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    DenseResourceAttr,
    IntegerAttr,
    IntegerType,
    MemRefType,
    StringAttr,
    TensorType,
    i8,
)
from xdsl.ir import Attribute, Block, BlockArgument, Operation, OpResult, SSAValue, Use
from xdsl.pattern_rewriter import RewritePattern
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.hints import isa

from lamina.dialects import top
from lamina.dialects.graph import ConstantOp
from lamina.dialects.loop import AllocOp, DeallocOp, ViewOp, uses_through_views
from lamina.dialects.top_shape import DimOp
from lamina.dialects.weights import (
    WEIGHTS,
    aligned_empty,
    element_type,
    numpy_dtype,
    tensor_to_array,
)
from lamina.errors import UnsupportedOpError
from lamina.lowering.concat_slices import in_place_inputs
from lamina.lowering.epilogue_fusion import (
    PLANNERS,
    Epilogue,
    PackedConstant,
    fusable_epilogue,
    hoistable,
    is_top_op,
    move_before,
    needs_init,
    writes_nothing,
)
from lamina.lowering.top_to_loop_build import Constants, Emitter, copy, lanes
from lamina.lowering.top_to_loop_dims import dynamic_sizes
from lamina.targets import DEFAULT_CACHES, CacheSizes

WEIGHT_ALIGNMENT = 64
"""Byte alignment of each constant in the weights blob (a cache line, an AVX-512 vector)."""


def unsupported(what: str, op: Operation) -> UnsupportedOpError:
    """An `UnsupportedOpError` that lamina-opt reports at `op`'s source line."""
    error = UnsupportedOpError(what)
    vars(error)["op"] = op
    return error


def buffer_type(t: Attribute, op: Operation) -> MemRefType[Attribute]:
    """The memref a ranked tensor bufferizes to (a `?` stays `?`)."""
    if not isa(t, TensorType[Attribute]):
        raise unsupported(f"'{op.name}' on {t}: only ranked tensors bufferize", op)
    return MemRefType(t.get_element_type(), t.get_shape())


@dataclass
class BufferGroup:
    """Values sharing one buffer: a chain of in-place updates. A group with a `parent` is a
    slice of a concat's buffer: a `loop.view` at byte `offset` of its root group's buffer
    (the root is always a `loop.alloc` of this block)."""

    type: MemRefType[Attribute]
    buffer: SSAValue | None = None
    values: list[SSAValue] = field(default_factory=list[SSAValue])
    parent: BufferGroup | None = None
    offset: int = 0

    def root(self) -> BufferGroup:
        return self.parent.root() if self.parent is not None else self


@dataclass
class Buffers:
    """Where each tensor value of one function lives (`of`), and how to finish it."""

    func: func.FuncOp
    constants: Constants
    of: dict[SSAValue, SSAValue] = field(default_factory=dict[SSAValue, SSAValue])
    old_args: list[BlockArgument] = field(default_factory=list[BlockArgument])
    dead: set[Operation] = field(default_factory=set[Operation])
    """Ops whose results nobody reads (e.g. the init of a generic that ignores it)."""
    weights_key: str = ""
    packed: dict[tuple[Operation, int], SSAValue] = field(
        default_factory=dict[tuple[Operation, int], SSAValue]
    )
    """Carves of constants packed at compile time, by (user op, operand index)."""
    epilogues: dict[Operation, Epilogue] = field(default_factory=dict[Operation, Epilogue])
    """Producers that apply their consumer generic (which is then in `dead`)."""
    pending: list[Block] = field(default_factory=list[Block])
    """Blocks of loop-level control flow whose `top` ops are still to be lowered."""
    int8_gemm: bool = False
    """Whether the planners were told the int8 byte-dot GEMM may be used."""
    caches: CacheSizes = DEFAULT_CACHES
    """The data caches the GEMM blockings size their blocks for."""
    threads: int = 1
    """The threads the device's parallel loops run on (the conv's pixel tasks, one each)."""

    def buffer(self, value: SSAValue, user: Operation) -> SSAValue:
        if value not in self.of:
            raise unsupported(f"'{user.name}' operand of type {value.type} has no buffer", user)
        return self.of[value]

    def finish(self) -> None:
        """Drop what the lowering left dead, add deallocs, set the type and attributes."""
        block = self.func.body.block
        for arg in self.old_args:
            block.erase_arg(arg)
        for op in list(block.ops):
            if isinstance(op, ConstantOp) and not op.output.uses:
                Rewriter.erase_op(op)
        _add_deallocs(block)
        outputs = len(self.func.function_type.outputs.data)
        self.func.update_function_type()
        self.func.attributes["lamina.abi"] = StringAttr("kernel-v1")
        self.func.attributes["lamina.weights"] = StringAttr(self.weights_key)
        self.func.attributes["lamina.num_outputs"] = IntegerAttr(outputs, 64)


def _add_deallocs(block: Block) -> None:
    """One `loop.dealloc` per `loop.alloc` of `block`: after its last use unless a lowering
    already freed it."""
    order = {op: i for i, op in enumerate(block.ops)}
    for alloc in [op for op in block.ops if isinstance(op, AllocOp)]:
        if any(isinstance(use.operation, DeallocOp) for use in alloc.buffer.uses):
            continue
        last = alloc
        for operation in uses_through_views(alloc.buffer):
            user = block.find_ancestor_op_in_block(operation)
            if user is not None and order[user] > order[last]:
                last = user
        Rewriter.insert_op(DeallocOp(alloc.buffer), InsertPoint.after(last))


def bufferize_function(
    function: func.FuncOp,
    vector_bits: int = 512,
    int8_gemm: bool = False,
    caches: CacheSizes = DEFAULT_CACHES,
    threads: int = 1,
) -> Buffers:
    """Give every tensor value of `function` a buffer and switch it to the kernel ABI."""
    if function.is_declaration:
        raise unsupported(f"function @{function.sym_name.data} has no body", function)
    block = function.body.block
    _hoist_constants(block)
    _check_ops(block)
    buffers = Buffers(
        function,
        Constants(block),
        old_args=list(block.args),
        int8_gemm=int8_gemm,
        caches=caches,
        threads=threads,
    )
    for arg in buffers.old_args:
        new = block.insert_arg(buffer_type(arg.type, function), len(block.args))
        new.name_hint = arg.name_hint
        buffers.of[arg] = new
    outputs: list[SSAValue] = []
    for i, t in enumerate(function.function_type.outputs.data):
        outputs.append(block.insert_arg(buffer_type(t, function), len(block.args)))
        outputs[-1].name_hint = f"out{i}"
    _pack_constants(function, buffers, vector_bits)
    arena = block.insert_arg(MemRefType(i8, [0]), 1)
    arena.name_hint = "arena"
    _assign_buffers(block, buffers, outputs, vector_bits)
    return buffers


def _hoist_constants(block: Block) -> None:
    """Constants inside control-flow regions move to the function body (into the blob)."""
    for op in list(block.walk()):
        if isinstance(op, ConstantOp) and op.parent_block() is not block:
            op.detach()
            Rewriter.insert_op(op, InsertPoint.at_start(block))


def _check_ops(block: Block) -> None:
    """The pass owns every op it meets: top ops, constants, scalars, the return."""
    for op in block.ops:
        if is_top_op(op) or isinstance(op, ConstantOp | func.ReturnOp):
            continue
        if any(isinstance(t, TensorType) for t in (*op.operand_types, *op.result_types)):
            raise unsupported(f"'{op.name}' on tensors has no lowering to loops", op)


_Site = tuple[Operation, int]
"""An operand of an op: the op and the operand's index."""


def _packing_requests(
    block: Block, vector_bits: int, buffers: Buffers
) -> dict[_Site, PackedConstant]:
    """The constant operands the registered planners want pre-packed, by use: of the ops
    in control-flow regions too (a lowering that fused an epilogue relies on its packing)."""
    requests: dict[_Site, PackedConstant] = {}
    for op in block.walk():
        if not is_top_op(op) or writes_nothing(op):
            continue
        for planner in PLANNERS:
            for request in planner.packed_constants(
                op, vector_bits, buffers.int8_gemm, buffers.caches
            ):
                operand = op.operands[request.operand]
                if isinstance(operand, OpResult) and isinstance(operand.op, ConstantOp):
                    requests[(op, request.operand)] = request
    return requests


def _pack_constants(function: func.FuncOp, buffers: Buffers, vector_bits: int) -> None:
    """Pack every constant into one blob and carve each from `%weights`: in its own layout
    when some use reads it so, and in each layout a planner asked for (`buffers.packed`)."""
    from lamina.dialects.loop import CarveOp

    block = function.body.block
    constants = [op for op in block.ops if isinstance(op, ConstantOp)]
    requests = _packing_requests(block, vector_bits, buffers)
    offsets: dict[tuple[Attribute, str], int] = {}
    shapes: dict[tuple[Attribute, str], tuple[int, ...]] = {}
    dtypes: dict[tuple[Attribute, str], np.dtype] = {}
    pieces: list[tuple[int, np.ndarray]] = []
    size = 0
    wanted: list[tuple[ConstantOp, _Site | None, tuple[Attribute, str]]] = []
    for op in constants:
        uses = [(use.operation, use.index) for use in op.output.uses]
        if not uses or any(use not in requests for use in uses):
            wanted.append((op, None, (op.value, "")))
        wanted += [(op, use, (op.value, requests[use].layout)) for use in uses if use in requests]
    elided = [key for op in constants if (key := _elided_key(op)) is not None]
    for op, use, key in wanted:
        if key not in offsets:
            array = _value_or_zeros(op)
            if use is not None:
                array = requests[use].pack(array)
            offsets[key] = size
            shapes[key], dtypes[key] = array.shape, array.dtype
            pieces.append((size, array))
            size += -(-array.nbytes // WEIGHT_ALIGNMENT) * WEIGHT_ALIGNMENT
    name = f"{function.sym_name.data}_weights"
    if elided:
        buffers.weights_key = WEIGHTS.add_elided(name, size, dict.fromkeys(elided))
    else:
        buffers.weights_key = WEIGHTS.add(name, _blob(pieces, size))
    weights = block.insert_arg(MemRefType(i8, [size]), 0)
    weights.name_hint = "weights"
    carves: dict[tuple[Attribute, str], SSAValue] = {}
    for op, use, key in wanted:
        if key not in carves:
            carve_type = buffer_type(op.output.type, op)
            if use is not None:
                element = carve_type.element_type
                if numpy_dtype(element) != dtypes[key]:  # packed into wider words
                    element = element_type(dtypes[key])
                carve_type = MemRefType(element, shapes[key])
            carve = CarveOp(weights, offsets[key], carve_type)
            carve.buffer.name_hint = op.output.name_hint
            Rewriter.insert_op(carve, InsertPoint.at_start(block))
            carves[key] = carve.buffer
        if use is None:
            buffers.of[op.output] = carves[key]
        else:
            buffers.packed[use] = carves[key]


def _blob(pieces: list[tuple[int, np.ndarray]], size: int) -> np.ndarray:
    """`size` read-only bytes on a 64-byte boundary holding each array at its offset, zeros
    between them. Each array is copied once, straight into place: on a model of 100 MB of
    weights every further pass over fresh memory costs a tenth of a second or more."""
    blob = aligned_empty((size,), np.uint8)
    end = 0
    for offset, array in pieces:
        blob[end:offset] = 0
        end = offset + array.nbytes
        np.copyto(blob[offset:end].view(array.dtype).reshape(array.shape), array)
    blob[end:] = 0
    blob.flags.writeable = False  # so that the store keeps it without a copy
    return blob


def _elided_key(op: ConstantOp) -> str | None:
    """The key of `op`'s weight when its bytes were elided when printed, else None."""
    value = op.value
    return (
        value.resource_handle.data
        if isinstance(value, DenseResourceAttr) and op.is_elided()
        else None
    )


def _value_or_zeros(op: ConstantOp) -> np.ndarray:
    """`op`'s value, or zeros of its shape when its weight was elided: the layout of the
    weights blob needs only shapes, and its bytes are then never read (the blob is elided)."""
    return op.zeros() if op.is_elided() else tensor_to_array(op.value)


def weights_attr(buffers: Buffers) -> DenseResourceAttr:
    """The module-level `dense_resource` holding a function's weights blob."""
    size = WEIGHTS.size(buffers.weights_key)
    return DenseResourceAttr(StringAttr(buffers.weights_key), TensorType(IntegerType(8), [size]))


def _only_read_by(value: SSAValue, user: Operation, groups: dict[SSAValue, BufferGroup]) -> bool:
    """A top op's result, read only by `user`, without a buffer yet: `user` may overwrite it."""
    return (
        isinstance(value, OpResult)
        and is_top_op(value.op)
        and value not in groups
        and all(use.operation is user for use in value.uses)
    )


def _in_place_input(
    op: top.GenericOp, output: int, groups: dict[SSAValue, BufferGroup]
) -> SSAValue:
    """An elementwise input that the output may overwrite (read only here, and only through
    the output's own bijective map), or the output's own result."""
    maps = op.maps()
    out_map = maps[len(op.inputs) + output]
    result = op.res[output]
    if not out_map.is_projected_permutation() or len(out_map.results) != out_map.num_dims:
        return result
    for value in op.inputs:
        reads = [m for v, m in zip(op.inputs, maps, strict=False) if v == value]
        if (
            value.type == result.type
            and all(m == out_map for m in reads)
            and _only_read_by(value, op, groups)
        ):
            return value
    return result


def _ignored(use: Use, dead: set[Operation]) -> bool:
    """Whether `use` never reads the value: a dead op, or an init its generic ignores."""
    user = use.operation
    if user in dead:
        return True
    return (
        isinstance(user, top.GenericOp) and use.index >= len(user.inputs) and not needs_init(user)
    )


def _record_epilogues(buffers: Buffers, fused: dict[top.GenericOp, OpResult]) -> None:
    for generic, producer in fused.items():
        if generic in buffers.dead:
            continue
        buffers.epilogues[producer.op] = Epilogue(
            generic.body.clone(),
            list(generic.inputs),
            generic.maps()[: len(generic.inputs)],
            list(generic.inputs).index(producer),
            generic.res[0],
        )
        buffers.dead.add(generic)


def _assign_buffers(
    block: Block, buffers: Buffers, outputs: list[SSAValue], vector_bits: int
) -> None:
    groups: dict[SSAValue, BufferGroup] = {}
    copies = assign_block(block, buffers, list(outputs), vector_bits, groups)
    ret = block.last_op
    assert isinstance(ret, func.ReturnOp), "func.func bodies end in func.return"
    em = Emitter(InsertPoint.before(ret), buffers.constants)
    for value, k in reversed(copies):
        copy(em, buffers.buffer(value, ret), outputs[k], vector_bits)
    Rewriter.replace_op(ret, func.ReturnOp())


REGION_BUFFERS: list[RegionBufferizer] = []
"""Registered by lowering modules of ops with regions (top_to_loop_control)."""


class RegionBufferizer(Protocol):
    """Gives buffers to the values inside the regions of an op (after its results have
    theirs), calling back `assign_block` for each region's block."""

    def assign_regions(
        self, op: Operation, buffers: Buffers, groups: dict[SSAValue, BufferGroup], vector_bits: int
    ) -> bool:
        """False if `op` is not an op of this bufferizer."""
        ...


def assign_block(
    block: Block,
    buffers: Buffers,
    outputs: list[SSAValue | None],
    vector_bits: int,
    groups: dict[SSAValue, BufferGroup],
) -> list[tuple[SSAValue, int]]:
    """Buffers for the values of `block`: the terminator's k-th operand is written straight
    into `outputs[k]` where it can (a `top` op result of this block), else it is returned
    as (value, k) to be copied; `None` outputs take no value. Regions of ops inside go
    through `REGION_BUFFERS` once the block's own values have buffers."""
    fused = {
        op: producer
        for op in list(block.ops)
        if isinstance(op, top.GenericOp)
        and (producer := fusable_epilogue(op, vector_bits, buffers.int8_gemm))
    }
    for op, producer in fused.items():
        inputs = [v for v in op.inputs if v is not producer]
        moves = [
            hoisted
            for v in inputs
            for hoisted in hoistable(v, producer.op, vector_bits, buffers.int8_gemm) or []
        ]
        move_before(moves, producer.op)
    copies: list[tuple[SSAValue, int]] = []

    def join(value: SSAValue, group: BufferGroup) -> None:
        groups[value] = group
        group.values.append(value)

    for op in reversed(list(block.ops)):
        if op is block.last_op and not is_top_op(op):
            for k, value in enumerate(op.operands):
                target = outputs[k]
                if target is None:
                    continue
                if isinstance(value, OpResult) and is_top_op(value.op) and value not in groups:
                    join(value, BufferGroup(buffer_type(value.type, op), target))
                else:
                    copies.append((value, k))
        elif is_top_op(op):
            sizes_only = isinstance(op, DimOp)  # read by allocs made after this analysis
            if not sizes_only and all(
                _ignored(use, buffers.dead) for r in op.results for use in r.uses
            ):
                buffers.dead.add(op)
                continue
            for result in op.results:
                if result not in groups and isa(result.type, TensorType[Attribute]):
                    join(result, BufferGroup(buffer_type(result.type, op)))
            if isinstance(op, top.ConcatOp) and (group := groups[op.result]).root().buffer is None:
                for x, offset in in_place_inputs(op, lambda v: v in groups):
                    slice_group = BufferGroup(buffer_type(x.type, op), parent=group.root())
                    slice_group.offset = group.offset + offset
                    join(x, slice_group)
            if isinstance(op, top.GenericOp):
                if (producer := fused.get(op)) is not None and producer not in groups:
                    join(producer, groups[op.res[0]])
                init_needed = needs_init(op)
                for j, (init, result) in enumerate(zip(op.outputs, op.res, strict=True)):
                    if init_needed and init not in op.inputs and _only_read_by(init, op, groups):
                        join(init, groups[result])
                    elif not init_needed and (x := _in_place_input(op, j, groups)) is not result:
                        join(x, groups[result])
    _allocate(block, buffers, groups)
    for group in {id(g): g for g in groups.values()}.values():
        for value in group.values:
            buffers.of[value] = group.buffer  # pyright: ignore[reportArgumentType]
    _record_epilogues(buffers, fused)
    with_regions = [
        op for op in block.ops if op.regions and is_top_op(op) and not isinstance(op, top.GenericOp)
    ]
    for op in with_regions:
        handled = any(r.assign_regions(op, buffers, groups, vector_bits) for r in REGION_BUFFERS)
        if not handled and op not in buffers.dead:
            raise unsupported(f"'{op.name}': regions without bufferization", op)
    return copies


def _allocate(block: Block, buffers: Buffers, groups: dict[SSAValue, BufferGroup]) -> None:
    """A `loop.alloc` for each group of `block` without a buffer, before its first value,
    in block order: a dynamic one takes sizes from the dims of what its producer reads
    (top_to_loop_dims), which have their buffers by then."""
    order = {op: i for i, op in enumerate(block.ops)}

    def first(group: BufferGroup) -> OpResult:
        results = [cast(OpResult, v) for v in group.values]
        return min(results, key=lambda v: order[v.op])

    def buffer_of(value: SSAValue) -> SSAValue | None:
        return buffers.of.get(value) or (groups[value].buffer if value in groups else None)

    mine = [g for g in {id(g): g for g in groups.values()}.values() if g.buffer is None]
    starts = {id(g): first(g).op for g in mine}
    for group in mine:  # a concat's buffer: before the first op writing any of its slices
        root = group.root()
        if order[starts[id(group)]] < order[starts[id(root)]]:
            starts[id(root)] = starts[id(group)]
    for group in sorted(mine, key=lambda g: (g.parent is not None, order[starts[id(g)]])):
        value = first(group)
        em = Emitter(InsertPoint.before(starts[id(group)]), buffers.constants)
        root = group.root().buffer
        if root is not None:
            made: Operation = ViewOp(root, group.offset, group.type)
        else:
            made = AllocOp(group.type, dynamic_sizes(value, buffer_of, em))
        made.results[0].name_hint = group.values[-1].name_hint
        Rewriter.insert_op(made, em.point)
        group.buffer = made.results[0]


@dataclass
class TopLowering(RewritePattern):
    """Base of the `<Op>Lowering` patterns: each replaces one `top` op by loop nests that
    read its operands' buffers and write its result's buffer, inserted before the op."""

    buffers: Buffers
    vector_bits: int = 512

    def emitter(self, op: Operation) -> Emitter:
        return Emitter(InsertPoint.before(op), self.buffers.constants)

    def buffer(self, value: SSAValue, op: Operation) -> SSAValue:
        return self.buffers.buffer(value, op)

    def lanes(self, buffer: SSAValue) -> int | None:
        return lanes(self.vector_bits, buffer)
