"""RotaryEmbedding (opset 23) -> top ops, following the operator's reference semantics:

    x        : [B, H, S, D] (4-D), or [B, S, H*D] (3-D, split into num_heads heads)
    cos, sin = cache[position_ids] if position_ids else cache   : [B, S, R/2]
    x1, x2   = the first R dims of x split in halves (interleaved: even / odd dims)
    y        = (cos x1 - sin x2, sin x1 + cos x2) put back where x1, x2 came from;
               dims R.. of x are kept (R = rotary_embedding_dim, else D)

The caches broadcast over the heads; the result has the input's shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, Operation, SSAValue

from lamina.dialects import graph, top
from lamina.lowering.graph_to_top_common import Body, Emitter, GraphLowering, elt_of, is_none

Shape = tuple[int, ...]


def _slice(e: Emitter, x: SSAValue, start: int, size: int, step: int) -> SSAValue:
    """x[..., start : start + step * size : step] along the last dim."""
    xs = e.static(x)
    offsets = [0] * (len(xs) - 1) + [start]
    strides = [1] * (len(xs) - 1) + [step]
    result = TensorType(elt_of(x), (*xs[:-1], size))
    return e.emit(top.SliceOp(x, result, offsets=offsets, strides=strides))


def _concat(e: Emitter, parts: Sequence[SSAValue]) -> SSAValue:
    shapes = [e.static(p) for p in parts]
    size = sum(s[-1] for s in shapes)
    result = TensorType(elt_of(parts[0]), (*shapes[0][:-1], size))
    return e.emit(top.ConcatOp(list(parts), result, axis=len(shapes[0]) - 1))


def _caches(
    e: Emitter, cos: SSAValue, sin: SSAValue, positions: SSAValue | None
) -> tuple[SSAValue, SSAValue]:
    """cos and sin as [B, S, R/2]: rows of the caches at `positions` ([B, S]) if given."""
    if positions is None:
        return cos, sin
    picked: list[SSAValue] = []
    for cache in (cos, sin):
        cs = e.static(cache)
        if len(cs) != 2:
            raise e.fail(f"cache {cache.type} with position_ids")
        result = TensorType(elt_of(cache), (*e.static(positions), cs[1]))
        picked.append(e.emit(top.GatherOp(cache, positions, result, axis=0)))
    return picked[0], picked[1]


class RotaryEmbeddingLowering(GraphLowering):
    """rotary_embedding(x, cos_cache, sin_cache, position_ids?) as in the module doc."""

    source = (graph.RotaryEmbeddingOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, cos_in, sin_in, positions = op.operands
        xs, result = e.static_in_out(x)
        attrs = e.attrs()
        heads = int(cast(int, attrs.get("num_heads") or 0))
        if len(xs) == 3:  # [B, S, H*D] -> [B, S, H, D]; the caches broadcast over H
            if heads <= 0 or xs[2] % heads:
                raise e.fail(f"input {x.type} with num_heads {heads}")
            x = e.reshape(x, (xs[0], xs[1], heads, xs[2] // heads))
        elif len(xs) != 4:
            raise e.fail(f"input {x.type}")
        batch, head_size = xs[0], e.static(x)[3]
        rotated = int(cast(int, attrs.get("rotary_embedding_dim") or 0)) or head_size
        half = rotated // 2
        if rotated % 2 or rotated > head_size:
            raise e.fail(f"rotary_embedding_dim {rotated} of heads of size {head_size}")
        cos, sin = _caches(e, cos_in, sin_in, None if is_none(positions) else positions)
        seq = e.static(cos)[1]
        # [B, S, R/2] -> [B, S, 1, R/2] against [B, S, H, D]; [B, 1, S, R/2] against [B, H, S, D]
        cache_shape = (batch, seq, 1, half) if len(xs) == 3 else (batch, 1, seq, half)
        cos, sin = e.reshape(cos, cache_shape), e.reshape(sin, cache_shape)
        interleaved = bool(attrs.get("interleaved"))
        step, second = (2, 1) if interleaved else (1, half)
        x1, x2 = _slice(e, x, 0, half, step), _slice(e, x, second, half, step)
        real, imag = self._rotate(e, x1, x2, cos, sin)
        if interleaved:  # (real, imag) pairs back in even / odd dims
            pairs = (*e.static(real), 1)
            parts = [e.reshape(real, pairs), e.reshape(imag, pairs)]
            joined = e.reshape(_concat(e, parts), (*e.static(real)[:-1], rotated))
        else:
            joined = _concat(e, [real, imag])
        if rotated < head_size:
            joined = _concat(e, [joined, _slice(e, x, rotated, head_size - rotated, 1)])
        return [e.reshape(joined, result.get_shape())]

    @staticmethod
    def _rotate(
        e: Emitter, x1: SSAValue, x2: SSAValue, cos: SSAValue, sin: SSAValue
    ) -> tuple[SSAValue, SSAValue]:
        """(cos x1 - sin x2, sin x1 + cos x2), the caches broadcast over the heads."""
        element: Attribute = elt_of(x1)
        half_type = TensorType(element, e.static(x1))
        inputs = [x1, x2, cos, sin]

        def real(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            return b.sub(b.mul(v[2], v[0]), b.mul(v[3], v[1]))

        def imag(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            return b.add(b.mul(v[3], v[0]), b.mul(v[2], v[1]))

        return e.generic(inputs, half_type, real), e.generic(inputs, half_type, imag)


ROTARY_LOWERINGS: tuple[type[GraphLowering], ...] = (RotaryEmbeddingLowering,)
