"""`convert-top-to-loop` for control flow: `top.if` -> `loop.if`, `top.loop` -> `loop.while`
(dialects/loop_control.py), the regions moving along and writing the result buffers.

    %y = top.if %c {A; yield %a} else {B; yield %b}
 -> %cv = loop.load %c[]; loop.if %cv {A writing %y's buffer; loop.end} else {...}

    %r, %s = top.loop %m, %c iter_args(%init) {^(%i, %ci, %acc): F; yield %cn, %next, %e}
 -> copy %init -> R; %i_buf[] = 0; %c_buf[] = %c
    loop.while { loop.condition (%i_buf[] < %m[]) and %c_buf[] } do {
      F (reading %acc in R); S[%i_buf[], ...] = %e; R = %next; %c_buf = %cn; %i_buf[] += 1
      loop.end }

Bufferization: the results of both ops are buffers like any `top` op's. Inside a `top.if`
region the yielded value of a region op is computed straight into the result buffer (only
one region runs), other yielded values are copied there at the region's end. A `top.loop`
body reads its carried values in the result buffers; yielded values live in buffers of
their own and are copied at the end of each iteration (through a temporary when a yielded
value is a body argument the same copies overwrite), scan elements into row `i`.
"""

from __future__ import annotations

from xdsl.dialects import arith
from xdsl.dialects.builtin import IndexType, MemRefType, i64
from xdsl.ir import Block, BlockArgument, Operation, Region, SSAValue
from xdsl.pattern_rewriter import PatternRewriter, op_type_rewrite_pattern
from xdsl.rewriter import InsertPoint, Rewriter

from lamina.dialects.loop import AllocOp
from lamina.dialects.loop_control import ConditionOp, EndOp, IfOp, WhileOp
from lamina.dialects.top_control import IfOp as TopIfOp
from lamina.dialects.top_control import LoopOp as TopLoopOp
from lamina.lowering.bufferize import (
    REGION_BUFFERS,
    BufferGroup,
    Buffers,
    TopLowering,
    assign_block,
    buffer_type,
)
from lamina.lowering.top_to_loop_build import Emitter, copy, element_of, shape_of


def _scalar(em: Emitter, buffer: SSAValue) -> SSAValue:
    """The one element of a buffer of one element (rank 0, or all dims 1)."""
    return em.load(buffer, [em.index(0)] * len(shape_of(buffer)))


def _set_scalar(em: Emitter, value: SSAValue, buffer: SSAValue) -> None:
    em.store(value, buffer, [em.index(0)] * len(shape_of(buffer)))


def _alloc_before(op: Operation, value: SSAValue, name: str) -> SSAValue:
    """A buffer for the body argument `value` (a one-element tensor), before `op`."""
    alloc = AllocOp(buffer_type(value.type, op))
    alloc.buffer.name_hint = name
    Rewriter.insert_op(alloc, InsertPoint.before(op))
    return alloc.buffer


class ControlBufferizer:
    """Buffers inside the regions of `top.if` and `top.loop` (see the module doc)."""

    def assign_regions(
        self,
        op: Operation,
        buffers: Buffers,
        groups: dict[SSAValue, BufferGroup],
        vector_bits: int,
    ) -> bool:
        if isinstance(op, TopIfOp):
            targets: list[SSAValue | None] = [buffers.of[r] for r in op.res]
            for region in (op.then_region, op.else_region):
                copies = assign_block(region.block, buffers, targets, vector_bits, groups)
                end = region.block.last_op
                assert end is not None
                em = Emitter(InsertPoint.before(end), buffers.constants)
                for value, k in reversed(copies):
                    copy(em, buffers.buffer(value, end), buffers.of[op.res[k]], vector_bits)
            return True
        if isinstance(op, TopLoopOp):
            i, c, *carried = op.body.block.args
            buffers.of[i] = _alloc_before(op, i, "iteration")
            buffers.of[c] = _alloc_before(op, c, "running")
            for arg, result in zip(carried, op.carried, strict=True):
                buffers.of[arg] = buffers.of[result]
            nothing: list[SSAValue | None] = [None] * (1 + len(op.res))
            assign_block(op.body.block, buffers, nothing, vector_bits, groups)
            return True
        return False


REGION_BUFFERS.append(ControlBufferizer())


def _move_block(region: Region) -> Block:
    """`region`'s block, detached, its `top.region_yield` replaced by `loop.end`."""
    block = region.detach_block(0)
    end = block.last_op
    assert end is not None
    block.erase_op(end)
    block.add_op(EndOp())
    return block


class IfLowering(TopLowering):
    """top.if -> loop.if on the loaded condition; the regions are lowered afterwards."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: TopIfOp, rewriter: PatternRewriter) -> None:
        em = self.emitter(op)
        cond = _scalar(em, self.buffer(op.cond, op))
        else_block = _move_block(op.else_region)  # the last first: indices shift
        then_block = _move_block(op.then_region)
        em.emit(IfOp(cond, Region(then_block), Region(else_block)))
        self.buffers.pending += [then_block, else_block]
        rewriter.erase(op)


class LoopLowering(TopLowering):
    """top.loop -> loop.while over an iteration counter and a running flag in buffers."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: TopLoopOp, rewriter: PatternRewriter) -> None:
        em = self.emitter(op)
        i, c = op.body.block.args[:2]
        counter, running = self.buffer(i, op), self.buffer(c, op)
        for init, result in zip(op.inits, op.carried, strict=True):
            if (source := self.buffer(init, op)) is not self.buffer(result, op):
                copy(em, source, self.buffer(result, op), self.vector_bits)
        _set_scalar(em, em.const(0, i64), counter)
        _set_scalar(em, _scalar(em, self.buffer(op.cond, op)), running)
        before = Block()
        test = Emitter(InsertPoint.at_end(before), self.buffers.constants)
        trips = _scalar(test, self.buffer(op.max_trips, op))
        below = test.value(arith.CmpiOp(_scalar(test, counter), trips, "slt"))
        going = test.value(arith.AndIOp(below, _scalar(test, running)))
        before.add_op(ConditionOp(going))
        body = op.body.block
        yielded = list(body.last_op.operands)  # pyright: ignore[reportOptionalMemberAccess]
        self._write_back(op, body, yielded)
        block = _move_block(op.body)  # convert-top-to-loop drops its arguments once lowered
        em.emit(WhileOp(Region(before), Region(block)))
        self.buffers.pending.append(block)
        rewriter.erase(op)

    def _write_back(self, op: TopLoopOp, body: Block, yielded: list[SSAValue]) -> None:
        """At the end of the body: scan elements into row i of their stacks, yielded
        values into the carried buffers and the flag, then i += 1."""
        end = body.last_op
        assert end is not None
        em = Emitter(InsertPoint.before(end), self.buffers.constants)
        i, c, *carried = body.args
        n = len(carried)
        counter = self.buffer(i, op)
        row = em.value(arith.IndexCastOp(_scalar(em, counter), IndexType()))
        for element, stacked in zip(yielded[1 + n :], op.stacked, strict=True):
            source = self.buffer(element, op)
            with em.nest(shape_of(source)) as ivs:
                em.store(em.load(source, ivs), self.buffer(stacked, op), [row, *ivs])
        targets = [(yielded[0], c), *zip(yielded[1 : 1 + n], carried, strict=True)]
        staged: list[tuple[SSAValue, SSAValue]] = []
        for value, arg in targets:
            source, target = self.buffer(value, op), self.buffer(arg, op)
            if source is target:
                continue
            if isinstance(value, BlockArgument) and value.owner is body:
                temporary = AllocOp(MemRefType(element_of(source), shape_of(source)))
                em.emit(temporary)
                copy(em, source, temporary.buffer, self.vector_bits)
                source = temporary.buffer
            staged.append((source, target))
        for source, target in staged:
            copy(em, source, target, self.vector_bits)
        next_i = em.value(arith.AddiOp(_scalar(em, counter), em.const(1, i64)))
        _set_scalar(em, next_i, counter)


CONTROL_LOWERINGS: list[type[TopLowering]] = [IfLowering, LoopLowering]
