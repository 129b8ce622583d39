"""GridSample and AffineGrid -> top ops.

GridSample reads X [N, C, S...] at the points of a grid [N, O..., d] (normalized to
[-1, 1], x first). It is lowered as interpolation over taps:

    u_i      = denormalize(grid[..., d-1-i])           (nearest: rounded half to even;
                                                        border / reflection: moved inside,
                                                        but for cubic)
    taps_i   = (index, weight) pairs along spatial dim i: nearest 1, linear 2, cubic 4,
               each index padded (zeros: weight 0 outside; border: clamped; reflection:
               mirrored)
    y[n, c, o...] = sum over tap combinations of prod_i weight_i * X[n, c, index_0, ...]

every u, index and weight an elementwise `top.generic` over [N, O...]; the reads of X
are `top.gather_nd` on X transposed to [N, S..., C] with tuples (n, index...), so one
gather fetches all channels of a tap. The formulas are those of the ONNX reference
(PyTorch's grid_sampler): cubic is Keys' kernel with A = -0.75; for cubic only the taps
are padded, not the point, as onnxruntime and PyTorch do (the onnx reference pads both).

AffineGrid: grid[n, s..., i] = sum_j theta[n, i, j] * base[s..., j], base the constant
homogeneous coordinates (x, y[, z], 1) of the output points.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
from xdsl.dialects import arith, math
from xdsl.dialects.builtin import AnyFloat, TensorType, i64
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineMap

from lamina.dialects import graph, top
from lamina.dialects.top_index import GatherNDOp
from lamina.dialects.weights import numpy_dtype
from lamina.lowering.graph_to_top_common import Body, Emitter, GraphLowering, elt_of
from lamina.lowering.graph_to_top_scatter import index_tuples, position_entry

_CUBIC_A = -0.75
_TAPS = {"nearest": (0,), "linear": (0, 1), "cubic": (-1, 0, 1, 2)}
_MODES = {"bilinear": "linear", "bicubic": "cubic"}  # opset 16 names


def _reflect(b: Body, x: SSAValue, low: float, high: float) -> SSAValue:
    """Mirror `x` into [low, high] by the nearer border, as often as needed."""
    span = high - low
    if span <= 0:
        return b.like(low, x)
    below, above = b.cmp("olt", x, b.like(low, x)), b.cmp("ogt", x, b.like(high, x))
    dx = b.select(below, b.sub(b.like(low, x), x), b.sub(x, b.like(high, x)))
    turns = b.emit(arith.FPToSIOp(b.div(dx, b.like(span, x)), i64))
    rest = b.sub(dx, b.mul(b.emit(arith.SIToFPOp(turns, cast(AnyFloat, x.type))), b.like(span, x)))
    even = b.cmp("oeq", b.emit(arith.AndIOp(turns, b.const(1, i64))), b.const(0, i64))
    from_low, from_high = b.add(b.like(low, x), rest), b.sub(b.like(high, x), rest)
    mirrored = b.select(below, b.select(even, from_low, from_high),
                        b.select(even, from_high, from_low))  # fmt: skip
    return b.select(b.emit(arith.OrIOp(below, above)), mirrored, x)


def _clamp(b: Body, x: SSAValue, low: float, high: float) -> SSAValue:
    return b.min(b.max(x, b.like(low, x)), b.like(high, x))


def _cubic(offset: int) -> Callable[[Body, SSAValue], SSAValue]:
    """Keys' weight of the tap at `offset` (-1 .. 2) from floor(u), of t = u - floor(u)."""
    a = _CUBIC_A

    def near(b: Body, x: SSAValue) -> SSAValue:  # |x| <= 1: ((a + 2) x - (a + 3)) x^2 + 1
        inner = b.sub(b.mul(b.like(a + 2, x), x), b.like(a + 3, x))
        return b.add(b.mul(b.mul(inner, x), x), b.like(1, x))

    def far(b: Body, x: SSAValue) -> SSAValue:  # 1 < |x| < 2: ((a x - 5a) x + 8a) x - 4a
        inner = b.add(b.mul(b.sub(b.mul(b.like(a, x), x), b.like(5 * a, x)), x), b.like(8 * a, x))
        return b.sub(b.mul(inner, x), b.like(4 * a, x))

    def weight(b: Body, t: SSAValue) -> SSAValue:
        distance = b.abs(b.sub(t, b.like(offset, t)))
        return (near if offset in (0, 1) else far)(b, distance)

    return weight


class _Sampler:
    """The taps of one GridSample: per spatial dim, (index [N, O..., 1], weight [N, O...])."""

    def __init__(self, e: Emitter, grid: SSAValue, sizes: Sequence[int], attrs: dict[str, object]):
        self.e, self.grid, self.sizes = e, grid, sizes
        mode = str(attrs["mode"])
        self.mode = _MODES.get(mode, mode)
        self.padding = str(attrs["padding_mode"])
        self.align = bool(attrs["align_corners"])
        if self.mode not in _TAPS or self.padding not in ("zeros", "border", "reflection"):
            raise e.fail(f"mode '{mode}' with padding '{self.padding}'")
        shape = e.static(grid)
        self.outer = TensorType(elt_of(grid), shape[:-1])

    def _borders(self, size: int) -> tuple[float, float]:
        return (0.0, size - 1.0) if self.align else (-0.5, size - 0.5)

    def coordinate(self, dim: int) -> SSAValue:
        """u along spatial dim `dim`: grid[..., d-1-dim] denormalized and padded."""
        d, size = len(self.sizes), self.sizes[dim]
        rank = len(self.outer.get_shape())
        read = AffineMap(rank, 0, (*(AffineDimExpr(k) for k in range(rank)),
                                   AffineConstantExpr(d - 1 - dim)))  # fmt: skip
        low, high = self._borders(size)

        def body(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            g = b.add(v[0], b.like(1, v[0]))
            if self.align:
                u = b.mul(g, b.like((size - 1) / 2, g))
            else:
                u = b.div(b.sub(b.mul(g, b.like(size, g)), b.like(1, g)), b.like(2, g))
            if self.mode == "nearest":
                u = b.emit(math.RoundEvenOp(u))
            if self.mode == "cubic":  # taps padded one by one (onnxruntime, PyTorch)
                return u
            if self.padding == "border":  # only points beyond the borders move
                outside = b.emit(arith.OrIOp(b.cmp("olt", u, b.like(low, u)),
                                             b.cmp("ogt", u, b.like(high, u))))  # fmt: skip
                return b.select(outside, _clamp(b, u, 0, size - 1), u)
            return _reflect(b, u, low, high) if self.padding == "reflection" else u

        return self.e.generic([self.grid], self.outer, body, [read])

    def taps(self, dim: int) -> list[tuple[SSAValue, SSAValue]]:
        u, size = self.coordinate(dim), self.sizes[dim]
        return [self._tap(u, size, offset) for offset in _TAPS[self.mode]]

    def _base(self, b: Body, u: SSAValue) -> SSAValue:
        """The tap origin: floor(u), or for nearest u truncated (it is rounded already)."""
        if self.mode == "nearest":
            return b.emit(arith.SIToFPOp(b.emit(arith.FPToSIOp(u, i64)), cast(AnyFloat, u.type)))
        return b.emit(math.FloorOp(u))

    def _tap(self, u: SSAValue, size: int, offset: int) -> tuple[SSAValue, SSAValue]:
        e, rank = self.e, len(self.outer.get_shape())
        low, high = self._borders(size)

        def index(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            at = b.add(self._base(b, v[0]), b.like(offset, v[0]))
            if self.padding == "reflection":
                at = _reflect(b, at, low, high)
            return b.emit(arith.FPToSIOp(_clamp(b, at, 0, size - 1), i64))

        def weight(b: Body, v: Sequence[SSAValue]) -> SSAValue:
            base = self._base(b, v[0])
            at = b.add(base, b.like(offset, base))
            if self.mode == "nearest":
                w = b.like(1, base)
            else:
                t = b.sub(v[0], base)
                linear = t if offset else b.sub(b.like(1, t), t)
                w = linear if self.mode == "linear" else _cubic(offset)(b, t)
            if self.padding != "zeros":
                return w
            inside = b.emit(arith.AndIOp(b.cmp("oge", at, b.like(0, at)),
                                         b.cmp("ole", at, b.like(size - 1, at))))  # fmt: skip
            return b.select(inside, w, b.like(0, w))

        indices = TensorType(i64, (*self.outer.get_shape(), 1))
        column = AffineMap(rank + 1, 0, tuple(AffineDimExpr(k) for k in range(rank)))
        return e.generic([u], indices, index, [column]), e.generic([u], self.outer, weight)


class GridSampleLowering(GraphLowering):
    """grid_sample(X, grid) -> weighted sums of gathered taps (module doc)."""

    source = (graph.GridSampleOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, grid = op.operands
        xs, gs = e.static(x), e.static(grid)
        result = e.static_result()
        d = len(xs) - 2
        if d < 1 or gs[-1] != d or elt_of(x) != elt_of(grid):
            raise e.fail(f"input {x.type} with grid {grid.type}")
        sampler = _Sampler(e, grid, xs[2:], e.attrs())
        taps = [sampler.taps(dim) for dim in range(d)]
        channels_last = (0, *range(2, d + 2), 1)
        xt = e.emit(top.TransposeOp(x, channels_last, TensorType(elt_of(x),
                                                                 [xs[k] for k in channels_last])))  # fmt: skip
        outer = gs[:-1]
        batch = position_entry(e, outer, 0)
        gathered_type = TensorType(elt_of(x), (*outer, xs[1]))
        terms: list[SSAValue] = []
        for combination in itertools.product(*taps):
            tuples = index_tuples(e, [batch, *(index for index, _ in combination)])
            terms.append(e.emit(GatherNDOp(xt, tuples, gathered_type)))
            weights = [w for _, w in combination]
            terms.append(weights[0] if d == 1 else e.generic(weights, sampler.outer, _product))
        summed = _weighted_sum(e, terms, gathered_type)
        rank = len(outer) + 1
        back = (0, rank - 1, *range(1, rank - 1))
        return [e.emit(top.TransposeOp(summed, back, result))]


def _product(b: Body, v: Sequence[SSAValue]) -> SSAValue:
    product = v[0]
    for value in v[1:]:
        product = b.mul(product, value)
    return product


def _weighted_sum(e: Emitter, terms: list[SSAValue], result: TensorType[Attribute]) -> SSAValue:
    """sum_j terms[2j] * terms[2j + 1], the weights [N, O...] broadcast over channels."""
    rank = len(result.get_shape())
    full = AffineMap.identity(rank)
    outer = AffineMap(rank, 0, tuple(AffineDimExpr(k) for k in range(rank - 1)))

    def body(b: Body, v: Sequence[SSAValue]) -> SSAValue:
        total = b.mul(v[0], v[1])
        for j in range(2, len(v), 2):
            total = b.add(total, b.mul(v[j], v[j + 1]))
        return total

    return e.generic(terms, result, body, [full, outer] * (len(terms) // 2))


class AffineGridLowering(GraphLowering):
    """affine_grid(theta, size) -> a generic contracting theta with the base grid."""

    source = (graph.AffineGridOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        theta, size_value = op.operands
        ts, result = e.static_in_out(theta)
        spatial = [int(s) for s in e.constant(size_value, "size").reshape(-1)[2:]]
        d = len(spatial)
        if ts[1:] != (d, d + 1) or result.get_shape() != (ts[0], *spatial, d):
            raise e.fail(f"theta {theta.type} for output {result}")
        base = _base_grid(spatial, bool(e.attrs()["align_corners"]))
        element = cast(AnyFloat, result.get_element_type())
        base_value = e.emit(graph.ConstantOp.from_array(base.astype(numpy_dtype(element)), "grid"))
        loops = d + 3  # n, s..., i, then j reduced
        n, i, j = AffineDimExpr(0), AffineDimExpr(d + 1), AffineDimExpr(d + 2)
        points = tuple(AffineDimExpr(k) for k in range(1, d + 1))
        block = Block(arg_types=[element, element, element])
        b = Body(block)
        block.add_op(top.YieldOp(b.add(block.args[2], b.mul(block.args[0], block.args[1]))))
        maps = [AffineMap(loops, 0, (n, i, j)), AffineMap(loops, 0, (*points, j)),
                AffineMap(loops, 0, (n, *points, i))]  # fmt: skip
        iterators = [top.IteratorType.PARALLEL] * (d + 2) + [top.IteratorType.REDUCTION]
        init = e.fill(result)
        generic = top.GenericOp([theta, base_value], [init], Region(block), maps, iterators)
        return [e.emit(generic)]


def _base_grid(spatial: Sequence[int], align: bool) -> np.ndarray:
    """[S..., d + 1]: the normalized (x, y[, z], 1) of each output point."""
    axes = [np.linspace(-1, 1, s) if align else (np.arange(s) * 2 + 1) / s - 1 for s in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([*reversed(mesh), np.ones(tuple(spatial))], axis=-1)


SAMPLE_LOWERINGS: tuple[type[GraphLowering], ...] = (GridSampleLowering, AffineGridLowering)
