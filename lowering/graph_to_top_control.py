"""`convert-graph-to-top` for ONNX control flow: If, Loop and Scan become `top.if` and
`top.loop` (dialects/top_control.py), their subgraphs moving along as the regions.

    graph.if %c then_branch {A} else_branch {B}   ->  top.if %c {A} else {B}
    graph.loop %m, %c, %v body {F}                ->  top.loop %m, %c iter_args(%v) {F}
    graph.scan %s, %xs body {F}                   ->  top.loop %n, %true iter_args(%s) {
                                                        %x = top.gather %xs[%i] axis 0; F }

Scan inputs are first transposed so their scan axis leads (and reversed by a constant gather
when scanned backwards); scan outputs, stacked along dim 0 by `top.loop`, are reversed and
transposed back. Static shapes only: the types of subgraph values are inferred first
(`type_block_arguments`, `type_control_results`, called by `refine_result_types`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
from xdsl.dialects.builtin import DYNAMIC_INDEX, TensorType, UnrankedTensorType, i1, i64
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.rewriter import Rewriter
from xdsl.utils.hints import isa

from lamina.dialects import graph, top
from lamina.dialects.top_control import IfOp, LoopOp, RegionYieldOp
from lamina.lowering.graph_to_top_common import (
    Emitter,
    GraphLowering,
    constant_value,
    elt_of,
    is_none,
    shape_of,
)

CONTROL_OPS = (graph.IfOp, graph.LoopOp, graph.ScanOp)

INT64_MAX = np.iinfo(np.int64).max


def _static_type(t: Attribute) -> TensorType[Attribute] | None:
    if isa(t, TensorType[Attribute]) and DYNAMIC_INDEX not in t.get_shape():
        return t
    return None


def _retype(value: SSAValue, new: Attribute) -> None:
    """Give a value of unknown or dynamic shape the static type `new` if they agree (same
    element type; same rank and known dims when the old type is ranked)."""
    old = value.type
    if _static_type(old) is not None or _static_type(new) is None:
        return
    new_type = cast(TensorType[Attribute], new)
    if isa(old, TensorType[Attribute]):
        known, shape = old.get_shape(), new_type.get_shape()
        if len(known) != len(shape) or any(
            k not in (DYNAMIC_INDEX, n) for k, n in zip(known, shape, strict=True)
        ):
            return
    elif not isa(old, UnrankedTensorType[Attribute]):
        return
    if old.element_type == new_type.get_element_type():
        Rewriter.replace_value_with_new_type(value, new)


def _terminator_operands(region: Region) -> list[SSAValue]:
    last = region.block.last_op
    return list(last.operands) if last is not None else []


def _scan_attributes(op: graph.ScanOp) -> tuple[int, list[int], list[int], list[int], list[int]]:
    """(number of states, input axes, input reversed flags, output axes, output reversed)."""
    attrs = graph.onnx_attributes(op)
    n_inputs = op.num_scan_inputs.value.data
    n_states = len(op.operands) - n_inputs
    n_outputs = len(op.results) - n_states

    def ints(name: str, n: int) -> list[int]:
        values = attrs.get(name)
        if values is None:
            return [0] * n
        return [int(v) for v in cast(Sequence[int], values)]

    return (
        n_states,
        ints("scan_input_axes", n_inputs),
        ints("scan_input_directions", n_inputs),
        ints("scan_output_axes", n_outputs),
        ints("scan_output_directions", n_outputs),
    )


def _scan_length(op: graph.ScanOp) -> int | None:
    n_states, in_axes, *_ = _scan_attributes(op)
    inputs = op.operands[n_states:]
    if not inputs or _static_type(inputs[0].type) is None:
        return None
    shape = shape_of(inputs[0])
    return shape[in_axes[0] % len(shape)]


def type_block_arguments(op: Operation) -> None:
    """Static types for the body arguments of a Loop or Scan whose operands are static."""
    if isinstance(op, graph.LoopOp):
        i, c, *carried = op.body.block.args
        _retype(i, TensorType(i64, []))
        _retype(c, TensorType(i1, []))
        for arg, init in zip(carried, op.v_initial, strict=False):
            _retype(arg, init.type)
    elif isinstance(op, graph.ScanOp):
        n_states, in_axes, *_ = _scan_attributes(op)
        args = op.body.block.args
        for arg, value in zip(args, op.operands, strict=False):
            if arg.index < n_states:
                _retype(arg, value.type)
            elif (t := _static_type(value.type)) is not None:
                shape = list(t.get_shape())
                del shape[in_axes[arg.index - n_states] % len(shape)]
                _retype(arg, TensorType(t.get_element_type(), shape))


def type_control_results(op: Operation) -> None:
    """Static result types of an If (both branches yield one type), Loop or Scan."""
    if isinstance(op, graph.IfOp):
        then, other = _terminator_operands(op.then_branch), _terminator_operands(op.else_branch)
        for result, a, b in zip(op.results, then, other, strict=False):
            if a.type == b.type:
                _retype(result, a.type)
    elif isinstance(op, graph.LoopOp):
        yielded = _terminator_operands(op.body)[1:]
        n = len(op.v_initial)
        for result, init in zip(op.results[:n], op.v_initial, strict=False):
            _retype(result, init.type)
        trips = None if is_none(op.m) else constant_value(op.m)
        for result, element in zip(op.results[n:], yielded[n:], strict=False):
            if trips is not None and (t := _static_type(element.type)) is not None:
                rows = max(int(trips.reshape(-1)[0]), 0)
                _retype(result, TensorType(t.get_element_type(), [rows, *t.get_shape()]))
    elif isinstance(op, graph.ScanOp):
        _type_scan_results(op)


def _type_scan_results(op: graph.ScanOp) -> None:
    n_states, _, _, out_axes, _ = _scan_attributes(op)
    yielded = _terminator_operands(op.body)
    length = _scan_length(op)
    for result, init in zip(op.results[:n_states], op.operands[:n_states], strict=False):
        _retype(result, init.type)
    for k, (result, element) in enumerate(
        zip(op.results[n_states:], yielded[n_states:], strict=False)
    ):
        if length is not None and (t := _static_type(element.type)) is not None:
            shape = list(t.get_shape())
            shape.insert(out_axes[k] % (len(shape) + 1), length)
            _retype(result, TensorType(t.get_element_type(), shape))


def _check_tensors(e: Emitter, op: Operation) -> None:
    values = [*op.operands, *op.results, *(a for r in op.regions for a in r.block.args)]
    for value in values:
        if not isinstance(value.type, TensorType | UnrankedTensorType) and not is_none(value):
            raise e.fail(f"{value.type} values (sequences, optionals) in control flow")
        if not is_none(value):
            e.static(value)


def _constant(e: Emitter, array: np.ndarray) -> SSAValue:
    return e.emit(graph.ConstantOp.from_array(array))


def _emit(e: Emitter, op: Operation) -> list[SSAValue]:
    """Emit an op of any number of results; returns them."""
    op.location = e.source.location
    e.ops.append(op)
    return list(op.results)


class YieldLowering(GraphLowering):
    """graph.yield -> top.region_yield (its parent becomes a top.if or top.loop)."""

    source = (graph.YieldOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        return _emit(e, RegionYieldOp(*op.operands))


class IfLowering(GraphLowering):
    """graph.if -> top.if with the same branches; both yield the result types."""

    source = (graph.IfOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        assert isinstance(op, graph.IfOp)
        for name, region in (("then", op.then_branch), ("else", op.else_branch)):
            yielded = [v.type for v in _terminator_operands(region)]
            if yielded != [r.type for r in op.results]:
                raise e.fail(
                    f"the {name} branch yields ({', '.join(map(str, yielded))}), not the "
                    f"result types ({', '.join(str(r.type) for r in op.results)}): branches "
                    "of different shapes"
                )
        _check_tensors(e, op)
        result_types = [r.type for r in op.results]
        other = op.detach_region(op.else_branch)  # the last first: indices shift
        then = op.detach_region(op.then_branch)
        return _emit(e, IfOp(op.cond, result_types, then, other))


def _never_stops_early(op: graph.LoopOp) -> bool:
    """The condition stays true: absent or constant true, passed through by the body."""
    initial = None if is_none(op.cond) else constant_value(op.cond)
    if initial is not None and not bool(initial.reshape(-1)[0]):
        return False
    yielded = _terminator_operands(op.body)[0]
    while isinstance(yielded.owner, graph.IdentityOp):
        yielded = yielded.owner.operands[0]
    next_value = constant_value(yielded)
    passes_through = yielded is op.body.block.args[1] and (is_none(op.cond) or initial is not None)
    return passes_through or (next_value is not None and bool(next_value.reshape(-1)[0]))


class LoopLowering(GraphLowering):
    """graph.loop -> top.loop (absent trip count: INT64_MAX; absent condition: true)."""

    source = (graph.LoopOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        assert isinstance(op, graph.LoopOp)
        n = len(op.v_initial)
        if len(op.results) > n and (constant_value(op.m) is None or not _never_stops_early(op)):
            raise e.fail(
                "scan outputs of a Loop without a constant trip count, or whose condition may "
                "stop it early, have a run-time length"
            )
        _check_tensors(e, op)
        yielded = _terminator_operands(op.body)
        if [v.type for v in yielded[1 : 1 + n]] != [v.type for v in op.v_initial]:
            raise e.fail("loop-carried values that change type from one iteration to the next")
        trips = op.m if not is_none(op.m) else _constant(e, np.array(INT64_MAX, np.int64))
        cond = op.cond if not is_none(op.cond) else _constant(e, np.array(True))
        result_types = [r.type for r in op.results]
        body = op.detach_region(op.body)
        return _emit(e, LoopOp(trips, cond, list(op.v_initial), result_types, body))


def _move_scan_axis(e: Emitter, x: SSAValue, axis: int, reverse: bool) -> SSAValue:
    """`x` with dim `axis` moved to the front, reversed along it if `reverse`."""
    shape = shape_of(x)
    if axis:
        perm = [axis, *(d for d in range(len(shape)) if d != axis)]
        moved = TensorType(elt_of(x), [shape[d] for d in perm])
        x = e.emit(top.TransposeOp(x, perm, moved))
    return _reverse_leading(e, x) if reverse else x


def _reverse_leading(e: Emitter, x: SSAValue) -> SSAValue:
    rows = shape_of(x)[0]
    indices = _constant(e, np.arange(rows - 1, -1, -1, dtype=np.int64))
    return e.emit(top.GatherOp(x, indices, x.type, axis=0))


def _restore_scan_axis(e: Emitter, x: SSAValue, axis: int, reverse: bool) -> SSAValue:
    """The inverse of `_move_scan_axis`: dim 0 of `x` moves to `axis`."""
    if reverse:
        x = _reverse_leading(e, x)
    if not axis:
        return x
    shape = shape_of(x)
    perm = [*range(1, axis + 1), 0, *range(axis + 1, len(shape))]
    moved = TensorType(elt_of(x), [shape[d] for d in perm])
    return e.emit(top.TransposeOp(x, perm, moved))


class ScanLowering(GraphLowering):
    """graph.scan -> top.loop over the scan length: each iteration gathers slice `i` of
    every (axis-leading) scan input; the stacked outputs go back to their axes."""

    source = (graph.ScanOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        assert isinstance(op, graph.ScanOp)
        _check_tensors(e, op)
        n_states, in_axes, in_reversed, out_axes, out_reversed = _scan_attributes(op)
        states, inputs = list(op.operands[:n_states]), list(op.operands[n_states:])
        lengths = {shape_of(x)[a % len(shape_of(x))] for x, a in zip(inputs, in_axes, strict=True)}
        if len(lengths) != 1:
            raise e.fail(f"scan inputs of different lengths {sorted(lengths)}")
        (length,) = lengths
        leading = [
            _move_scan_axis(e, x, a % len(shape_of(x)), bool(r))
            for x, a, r in zip(inputs, in_axes, in_reversed, strict=True)
        ]
        body = self._body(op, n_states, leading)
        trips = _constant(e, np.array(length, np.int64))
        cond = _constant(e, np.array(True))
        elements = _terminator_operands(body)[1 + n_states :]
        stacked = [TensorType(elt_of(v), [length, *shape_of(v)]) for v in elements]
        loop = LoopOp(trips, cond, states, [s.type for s in states] + stacked, body)
        results = _emit(e, loop)
        outputs = [
            _restore_scan_axis(e, value, a % len(shape_of(value)), bool(r))
            for value, a, r in zip(results[n_states:], out_axes, out_reversed, strict=True)
        ]
        return [*results[:n_states], *outputs]

    @staticmethod
    def _body(op: graph.ScanOp, n_states: int, leading: list[SSAValue]) -> Region:
        """The Scan body as a top.loop body: (i, cond, states...) in, the slices gathered
        at `i` replacing the scan element arguments, the condition yielded unchanged."""
        old = op.body.block
        block = Block(
            arg_types=[
                TensorType(i64, []),
                TensorType(i1, []),
                *(a.type for a in old.args[:n_states]),
            ]
        )
        i, cond = block.args[0], block.args[1]
        for old_arg, new_arg in zip(old.args[:n_states], block.args[2:], strict=True):
            old_arg.replace_all_uses_with(new_arg)
        for old_arg, x in zip(old.args[n_states:], leading, strict=True):
            gather = top.GatherOp(x, i, old_arg.type, axis=0)
            block.add_op(gather)
            old_arg.replace_all_uses_with(gather.result)
        for inner in list(old.ops):
            inner.detach()
            block.add_op(inner)
        terminator = block.last_op
        assert terminator is not None
        terminator.operands = [cond, *terminator.operands]  # YieldLowering converts it
        return Region(block)


CONTROL_LOWERINGS: list[type[GraphLowering]] = [
    YieldLowering,
    IfLowering,
    LoopLowering,
    ScanLowering,
]
