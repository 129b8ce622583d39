"""The cost model deciding whether a `parallel` loop nest runs on the thread pool, per nest.

A nest's cost is read from its loop bounds and body (`nest_cost`): the loop-level ops one
run executes (`ops`: nested loops times their trip counts, a vector op counted once, the
body of a `vector N` loop once per N iterations, `index` arithmetic and constants not at
all: LLVM folds and strength-reduces address computations), the bytes its loads and stores
move (`moved`) and those per buffer capped at the buffer's size (`footprint`). With the
device's `ThreadCosts` (targets/threads.py: the pool's handoff, ops per ns of one core,
cache and DRAM bandwidth of one core, DRAM bandwidth of all cores, the last-level cache
size):

    compute  = max(ops / ops_per_ns, moved / cache_gbs)           ; each core its own caches
    streamed = footprint if footprint > cache_bytes else 0       ; bytes from DRAM
    serial   = max(compute, streamed / core_gbs)
    parallel = handoff_ns + max(compute * imbalance / threads, streamed / all_cores_gbs)

where `imbalance` is the pool's biggest chunk over an even share of the split loop's trips
(`imbalance`). The nest runs threaded when `parallel < serial` (`parallel_gain_ns` > 0): a
small nest does not pay the handoff, a bandwidth-bound one gains only what the second
core adds to DRAM bandwidth, an uneven split (3 trips on 2 threads) gains less. A loop
whose trip count is known only at run time is compared at run time against the fewest
trips that pay (`min_parallel_trips`). Threads never change results: each iteration runs
the same ops in the same order whichever thread runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, MemRefType, VectorType
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.utils.hints import isa

from lamina.dialects import loop
from lamina.dialects.loop_access import BufferRead, BufferWrite
from lamina.dialects.loop_for import constant_index
from lamina.targets.threads import ThreadCosts


@dataclass
class NestCost:
    """One run of a block: `ops` executed and bytes touched per buffer (`touched`)."""

    ops: int = 0
    touched: dict[SSAValue, int] = field(default_factory=dict[SSAValue, int])

    @property
    def moved(self) -> int:
        """Bytes the loads and stores move, every access counted."""
        return sum(self.touched.values())

    @property
    def footprint(self) -> int:
        """Bytes of the buffers touched: per buffer the bytes its accesses move, at most
        the buffer's size when its shape is static."""
        return sum(
            min(moved, _buffer_bytes(buffer) or moved) for buffer, moved in self.touched.items()
        )

    def add(self, other: NestCost, times: int, op_times: int | None = None) -> None:
        """Add `times` runs of `other` (its ops `op_times` times when given: a vectorized
        loop runs its body's ops once per vector of lanes)."""
        self.ops += other.ops * (times if op_times is None else op_times)
        for buffer, moved in other.touched.items():
            self.touched[buffer] = self.touched.get(buffer, 0) + moved * times


def nest_cost(block: Block) -> NestCost:
    """The cost of one run of `block`, nested loops counted with their (bound on the) trip
    counts, the ops of a `vector N` loop once per N iterations; a loop whose bound is
    unknown counts as one iteration."""
    cost = NestCost()
    for op in block.ops:
        if isinstance(op, loop.ForOp):
            trips = max_trip_count(op) or 1
            lanes = op.vector.value.data if op.vector is not None else 1
            cost.add(nest_cost(op.body.block), trips, -(-trips // max(lanes, 1)))
            continue
        if isinstance(op, loop.YieldOp | arith.ConstantOp) or _address_arithmetic(op):
            continue  # no instruction of its own, or folded into the addressing
        cost.ops += 1
        if isinstance(op, BufferRead | BufferWrite):
            moved = _access_bytes(op.results[0].type if op.results else op.operands[0].type)
            cost.touched[op.buffer] = cost.touched.get(op.buffer, 0) + moved
    return cost


def _address_arithmetic(op: Operation) -> bool:
    """An `arith` op on `index` values only (what LLVM hoists or folds into addresses)."""
    return (
        op.name.startswith("arith.")
        and bool(op.results)
        and all(isinstance(r.type, IndexType) for r in op.results)
    )


def _access_bytes(value_type: Attribute) -> int:
    """Bytes one load or store of `value_type` (a scalar or a vector) moves."""
    if isa(value_type, VectorType[Attribute]):
        return prod(value_type.get_shape()) * _element_bytes(value_type.element_type)
    return _element_bytes(value_type)


def _element_bytes(element: Attribute) -> int:
    """Bytes of one element (4 for a type without a bit width, e.g. `index` on 32 bits)."""
    bits = getattr(element, "bitwidth", None)
    return max(1, bits // 8) if isinstance(bits, int) else 4


def _buffer_bytes(buffer: SSAValue) -> int | None:
    """The size of a statically shaped memref, None otherwise."""
    if not isa(buffer.type, MemRefType[Attribute]):
        return None
    shape = buffer.type.get_shape()
    if any(d < 0 for d in shape):
        return None
    return prod(shape) * _element_bytes(buffer.type.element_type)


def imbalance(trips: int, threads: int) -> float:
    """The pool's biggest chunk of `trips` iterations over its share, trips / threads."""
    trips = max(trips, 1)
    chunks = min(threads, trips)
    return -(-trips // chunks) * threads / trips


def parallel_gain_ns(cost: NestCost, split_trips: int, threads: int, costs: ThreadCosts) -> float:
    """Estimated ns saved by running the nest of `cost` (the whole loop) on `threads`
    threads, its split loop of `split_trips` iterations in balanced chunks (see the module
    docstring); negative when it does not pay."""
    compute = max(cost.ops / costs.ops_per_ns, cost.moved / costs.cache_gbs)
    footprint = cost.footprint
    streamed = footprint if footprint > costs.cache_bytes else 0
    serial = max(compute, streamed / costs.core_gbs)
    share = imbalance(split_trips, threads) / threads
    parallel = costs.handoff_ns + max(compute * share, streamed / costs.all_cores_gbs)
    return serial - parallel


def min_parallel_trips(
    body: NestCost, max_trips: int | None, threads: int, costs: ThreadCosts
) -> int | None:
    """The fewest run-time trips of a loop of body cost `body` for which threads pay (even
    chunks assumed; bandwidth-bound when `max_trips` runs exceed the cache), None if no
    trip count pays."""
    streamed = body.footprint * (max_trips or 1) > costs.cache_bytes
    compute = max(body.ops / costs.ops_per_ns, body.moved / costs.cache_gbs)
    moved = body.footprint if streamed else 0
    serial = max(compute, moved / costs.core_gbs)
    parallel = max(compute / threads, moved / costs.all_cores_gbs)
    if serial <= parallel:
        return None
    return max(2, -(-int(costs.handoff_ns) // max(1, int(serial - parallel))))


# ---------------------------------------------------------------------------------------
# Trip counts


def _upper(value: SSAValue) -> int | None:
    """An upper bound of an index value from constants, min, select and add; None if
    unknown."""
    owner = value.owner
    if isinstance(owner, arith.MinSIOp | arith.MinUIOp):
        known = [u for u in map(_upper, owner.operands) if u is not None]
        return min(known) if known else None
    bounds = [_upper(v) for v in owner.operands[1:]] if isinstance(owner, arith.SelectOp) else []
    if isinstance(owner, arith.AddiOp):
        bounds = [_upper(v) for v in owner.operands]
    if bounds and all(b is not None for b in bounds):
        return (max if isinstance(owner, arith.SelectOp) else sum)(b or 0 for b in bounds)
    return constant_index(value)


def _lower(value: SSAValue) -> int:
    """A lower bound of an index value, assuming index values are non-negative."""
    owner = value.owner
    if isinstance(owner, arith.MaxSIOp | arith.MaxUIOp):
        return max(_lower(v) for v in owner.operands)
    return max(constant_index(value) or 0, 0)


def max_trip_count(op: loop.ForOp) -> int | None:
    """An upper bound of the iterations (`_upper` of ub, `_lower` of lb), None if unknown."""
    upper, step = _upper(op.ub), constant_index(op.step)
    if upper is None or step is None or step <= 0:
        return None
    return max(0, -(-(upper - _lower(op.lb)) // step))
