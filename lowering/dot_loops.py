"""i8 dot-product reduction loops of loop-level IR, for the ISA passes that turn them into
dot-product instructions (loop-to-neon: `sdot` / `udot`; loop-to-hvx: `vrmpy`; loop-to-x86:
`vpdpbusd`, or `vpmaddubsw` + `vpmaddwd`; loop-to-ocl-dot: OpenCL `char4` dot products):

    %s = loop.for %k = lb to ub step 1 iter_args(%acc = %init) -> (i32) {
      %a = loop.load %A[.., %k] : i8;  %b = loop.load %B[.., %k] : i8
      %p = arith.muli (arith.extsi %a), (arith.extsi %b) : i32      (extui: unsigned)
      loop.yield (arith.addi %acc, %p)
    }
 -> a loop over the first `lanes` * floor((ub - lb) / lanes) iterations, step `lanes`,
    carrying a vector<(lanes / 4) x i32> that each step adds the dot products of 4 byte
    pairs per i32 lane to (of `loop.vload`ed vector<lanes x i8>); one `vector.reduction
    <add>` into %init after it; the original loop runs the remaining iterations (erased
    when none remain). Exact: i32 addition wraps and is associative.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xdsl.dialects import arith, vector
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    VectorType,
)
from xdsl.ir import Block, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter

from lamina.dialects import loop
from lamina.dialects.loop_for import constant_index
from lamina.errors import UnsupportedError
from lamina.targets import Device

i8, i32 = IntegerType(8), IntegerType(32)

DotStep = Callable[[SSAValue, SSAValue, SSAValue], Sequence[Operation]]
"""Builds one step of a dot loop: (accumulator, lhs bytes, rhs bytes) -> the ops whose last
result is the accumulator plus the 4-byte dot products of each lane."""


@dataclass(frozen=True)
class DotLoop:
    """A matched scalar i8 dot-product loop: its two loads and whether they are unsigned."""

    op: loop.ForOp
    lhs: loop.LoadOp
    rhs: loop.LoadOp
    unsigned: bool


def match_dot_loop(op: loop.ForOp) -> DotLoop | None:
    """`op` as a unit-step i8 dot-product reduction into one i32 iter_arg, else None."""
    if constant_index(op.step) != 1 or len(op.iter_args) != 1 or op.iter_args[0].type != i32:
        return None
    body = op.body.block
    iv, acc = body.args
    ops = list(body.ops)
    if len(ops) != 7 or not isinstance(ops[-1], loop.YieldOp):
        return None
    add = ops[-1].operands[0].owner
    if not isinstance(add, arith.AddiOp) or acc not in (add.lhs, add.rhs):
        return None
    mul = (add.rhs if add.lhs is acc else add.lhs).owner
    if not isinstance(mul, arith.MuliOp):
        return None
    exts = [mul.lhs.owner, mul.rhs.owner]
    kinds = {type(e) for e in exts}
    if kinds not in ({arith.ExtSIOp}, {arith.ExtUIOp}):
        return None
    loads = [e.operands[0].owner for e in exts if isinstance(e, arith.ExtSIOp | arith.ExtUIOp)]
    if len(loads) != 2 or not all(_is_row_load(ld, iv, body) for ld in loads):
        return None
    lhs, rhs = loads
    assert isinstance(lhs, loop.LoadOp) and isinstance(rhs, loop.LoadOp)
    return DotLoop(op, lhs, rhs, kinds == {arith.ExtUIOp})


def _is_row_load(op: Operation | Block, iv: SSAValue, body: Block) -> bool:
    """An i8 `loop.load` indexed by `iv` last and by values from outside the loop before."""
    if not isinstance(op, loop.LoadOp) or op.result.type != i8 or not op.indices:
        return False
    if op.indices[-1] is not iv:
        return False
    return all(_defined_outside(v, body) for v in op.indices[:-1])


def _defined_outside(value: SSAValue, body: Block) -> bool:
    owner = value.owner
    block = owner if isinstance(owner, Block) else owner.parent_block()
    while block is not None:
        if block is body:
            return False
        parent = block.parent_op()
        block = parent.parent_block() if parent is not None else None
    return True


def rewrite_dot_loop(dot: DotLoop, lanes: int, step: DotStep) -> bool:
    """Split a matched loop into a main loop of `lanes`-byte `step`s and a scalar tail (the
    module doc); False when its bounds are not constants or it runs fewer than `lanes`
    iterations."""
    op = dot.op
    lb, ub = constant_index(op.lb), constant_index(op.ub)
    if lb is None or ub is None or ub - lb < lanes:
        return False
    split = lb + (ub - lb) // lanes * lanes
    acc_type = VectorType(i32, [lanes // 4])
    zero = arith.ConstantOp(DenseIntOrFPElementsAttr.from_list(acc_type, [0]))
    c_lb = arith.ConstantOp(IntegerAttr(lb, IndexType()))
    c_split = arith.ConstantOp(IntegerAttr(split, IndexType()))
    c_step = arith.ConstantOp(IntegerAttr(lanes, IndexType()))
    main = loop.ForOp(c_lb, c_split, c_step, [zero])
    k, acc = main.body.block.args
    operand_type = VectorType(i8, [lanes])
    lhs = loop.VLoadOp(dot.lhs.buffer, [*dot.lhs.indices[:-1], k], operand_type)
    rhs = loop.VLoadOp(dot.rhs.buffer, [*dot.rhs.indices[:-1], k], operand_type)
    added = step(acc, lhs.result, rhs.result)
    main.body.block.add_ops([lhs, rhs, *added, loop.YieldOp(added[-1].results[0])])
    total = vector.ReductionOp.create(
        operands=[main.res[0], op.iter_args[0]],
        result_types=[i32],
        properties={"kind": vector.CombiningKindAttr(vector.CombiningKindFlag.ADD)},
    )
    Rewriter.insert_op([zero, c_lb, c_split, c_step, main, total], InsertPoint.before(op))
    if split == ub:
        op.res[0].replace_all_uses_with(total.results[0])
        Rewriter.erase_op(op)
    else:
        op.operands = [c_split.result, op.ub, op.step, total.results[0]]
    return True


def require_device(pass_name: str, device: Device, supported: bool, need: str) -> None:
    """Refuse a `device` the ISA pass `pass_name` has no instructions for, saying what it
    `need`s."""
    if not supported:
        raise UnsupportedError(f"{pass_name} for device '{device.name}' ({device.triple}): {need}")


def rewrite_dot_loops(
    module: ModuleOp, lanes: int, step: Callable[[DotLoop], DotStep | None]
) -> int:
    """Rewrite every dot-product loop that `step` has an instruction for (None: leave it);
    returns how many were rewritten."""
    matches = [m for op in module.walk() if isinstance(op, loop.ForOp) if (m := match_dot_loop(op))]
    return sum(rewrite_dot_loop(m, lanes, s) for m in matches if (s := step(m)) is not None)
