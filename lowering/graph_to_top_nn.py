"""Neural-network graph ops -> named top ops (conv2d, pool, matmul, reduce) plus generics.

conv(x, w, b)                 ->  top.conv2d nchw_fchw (1-D conv: reshaped to 2-D)
batch_normalization(x, ...)   ->  top.generic  x * scale' + bias'   (folded constants)
nhwc_conv(x, w, b)            ->  top.conv2d nhwc_hwcf (the layout ops: graph_layout.py)
max_pool / average_pool       ->  top.pool (auto_pad resolved; ceil mode in the type)
nhwc_max_pool / ..._average_pool -> top.pool nhwc
global_*_pool                 ->  top.reduce mean / max over the spatial dims, keepdims
gemm(a, b, c)                 ->  top.matmul [transpose_*] + generic alpha ab + beta c
fused_conv / fused_gemm       ->  as conv / gemm, then a generic of the activation
mat_mul(a, b)                 ->  top.matmul (1-D operands reshaped to 2-D and back)
softmax(x)                    ->  reduce max, generic exp(x - m), reduce sum, generic e / s
lrn(x)                        ->  generic x^2, avg pool over channels, generic x / (...)^b
reduce_*(x, axes)             ->  top.reduce
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerType, TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap

from lamina.dialects import graph, top
from lamina.dialects.graph_fused import ACTIVATIONS, FusedOp
from lamina.lowering.graph_to_top_common import (
    Body,
    Emitter,
    GraphLowering,
    constant_value,
    elt_of,
    identity_map,
    ints,
    is_none,
    is_unsigned,
    node_name,
    normalize_axis,
    shape_of,
)
from lamina.lowering.graph_to_top_elementwise import ELEMENTWISE


def resolve_pads(
    e: Emitter,
    attrs: dict[str, object],
    sizes: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
) -> tuple[list[int], list[int]]:
    """ONNX `auto_pad` / `pads` as explicit (low, high) pads per spatial dim."""
    n = len(sizes)
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        if any(size < 0 for size in sizes):
            raise e.fail(f"auto_pad = {auto_pad} on a dynamic dim (its pads depend on the size)")
        low: list[int] = []
        high: list[int] = []
        for size, k, s, d in zip(sizes, kernel, strides, dilations, strict=True):
            out = -(-size // s)
            total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
            small = total // 2
            low.append(small if auto_pad == "SAME_UPPER" else total - small)
            high.append(total - low[-1])
        return low, high
    if auto_pad == "VALID":
        return [0] * n, [0] * n
    if auto_pad != "NOTSET":
        raise e.fail(f"auto_pad = {auto_pad}")
    pads = ints(attrs.get("pads") or [0] * (2 * n))
    return pads[:n], pads[n:]


def window_attrs(
    e: Emitter, x: Sequence[int], kernel: Sequence[int]
) -> tuple[list[int], list[int], list[int], list[int]]:
    """strides, dilations, pad_low, pad_high of a conv or pool with defaults filled in."""
    attrs = e.attrs()
    n = len(kernel)
    strides = ints(attrs.get("strides") or [1] * n)
    dilations = ints(attrs.get("dilations") or [1] * n)
    low, high = resolve_pads(e, attrs, x[2:], kernel, strides, dilations)
    return strides, dilations, low, high


def convolution(
    e: Emitter, x: SSAValue, w: SSAValue, bias: SSAValue | None, result: TensorType[Attribute]
) -> SSAValue:
    """ONNX Conv of x by w (plus bias) for 1-D and 2-D inputs with the node's window
    attributes: a top.conv2d nchw_fchw, a 1-D one over a height of 1."""
    xs, ws = e.static(x), e.static(w)
    if len(xs) not in (3, 4):
        raise e.fail(f"{len(xs) - 2}-D convolution")
    strides, dilations, low, high = window_attrs(e, xs, ws[2:])
    groups = int(cast(int, e.attrs()["group"]))
    if len(xs) == 4:
        return e.emit(
            top.Conv2dOp(x, w, result, layout=top.ConvLayout.NCHW_FCHW, strides=strides,
                         dilations=dilations, pad_low=low, pad_high=high, groups=groups,
                         bias=bias)
        )  # fmt: skip
    ys = result.get_shape()
    x2 = e.reshape(x, (xs[0], xs[1], 1, xs[2]))
    w2 = e.reshape(w, (ws[0], ws[1], 1, ws[2]))
    y2 = e.emit(
        top.Conv2dOp(x2, w2, TensorType(result.element_type, (ys[0], ys[1], 1, ys[2])),
                     layout=top.ConvLayout.NCHW_FCHW, strides=[1, *strides],
                     dilations=[1, *dilations], pad_low=[0, *low], pad_high=[0, *high],
                     groups=groups, bias=bias)
    )  # fmt: skip
    return e.reshape(y2, ys)


class ConvLowering(GraphLowering):
    source = (graph.ConvOp,)
    dynamic_dims = True

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, w, b = op.operands
        return [convolution(e, x, w, None if is_none(b) else b, e.static_result())]


class NhwcConvLowering(GraphLowering):
    """nhwc_conv -> top.conv2d nhwc_hwcf; the filter is already KH x KW x C/group x F."""

    source = (graph.NhwcConvOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, w, b = op.operands
        n, h, wd, c = e.static(x)
        strides, dilations, low, high = window_attrs(e, (n, c, h, wd), e.static(w)[:2])
        conv = top.Conv2dOp(x, w, e.static_result(), layout=top.ConvLayout.NHWC_HWCF,
                            strides=strides, dilations=dilations, pad_low=low, pad_high=high,
                            groups=int(cast(int, e.attrs()["group"])),
                            bias=None if is_none(b) else b)  # fmt: skip
        return [e.emit(conv)]


def _channel_map(rank: int) -> AffineMap:
    """Reads a per-channel vector [C] inside an N x C x ... nest."""
    return AffineMap(rank, 0, (AffineDimExpr(1),))


class BatchNormalizationLowering(GraphLowering):
    """Inference form: y = x * scale' + bias' with scale' = scale / sqrt(var + eps) and
    bias' = b - mean * scale', folded into new constants when all four are constants."""

    source = (graph.BatchNormalizationOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        attrs = e.attrs()
        if attrs["training_mode"]:
            raise e.fail("training_mode = 1")
        x, *params = op.operands
        xs, result = e.static_in_out(x)
        epsilon = float(cast(float, attrs["epsilon"]))
        arrays = [constant_value(p) for p in params]
        if all(a is not None for a in arrays):
            scale, bias, mean, var = (np.asarray(a, np.float64) for a in arrays)
            folded_scale = scale / np.sqrt(var + epsilon)
            folded_bias = bias - mean * folded_scale
            dtype = cast(np.ndarray, arrays[0]).dtype
            name = node_name(op) or "batch_norm"
            s = e.emit(graph.ConstantOp.from_array(folded_scale.astype(dtype), f"{name}_scale"))
            t = e.emit(graph.ConstantOp.from_array(folded_bias.astype(dtype), f"{name}_bias"))
        else:
            for p in params:
                e.static(p)
            vector = cast(TensorType[Attribute], params[0].type)
            scale, bias, mean, var = params
            s = e.generic(
                [scale, var],
                vector,
                lambda b, v: b.div(v[0], b.sqrt(b.add(v[1], b.like(epsilon, v[1])))),
            )
            t = e.generic([bias, mean, s], vector, lambda b, v: b.sub(v[0], b.mul(v[1], v[2])))
        rank = len(xs)
        maps = [identity_map(rank), _channel_map(rank), _channel_map(rank)]
        y = e.generic([x, s, t], result, lambda b, v: b.add(b.mul(v[0], v[1]), v[2]), maps)
        return [y, None, None]


class PoolLowering(GraphLowering):
    """MaxPool / AveragePool -> top.pool nchw, their nhwc_* forms -> top.pool nhwc; the
    result type carries ceil mode. top.pool's loops compare signed: an unsigned max pool
    runs on x xor its top bit (order-preserving), xored back after."""

    source = (graph.MaxPoolOp, graph.AveragePoolOp, graph.NhwcMaxPoolOp, graph.NhwcAveragePoolOp)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x = op.operands[0]
        xs = e.static(x)
        nhwc = isinstance(op, graph.NhwcMaxPoolOp | graph.NhwcAveragePoolOp)
        if nhwc:
            xs = (xs[0], xs[3], xs[1], xs[2])
        result = e.static_result()
        attrs = e.attrs()
        kernel = ints(attrs["kernel_shape"])
        strides, dilations, low, high = window_attrs(e, xs, kernel)
        is_max = isinstance(op, graph.MaxPoolOp | graph.NhwcMaxPoolOp)
        unsigned = is_unsigned(elt_of(x))
        pooled = result
        if unsigned:
            x = _flip_top_bit(e, x, IntegerType(cast(IntegerType, elt_of(x)).bitwidth))
            pooled = TensorType(elt_of(x), result.get_shape())
        y = e.emit(
            top.PoolOp(
                x,
                pooled,
                kind=top.PoolKind.MAX if is_max else top.PoolKind.AVG,
                layout=top.TensorLayout.NHWC if nhwc else top.TensorLayout.NCHW,
                kernel=kernel,
                strides=strides,
                dilations=dilations,
                pad_low=low,
                pad_high=high,
                count_include_pad=not is_max and bool(attrs["count_include_pad"]),
            )
        )
        if unsigned:
            y = _flip_top_bit(e, y, result.get_element_type())
        return [y, None] if isinstance(op, graph.MaxPoolOp) else [y]


def _flip_top_bit(e: Emitter, x: SSAValue, element: Attribute) -> SSAValue:
    """x xor 2^(bits - 1) as `element` (unsigned <-> signed of one width, order kept)."""
    bits = cast(IntegerType, element).bitwidth

    def flip(b: Body, v: Sequence[SSAValue]) -> SSAValue:
        value = b.signless(v[0])
        flipped = b.emit(arith.XOrIOp(value, b.like(-(1 << (bits - 1)), value)))
        return b.cast_to(flipped, element)

    return e.generic([x], TensorType(element, e.static(x)), flip, unsigned=True)


class GlobalPoolLowering(GraphLowering):
    """GlobalAveragePool / GlobalMaxPool -> top.reduce mean / max over dims 2.., keepdims
    (nhwc_global_average_pool: over dims 1 and 2)."""

    source = (graph.GlobalAveragePoolOp, graph.GlobalMaxPoolOp, graph.NhwcGlobalAveragePoolOp)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        xs = e.static(op.operands[0])
        is_max = isinstance(op, graph.GlobalMaxPoolOp)
        kind = top.ReduceKind.MAX if is_max else top.ReduceKind.MEAN
        nhwc = isinstance(op, graph.NhwcGlobalAveragePoolOp)
        axes = [1, 2] if nhwc else list(range(2, len(xs)))
        reduce_op = top.ReduceOp(
            op.operands[0], e.static_result(), kind=kind, axes=axes, keepdims=True
        )
        return [e.emit(reduce_op)]


class GemmLowering(GraphLowering):
    """Y = alpha * op(A) op(B) + beta * C, C broadcast (unidirectionally) to Y."""

    source = (graph.GemmOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        a, b, c = op.operands
        e.check_static(a, b)
        result = e.static_result()
        attrs = e.attrs()
        alpha, beta = float(cast(float, attrs["alpha"])), float(cast(float, attrs["beta"]))
        y = e.emit(
            top.MatmulOp(
                a,
                b,
                result,
                transpose_lhs=bool(attrs["transA"]),
                transpose_rhs=bool(attrs["transB"]),
            )
        )
        if is_none(c) or beta == 0:
            if alpha == 1:
                return [y]
            return [e.generic([y], result, lambda bb, v: bb.mul(bb.like(alpha, v[0]), v[0]))]
        e.static(c)

        def body(bb: Body, v: Sequence[SSAValue]) -> SSAValue:
            ab = v[0] if alpha == 1 else bb.mul(bb.like(alpha, v[0]), v[0])
            bc = v[1] if beta == 1 else bb.mul(bb.like(beta, v[1]), v[1])
            return bb.add(ab, bc)

        return [e.generic([y, c], result, body)]


def _activation(b: Body, op: FusedOp, x: SSAValue) -> SSAValue:
    """The scalar body of a fused op's activation: the ONNX op's own lowering body, or
    min(max(x, lo), hi) for Clip (whose bounds are params here, not operands)."""
    op_type, names = ACTIVATIONS[op.activation_name()]
    params = op.activation_values()
    if op_type == "Clip":
        return b.min(b.max(x, b.like(params[0], x)), b.like(params[1], x))
    return ELEMENTWISE[graph.ONNX_OPS[op_type]](b, dict(zip(names, params, strict=True)), [x])


class FusedLowering(GraphLowering):
    """fused_conv / fused_gemm -> the producer's top ops, then one elementwise generic of
    the activation, which top -> loop fuses into the conv / matmul as its epilogue."""

    source = (graph.FusedConvOp, graph.FusedGemmOp)
    dynamic_dims = True

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        fused = cast(FusedOp, op)
        e.dynamic_ok = isinstance(op, graph.FusedConvOp)  # Gemm takes static shapes only
        producer = ConvLowering() if isinstance(op, graph.FusedConvOp) else GemmLowering()
        (y,) = producer.lower(op, e)
        assert y is not None
        result = e.static_result()
        return [e.generic([y], result, lambda b, v: _activation(b, fused, v[0]))]


def matmul(e: Emitter, a: SSAValue, b: SSAValue, result: TensorType[Attribute]) -> SSAValue:
    """numpy.matmul of a and b as a top.matmul: a 1-D lhs is [1, K], a 1-D rhs is [K, 1],
    dropped after; batch dims broadcast."""
    as_, bs = e.static(a), e.static(b)
    a2 = e.reshape(a, (1, *as_)) if len(as_) == 1 else a
    b2 = e.reshape(b, (*bs, 1)) if len(bs) == 1 else b
    s_a, s_b = shape_of(a2), shape_of(b2)
    batch = top.broadcast_shapes(s_a[:-2], s_b[:-2])
    if batch is None:
        raise e.fail(f"batch dims of {a.type} and {b.type} do not broadcast")
    full = TensorType(result.element_type, (*batch, s_a[-2], s_b[-1]))
    y = e.emit(top.MatmulOp(a2, b2, full))
    return e.reshape(y, result.get_shape())


class MatMulLowering(GraphLowering):
    source = (graph.MatMulOp,)
    dynamic_dims = True

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        a, b = op.operands
        return [matmul(e, a, b, e.static_result())]


def _keep_dim(shape: Sequence[int], axis: int) -> tuple[int, ...]:
    return tuple(1 if d == axis else s for d, s in enumerate(shape))


class SoftmaxLowering(GraphLowering):
    """softmax(x) = exp(x - max) / sum(exp(x - max)) along `axis`;
    log_softmax(x) = x - max - log(sum(exp(x - max)))."""

    source = (graph.SoftmaxOp, graph.LogSoftmaxOp)
    dynamic_dims = True

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x = op.operands[0]
        xs, result = e.static_in_out(x)
        axis = e.axis_attr(len(xs))
        kept = TensorType(result.element_type, _keep_dim(xs, axis))

        def reduce(kind: top.ReduceKind, value: SSAValue) -> SSAValue:
            return e.emit(top.ReduceOp(value, kept, kind=kind, axes=[axis], keepdims=True))

        m = reduce(top.ReduceKind.MAX, x)
        ex = e.generic([x, m], result, lambda b, v: b.exp(b.sub(v[0], v[1])))
        s = reduce(top.ReduceKind.SUM, ex)
        if isinstance(op, graph.SoftmaxOp):
            return [e.generic([ex, s], result, lambda b, v: b.div(v[0], v[1]))]
        return [e.generic([x, m, s], result, lambda b, v: b.sub(b.sub(v[0], v[1]), b.log(v[2])))]


class LRNLowering(GraphLowering):
    """y = x / (bias + alpha / size * sum of x^2 over `size` channels around c) ^ beta; the
    channel window sum is an avg pool (count_include_pad) over x^2 seen as [N, 1, C, H*W]."""

    source = (graph.LRNOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x = op.operands[0]
        xs, result = e.static_in_out(x)
        attrs = e.attrs()
        size = int(cast(int, attrs["size"]))
        alpha, beta = float(cast(float, attrs["alpha"])), float(cast(float, attrs["beta"]))
        bias = float(cast(float, attrs["bias"]))
        square = e.generic([x], result, lambda b, v: b.mul(v[0], v[0]))
        flat = (xs[0], 1, xs[1], int(np.prod(xs[2:])))
        low = (size - 1) // 2
        pooled = e.emit(
            top.PoolOp(
                e.reshape(square, flat),
                TensorType(result.element_type, flat),
                kind=top.PoolKind.AVG,
                layout=top.TensorLayout.NCHW,
                kernel=[size, 1],
                pad_low=[low, 0],
                pad_high=[size - 1 - low, 0],
                count_include_pad=True,
            )
        )
        mean = e.reshape(pooled, xs)

        def body(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            scaled = b.add(b.like(bias, v[1]), b.mul(b.like(alpha, v[1]), v[1]))
            return b.div(v[0], b.pow(scaled, b.like(beta, v[1])))

        return [e.generic([x, mean], result, body)]


_REDUCE_KINDS: dict[type[Operation], top.ReduceKind] = {
    graph.ReduceSumOp: top.ReduceKind.SUM,
    graph.ReduceMeanOp: top.ReduceKind.MEAN,
    graph.ReduceMaxOp: top.ReduceKind.MAX,
    graph.ReduceMinOp: top.ReduceKind.MIN,
    graph.ReduceProdOp: top.ReduceKind.PROD,
    graph.ReduceL1Op: top.ReduceKind.L1,
    graph.ReduceL2Op: top.ReduceKind.L2,
    graph.ReduceSumSquareOp: top.ReduceKind.SUM_SQUARE,
    graph.ReduceLogSumOp: top.ReduceKind.LOG_SUM,
    graph.ReduceLogSumExpOp: top.ReduceKind.LOG_SUM_EXP,
}


class ReduceLowering(GraphLowering):
    """reduce_<kind>(x, axes) -> top.reduce <kind>; empty axes mean all dims unless
    noop_with_empty_axes (then it is the identity)."""

    source = tuple(_REDUCE_KINDS)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, axes_value = op.operands
        xs, result = e.static_in_out(x)
        attrs = e.attrs()
        axes = [] if is_none(axes_value) else ints(e.constant(axes_value, "axes").tolist())
        if not axes:
            if attrs["noop_with_empty_axes"]:
                return [x]
            axes = list(range(len(xs)))
        axes = sorted({normalize_axis(e, a, len(xs)) for a in axes})
        kind = _REDUCE_KINDS[type(op)]
        keepdims = bool(attrs["keepdims"])
        return [e.emit(top.ReduceOp(x, result, kind=kind, axes=axes, keepdims=keepdims))]


NN_LOWERINGS: tuple[type[GraphLowering], ...] = (
    ConvLowering,
    NhwcConvLowering,
    BatchNormalizationLowering,
    PoolLowering,
    GlobalPoolLowering,
    GemmLowering,
    FusedLowering,
    MatMulLowering,
    SoftmaxLowering,
    LRNLowering,
    ReduceLowering,
)
