"""DeformConv (2-D) -> bilinear samples gathered with `top.gather_nd`, then a contraction.

Kernel tap k = (a, b) of output pixel (oh, ow) reads X at the offset position

    y = oh * stride - pad + a * dilation + offset[n, g, a, b, 0, oh, ow]   (x likewise)

of its offset group g, bilinearly with zeros outside (as ONNX's reference, which samples
with GridSample align_corners=1). Per tap and dim, the row index and weight of each
corner is an elementwise `top.generic` over [N, G, OH, OW]; a gather of X transposed to
[N, H, W, C] with tuples (n, y, x) fetches every channel of a corner. The columns

    cols[n, oh, ow, c, k] = mask[n, g(c), k, oh, ow] * sum over corners of w * X[...]

(g(c) = c floordiv (C / G), an affine read) are contracted with the weights by group:

    y[n, o, oh, ow] = sum_{c', k} W[o, c', k] * cols[n, oh, ow, (o floordiv O_g) * C_g + c', k]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from xdsl.dialects import arith, math
from xdsl.dialects.builtin import TensorType, i64
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap

from lamina.dialects import graph, top
from lamina.dialects.top_index import GatherNDOp
from lamina.lowering.graph_to_top_common import (
    Body,
    Emitter,
    GraphLowering,
    elt_of,
    ints,
    is_none,
)
from lamina.lowering.graph_to_top_index import iota
from lamina.lowering.graph_to_top_scatter import index_tuples, position_entry

_P, _R = top.IteratorType.PARALLEL, top.IteratorType.REDUCTION


class _Taps:
    """The sample positions of one DeformConv: coordinates, then corners."""

    def __init__(
        self,
        e: Emitter,
        offset: SSAValue,
        attrs: dict[str, object],
        shapes: tuple[Sequence[int], Sequence[int]],
    ):
        """`shapes`: those of X and W."""
        self.e, self.offset = e, offset
        self.sizes, kernel = shapes[0][2:], shapes[1][2:]
        self.kernel = ints(attrs.get("kernel_shape") or kernel)
        self.strides = ints(attrs.get("strides") or [1, 1])
        self.dilations = ints(attrs.get("dilations") or [1, 1])
        self.pads = ints(attrs.get("pads") or [0, 0, 0, 0])
        n, channels, oh, ow = e.static(offset)
        self.groups = channels // (2 * self.kernel[0] * self.kernel[1])
        self.outer = TensorType(elt_of(offset), (n, self.groups, oh, ow))

    def coordinate(self, k: int, dim: int) -> SSAValue:
        """u[n, g, oh, ow] along spatial `dim` for kernel tap k."""
        taps = self.kernel[0] * self.kernel[1]
        along = (k // self.kernel[1], k % self.kernel[1])[dim]
        n, g, oh, ow = (AffineDimExpr(d) for d in range(4))
        read = AffineMap(4, 0, (n, g * (2 * taps) + (2 * k + dim), oh, ow))
        out_size = self.outer.get_shape()[2 + dim]
        positions = iota(self.e, out_size, elt_of(self.offset))
        shift = along * self.dilations[dim] - self.pads[dim]
        stride = self.strides[dim]

        def body(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            base = b.add(b.mul(v[1], b.like(stride, v[1])), b.like(shift, v[1]))
            return b.add(base, v[0])

        position_map = AffineMap(4, 0, ((oh, ow)[dim],))
        return self.e.generic([self.offset, positions], self.outer, body, [read, position_map])

    def corners(self, u: SSAValue, dim: int) -> list[tuple[SSAValue, SSAValue]]:
        """(index [N, G, OH, OW, 1] clamped, weight 0 outside) of the low and high row."""
        return [self._corner(u, self.sizes[dim], high) for high in (0, 1)]

    def _corner(self, u: SSAValue, size: int, high: int) -> tuple[SSAValue, SSAValue]:
        def row(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            return b.add(b.emit(math.FloorOp(v[0])), b.like(high, v[0]))

        def index(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            at = b.min(b.max(row(b, v), b.like(0, v[0])), b.like(size - 1, v[0]))
            return b.emit(arith.FPToSIOp(at, i64))

        def weight(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            at = row(b, v)
            fraction = b.sub(v[0], b.emit(math.FloorOp(v[0])))
            w = fraction if high else b.sub(b.like(1, fraction), fraction)
            inside = b.emit(arith.AndIOp(b.cmp("oge", at, b.like(0, at)),
                                         b.cmp("ole", at, b.like(size - 1, at))))  # fmt: skip
            return b.select(inside, w, b.like(0, w))

        column = AffineMap(5, 0, tuple(AffineDimExpr(d) for d in range(4)))
        indices = TensorType(i64, (*self.outer.get_shape(), 1))
        return (
            self.e.generic([u], indices, index, [column]),
            self.e.generic([u], self.outer, weight),
        )


class DeformConvLowering(GraphLowering):
    """deform_conv(X, W, offset, B, mask) -> sampled columns contracted with W."""

    source = (graph.DeformConvOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, w, offset, bias, mask = op.operands
        xs, ws = e.static(x), e.static(w)
        result = e.static_result()
        if len(xs) != 4 or elt_of(offset) != elt_of(x):
            raise e.fail(f"input {x.type} with offsets {offset.type}")
        taps = _Taps(e, offset, e.attrs(), (xs, ws))
        n, channels = xs[:2]
        _, groups, oh, ow = taps.outer.get_shape()
        if result.get_shape() != (n, ws[0], oh, ow) or channels % groups:
            raise e.fail(f"offsets {offset.type} for a result {result}")
        xt = e.emit(top.TransposeOp(x, [0, 2, 3, 1], TensorType(elt_of(x), (n, *xs[2:], channels))))
        batch = position_entry(e, taps.outer.get_shape(), 0)
        columns: list[SSAValue] = []
        kernel_size = ws[2] * ws[3]
        for k in range(kernel_size):
            ys, xs_ = (taps.corners(taps.coordinate(k, dim), dim) for dim in (0, 1))
            corners: list[SSAValue] = []
            for y_index, y_weight in ys:
                for x_index, x_weight in xs_:
                    tuples = index_tuples(e, [batch, y_index, x_index])
                    gathered = TensorType(elt_of(x), (n, groups, oh, ow, channels))
                    weight = e.generic(
                        [y_weight, x_weight], taps.outer, lambda b, v: b.mul(v[0], v[1])
                    )
                    corners += [e.emit(GatherNDOp(xt, tuples, gathered)), weight]
            columns.append(_column(e, corners, mask, k, kernel_size, channels // groups))
        cols = e.emit(
            top.ConcatOp(columns, TensorType(elt_of(x), (n, oh, ow, channels, kernel_size)), axis=4)
        )
        kernel = e.reshape(w, (ws[0], ws[1], kernel_size))
        y = _contract(e, cols, kernel, result, int(cast(int, e.attrs()["group"])))
        if is_none(bias):
            return [y]
        maps = [AffineMap.identity(4), AffineMap(4, 0, (AffineDimExpr(1),))]
        return [e.generic([y, bias], result, lambda b, v: b.add(v[0], v[1]), maps)]


def _column(
    e: Emitter, corners: list[SSAValue], mask: SSAValue, k: int, taps: int, per_group: int
) -> SSAValue:
    """cols[n, oh, ow, c, 0] for tap k: the weighted corners of c's offset group (masked)."""
    n, _, oh, ow, channels = e.static(corners[0])
    element = elt_of(corners[0])
    d_n, d_oh, d_ow, d_c = (AffineDimExpr(d) for d in range(4))
    group = d_c // per_group
    value_map = AffineMap(5, 0, (d_n, group, d_oh, d_ow, d_c))
    weight_map = AffineMap(5, 0, (d_n, group, d_oh, d_ow))
    inputs, maps = list(corners), [value_map, weight_map] * (len(corners) // 2)
    if not is_none(mask):
        inputs.append(mask)
        maps.append(AffineMap(5, 0, (d_n, group * taps + k, d_oh, d_ow)))

    def body(b: Body, v: Sequence[SSAValue]) -> SSAValue:
        total = b.mul(v[0], v[1])
        for j in range(2, len(corners), 2):
            total = b.add(total, b.mul(v[j], v[j + 1]))
        return b.mul(total, v[len(corners)]) if len(v) > len(corners) else total

    return e.generic(inputs, TensorType(element, (n, oh, ow, channels, 1)), body, maps)


def _contract(
    e: Emitter, cols: SSAValue, w: SSAValue, result: TensorType[Attribute], groups: int
) -> SSAValue:
    """y[n, o, oh, ow] = sum_{c', k} w[o, c', k] * cols[n, oh, ow, group(o) * C_g + c', k]."""
    outputs, per_group, _ = e.static(w)
    n, o, oh, ow, c, k = (AffineDimExpr(d) for d in range(6))
    channel = (o // (outputs // groups)) * per_group + c
    maps = [AffineMap(6, 0, (n, oh, ow, channel, k)), AffineMap(6, 0, (o, c, k)),
            AffineMap(6, 0, (n, o, oh, ow))]  # fmt: skip
    element = result.get_element_type()
    block = Block(arg_types=[element, element, element])
    b = Body(block)
    block.add_op(top.YieldOp(b.add(block.args[2], b.mul(block.args[0], block.args[1]))))
    generic = top.GenericOp([cols, w], [e.fill(result)], Region(block), maps, [_P] * 4 + [_R] * 2)
    return e.emit(generic)


DEFORM_LOWERINGS: tuple[type[GraphLowering], ...] = (DeformConvLowering,)
