"""LLVM IR for the control flow of loop-level IR (dialects/loop_control.py): basic blocks
and conditional branches. Regions are emitted inline (nests inside them are not outlined:
codegen/llvm_split.py outlines only the function body's own nests).

    loop.if %c {A} else {B}      ->  br i1 %c, label %if.then, label %if.else
                                     if.then: A; br %if.end   if.else: B; br %if.end
    loop.while {C} do {D}        ->  br %while.test
                                     while.test: C; br i1 %go, label %while.body, label %while.end
                                     while.body: D; br %while.test
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xdsl.ir import Block, Operation

from lamina.dialects.loop_control import ConditionOp, EndOp, IfOp, WhileOp

if TYPE_CHECKING:
    from lamina.codegen.llvm_core import FunctionEmitter


def _emit_into(e: FunctionEmitter, block: Block, llvm_block: Any) -> None:
    e.builder.position_at_end(llvm_block)
    e.emit_block(block)


def _if(e: FunctionEmitter, op: IfOp) -> None:
    then_block = e.fn.append_basic_block("if.then")
    else_block = e.fn.append_basic_block("if.else")
    end_block = e.fn.append_basic_block("if.end")
    e.builder.cbranch(e.get(op.cond), then_block, else_block)
    for region, llvm_block in ((op.then_region, then_block), (op.else_region, else_block)):
        _emit_into(e, region.block, llvm_block)
        e.builder.branch(end_block)
    _to_end(e, end_block)


def _while(e: FunctionEmitter, op: WhileOp) -> None:
    test_block = e.fn.append_basic_block("while.test")
    body_block = e.fn.append_basic_block("while.body")
    end_block = e.fn.append_basic_block("while.end")
    e.builder.branch(test_block)
    _emit_into(e, op.before.block, test_block)
    condition = op.before.block.last_op
    assert isinstance(condition, ConditionOp)
    e.builder.cbranch(e.get(condition.cond), body_block, end_block)
    _emit_into(e, op.body.block, body_block)
    e.builder.branch(test_block)
    _to_end(e, end_block)


def _to_end(e: FunctionEmitter, end_block: Any) -> None:
    """Continue after the op, keeping the blocks in reading order."""
    e.fn.basic_blocks.remove(end_block)
    e.fn.basic_blocks.append(end_block)
    e.builder.position_at_end(end_block)


def emit_control_op(e: FunctionEmitter, op: Operation) -> bool:
    """Emit a loop.if / loop.while (their terminators are read by them); False for
    any other op."""
    if isinstance(op, IfOp):
        _if(e, op)
    elif isinstance(op, WhileOp):
        _while(e, op)
    elif not isinstance(op, EndOp | ConditionOp):
        return False
    return True
