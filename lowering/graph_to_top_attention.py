"""Attention (ONNX opset 25) -> top ops, following the operator's reference semantics:

    q, k, v  : [B, H, S, E] (3-D inputs [B, S, H*E] are split into heads)
    k, v     = concat(past, k / v) along S   (present_key / present_value)
    bias     = mask (bool: 0 / -inf; padded to the keys with -inf) + -inf where query i
               must not see key j (causal, sliding window, keys past nonpad_kv_seqlen)
    qk       = softcap((q sqrt(scale)) @ (k sqrt(scale))^T)        (k, v heads repeated for GQA)
    p        = softmax(qk + bias) along the last dim, 0 on rows the bias masks entirely
    y        = p @ v   (3-D: heads merged back)

The optional qk_matmul_output is qk (modes 0, 1), qk + bias (mode 2) or p (mode 3).
nonpad_kv_seqlen (an external cache) together with past_key / past_value is not supported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from xdsl.dialects.builtin import BFloat16Type, Float16Type, IntegerType, TensorType, f32, i64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap

from lamina.dialects import graph, top
from lamina.lowering.graph_to_top_common import (
    Body,
    Emitter,
    GraphLowering,
    broadcast_map,
    elt_of,
    integer_type,
    is_none,
)
from lamina.lowering.graph_to_top_elementwise import convert
from lamina.lowering.graph_to_top_index import iota

Shape = tuple[int, ...]


def _convert(e: Emitter, x: SSAValue, element: Attribute) -> SSAValue:
    """`x` with `element` elements (as ONNX Cast); none and same-typed values as they are."""
    if is_none(x) or elt_of(x) == element:
        return x
    result = TensorType(element, e.static(x))
    return e.generic([x], result, lambda b, v: convert(b, v[0], element))


def _heads(e: Emitter, x: SSAValue, heads: int | None) -> SSAValue:
    """[B, S, H*E] -> [B, H, S, E]; 4-D inputs as they are."""
    xs = e.static(x)
    if len(xs) == 4:
        return x
    if heads is None or len(xs) != 3 or xs[2] % heads:
        raise e.fail(f"input {x.type} with {heads} heads")
    b, s, h, d = xs[0], xs[1], heads, xs[2] // heads
    split = e.reshape(x, (b, s, h, d))
    return e.emit(top.TransposeOp(split, [0, 2, 1, 3], TensorType(elt_of(x), (b, h, s, d))))


def _repeat_heads(e: Emitter, x: SSAValue, heads: int) -> SSAValue:
    """[B, h, S, E] -> [B, heads, S, E], each head repeated heads / h times (GQA)."""
    b, h, s, d = e.static(x)
    if h == heads:
        return x
    if heads % h:
        raise e.fail(f"{heads} query heads over {h} key / value heads")
    element = elt_of(x)
    wide = TensorType(element, (b, h, heads // h, s, d))
    spread = e.emit(top.BroadcastOp(e.reshape(x, (b, h, 1, s, d)), wide))
    return e.reshape(spread, (b, heads, s, d))


@dataclass(frozen=True)
class _Frontier:
    """Which keys query i sees, from its absolute position p = i + offset: j <= p (causal),
    p - left <= j and j <= p + right (a window side of -1 is unbounded), and with
    `nonpad` ([B] key counts of an external cache) j < nonpad[b], the offset being
    nonpad[b] - q_len; without it the offset is `past` (the past_key length)."""

    causal: bool
    left: int
    right: int
    past: int
    nonpad: SSAValue | None

    def limits(self) -> bool:
        return self.causal or self.left >= 0 or self.right >= 0 or self.nonpad is not None

    def allowed(self, b: Body, i: SSAValue, j: SSAValue, nonpad: SSAValue | None,
                q_len: int) -> list[SSAValue]:  # fmt: skip
        """The conditions (i1) under which query i sees key j."""
        offset = b.like(self.past, i) if nonpad is None else b.sub(nonpad, b.like(q_len, i))
        p = b.add(i, offset)
        conditions: list[SSAValue] = []
        if self.causal:
            conditions.append(b.cmp("ole", j, p))
        if self.left >= 0:
            conditions.append(b.cmp("ole", b.sub(p, j), b.like(self.left, i)))
        if self.right >= 0:
            conditions.append(b.cmp("ole", b.sub(j, p), b.like(self.right, i)))
        if nonpad is not None:
            conditions.append(b.cmp("olt", j, nonpad))
        return conditions


def _padded_mask(e: Emitter, mask: SSAValue, kv_len: int) -> SSAValue:
    """A mask shorter than the keys, padded with masked entries (False / -inf)."""
    ms = e.static(mask)
    if ms[-1] == kv_len:
        return mask
    if ms[-1] > kv_len:
        raise e.fail(f"mask {mask.type} longer than the {kv_len} keys")
    element: Attribute = elt_of(mask)
    fill = None if integer_type(element) is not None else e.scalar(-math.inf, element)
    high = [0] * (len(ms) - 1) + [kv_len - ms[-1]]
    padded = TensorType(element, (*ms[:-1], kv_len))
    return e.emit(
        top.PadOp(mask, padded, mode=top.PadMode.CONSTANT, low=[0] * len(ms), high=high,
                  value=fill)
    )  # fmt: skip


def _bias(
    e: Emitter, mask: SSAValue | None, frontier: _Frontier, q_len: int, kv_len: int,
    batch: int, element: Attribute,
) -> SSAValue | None:  # fmt: skip
    """The additive bias (0 / -inf, or the float mask) broadcast with [q_len, kv_len]
    ([B, 1, q_len, kv_len] with nonpad_kv_seqlen)."""
    if mask is None and not frontier.limits():
        return None
    shape: Shape = (q_len, kv_len) if frontier.nonpad is None else (batch, 1, q_len, kv_len)
    inputs: list[SSAValue] = []
    if mask is not None:
        mask = _padded_mask(e, mask, kv_len)
        found = top.broadcast_shapes(e.static(mask), shape)
        if found is None:
            raise e.fail(f"mask {mask.type} does not broadcast to [{q_len}, {kv_len}]")
        shape = tuple(found)
        inputs.append(mask)
    rank = len(shape)
    maps = [broadcast_map(e.static(v), shape) for v in inputs]
    if frontier.limits():
        inputs += [iota(e, q_len), iota(e, kv_len)]
        maps += [AffineMap(rank, 0, (AffineDimExpr(rank - 2),)),
                 AffineMap(rank, 0, (AffineDimExpr(rank - 1),))]  # fmt: skip
    if frontier.nonpad is not None:
        inputs.append(frontier.nonpad)
        maps.append(AffineMap(rank, 0, (AffineDimExpr(0),)))

    def body(b: Body, v: Sequence[SSAValue]) -> SSAValue:
        zero, minus_inf = b.const(0, element), b.const(-math.inf, element)
        value = zero
        if mask is not None:
            m = v[0]
            bool_mask = isinstance(m.type, IntegerType)
            value = b.select(m, zero, minus_inf) if bool_mask else m
        if frontier.limits():
            first = 1 if mask is not None else 0
            nonpad = v[first + 2] if frontier.nonpad is not None else None
            for allowed in frontier.allowed(b, v[first], v[first + 1], nonpad, q_len):
                value = b.select(allowed, value, minus_inf)
        return value

    return e.generic(inputs, TensorType(element, shape), body, maps)


def _softmax(e: Emitter, s: SSAValue, bias: SSAValue | None) -> SSAValue:
    """softmax along the last dim with the reference's guards for fully masked rows."""
    shape = e.static(s)
    element = elt_of(s)
    full = TensorType(element, shape)

    def reduce(kind: top.ReduceKind, value: SSAValue) -> SSAValue:
        vs = e.static(value)
        kept = TensorType(element, (*vs[:-1], 1))
        return e.emit(top.ReduceOp(value, kept, kind=kind, axes=[len(vs) - 1], keepdims=True))

    def safe_shift(b: Body, v: Sequence[SSAValue]) -> SSAValue:
        infinite = b.cmp("oeq", v[1], b.like(-math.inf, v[1]))
        return b.exp(b.sub(v[0], b.select(infinite, b.like(0, v[1]), v[1])))

    ex = e.generic([s, reduce(top.ReduceKind.MAX, s)], full, safe_shift)
    total = reduce(top.ReduceKind.SUM, ex)

    def divide(b: Body, v: Sequence[SSAValue]) -> SSAValue:
        empty = b.cmp("oeq", v[1], b.like(0, v[1]))
        p = b.div(v[0], b.select(empty, b.like(1, v[1]), v[1]))
        if len(v) < 3:
            return p
        return b.select(b.cmp("oeq", v[2], b.like(-math.inf, v[2])), b.like(0, p), p)

    inputs = [ex, total]
    if bias is not None:
        inputs.append(reduce(top.ReduceKind.MAX, bias))
    return e.generic(inputs, full, divide)


def _matmul(
    e: Emitter, a: SSAValue, b: SSAValue, result: TensorType[Attribute], transpose_rhs: bool = False
) -> SSAValue:
    """a @ b; bf16 operands multiply and sum in f32, the result rounded once (as the
    reference's `ml_dtypes` matmul; its other steps round to bf16 each, as the bf16 ops do)."""
    if not isinstance(result.get_element_type(), BFloat16Type):
        return e.emit(top.MatmulOp(a, b, result, transpose_rhs=transpose_rhs))
    wide = TensorType(f32, result.get_shape())
    lhs, rhs = _convert(e, a, f32), _convert(e, b, f32)
    product = e.emit(top.MatmulOp(lhs, rhs, wide, transpose_rhs=transpose_rhs))
    return _convert(e, product, result.get_element_type())


class AttentionLowering(GraphLowering):
    """attention(q, k, v, mask?, past_key?, past_value?) as in the module doc."""

    source = (graph.AttentionOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        q_in, k_in, v_in, mask, past_k, past_v, nonpad = op.operands
        if not is_none(nonpad) and not is_none(past_k):
            raise e.fail("nonpad_kv_seqlen with past_key")
        attrs = e.attrs()
        e.static_result()
        three_d = len(e.static(q_in)) == 3
        narrow = elt_of(q_in)
        if isinstance(narrow, Float16Type):  # computed in f32, like the reference's matmuls
            q_in, k_in, v_in, past_k, past_v = (
                _convert(e, x, f32) for x in (q_in, k_in, v_in, past_k, past_v)
            )
            if not is_none(mask) and not isinstance(elt_of(mask), IntegerType):
                mask = _convert(e, mask, f32)

        def heads(name: str) -> int | None:
            value = attrs.get(name)
            return None if value is None else int(cast(int, value))

        q = _heads(e, q_in, heads("q_num_heads"))
        k = _heads(e, k_in, heads("kv_num_heads"))
        v = _heads(e, v_in, heads("kv_num_heads"))
        past = 0
        if not is_none(past_k):
            past = e.static(past_k)[2]
            k, v = (self._concat(e, p, x) for p, x in ((past_k, k), (past_v, v)))
        present_k, present_v = k, v
        b, h, q_len, d = e.static(q)
        kv_len = e.static(k)[2]
        element = elt_of(q)
        scale = attrs.get("scale")
        root = math.sqrt(float(cast(float, scale)) if scale is not None else 1 / math.sqrt(d))
        q = e.generic(
            [q], TensorType(element, e.static(q)), lambda bb, x: bb.mul(x[0], bb.like(root, x[0]))
        )
        k = _repeat_heads(e, k, h)
        v = _repeat_heads(e, v, h)
        k = e.generic(
            [k], TensorType(element, e.static(k)), lambda bb, x: bb.mul(x[0], bb.like(root, x[0]))
        )
        scores_t = TensorType(element, (b, h, q_len, kv_len))
        qk = _matmul(e, q, k, scores_t, transpose_rhs=True)
        softcap = float(cast(float, attrs.get("softcap") or 0.0))
        if softcap > 0:
            qk = e.generic([qk], scores_t, lambda bb, x: bb.mul(
                bb.tanh(bb.div(x[0], bb.like(softcap, x[0]))), bb.like(softcap, x[0])))  # fmt: skip
        frontier = _Frontier(
            bool(attrs.get("is_causal")),
            int(cast(int, attrs.get("left_window_size", -1))),
            int(cast(int, attrs.get("right_window_size", -1))),
            past,
            None if is_none(nonpad) else _convert(e, nonpad, i64),
        )
        mask_or_none = None if is_none(mask) else mask
        bias = _bias(e, mask_or_none, frontier, q_len, kv_len, b, element)
        biased = (
            qk
            if bias is None
            else e.generic([qk, bias], scores_t, lambda bb, x: bb.add(x[0], x[1]))
        )
        p = _softmax(e, biased, bias)
        y = _matmul(e, p, v, TensorType(element, (b, h, q_len, e.static(v)[3])))
        if three_d:
            ys = e.static(y)
            merged_t = TensorType(element, (b, q_len, h, ys[3]))
            merged = e.emit(top.TransposeOp(y, [0, 2, 1, 3], merged_t))
            y = e.reshape(merged, (b, q_len, h * ys[3]))
        mode = int(cast(int, attrs.get("qk_matmul_output_mode") or 0))
        qk_out = {0: qk, 1: qk, 2: biased, 3: p}.get(mode)
        outputs = [y, present_k, present_v, qk_out][: len(op.results)]
        return [_convert(e, x, narrow) if x is not None else None for x in outputs]

    @staticmethod
    def _concat(e: Emitter, past: SSAValue, new: SSAValue) -> SSAValue:
        ps, ns = e.static(past), e.static(new)
        shape = (*ns[:2], ps[2] + ns[2], ns[3])
        return e.emit(top.ConcatOp([past, new], TensorType(elt_of(new), shape), axis=2))


ATTENTION_LOWERINGS: tuple[type[GraphLowering], ...] = (AttentionLowering,)
