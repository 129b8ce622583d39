"""CausalConvWithState (opset 27, a stateful causal depthwise 1-D convolution) -> top ops:

    padded   = concat(past_state or zeros [B, C, k-1], x [B, C, L]) along the length
    y[b,c,l] = bias[c] + sum over t < k of padded[b, c, l + t] w[c, 0, t]
    output   = y, or y sigmoid(y) for activation silu / swish
    present  = padded[:, :, L:]   (the last k - 1 positions)

float16 inputs are summed in float32 and the sigmoid is taken in float32, as the reference does.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import Float16Type, TensorType, f32
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineMap

from lamina.dialects import graph, top
from lamina.lowering.graph_to_top_common import Body, Emitter, GraphLowering, elt_of, is_none
from lamina.lowering.graph_to_top_elementwise import convert


def _depthwise(
    e: Emitter, padded: SSAValue, weight: SSAValue, result: TensorType[Attribute]
) -> SSAValue:
    """y[b, c, l] = sum over t of padded[b, c, l + t] w[c, 0, t]; loops b, c, l, t."""
    d = [AffineDimExpr(i) for i in range(4)]
    maps = [
        AffineMap(4, 0, (d[0], d[1], d[2] + d[3])),
        AffineMap(4, 0, (d[1], AffineConstantExpr(0), d[3])),
        AffineMap(4, 0, (d[0], d[1], d[2])),
    ]
    element = result.get_element_type()
    block = Block(arg_types=[element, element, element])
    b = Body(block)
    x, w, acc = block.args
    block.add_op(top.YieldOp(b.add(acc, b.mul(x, w))))
    iterators = [top.IteratorType.PARALLEL] * 3 + [top.IteratorType.REDUCTION]
    return e.emit(top.GenericOp([padded, weight], [e.fill(result)], Region(block), maps,
                                iterators))  # fmt: skip


def _widen(e: Emitter, x: SSAValue, element: Attribute) -> SSAValue:
    """x with `element` elements (float16 values are summed in float32, as the reference)."""
    if elt_of(x) == element:
        return x
    wide = TensorType(element, e.static(x))
    return e.generic([x], wide, lambda b, v: convert(b, v[0], element))


class CausalConvWithStateLowering(GraphLowering):
    """causal_conv_with_state(x, w, bias?, past_state?) as in the module doc."""

    source = (graph.CausalConvWithStateOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, weight, bias, past = op.operands
        (batch, channels, length), ws = e.static(x), e.static(weight)
        activation = e.attrs()["activation"]
        if activation not in ("none", "silu", "swish"):
            raise e.fail(f"activation {activation}")
        if len(ws) != 3 or ws[:2] != (channels, 1):
            raise e.fail(f"weight {weight.type} for {channels} channels")
        k = ws[2]
        if k < 1:
            raise e.fail(f"kernel size {k}")
        element: Attribute = elt_of(x)
        state_type = TensorType(element, (batch, channels, k - 1))
        state = e.fill(state_type) if is_none(past) else past
        padded_type = TensorType(element, (batch, channels, k - 1 + length))
        padded = e.emit(top.ConcatOp([state, x], padded_type, axis=2))
        result = TensorType(element, (batch, channels, length))
        accumulated = f32 if isinstance(element, Float16Type) else element
        y = _depthwise(e, _widen(e, padded, accumulated), _widen(e, weight, accumulated),
                       TensorType(accumulated, result.get_shape()))  # fmt: skip
        silu = activation != "none"
        if silu or not is_none(bias) or accumulated != element:
            wide_bias = None if is_none(bias) else _widen(e, bias, accumulated)
            inputs = [y] if wide_bias is None else [y, e.reshape(wide_bias, (channels, 1))]

            def finish(b: Body, v: Sequence[SSAValue]) -> SSAValue:
                value = convert(b, v[0] if len(v) == 1 else b.add(v[0], v[1]), element)
                if not silu:
                    return value
                wide = convert(b, value, f32)  # the reference's sigmoid is float32
                silu_value = b.div(wide, b.add(b.like(1, wide), b.exp(b.neg(wide))))
                return convert(b, silu_value, element)

            y = e.generic(inputs, result, finish)
        present = e.emit(top.SliceOp(padded, state_type, offsets=[0, 0, length], strides=[1, 1, 1]))
        return [y, present]


CAUSAL_CONV_LOWERINGS: tuple[type[GraphLowering], ...] = (CausalConvWithStateLowering,)
