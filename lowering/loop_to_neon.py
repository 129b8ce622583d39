"""`loop-to-neon`: the micro-kernel patterns of loop-level IR -> `neon` ops, for AArch64.

Two rewrites; everything else is left to LLVM's generic vectorizer (driven by the `vector N`
hints that `convert-top-to-loop{vector_bits=128}` puts on the loops):

1. Lane FMA (the fp32 GEMM/conv micro-kernel: a broadcast element of A times a row of B):

       %a2 = loop.load %A[%i, %c2]                     %av = loop.vload %A[%i, %c0] : vector<4xf32>
       %s  = vector.broadcast %a2 : f32 to ...    ->   %r  = neon.fmla_lane %acc, %b, %av[2]
       %r  = vector.fma %s, %b, %acc : vector<4xf32>

   The scalar loads of one buffer row that differ only in a constant offset of the last index
   (`%c`, or `%base + %c`) form lane groups of one Q register (4 x f32, 2 x f64) starting at a
   multiple of the lane count. A group becomes one `loop.vload` placed at its first load when
   that reads nothing out of bounds (every lane of the group is loaded anyway, or the index is
   constant and inside the static row) and no op between the group's loads may write memory.

2. Dot product (int8 GEMM/conv with the reduction innermost and contiguous): the i8
   dot-product loops of lowering/dot_loops.py run 16 bytes a step, a vector<4xi32> of
   `neon.sdot`s (`neon.udot`s for unsigned bytes). Needs `+dotprod`.

After the pass: the matched patterns are neon ops; the module is otherwise unchanged.
The device must be an AArch64 one (else "not supported: ..."); dot products are formed only
when it has `+dotprod`.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects import arith, func, vector
from xdsl.dialects.builtin import (
    Float32Type,
    Float64Type,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    VectorType,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.hints import isa

from lamina.dialects import loop
from lamina.dialects.isa import neon
from lamina.dialects.loop_for import constant_index
from lamina.lowering.dot_loops import DotLoop, DotStep, require_device, rewrite_dot_loops
from lamina.targets import Device, has_dotprod, is_aarch64, load_device

Q_BITS = 128
DOT_LANES = 16
"""i8 lanes of one `sdot`/`udot` operand (a Q register)."""

i8, i32 = IntegerType(8), IntegerType(32)


def split_index(value: SSAValue) -> tuple[SSAValue | None, int]:
    """`value` as (base, constant offset): `%c` -> (None, c); `%x + %c` -> (%x, c);
    anything else -> (value, 0)."""
    c = constant_index(value)
    if c is not None:
        return None, c
    owner = value.owner
    if isinstance(owner, arith.AddiOp):
        for base, offset in ((owner.lhs, owner.rhs), (owner.rhs, owner.lhs)):
            c = constant_index(offset)
            if c is not None:
                return base, c
    return value, 0


def may_write_memory(op: Operation) -> bool:
    """Conservatively, whether `op` (or an op nested in it) may store to memory."""
    return any(
        isinstance(o, loop.StoreOp | loop.VStoreOp | func.CallOp)
        or o.name in ("vector.store", "vector.maskedstore", "vector.transfer_write")
        for o in op.walk()
    )


# ---------------------------------------------------------------------------------------------
# 1. vector.fma of a broadcast loaded scalar -> neon.fmla_lane

GroupKey = tuple[SSAValue, tuple[Hashable, ...], Hashable | None, int]
"""(buffer, leading indices, base of the last index (as `index_key`s), first offset of the
lane group)."""


def index_key(value: SSAValue) -> Hashable:
    """Equal for index values equal by construction: the same value, equal constants, or the
    same integer op of equal operands (lowerings recompute `%ip * 6 + %r` for every load)."""
    c = constant_index(value)
    if c is not None:
        return ("constant", c)
    owner = value.owner
    if isinstance(owner, arith.AddiOp | arith.SubiOp | arith.MuliOp):
        return (owner.name, index_key(owner.lhs), index_key(owner.rhs))
    return value


@dataclass
class LaneGroup:
    """The scalar loads of one register's worth of lanes of a buffer row, in one block."""

    key: GroupKey
    lanes: int
    loads: list[tuple[int, loop.LoadOp, int]] = field(
        default_factory=list[tuple[int, loop.LoadOp, int]]
    )
    """(position in the block, load, lane)."""
    register: SSAValue | None = None

    def is_in_bounds(self, width: int) -> bool:
        """Whether a `width`-lane vector load at the group's start reads only memory the
        program may read and covers every load of the group."""
        lanes = {lane for _, _, lane in self.loads}
        if max(lanes) >= width:
            return False
        if lanes == set(range(width)):
            return True
        buffer, _, base, start = self.key
        buffer_type = buffer.type
        assert isa(buffer_type, MemRefType[Attribute])
        return base is None and start >= 0 and start + width <= buffer_type.get_shape()[-1]

    def register_width(self) -> int | None:
        """Lanes of the register to load the group into: a Q register, else (the tail of an
        f32 row, e.g. rows 4 and 5 of a 6-row GEMM panel) a D register; None if neither."""
        for width in (self.lanes, self.lanes // 2):
            if width >= 2 and self.is_in_bounds(width):
                return width
        return None


def register_lanes(t: Attribute) -> int | None:
    """Lanes of a Q register of `t`'s float element type, None for non-NEON-float types."""
    if isinstance(t, Float32Type):
        return Q_BITS // 32
    if isinstance(t, Float64Type):
        return Q_BITS // 64
    return None


def lane_groups(block: Block) -> dict[GroupKey, LaneGroup]:
    """The lane groups of the float scalar loads of a block."""
    groups: dict[GroupKey, LaneGroup] = {}
    for position, op in enumerate(block.ops):
        if not isinstance(op, loop.LoadOp) or not op.indices:
            continue
        lanes = register_lanes(op.result.type)
        if lanes is None:
            continue
        base, offset = split_index(op.indices[-1])
        start = offset - offset % lanes
        lead = tuple(index_key(v) for v in op.indices[:-1])
        key: GroupKey = (op.buffer, lead, None if base is None else index_key(base), start)
        group = groups.setdefault(key, LaneGroup(key, lanes))
        group.loads.append((position, op, offset - start))
    return groups


def is_undisturbed(block: Block, group: LaneGroup) -> bool:
    """No op between the first and the last load of the group may write memory."""
    pending = {id(load) for _, load, _ in group.loads}
    for op in block.ops:
        if id(op) in pending:
            pending.discard(id(op))
            if not pending:
                return True
        elif len(pending) < len(group.loads) and may_write_memory(op):
            return False
    return not pending


def group_register(group: LaneGroup) -> SSAValue:
    """The vector load of a group, created before its first load on first use."""
    if group.register is not None:
        return group.register
    _, first_load, _ = min(group.loads, key=lambda item: item[0])
    buffer, start = group.key[0], group.key[3]
    lead = first_load.indices[:-1]
    base, _ = split_index(first_load.indices[-1])
    new_ops: list[Operation] = []
    index: SSAValue
    if base is None or start != 0:
        offset = arith.ConstantOp(IntegerAttr(start, IndexType()))
        new_ops.append(offset)
        index = offset.result
        if base is not None:
            add = arith.AddiOp(base, offset.result)
            new_ops.append(add)
            index = add.result
    else:
        index = base
    width = group.register_width()
    assert width is not None
    vtype = VectorType(first_load.result.type, [width])
    vload = loop.VLoadOp(buffer, [*lead, index], vtype)
    new_ops.append(vload)
    Rewriter.insert_op(new_ops, InsertPoint.before(first_load))
    group.register = vload.result
    return vload.result


def broadcast_load(value: SSAValue) -> tuple[vector.BroadcastOp, loop.LoadOp] | None:
    """(broadcast, load) when `value` is `vector.broadcast (loop.load ...)`."""
    broadcast = value.owner
    if not isinstance(broadcast, vector.BroadcastOp):
        return None
    load = broadcast.source.owner
    return (broadcast, load) if isinstance(load, loop.LoadOp) else None


def rewrite_lane_fmas(module: ModuleOp) -> int:
    """Rewrite every eligible `vector.fma`; returns how many became `neon.fmla_lane`."""
    analysed: dict[Block, dict[GroupKey, LaneGroup]] = {}
    count = 0
    for fma in [op for op in module.walk() if isinstance(op, vector.FMAOp)]:
        t = fma.res.type
        if not isa(t, VectorType[Attribute]) or register_lanes(t.element_type) != t.get_shape()[0]:
            continue
        for scalar, other in ((fma.lhs, fma.rhs), (fma.rhs, fma.lhs)):
            matched = broadcast_load(scalar)
            if matched is None:
                continue
            broadcast, load = matched
            block = load.parent_block()
            assert block is not None
            groups = analysed.setdefault(block, lane_groups(block))
            group = next(g for g in groups.values() if any(ld is load for _, ld, _ in g.loads))
            if group.register_width() is None or not is_undisturbed(block, group):
                continue
            lane = next(lane for _, ld, lane in group.loads if ld is load)
            fmla = neon.FmlaLaneOp(fma.acc, other, group_register(group), lane)
            Rewriter.replace_op(fma, fmla)
            if not broadcast.vector.uses:
                Rewriter.erase_op(broadcast)
            count += 1
            break
    for groups in analysed.values():
        for group in groups.values():
            for _, load, _ in group.loads:
                if group.register is not None and not load.result.uses:
                    Rewriter.erase_op(load)
    return count


# ---------------------------------------------------------------------------------------------
# 2. i8 dot-product reduction loops -> neon.sdot / neon.udot (lowering/dot_loops.py)


def _dot_instruction(dot: DotLoop) -> DotStep:
    instruction = neon.UdotOp if dot.unsigned else neon.SdotOp
    return lambda acc, a, b: [instruction(acc, a, b)]


# ---------------------------------------------------------------------------------------------


def loop_to_neon(module: ModuleOp, device: Device) -> tuple[int, int]:
    """Apply both rewrites for `device`; returns (fmla_lane count, dot loops rewritten)."""
    require_device("loop-to-neon", device, is_aarch64(device), "it needs an AArch64 device")
    dots = rewrite_dot_loops(module, DOT_LANES, _dot_instruction) if has_dotprod(device) else 0
    return rewrite_lane_fmas(module), dots


def neon_ops(module: ModuleOp) -> Sequence[Operation]:
    """The neon ops of a module (for tests and statistics)."""
    return [op for op in module.walk() if op.name.startswith("neon.")]


@dataclass(frozen=True)
class LoopToNeonPass(ModulePass):
    """Rewrite the fp32 lane-FMA and int8 dot-product patterns of loop-level IR into `neon`
    ops for `device` (an AArch64 device name in `targets/`)."""

    name = "loop-to-neon"

    device: str = "cortex-a76"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        loop_to_neon(op, load_device(self.device))
