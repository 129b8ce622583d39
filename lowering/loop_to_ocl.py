"""`convert-loop-to-ocl`: loop-level IR in the lamina kernel ABI -> `ocl` kernels + launches.

Each top-level loop nest of a kernel-ABI `func.func` becomes one `ocl.kernel`, and the
nest's place in the function an `ocl.launch` of it:

- the leading perfectly nested `parallel` loops become the NDRange: the innermost one is
  dimension 0 (contiguous accesses across neighbouring work-items), the next dimension 1,
  and all outer ones are folded into dimension 2 (delinearised with div/rem); one-trip
  loops vanish;
- inner `parallel` loops under sequential loops (conv and matmul: `for oc par { for ic, kh,
  kw { for oh, ow par { C += ... }}}`) are hoisted into the NDRange when the nest shows
  they are independent: every buffer written in the nest is accessed only at one index
  tuple that names each hoisted loop's variable, and no other buffer of the nest overlaps
  it. The element those iterations accumulate into is then carried in a register through
  the sequential loops (one load before, one store after);
- the rest stays as loops inside the kernel;
- a matmul nest (`C[i,j] += A[i,k] * B[k,j]`, M and N multiples of the tile) becomes a
  tiled kernel: work-groups of tile x tile work-items that stage A and B tiles in `__local`
  memory between barriers (`matmul_kernel`).

Buffers: every memref a nest uses is a carve of (or is) a root argument (weights, arena,
input, output); the kernel takes it as a typed `__global` argument and the launch binds it
to (root, byte offset), so kernels that differ only in offsets are one kernel.

After the pass: the function holds only `ocl.launch` ops (and `func.return`); every loop
nest is in an `ocl.kernel` of the module; no `loop.carve` remains in host code.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from math import prod

from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import FloatAttr, IndexType, IntegerAttr, MemRefType, ModuleOp, f32
from xdsl.ir import Attribute, Block, BlockArgument, Operation, OpResult, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.traits import is_side_effect_free
from xdsl.utils.hints import isa

from lamina.dialects import loop, loop_control
from lamina.dialects.isa import ocl
from lamina.dialects.loop_for import constant_index
from lamina.errors import UnsupportedError, UnsupportedOpError
from lamina.lowering.dynamic_shapes import check_static_shapes
from lamina.targets import Device, load_device

KERNEL_ABI = "kernel-v1"
_WRITES = (loop.StoreOp, loop.VStoreOp)
_ACCESSES = (loop.LoadOp, loop.StoreOp, loop.VLoadOp, loop.VStoreOp)


def trip_count(nest: loop.ForOp) -> int:
    """How many times a loop with constant bounds runs."""
    trips = nest.constant_trip_count()
    if trips is None:
        raise UnsupportedOpError("a parallel loop with non-constant bounds on OpenCL", op=nest)
    return trips


def _only_loop(block: Block) -> loop.ForOp | None:
    """The single op of a loop body (besides its yield) when that is a loop."""
    ops = [op for op in block.ops if not isinstance(op, loop.YieldOp)]
    return ops[0] if len(ops) == 1 and isinstance(ops[0], loop.ForOp) else None


def _is_parallel(op: Operation | None) -> bool:
    return isinstance(op, loop.ForOp) and op.parallel is not None


@dataclass
class NestPlan:
    """How one top-level nest maps onto an NDRange."""

    outer: list[loop.ForOp]
    """The leading parallel chain; the last one's body becomes the kernel body."""
    hoisted: list[loop.ForOp] = field(default_factory=list[loop.ForOp])
    """Parallel loops under `sequential` that join the NDRange (inlined in place)."""
    sequential: list[loop.ForOp] = field(default_factory=list[loop.ForOp])
    """The sequential chain the hoisted loops sit in (a reduction), outer first."""

    @property
    def parallel(self) -> list[loop.ForOp]:
        return self.outer + self.hoisted

    @property
    def dims(self) -> list[loop.ForOp]:
        """The parallel loops that run more than once: they index the NDRange."""
        return [p for p in self.parallel if trip_count(p) > 1]


def plan_nest(root: loop.ForOp) -> NestPlan:
    """The NDRange plan of a top-level nest (see the module docstring)."""
    outer: list[loop.ForOp] = []
    current: loop.ForOp | None = root
    while current is not None and _is_parallel(current):
        outer.append(current)
        current = _only_loop(current.body.block)
    if not outer:
        return NestPlan([])
    sequential, hoisted = _inner_parallel(outer[-1].body.block)
    plan = NestPlan(outer, hoisted, sequential)
    if hoisted and not _hoisting_is_legal(root, plan):
        return NestPlan(outer)
    return plan


def _inner_parallel(block: Block) -> tuple[list[loop.ForOp], list[loop.ForOp]]:
    """(sequential chain, parallel chain) when `block` ends in sequential loops with only
    side-effect-free ops beside the nested loop, down to a perfect parallel chain."""
    sequential: list[loop.ForOp] = []
    while True:
        ops = [op for op in block.ops if not isinstance(op, loop.YieldOp)]
        if not ops or not isinstance(ops[-1], loop.ForOp):
            return [], []
        if any(isinstance(op, _WRITES) or op.regions for op in ops[:-1]):
            return [], []
        nested = ops[-1]
        if _is_parallel(nested):
            break
        if nested.iter_args:
            return [], []
        sequential.append(nested)
        block = nested.body.block
    if not sequential:
        return [], []
    hoisted: list[loop.ForOp] = []
    inner: loop.ForOp | None = nested
    while inner is not None and _is_parallel(inner):
        hoisted.append(inner)
        inner = _only_loop(inner.body.block)
    return sequential, hoisted


def _hoisting_is_legal(root: loop.ForOp, plan: NestPlan) -> bool:
    """Whether different iterations of the hoisted loops touch disjoint memory."""
    accesses = [op for op in root.walk() if isinstance(op, _ACCESSES)]
    written = {op.buffer for op in accesses if isinstance(op, _WRITES)}
    needed = {p.induction_var for p in plan.hoisted if trip_count(p) > 1}
    for buffer in written:
        tuples = {tuple(op.indices) for op in accesses if op.buffer == buffer}
        if len(tuples) != 1 or not needed <= set(next(iter(tuples))):
            return False
        for other in {op.buffer for op in accesses} - {buffer}:
            if _may_overlap(buffer, other):
                return False
    return True


def _may_overlap(a: SSAValue, b: SSAValue) -> bool:
    (root_a, off_a), (root_b, off_b) = binding(a), binding(b)
    if root_a != root_b:
        return False
    size_a, size_b = _bytes(a), _bytes(b)
    return off_a < off_b + size_b and off_b < off_a + size_a


def _bytes(buffer: SSAValue) -> int:
    buffer_type = buffer.type
    assert isa(buffer_type, MemRefType[Attribute])
    return loop.buffer_bytes(buffer_type) or 0


def binding(buffer: SSAValue) -> tuple[BlockArgument, int]:
    """(root function argument, byte offset) of a buffer used by a nest."""
    if isinstance(buffer, BlockArgument) and isinstance(buffer.owner.parent_op(), func.FuncOp):
        return buffer, 0
    owner = buffer.owner
    if isinstance(owner, loop.CarveOp) and isinstance(owner.arena, BlockArgument):
        return owner.arena, owner.offset.value.data
    raise UnsupportedOpError(
        f"buffer {buffer.type} that is not an argument or a carve of one, on OpenCL",
        op=owner if isinstance(owner, Operation) else None,
    )


# ---------------------------------------------------------------------------------------------
# Building kernels


def _computable_in_kernel(op: Operation) -> bool:
    """A value a kernel can recompute: a constant, or a side-effect-free scalar/vector op
    (e.g. a weight splat hoisted above the nest), whose operands are themselves so."""
    return isinstance(op, arith.ConstantOp) or (
        not op.regions and not isinstance(op, loop.CarveOp) and is_side_effect_free(op)
    )


class KernelBuilder:
    """Moves a nest's body into a new kernel block, rewiring outside values: buffers become
    kernel arguments (bound by the launch), constants and pure ops on them are cloned in."""

    def __init__(self) -> None:
        self.block = Block()
        self.buffers: dict[tuple[BlockArgument, int, Attribute], BlockArgument] = {}
        self.roots: list[BlockArgument] = []
        self.offsets: list[int] = []
        self.constants: dict[SSAValue, SSAValue] = {}
        self.prelude: list[Operation] = []

    def add(self, op: Operation) -> SSAValue:
        """Append `op` to the kernel; its (single) result."""
        self.block.add_op(op)
        return op.results[0]

    def index(self, value: int) -> SSAValue:
        return self.add(arith.ConstantOp(IntegerAttr(value, IndexType())))

    def buffer(self, value: SSAValue) -> BlockArgument:
        root, offset = binding(value)
        key = (root, offset, value.type)
        if key not in self.buffers:
            self.buffers[key] = self.block.insert_arg(value.type, len(self.buffers))
            self.roots.append(root)
            self.offsets.append(offset)
        return self.buffers[key]

    def import_outside(self) -> None:
        """Replace every use of a value defined outside the kernel block."""
        for op in list(self.block.walk()):
            for index, operand in enumerate(op.operands):
                if not self._defined_inside(operand):
                    op.operands[index] = self._outside(operand, op)

    def _defined_inside(self, value: SSAValue) -> bool:
        owner = value.owner
        block = owner if isinstance(owner, Block) else owner.parent_block()
        while block is not None:
            if block is self.block:
                return True
            parent = block.parent_op()
            block = parent.parent_block() if parent is not None else None
        return False

    def _outside(self, value: SSAValue, user: Operation) -> SSAValue:
        if isa(value.type, MemRefType[Attribute]):
            return self.buffer(value)
        if value not in self.constants:
            if not isinstance(value, OpResult) or not _computable_in_kernel(value.op):
                raise UnsupportedOpError(
                    "a value computed outside its loop nest on OpenCL", op=user
                )
            clone = value.op.clone()
            for index, operand in enumerate(value.op.operands):
                clone.operands[index] = self._outside(operand, user)
            if self.prelude:
                self.block.insert_op_after(clone, self.prelude[-1])
            elif self.block.first_op is not None:
                self.block.insert_op_before(clone, self.block.first_op)
            else:
                self.block.add_op(clone)
            self.prelude.append(clone)
            self.constants[value] = clone.results[value.index]
        return self.constants[value]


def nest_to_kernel(
    root: loop.ForOp, name: str, device: Device
) -> tuple[ocl.KernelOp, ocl.LaunchOp]:
    """The kernel and launch of one top-level nest; the nest's ops move into the kernel."""
    plan = plan_nest(root)
    matmul = match_matmul(plan, device)
    if matmul is not None:
        return matmul_kernel(name, matmul)
    builder = KernelBuilder()
    global_size = _map_ndrange(builder, plan)
    body = plan.outer[-1].body.block if plan.outer else None
    moved = [root] if body is None else [op for op in body.ops if not isinstance(op, loop.YieldOp)]
    for op in moved:
        op.detach()
        builder.block.add_op(op)
    for hoisted in plan.hoisted:
        _inline(hoisted)
    if plan.hoisted:
        promote_accumulators(plan.sequential)
    builder.import_outside()
    builder.block.add_op(ocl.ReturnOp())
    kernel = ocl.KernelOp(name, [a.type for a in builder.block.args], Region(builder.block))
    launch = ocl.LaunchOp(name, global_size, None, builder.roots, builder.offsets)
    return kernel, launch


def _map_ndrange(builder: KernelBuilder, plan: NestPlan) -> list[int]:
    """Define each parallel loop's variable from the work-item ids; the global size."""
    dims = plan.dims
    for nest in plan.parallel:
        if nest not in dims:
            nest.induction_var.replace_all_uses_with(nest.lb)
    if not dims:
        return [1]
    inner, rest = dims[::-1][:2], dims[::-1][2:][::-1]
    for dim, nest in enumerate(inner):
        _set_induction(builder, nest, builder.add(ocl.GlobalIdOp(dim)))
    sizes = [trip_count(n) for n in inner]
    if rest:
        flat = builder.add(ocl.GlobalIdOp(2))
        for position, nest in enumerate(rest):
            inner_extent = prod(trip_count(n) for n in rest[position + 1 :])
            quotient = flat
            if inner_extent > 1:
                quotient = builder.add(arith.DivUIOp(flat, builder.index(inner_extent)))
            value = quotient
            if position > 0:
                value = builder.add(arith.RemUIOp(quotient, builder.index(trip_count(nest))))
            _set_induction(builder, nest, value)
        sizes.append(prod(trip_count(n) for n in rest))
    return sizes


def _set_induction(builder: KernelBuilder, nest: loop.ForOp, step_index: SSAValue) -> None:
    """iv = lb + step_index * step (folded when lb = 0 and step = 1)."""
    value = step_index
    if constant_index(nest.step) != 1:
        value = builder.add(arith.MuliOp(value, builder.index(constant_index(nest.step) or 1)))
    if constant_index(nest.lb) != 0:
        value = builder.add(arith.AddiOp(value, builder.index(constant_index(nest.lb) or 0)))
    nest.induction_var.replace_all_uses_with(value)


def _inline(nest: loop.ForOp) -> None:
    """Replace a loop whose variable is already mapped by its body."""
    block = nest.parent_block()
    assert block is not None
    for op in [op for op in nest.body.block.ops if not isinstance(op, loop.YieldOp)]:
        op.detach()
        block.insert_op_before(op, nest)
    block.erase_op(nest)


def promote_accumulators(sequential: Sequence[loop.ForOp]) -> None:
    """Carry `C[idx]` through the sequential chain in a register when the innermost body
    loads and stores it once at indices defined outside the chain."""
    if not sequential:
        return
    first = sequential[0]
    accesses = [op for op in first.walk() if isinstance(op, _ACCESSES)]
    for store in [op for op in accesses if isinstance(op, loop.StoreOp)]:
        same = [op for op in accesses if op.buffer == store.buffer]
        loads = [op for op in same if isinstance(op, loop.LoadOp)]
        if len(same) != 2 or len(loads) != 1 or store.parent_block() is not loads[0].parent_block():
            continue
        if any(_inside(index, first) for index in store.indices):
            continue
        block = first.parent_block()
        assert block is not None
        init = loop.LoadOp(store.buffer, list(store.indices))
        block.insert_op_before(init, first)
        carried = _carry(list(sequential), init.result, loads[0], store)
        block.insert_op_after(
            loop.StoreOp(carried.res[0], init.buffer, list(init.indices)), carried
        )
        return


def _inside(value: SSAValue, nest: loop.ForOp) -> bool:
    owner = value.owner
    op = owner.parent_op() if isinstance(owner, Block) else owner
    return op is not None and nest.is_ancestor(op)


def _carry(
    chain: list[loop.ForOp], acc: SSAValue, load: loop.LoadOp, store: loop.StoreOp
) -> loop.ForOp:
    """Rebuild `chain[0]` (and the loops inside) carrying `acc` as an iter_arg."""
    old = chain[0]
    new = loop.ForOp(old.lb, old.ub, old.step, [acc])
    old.induction_var.replace_all_uses_with(new.induction_var)
    block = new.body.block
    for op in [op for op in old.body.block.ops if not isinstance(op, loop.YieldOp)]:
        op.detach()
        block.add_op(op)
    parent = old.parent_block()
    assert parent is not None
    parent.insert_op_before(new, old)
    parent.erase_op(old)
    if len(chain) > 1:
        inner = _carry(chain[1:], block.args[1], load, store)
        block.add_op(loop.YieldOp(inner.res[0]))
    else:
        load.result.replace_all_uses_with(block.args[1])
        value = store.value
        for dead in (store, load):
            dead_block = dead.parent_block()
            assert dead_block is not None
            dead_block.erase_op(dead)
        block.add_op(loop.YieldOp(value))
    return new


# ---------------------------------------------------------------------------------------------
# Tiled matmul with local memory


@dataclass(frozen=True)
class Matmul:
    """`C[i, j] += A[i, k] * B[k, j]` over M x N x K, staged through tile x tile blocks."""

    a: SSAValue
    b: SSAValue
    c: SSAValue
    k: int
    tile: int


def match_matmul(plan: NestPlan, device: Device) -> Matmul | None:
    """The matmul of a planned nest (as convert-top-to-loop writes it: `for i par { for k {
    a = A[i,k]; for j par { C[i,j] = C[i,j] + a * B[k,j] }}}`) when M and N are multiples
    of the device's tile; None otherwise."""
    if len(plan.dims) != 2 or len(plan.sequential) != 1 or len(plan.parallel) != 2:
        return None
    i, j = plan.dims
    (k,) = plan.sequential
    if any(constant_index(n.lb) != 0 or constant_index(n.step) != 1 for n in (i, j, k)):
        return None
    prefix = [op for op in k.body.block.ops if not isinstance(op, loop.YieldOp)]
    leaf = [op for op in j.body.block.ops if not isinstance(op, loop.YieldOp)]
    if len(prefix) != 2 or len(leaf) != 5 or prefix[1] is not j:
        return None
    load_a, (load_b, mul, load_c, add, store) = prefix[0], leaf
    iv = (i.induction_var, j.induction_var, k.induction_var)
    if not (
        isinstance(load_a, loop.LoadOp)
        and isinstance(load_b, loop.LoadOp)
        and isinstance(mul, arith.MulfOp)
        and isinstance(load_c, loop.LoadOp)
        and isinstance(add, arith.AddfOp)
        and isinstance(store, loop.StoreOp)
        and tuple(load_a.indices) == (iv[0], iv[2])
        and tuple(load_b.indices) == (iv[2], iv[1])
        and tuple(load_c.indices) == tuple(store.indices) == (iv[0], iv[1])
        and load_c.buffer == store.buffer
        and set(mul.operands) == {load_a.result, load_b.result}
        and set(add.operands) == {load_c.result, mul.result}
        and store.value == add.result
        and add.result.type == f32
    ):
        return None
    tile = int(device.extra.get("matmul_tile", 16))
    local_bytes = int(device.extra.get("local_memory_bytes", 32768))
    while tile > 1 and 2 * tile * tile * 4 > local_bytes:
        tile //= 2
    if trip_count(i) % tile or trip_count(j) % tile:
        return None
    return Matmul(load_a.buffer, load_b.buffer, store.buffer, trip_count(k), tile)


def matmul_kernel(name: str, mm: Matmul) -> tuple[ocl.KernelOp, ocl.LaunchOp]:
    """The tiled kernel: each work-group computes a tile x tile block of C; per step of
    `tile` along K its work-items copy one element of A and of B into `__local` tiles,
    wait at a barrier, and accumulate from the tiles (K need not divide: loads past K
    read zero)."""
    builder = KernelBuilder()
    add = builder.add
    a, b, c = builder.buffer(mm.a), builder.buffer(mm.b), builder.buffer(mm.c)
    a_tile = add(ocl.LocalAllocOp(ocl.local_memref([mm.tile, mm.tile], f32)))
    b_tile = add(ocl.LocalAllocOp(ocl.local_memref([mm.tile, mm.tile], f32)))
    j, i = add(ocl.GlobalIdOp(0)), add(ocl.GlobalIdOp(1))
    tx, ty = add(ocl.LocalIdOp(0)), add(ocl.LocalIdOp(1))
    zero, one, tile, k = (builder.index(v) for v in (0, 1, mm.tile, mm.k))
    last, fzero = builder.index(mm.k - 1), add(arith.ConstantOp(FloatAttr(0.0, f32)))
    acc0 = add(loop.LoadOp(c, [i, j]))
    steps = loop.ForOp(zero, k, tile, [acc0])
    builder.block.add_op(steps)
    body = steps.body.block
    put = body.add_op

    def stage(buffer: SSAValue, local: SSAValue, offset: SSAValue, row_major: bool) -> None:
        kk = SSAValue.get(arith.AddiOp(steps.induction_var, offset))
        put(kk.owner)  # pyright: ignore[reportArgumentType]
        index = kk
        if mm.k % mm.tile:
            index = SSAValue.get(arith.MinSIOp(kk, last))
            put(index.owner)  # pyright: ignore[reportArgumentType]
        value = SSAValue.get(loop.LoadOp(buffer, [i, index] if row_major else [index, j]))
        put(value.owner)  # pyright: ignore[reportArgumentType]
        if mm.k % mm.tile:
            inside = arith.CmpiOp(kk, k, "ult")
            value = SSAValue.get(arith.SelectOp(inside, value, fzero))
            put(inside)
            put(value.owner)  # pyright: ignore[reportArgumentType]
        put(loop.StoreOp(value, local, [ty, tx]))

    stage(a, a_tile, tx, row_major=True)
    stage(b, b_tile, ty, row_major=False)
    put(ocl.BarrierOp())
    inner = loop.ForOp(zero, tile, one, [body.args[1]])
    put(inner)
    x = loop.LoadOp(a_tile, [ty, inner.induction_var])
    y = loop.LoadOp(b_tile, [inner.induction_var, tx])
    product = arith.MulfOp(x, y)
    total = arith.AddfOp(inner.body.block.args[1], product)
    inner.body.block.add_ops([x, y, product, total, loop.YieldOp(total)])
    put(ocl.BarrierOp())
    put(loop.YieldOp(inner.res[0]))
    builder.block.add_ops([loop.StoreOp(steps.res[0], c, [i, j]), ocl.ReturnOp()])
    kernel = ocl.KernelOp(
        name,
        [arg.type for arg in builder.block.args],
        Region(builder.block),
        reqd_work_group_size=[mm.tile, mm.tile, 1],
    )
    size = [_extent(mm.c, 1), _extent(mm.c, 0)]
    launch = ocl.LaunchOp(name, size, [mm.tile, mm.tile], builder.roots, builder.offsets)
    return kernel, launch


def _extent(buffer: SSAValue, dim: int) -> int:
    buffer_type = buffer.type
    assert isa(buffer_type, MemRefType[Attribute])
    return buffer_type.get_shape()[dim]


# ---------------------------------------------------------------------------------------------
# The pass


def kernel_functions(module: ModuleOp) -> Iterator[func.FuncOp]:
    """The functions of a module in the lamina kernel ABI."""
    for op in module.ops:
        abi = op.attributes.get("lamina.abi")
        if isinstance(op, func.FuncOp) and getattr(abi, "data", None) == KERNEL_ABI:
            yield op


def convert_function(function: func.FuncOp, device: Device) -> list[ocl.KernelOp]:
    """Turn each top-level nest of `function` into a kernel + launch; the kernels."""
    kernels: list[ocl.KernelOp] = []
    name = function.sym_name.data
    for op in function.body.block.walk():
        if isinstance(op, loop_control.IfOp | loop_control.WhileOp):
            raise UnsupportedOpError(f"run-time control flow on OpenCL ({op.name})", op=op)
    for op in list(function.body.block.ops):
        if isinstance(op, loop.ForOp):
            after = op.next_op
            assert after is not None  # the func.return at least
            kernel, launch = nest_to_kernel(op, f"{name}_k{len(kernels)}", device)
            function.body.block.insert_op_before(launch, after)
            if op.parent is function.body.block:
                function.body.block.erase_op(op)
            kernels.append(kernel)
        elif not isinstance(op, loop.CarveOp | func.ReturnOp) and not _computable_in_kernel(op):
            raise UnsupportedOpError(f"{op.name} outside a loop nest on OpenCL", op=op)
    for op in reversed(list(function.body.block.ops)):
        if not isinstance(op, func.ReturnOp | ocl.LaunchOp) and not any(r.uses for r in op.results):
            function.body.block.erase_op(op)
    return kernels


@dataclass(frozen=True)
class ConvertLoopToOCLPass(ModulePass):
    """Every kernel-ABI function's loop nests become `ocl.kernel`s launched from the
    function (placed before it in the module). Afterwards the functions hold only
    `ocl.launch` and `func.return`; `device` (a name in targets/) gives the tile sizes."""

    name = "convert-loop-to-ocl"

    device: str = "opencl"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        device = load_device(self.device)
        check_static_shapes(op, device.name)
        functions = list(kernel_functions(op))
        if not functions:
            raise UnsupportedError('a module without a lamina.abi = "kernel-v1" function')
        for function in functions:
            for kernel in convert_function(function, device):
                op.body.block.insert_op_before(kernel, function)
