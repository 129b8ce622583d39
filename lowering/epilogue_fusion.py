"""What the lowerings of `convert-top-to-loop` ask of bufferization before they run, and
which elementwise consumers their producers apply:

- a `LoweringPlanner` (registered in `PLANNERS` by the lowering modules) names the constant
  operands an op wants pre-packed (`PackedConstant`) and whether its lowering applies an
  elementwise consumer in its own stores;
- `fusable_epilogue` finds, for an elementwise `top.generic`, the producer result it can
  be applied to as an `Epilogue`; its other inputs must be ready when the producer runs:
  arguments, constants (carved at the function's start), values defined before the
  producer, or values whose ops `move_before` can move up before it (`hoistable`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerType, TensorType
from xdsl.ir import Attribute, BlockArgument, Operation, OpResult, Region, SSAValue
from xdsl.ir.affine import AffineMap
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.hints import isa

from lamina.dialects import top
from lamina.dialects.graph import ConstantOp
from lamina.dialects.top_control import RegionYieldOp
from lamina.dialects.top_shape import IndexOp
from lamina.targets import CacheSizes


def is_top_op(op: Operation) -> bool:
    return op.name.startswith("top.") and not isinstance(op, top.YieldOp | RegionYieldOp)


def writes_nothing(op: Operation) -> bool:
    """Whether every result of `op` has no element (a 0 dim): nothing to compute, so no
    loop nest, packing or epilogue is made for it."""
    return bool(op.results) and all(
        isa(r.type, TensorType[Attribute]) and 0 in r.type.get_shape() for r in op.results
    )


def needs_init(op: top.GenericOp) -> bool:
    """Whether a generic reads its outputs' initial values (a reduction, or a body that
    uses an output argument)."""
    reduces = any(it.data == top.IteratorType.REDUCTION for it in op.iterator_types)
    outs = op.body.block.args[len(op.inputs) :]
    return reduces or any(arg.uses for arg in outs)


@dataclass(frozen=True)
class PackedConstant:
    """A constant operand that a lowering reads in another layout (`layout` names it, so
    equal requests share one copy), packed at compile time into the weights blob."""

    operand: int
    layout: str
    pack: Callable[[np.ndarray], np.ndarray]


class LoweringPlanner(Protocol):
    """What a lowering asks of bufferization before it runs (see `PLANNERS`)."""

    def packed_constants(
        self, op: Operation, vector_bits: int, int8_gemm: bool, caches: CacheSizes
    ) -> Sequence[PackedConstant]:
        """Constant operands of `op` wanted pre-packed (`int8_gemm`: the int8 matmuls and
        convs may take the byte-dot GEMM, as `convert-top-to-loop{int8_gemm}` says; the
        blocks of a matmul's GEMM are sized for `caches`)."""
        ...

    def fuses_epilogue(self, op: Operation, vector_bits: int, int8_gemm: bool) -> bool:
        """Whether `op`'s lowering applies an elementwise consumer in its own stores."""
        ...


PLANNERS: list[LoweringPlanner] = []
"""Registered by the lowering modules (top_to_loop_nn) when they are imported."""


@dataclass
class Epilogue:
    """An elementwise single-output `top.generic` (identity output map) that its producer's
    lowering applies when storing: `body` is a detached copy of the generic's body, `inputs`
    and `maps` its inputs (`inputs[fused]` is the producer's result), `result` the value
    whose buffer receives the output."""

    body: Region
    inputs: list[SSAValue]
    maps: tuple[AffineMap, ...]
    fused: int
    result: SSAValue

    def arguments(
        self, value: SSAValue, read: Callable[[SSAValue, AffineMap], SSAValue]
    ) -> dict[SSAValue, SSAValue]:
        """The body's arguments bound: the producer's to `value`, each other one the body
        uses to `read(input, map)`."""
        bound: dict[SSAValue, SSAValue] = {}
        for i, (arg, source, amap) in enumerate(
            zip(self.body.block.args, self.inputs, self.maps, strict=False)
        ):
            if i == self.fused:
                bound[arg] = value
            elif arg.uses:
                bound[arg] = read(source, amap)
        return bound


def fusable_epilogue(op: top.GenericOp, vector_bits: int, int8_gemm: bool) -> OpResult | None:
    """The producer result `op` can be applied to as an epilogue: `op` is elementwise
    (parallel, one output with the identity map, a body using only its arguments), reads
    the result once through the identity map and is its only user, has its type (or its
    shape, for integer sums: an int8 kernel's i32 requantized), the producer's planner
    accepts, and every other input is ready when the producer runs, or can be made so
    (`hoistable`: a residual computed between producer and consumer)."""
    maps = op.maps()
    rank = len(op.iterator_types)
    identity = AffineMap.identity(rank)
    if len(op.res) != 1 or maps[len(op.inputs)] != identity or needs_init(op):
        return None
    if writes_nothing(op) or any(isinstance(o, IndexOp) for o in op.body.block.ops):
        return None
    if any(it.data != top.IteratorType.PARALLEL for it in op.iterator_types):
        return None
    body_values = {*op.body.block.args, *(r for o in op.body.block.ops for r in o.results)}
    if any(v not in body_values for o in op.body.block.ops for v in o.operands):
        return None
    for value, amap in zip(op.inputs, maps, strict=False):
        if not isinstance(value, OpResult) or not is_top_op(value.op):
            continue
        producer = value.op
        if (
            amap != identity
            or not _same_or_integer_sums(value.type, op.res[0].type)
            or [u.operation for u in value.uses] != [op]
            or not any(p.fuses_epilogue(producer, vector_bits, int8_gemm) for p in PLANNERS)
        ):
            continue
        block = producer.parent_block()
        if block is None or block is not op.parent_block():
            continue
        others = [other for other in op.inputs if other is not value]
        if all(hoistable(v, producer, vector_bits, int8_gemm) is not None for v in others):
            return value
    return None


def _same_or_integer_sums(produced: Attribute, consumed: Attribute) -> bool:
    """Whether an epilogue producing `consumed` may take a producer result of type
    `produced`: the same type, or integer sums of the same shape (their lowering writes
    the epilogue's result only, never a buffer of the sums)."""
    if produced == consumed:
        return True
    return (
        isa(produced, TensorType[Attribute])
        and isa(consumed, TensorType[Attribute])
        and isinstance(produced.get_element_type(), IntegerType)
        and produced.get_shape() == consumed.get_shape()
    )


def hoistable(
    value: SSAValue, producer: Operation, vector_bits: int, int8_gemm: bool
) -> list[Operation] | None:
    """The ops, in order, that must move before `producer` for `value` to be ready when it
    runs (none when it already is; `move_before`), or None when they cannot: each is an
    `arith.constant` or a top op (no nested control flow) of `producer`'s block that is not
    itself a producer applying epilogues (its own consumer may rely on where it is; this
    also keeps out everything computed from `producer`)."""
    if _defined_before(value, producer):
        return []
    op = value.owner
    if not isinstance(op, Operation) or op.parent is not producer.parent:
        return None
    if not (isinstance(op, arith.ConstantOp) or is_top_op(op) and _without_control_flow(op)):
        return None
    if any(p.fuses_epilogue(op, vector_bits, int8_gemm) for p in PLANNERS):
        return None
    needed: list[Operation] = []
    for operand in op.operands:
        before = hoistable(operand, producer, vector_bits, int8_gemm)
        if before is None:
            return None
        needed += before
    return [*dict.fromkeys(needed), op]


def _without_control_flow(op: Operation) -> bool:
    return not op.regions or isinstance(op, top.GenericOp)


def move_before(ops: list[Operation], producer: Operation) -> None:
    """Move `ops` (in their order) up before `producer`: the residual of a residual add
    and what it is computed from, e.g. a channel pad, a relu, their fill and constants."""
    for op in dict.fromkeys(ops):
        op.detach()
        Rewriter.insert_op(op, InsertPoint.before(producer))


def _defined_before(value: SSAValue, op: Operation) -> bool:
    """Whether `value`'s buffer exists where `op` runs: arguments and constants (carved
    from the weights at the function's start, wherever the importer put their op)
    always."""
    if isinstance(value, BlockArgument) or isinstance(value.owner, ConstantOp):
        return True
    owner = value.owner
    assert isinstance(owner, Operation)
    return owner.parent is op.parent and owner.is_before_in_block(op)
