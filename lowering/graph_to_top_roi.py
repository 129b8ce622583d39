"""RoiAlign -> bilinear samples gathered with `top.gather_nd`, then averaged (or maxed).

Each output bin (r, ph, pw) of a region of interest holds s x s samples (s =
sampling_ratio, which must be positive: with 0 the count depends on the regions' sizes).
Along each spatial dim a sample sits at

    y = start + p * bin + (i + 0.5) * bin / s      (start, bin from rois[r]: ONNX RoiAlign)

and reads the rows low = floor(max(y, 0)) and high = low + 1 (both the last row past the
end) with weights 1 - (y - low) and y - low, or 0 when y < -1 or y > size. Every index
and weight is an elementwise `top.generic` over [R, oh, ow, s, s] (positions p and i come
from iotas); the four corners are gathers of X transposed to [N, H, W, C] with tuples
(batch_indices[r], y index, x index); avg sums w * X over samples and corners and divides
by s * s, max takes the max over samples of the max over corners of w * X (as the ONNX
reference does).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from xdsl.dialects import arith, math
from xdsl.dialects.builtin import TensorType, i64
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineMap

from lamina.dialects import graph, top
from lamina.dialects.top_index import GatherNDOp
from lamina.lowering.graph_to_top_common import Body, Emitter, GraphLowering, elt_of
from lamina.lowering.graph_to_top_index import iota
from lamina.lowering.graph_to_top_scatter import index_tuples

_P, _R = top.IteratorType.PARALLEL, top.IteratorType.REDUCTION
_SAMPLE_RANK = 5  # r, ph, pw, iy, ix


class _Axis:
    """The sample positions along one spatial dim (y: rois columns 1 and 3, loops ph and
    iy; x: columns 0 and 2, loops pw and ix)."""

    def __init__(self, e: Emitter, rois: SSAValue, dim: int, size: int, attrs: dict[str, object]):
        self.e, self.rois, self.size, self.attrs = e, rois, size, attrs
        self.first, self.last = (1, 3) if dim == 0 else (0, 2)
        self.bin_loop, self.sample_loop = (1, 3) if dim == 0 else (2, 4)
        self.half_pixel = str(attrs["coordinate_transformation_mode"]) == "half_pixel"
        self.scale = float(cast(float, attrs["spatial_scale"]))
        self.bins = int(cast(int, attrs["output_height" if dim == 0 else "output_width"]))
        self.samples = int(cast(int, attrs["sampling_ratio"]))

    def _inputs(self) -> tuple[list[SSAValue], list[AffineMap]]:
        element = elt_of(self.rois)
        r = AffineDimExpr(0)
        maps = [
            AffineMap(_SAMPLE_RANK, 0, (r, AffineConstantExpr(self.first))),
            AffineMap(_SAMPLE_RANK, 0, (r, AffineConstantExpr(self.last))),
            AffineMap(_SAMPLE_RANK, 0, (AffineDimExpr(self.bin_loop),)),
            AffineMap(_SAMPLE_RANK, 0, (AffineDimExpr(self.sample_loop),)),
        ]
        positions = [iota(self.e, self.bins, element), iota(self.e, self.samples, element)]
        return [self.rois, self.rois, *positions], maps

    def _position(self, b: Body, v: Sequence[SSAValue]) -> tuple[SSAValue, SSAValue, SSAValue]:
        """(y clamped into the rows, its low row as a float, whether y is inside)."""
        begin, end, p, i = v
        offset = b.like(0.5 if self.half_pixel else 0.0, begin)
        start = b.sub(b.mul(begin, b.like(self.scale, begin)), offset)
        extent = b.mul(b.sub(end, begin), b.like(self.scale, begin))
        if not self.half_pixel:
            extent = b.max(extent, b.like(1, extent))
        width = b.div(extent, b.like(self.bins, extent))
        within = b.div(b.mul(b.add(i, b.like(0.5, i)), width), b.like(self.samples, width))
        y = b.add(b.add(start, b.mul(p, width)), within)
        inside = b.emit(arith.AndIOp(b.cmp("oge", y, b.like(-1, y)),
                                     b.cmp("ole", y, b.like(self.size, y))))  # fmt: skip
        y = b.max(y, b.like(0, y))
        low = b.emit(math.FloorOp(y))
        last = b.like(self.size - 1, y)
        at_end = b.cmp("oge", low, last)
        return b.select(at_end, last, y), b.select(at_end, last, low), inside

    def index(self, high: bool) -> SSAValue:
        """The low (high) row of each sample, [R, oh, ow, s, s, 1] i64."""

        def body(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            _, low, _ = self._position(b, v)
            row = b.min(b.add(low, b.like(1, low)), b.like(self.size - 1, low)) if high else low
            return b.emit(arith.FPToSIOp(row, i64))

        inputs, maps = self._inputs()
        shape = self._shape()
        return self.e.generic(inputs, TensorType(i64, (*shape, 1)), body,
                              [_widen(m) for m in maps])  # fmt: skip

    def weight(self, high: bool) -> SSAValue:
        """The weight of the low (high) row of each sample, 0 outside, [R, oh, ow, s, s]."""

        def body(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            y, low, inside = self._position(b, v)
            fraction = b.sub(y, low)
            w = fraction if high else b.sub(b.like(1, fraction), fraction)
            return b.select(inside, w, b.like(0, w))

        inputs, maps = self._inputs()
        return self.e.generic(inputs, TensorType(elt_of(self.rois), self._shape()), body, maps)

    def _shape(self) -> tuple[int, ...]:
        return _sample_shape(self.e, self.rois, self.attrs)


def _sample_shape(e: Emitter, rois: SSAValue, attrs: dict[str, object]) -> tuple[int, ...]:
    """[R, oh, ow, s, s]: the samples of every bin of every region."""
    samples = int(cast(int, attrs["sampling_ratio"]))
    bins = (int(cast(int, attrs["output_height"])), int(cast(int, attrs["output_width"])))
    return (e.static(rois)[0], *bins, samples, samples)


def _widen(amap: AffineMap) -> AffineMap:
    """`amap` over one more (trailing, unused) loop."""
    return AffineMap(amap.num_dims + 1, 0, amap.results)


class RoiAlignLowering(GraphLowering):
    """roi_align(X, rois, batch_indices) -> gathered bilinear samples (module doc)."""

    source = (graph.RoiAlignOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, rois, batch_indices = op.operands
        xs, result = e.static_in_out(x)
        attrs = e.attrs()
        if int(cast(int, attrs["sampling_ratio"])) < 1:
            raise e.fail("sampling_ratio 0 (the sample count would depend on the rois)")
        if len(xs) != 4 or elt_of(rois) != elt_of(x) or str(attrs["mode"]) not in ("avg", "max"):
            raise e.fail(f"input {x.type} with rois {rois.type}, mode '{attrs['mode']}'")
        axes = [_Axis(e, rois, dim, xs[2 + dim], attrs) for dim in (0, 1)]
        shape = _sample_shape(e, rois, attrs)
        batch = _batch_entry(e, batch_indices, shape)
        xt = e.emit(
            top.TransposeOp(x, [0, 2, 3, 1], TensorType(elt_of(x), (xs[0], xs[2], xs[3], xs[1])))
        )
        corners: list[SSAValue] = []
        gathered = TensorType(elt_of(x), (*shape, xs[1]))
        for high_y in (False, True):
            for high_x in (False, True):
                tuples = index_tuples(e, [batch, axes[0].index(high_y), axes[1].index(high_x)])
                weight = e.generic([axes[0].weight(high_y), axes[1].weight(high_x)],
                                   TensorType(elt_of(x), shape), lambda b, v: b.mul(v[0], v[1]))  # fmt: skip
                corners += [e.emit(GatherNDOp(xt, tuples, gathered)), weight]
        pooled = _pool(e, corners, str(attrs["mode"]), shape, xs[1])
        return [e.emit(top.TransposeOp(pooled, [0, 3, 1, 2], result))]


def _batch_entry(e: Emitter, batch_indices: SSAValue, shape: Sequence[int]) -> SSAValue:
    """batch_indices[r] as the first entry of each sample's tuple, [R, oh, ow, s, s, 1]."""
    read = AffineMap(len(shape) + 1, 0, (AffineDimExpr(0),))

    def widen(b: Body, v: Sequence[SSAValue]) -> SSAValue:
        return v[0] if v[0].type == i64 else b.emit(arith.ExtSIOp(v[0], i64))

    return e.generic([batch_indices], TensorType(i64, (*shape, 1)), widen, [read])


def _pool(
    e: Emitter, corners: list[SSAValue], mode: str, shape: Sequence[int], channels: int
) -> SSAValue:
    """[R, oh, ow, C]: per bin, avg or max over the samples of the weighted corners."""
    element = elt_of(corners[0])
    result = TensorType(element, (*shape[:3], channels))
    r, ph, pw, c, iy, ix = (AffineDimExpr(d) for d in range(6))
    values = AffineMap(6, 0, (r, ph, pw, iy, ix, c))
    weights = AffineMap(6, 0, (r, ph, pw, iy, ix))
    block = Block(arg_types=[element] * (len(corners) + 1))
    b = Body(block)
    *inputs, acc = block.args
    terms = [b.mul(inputs[k], inputs[k + 1]) for k in range(0, len(inputs), 2)]
    if mode == "avg":
        total = terms[0]
        for term in terms[1:]:
            total = b.add(total, term)
        step = b.add(acc, b.mul(total, b.like(1 / (shape[3] * shape[4]), total)))
        init = e.fill(result)
    else:
        best = terms[0]
        for term in terms[1:]:
            best = b.max(best, term)
        step = b.max(acc, best)
        init = e.fill(result, float("-inf"))
    block.add_op(top.YieldOp(step))
    maps = [values, weights] * (len(corners) // 2) + [AffineMap(6, 0, (r, ph, pw, c))]
    generic = top.GenericOp(corners, [init], Region(block), maps, [_P] * 4 + [_R] * 2)
    return e.emit(generic)


ROI_LOWERINGS: tuple[type[GraphLowering], ...] = (RoiAlignLowering,)
