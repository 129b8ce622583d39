"""LinearAttention (opset 27) -> top ops: the recurrence over the T tokens, unrolled (static
T up to `MAX_UNROLLED_TOKENS`), in float32 like the reference. Per token t, with
q, k, v [B, H, 1, d] slices of the inputs split into heads and S the [B, H_kv, d_k, d_v]
state (past_state, else zeros):

    S   = exp(g_t) S                                   (gated, gated_delta)
    v_t = beta_t (v_t - k_t S)                         (delta, gated_delta)
    S   = S + k_t^T v_t
    o_t = scale q_t S    (query head j reads state head j / (H_q / H_kv))

output = the o_t along T, heads merged back ([B, T, H_q d_v]); present_state = S.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

from xdsl.dialects.builtin import TensorType, f32
from xdsl.ir import Attribute, Operation, SSAValue

from lamina.dialects import graph, top
from lamina.lowering.graph_to_top_common import (
    BodyFn,
    Emitter,
    GraphLowering,
    elt_of,
    is_none,
)
from lamina.lowering.graph_to_top_elementwise import convert

MAX_UNROLLED_TOKENS = 64
"""The longest sequence whose recurrence is unrolled (longer ones are unsupported)."""

Shape = tuple[int, ...]


def _as(e: Emitter, x: SSAValue, element: Attribute) -> SSAValue:
    if elt_of(x) == element:
        return x
    return e.generic([x], TensorType(element, e.static(x)), lambda b, v: convert(b, v[0], element))


def _heads(e: Emitter, x: SSAValue, heads: int) -> SSAValue:
    """[B, T, H*D] -> [B, H, T, D] in float32."""
    b, t, hd = e.static(x)
    if hd % heads:
        raise e.fail(f"input {x.type} with {heads} heads")
    split = e.reshape(_as(e, x, f32), (b, t, heads, hd // heads))
    result = TensorType(f32, (b, heads, t, hd // heads))
    return e.emit(top.TransposeOp(split, [0, 2, 1, 3], result))


def _token(e: Emitter, x: SSAValue, t: int) -> SSAValue:
    """x[:, :, t:t+1, :] of a [B, H, T, D] tensor."""
    shape = e.static(x)
    result = TensorType(elt_of(x), (shape[0], shape[1], 1, shape[3]))
    return e.emit(top.SliceOp(x, result, offsets=[0, 0, t, 0], strides=[1, 1, 1, 1]))


def _map(e: Emitter, inputs: Sequence[SSAValue], shape: Shape, fn: BodyFn) -> SSAValue:
    """An elementwise float32 generic over `shape`, inputs broadcast."""
    return e.generic(list(inputs), TensorType(f32, shape), fn)


def _matmul(e: Emitter, a: SSAValue, b: SSAValue) -> SSAValue:
    (*batch, m, _), n = e.static(a), e.static(b)[-1]
    return e.emit(top.MatmulOp(a, b, TensorType(f32, (*batch, m, n))))


class LinearAttentionLowering(GraphLowering):
    """linear_attention(q, k, v, past_state?, decay?, beta?) as in the module doc."""

    source = (graph.LinearAttentionOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        query, key, value, past, decay, beta = op.operands
        attrs = e.attrs()
        rule = str(attrs["update_rule"])
        q_heads, kv_heads = (int(cast(int, attrs[n])) for n in ("q_num_heads", "kv_num_heads"))
        batch, tokens, _ = e.static(query)
        gated, delta = rule in ("gated", "gated_delta"), rule in ("delta", "gated_delta")
        if rule not in ("linear", "gated", "delta", "gated_delta"):
            raise e.fail(f"update_rule {rule}")
        if is_none(decay) == gated or is_none(beta) == delta or q_heads % kv_heads:
            raise e.fail(f"update_rule {rule} with these inputs and heads")
        if tokens > MAX_UNROLLED_TOKENS:
            raise e.fail(f"{tokens} tokens (the recurrence is unrolled up to "
                         f"{MAX_UNROLLED_TOKENS})")  # fmt: skip
        q, k, v = _heads(e, query, q_heads), _heads(e, key, kv_heads), _heads(e, value, kv_heads)
        d_k, d_v = e.static(k)[3], e.static(v)[3]
        scale = float(cast(float, attrs.get("scale") or 0.0)) or 1 / math.sqrt(d_k)
        gates = None if is_none(decay) else self._per_head(e, decay, kv_heads)
        rates = None if is_none(beta) else self._per_head(e, beta, e.static(beta)[2])
        state_shape = (batch, kv_heads, d_k, d_v)
        state = e.fill(TensorType(f32, state_shape)) if is_none(past) else _as(e, past, f32)
        group = q_heads // kv_heads
        outputs: list[SSAValue] = []
        for t in range(tokens):
            k_t, v_t = _token(e, k, t), _token(e, v, t)
            if gates is not None:  # exp(g) scales S by rows (per key dim) or as a whole
                g = _token(e, gates, t)
                g = e.reshape(g, (batch, kv_heads, e.static(g)[3], 1))
                state = _map(e, [state, g], state_shape,
                             lambda b, x: b.mul(x[0], b.exp(x[1])))  # fmt: skip
            if rates is not None:
                retrieved = _matmul(e, k_t, state)
                rate = _token(e, rates, t)
                v_t = _map(e, [v_t, retrieved, rate], e.static(v_t),
                           lambda b, x: b.mul(x[2], b.sub(x[0], x[1])))  # fmt: skip
            column = e.reshape(k_t, (batch, kv_heads, d_k, 1))
            state = _map(e, [state, column, v_t], state_shape,
                         lambda b, x: b.add(x[0], b.mul(x[1], x[2])))  # fmt: skip
            grouped = e.reshape(_token(e, q, t), (batch, kv_heads, group, d_k))
            read = _matmul(e, grouped, state)
            scaled = _map(e, [read], e.static(read), lambda b, x: b.mul(x[0], b.like(scale, x[0])))
            outputs.append(e.reshape(scaled, (batch, q_heads, 1, d_v)))
        return self._results(e, op, outputs, state)

    @staticmethod
    def _per_head(e: Emitter, x: SSAValue, heads: int) -> SSAValue:
        """decay / beta [B, T, H*D] or [B, T, H] -> [B, H, T, D] (D = 1 for the latter)."""
        b, t, last = e.static(x)
        if last == heads:
            x = e.reshape(x, (b, t, last, 1))
            return e.emit(top.TransposeOp(_as(e, x, f32), [0, 2, 1, 3],
                                          TensorType(f32, (b, last, t, 1))))  # fmt: skip
        return _heads(e, x, heads)

    @staticmethod
    def _results(
        e: Emitter, op: Operation, outputs: list[SSAValue], state: SSAValue
    ) -> list[SSAValue | None]:
        """The outputs along T, heads merged back; both results in their own types."""
        b, h, _, d_v = e.static(outputs[0])
        tokens = len(outputs)
        joined = (
            outputs[0]
            if tokens == 1
            else e.emit(top.ConcatOp(outputs, TensorType(f32, (b, h, tokens, d_v)), axis=2))
        )
        merged = e.emit(top.TransposeOp(joined, [0, 2, 1, 3], TensorType(f32, (b, tokens, h, d_v))))
        output = e.reshape(merged, (b, tokens, h * d_v))
        types = [cast(TensorType[Attribute], r.type).get_element_type() for r in op.results]
        return [_as(e, output, types[0]), _as(e, state, types[1])]


LINEAR_ATTENTION_LOWERINGS: tuple[type[GraphLowering], ...] = (LinearAttentionLowering,)
