"""LSTM, GRU and RNN (ONNX) -> top ops, unrolled over the static sequence length:

    proj     = X · Wᵀ                      one top.matmul for every step and direction
    step s:  hr = Hₛ₋₁ · Rᵀ                 one top.matmul, the directions batched
             Hₛ (, Cₛ), Yₛ = gates(proj[s], hr, Hₛ₋₁, Cₛ₋₁)   one fused top.generic
    Y        = concat(Y₀ .. Y_T₋₁)

(GRU without linear_before_reset needs (r ⊙ Hₛ₋₁)·Rₕᵀ: two matmuls and two generics a
step.) The gate formulas, biases, clip and activations are in `graph_to_top_rnn_cells`.

- The state is [D, 1, B, H] throughout (D directions side by side); W, R, B, P are read
  with the gates as a dim of their own, W and R transposed per gate ([D, gates, I, H],
  [D, gates, H, H]: plain matmuls reading rows; folded when they are constants), so the
  projection is [D, gates, T·B, H] and a step's H·Rᵀ [D, gates, B, H]. Y is built as [D, T, B, H] and
  transposed once at the end; layout 1 transposes X and the states at the edges.
- The reverse direction runs forward over X reversed in time; with sequence_lens each
  batch reverses only its first L_b steps (onnxruntime's semantics), and its Y is reversed
  back at the end. Past a sequence's end (step >= L_b) the state keeps its value and Y is 0;
  a batch of length 0 ends with zero states, as in onnxruntime.
- Each step's matmul and gate generic read only that step's buffers (its projection rows
  come through a top.slice), so the nests of every step are the same text and compile
  once through the object cache; only the slices and the concat differ in offsets.
- The sequence length must be static: a dynamic one needs the loop form (top / loop
  level loops), not this unrolling.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import AnyFloat, IntegerType, TensorType, i64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap

from lamina.dialects import graph, top
from lamina.dialects.weights import numpy_dtype
from lamina.lowering.graph_to_top_common import (
    Body,
    Emitter,
    GraphLowering,
    constant_value,
    elt_of,
    is_none,
    tensor_type,
)
from lamina.lowering.graph_to_top_index import dim_map, iota, select_sum
from lamina.lowering.graph_to_top_rnn_cells import (
    Activation,
    Cell,
    gru_reset,
    gru_step,
    lstm_step,
    parse_activations,
    rnn_step,
)

_KINDS: dict[type[Operation], str] = {graph.LSTMOp: "lstm", graph.GRUOp: "gru", graph.RNNOp: "rnn"}
_DEFAULT_ACTIVATIONS = {"lstm": ["Sigmoid", "Tanh", "Tanh"], "gru": ["Sigmoid", "Tanh"],
                        "rnn": ["Tanh"]}  # fmt: skip
_DIRECTIONS = {"forward": (False,), "reverse": (True,), "bidirectional": (False, True)}
"""Direction attribute -> whether each direction runs reversed."""


def _floats(value: object) -> list[float]:
    return [float(v) for v in cast(Sequence[float], value or [])]


def _activations(e: Emitter, kind: str, directions: int) -> tuple[tuple[Activation, ...], ...]:
    attrs = e.attrs()
    names = [str(n) for n in cast(Sequence[str], attrs.get("activations") or [])]
    per_direction = len(_DEFAULT_ACTIVATIONS[kind])
    names = names or _DEFAULT_ACTIVATIONS[kind] * directions
    if len(names) == per_direction and directions == 2:
        names = names * 2
    if len(names) == 2 * per_direction and directions == 1:  # RNN's schema default: 2 Tanh
        names = names[:per_direction]
    if len(names) != per_direction * directions:
        raise e.fail(f"{len(names)} activations for {directions} direction(s)")
    parsed = parse_activations(
        names, _floats(attrs.get("activation_alpha")), _floats(attrs.get("activation_beta"))
    )
    if isinstance(parsed, str):
        raise e.fail(f"activation {parsed}")
    return tuple(
        tuple(parsed[d * per_direction : (d + 1) * per_direction]) for d in range(directions)
    )


def _transpose(e: Emitter, x: SSAValue, perm: Sequence[int]) -> SSAValue:
    shape = e.static(x)
    result = TensorType(elt_of(x), tuple(shape[p] for p in perm))
    return e.emit(top.TransposeOp(x, list(perm), result))


def _slice(e: Emitter, x: SSAValue, offsets: Sequence[int], shape: Sequence[int]) -> SSAValue:
    strides = [1] * len(shape)
    return e.emit(top.SliceOp(x, TensorType(elt_of(x), tuple(shape)), offsets=offsets,
                              strides=strides))  # fmt: skip


class Sequences:
    """Per-batch sequence lengths L: the time reversal key [T, B] (i64) and the step mask
    [T, B] (1 while t < L_b, else 0), constants when L is, both None when every sequence runs
    all T steps (no sequence_lens, or a constant one equal to T)."""

    def __init__(self, e: Emitter, lens: SSAValue, steps: int, element: Attribute) -> None:
        self.e, self.steps = e, steps
        self.batch = e.static(lens)[0] if not is_none(lens) else 0
        known = None if is_none(lens) else constant_value(lens)
        self.full = is_none(lens) or (known is not None and bool(np.all(known == steps)))
        self.may_be_empty = known is None or bool(np.any(known == 0))
        self.reverse_key: SSAValue | None = None
        self.mask: SSAValue | None = None
        if self.full:
            return
        if known is not None:
            t = np.arange(steps)[:, None]
            length = known.astype(np.int64)[None, :]
            key = np.where(t < length, length - 1 - t, t)
            self.reverse_key = e.emit(graph.ConstantOp.from_array(key, "reverse_key"))
            mask = (t < length).astype(numpy_dtype(element))
            self.mask = e.emit(graph.ConstantOp.from_array(mask, "step_mask"))
        else:
            self.reverse_key, self.mask = self._computed(lens, element)

    def _computed(self, lens: SSAValue, element: Attribute) -> tuple[SSAValue, SSAValue]:
        """key[t, b] = t < L_b ? L_b - 1 - t : t and mask[t, b] = t < L_b, from run-time L."""
        e, steps = self.e, self.steps
        maps = [dim_map(2, 0), dim_map(2, 1)]
        inputs = [iota(e, steps), lens]

        def length(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            width = cast(IntegerType, v[1].type).bitwidth
            return v[1] if width == 64 else b.emit(arith.ExtSIOp(v[1], i64))

        def key(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            n = length(b, v)
            inside = b.cmp("olt", v[0], n)
            return b.select(inside, b.sub(b.sub(n, v[0]), b.like(1, n)), v[0])

        def mask(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            inside = b.cmp("olt", v[0], length(b, v))
            return b.select(inside, b.const(1, element), b.const(0, element))

        shape = (steps, self.batch)
        return (e.generic(inputs, TensorType(i64, shape), key, maps),
                e.generic(inputs, TensorType(element, shape), mask, maps))  # fmt: skip

    def reverse(self, x: SSAValue, time_axis: int, batch_axis: int) -> SSAValue:
        """`x` with each batch's sequence reversed in time."""
        shape = self.e.static(x)
        result = TensorType(elt_of(x), shape)
        if self.reverse_key is None:
            offsets = [shape[d] - 1 if d == time_axis else 0 for d in range(len(shape))]
            strides = [-1 if d == time_axis else 1 for d in range(len(shape))]
            return self.e.emit(top.SliceOp(x, result, offsets=offsets, strides=strides))
        dims = (AffineDimExpr(time_axis), AffineDimExpr(batch_axis))
        key_map = AffineMap(len(shape) + 1, 0, dims)
        return select_sum(self.e, x, time_axis, result, (self.reverse_key, key_map), "oeq")

    def zero_if_empty(self, state: SSAValue) -> SSAValue:
        """A final state [D, 1, B, H] with the batches whose length is 0 zeroed (as
        onnxruntime returns them); step 0's mask says which are not."""
        if self.mask is None or not self.may_be_empty:
            return state
        running = _slice(self.e, self.mask, [0, 0], [1, self.batch])
        maps = [AffineMap.identity(4), AffineMap(4, 0, (AffineDimExpr(1), AffineDimExpr(2)))]

        def body(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            return b.select(b.cmp("ogt", v[1], b.like(0.5, v[1])), v[0], b.like(0, v[0]))

        return self.e.generic([state, running], tensor_type(state), body, maps)

    def step_mask(self, step: int) -> SSAValue | None:
        if self.mask is None:
            return None
        return _slice(self.e, self.mask, [step, 0], [1, self.batch])


def _by_gate(e: Emitter, value: SSAValue, gates: int) -> SSAValue:
    """[D, gates·H, ...] -> [D, gates, H, ...]: folded for a constant, else a top.reshape."""
    shape = e.static(value)
    grouped = (shape[0], gates, shape[1] // gates, *shape[2:])
    known = constant_value(value)
    if known is not None:
        return e.emit(graph.ConstantOp.from_array(known.reshape(grouped), "rnn_weights"))
    return e.reshape(value, grouped)


def _transposed_by_gate(e: Emitter, value: SSAValue, gates: int) -> SSAValue:
    """W or R [D, gates·H, K] -> [D, gates, K, H], the right operand of a plain matmul (the
    matmul lowering reads a transposed 4-D operand with strided loads): folded for a
    constant, else a top.reshape and a top.transpose."""
    d, rows, k = e.static(value)
    known = constant_value(value)
    if known is not None:
        moved = known.reshape(d, gates, rows // gates, k).transpose(0, 1, 3, 2)
        return e.emit(graph.ConstantOp.from_array(np.ascontiguousarray(moved), "rnn_weights"))
    return _transpose(e, _by_gate(e, value, gates), [0, 1, 3, 2])


def _cell(op: Operation, e: Emitter, kind: str, hidden: int, directions: int) -> Cell:
    attrs = e.attrs()
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[kind]
    bias, peepholes = op.operands[3], op.operands[7] if kind == "lstm" else None
    clip = attrs.get("clip")
    return Cell(
        kind, hidden, directions, _activations(e, kind, directions),
        None if clip is None else float(cast(float, clip)),
        None if is_none(bias) else _by_gate(e, bias, 2 * gates),
        peepholes=None if peepholes is None or is_none(peepholes) else _by_gate(e, peepholes, 3),
        input_forget=bool(attrs.get("input_forget")),
        linear_before_reset=bool(attrs.get("linear_before_reset")),
    )  # fmt: skip


class RecurrentLowering(GraphLowering):
    """LSTM / GRU / RNN unrolled over time as in the module doc."""

    source = (graph.LSTMOp, graph.GRUOp, graph.RNNOp)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        kind = _KINDS[type(op)]
        x, w, r, _, lens, initial_h = op.operands[:6]
        attrs = e.attrs()
        layout = int(cast(int, attrs.get("layout") or 0))
        reversed_ = _DIRECTIONS.get(str(attrs.get("direction") or "forward"))
        if reversed_ is None or layout not in (0, 1):
            raise e.fail(f"direction {attrs.get('direction')}, layout {layout}")
        if layout == 1:
            x = _transpose(e, x, [1, 0, 2])
        steps, batch, _ = e.static(x)
        directions = e.static(w)[0]
        hidden = e.static(r)[2]
        element = elt_of(x)
        if directions != len(reversed_) or not isinstance(element, AnyFloat):
            raise e.fail(f"W {w.type} for direction {attrs.get('direction')}, X {x.type}")
        cell = _cell(op, e, kind, hidden, directions)
        sequences = Sequences(e, lens, steps, element)
        proj = self._project(e, x, _transposed_by_gate(e, w, cell.gates), reversed_, sequences)
        state = (directions, 1, batch, hidden)
        h = self._initial(e, initial_h, state, layout)
        c = self._initial(e, op.operands[6], state, layout) if kind == "lstm" else None
        outputs: list[SSAValue] = []
        recurrent = self._recurrent_weights(e, _transposed_by_gate(e, r, cell.gates), cell)
        step_shape = (directions, cell.gates, batch, hidden)
        for step in range(steps):
            proj_s = _slice(e, proj, [0, 0, step * batch, 0], step_shape)
            mask = sequences.step_mask(step)
            h, c, y = self._step(e, cell, recurrent, proj_s, h, c, mask)
            outputs.append(y)
        return self._results(op, e, outputs, h, c, reversed_, sequences, layout)

    @staticmethod
    def _project(
        e: Emitter, x: SSAValue, w: SSAValue, reversed_: tuple[bool, ...], seqs: Sequences
    ) -> SSAValue:
        """X · Wᵀ for every step: [D, gates, T·B, H], reverse directions' X reversed."""
        steps, batch, size = e.static(x)
        flat = (1, 1, steps * batch, size)
        inputs = [e.reshape(seqs.reverse(x, 0, 1) if rev else x, flat) for rev in reversed_]
        directions, gates, _, hidden = e.static(w)
        stacked = (
            inputs[0]
            if len(inputs) == 1
            else e.emit(
                top.ConcatOp(inputs, TensorType(elt_of(x), (directions, *flat[1:])), axis=0)
            )
        )
        result = TensorType(elt_of(x), (directions, gates, steps * batch, hidden))
        return e.emit(top.MatmulOp(stacked, w, result))

    @staticmethod
    def _initial(e: Emitter, value: SSAValue, state: tuple[int, ...], layout: int) -> SSAValue:
        if is_none(value):
            return e.fill(TensorType(elt_of(e.source.operands[0]), state))
        if layout == 1:
            value = _transpose(e, value, [1, 0, 2])
        return e.reshape(value, state)

    @staticmethod
    def _recurrent_weights(e: Emitter, r: SSAValue, cell: Cell) -> tuple[SSAValue, SSAValue | None]:
        """R [D, gates, H, H] for the step's first matmul; GRU without linear_before_reset
        splits off Rₕ for the second."""
        if cell.kind != "gru" or cell.linear_before_reset:
            return r, None
        d, h = cell.directions, cell.hidden
        return _slice(e, r, [0, 0, 0, 0], [d, 2, h, h]), _slice(e, r, [0, 2, 0, 0], [d, 1, h, h])

    @staticmethod
    def _step(
        e: Emitter, cell: Cell, recurrent: tuple[SSAValue, SSAValue | None], proj: SSAValue,
        h: SSAValue, c: SSAValue | None, mask: SSAValue | None,
    ) -> tuple[SSAValue, SSAValue | None, SSAValue]:  # fmt: skip
        r, r_h = recurrent
        d, _, batch, hidden = e.static(h)
        hr_type = TensorType(elt_of(h), (d, e.static(r)[1], batch, hidden))
        hr = e.emit(top.MatmulOp(h, r, hr_type))
        if cell.kind == "lstm" and c is not None:
            h, c, y = lstm_step(e, cell, proj, hr, h, c, mask)
            return h, c, y
        if cell.kind == "rnn":
            h, y = rnn_step(e, cell, proj, hr, h, mask)
            return h, None, y
        hh = None
        if r_h is not None:
            reset = gru_reset(e, cell, proj, hr, h)
            hh = e.emit(top.MatmulOp(reset, r_h, h.type))
        h, y = gru_step(e, cell, proj, hr, hh, h, mask)
        return h, None, y

    @staticmethod
    def _results(
        op: Operation, e: Emitter, outputs: list[SSAValue], h: SSAValue, c: SSAValue | None,
        reversed_: tuple[bool, ...], seqs: Sequences, layout: int,
    ) -> list[SSAValue | None]:  # fmt: skip
        """Y [T, D, B, H] (layout 1: [B, T, D, H]), Y_h, Y_c [D, B, H] (layout 1: [B, D, H])."""
        directions, _, batch, hidden = e.static(h)
        results: list[SSAValue | None] = [None]
        if not is_none(op.results[0]):
            y_type = TensorType(elt_of(h), (directions, len(outputs), batch, hidden))
            y = outputs[0] if len(outputs) == 1 else e.emit(top.ConcatOp(outputs, y_type, axis=1))
            y = _unreverse(e, y, reversed_, seqs)
            results[0] = _transpose(e, y, [2, 1, 0, 3] if layout == 1 else [1, 0, 2, 3])
        for index, state in ((1, h), (2, c)):
            if index >= len(op.results):
                break
            if is_none(op.results[index]) or state is None:
                results.append(None)
                continue
            final = e.reshape(seqs.zero_if_empty(state), (directions, batch, hidden))
            results.append(_transpose(e, final, [1, 0, 2]) if layout == 1 else final)
        return results


def _unreverse(e: Emitter, y: SSAValue, reversed_: tuple[bool, ...], seqs: Sequences) -> SSAValue:
    """Y [D, T, B, H] with each reverse direction's steps put back in time order."""
    if not any(reversed_):
        return y
    if len(reversed_) == 1:
        return seqs.reverse(y, 1, 2)
    _, steps, batch, hidden = e.static(y)
    part = (1, steps, batch, hidden)
    forward = _slice(e, y, [0, 0, 0, 0], part)
    backward = seqs.reverse(_slice(e, y, [1, 0, 0, 0], part), 1, 2)
    return e.emit(top.ConcatOp([forward, backward], y.type, axis=0))


RNN_LOWERINGS: tuple[type[GraphLowering], ...] = (RecurrentLowering,)
