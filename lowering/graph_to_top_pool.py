"""Pooling that tracks positions -> top.pad + top.generic: MaxPool with its Indices output
and MaxUnpool.

MaxPool's indices are flat positions in x (row-major, or column-major over the spatial dims
with storage_order = 1). One generic runs the loops (n, c, o..., k...) and reduces the
kernel loops k into (best value, its index); x is padded with the lowest value first, and
each spatial position reaches the body through an iota over the padded dim holding the
unpadded coordinate (the body has no index op). MaxUnpool is a scatter written as a
gather: y[j] = sum over i of (indices[i] == j ? x[i] : 0), O(|x| |y|).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import TensorType, i64
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineExpr, AffineMap
from xdsl.pattern_rewriter import PatternRewriter

from lamina.dialects import graph, top
from lamina.dialects.weights import numpy_dtype
from lamina.lowering.graph_to_top_common import (
    Body,
    Emitter,
    GraphLowering,
    elt_of,
    ints,
    is_unsigned,
    shape_of,
)
from lamina.lowering.graph_to_top_elementwise import convert
from lamina.lowering.graph_to_top_index import dim_map, iota
from lamina.lowering.graph_to_top_nn import window_attrs


def lowest(element: Attribute) -> float:
    """The value no element is below: -inf, or the integer type's minimum."""
    dtype = np.dtype(numpy_dtype(element))
    return -math.inf if dtype.kind == "f" else int(np.iinfo(dtype).min)


def _coordinates(e: Emitter, padded: int, low: int) -> SSAValue:
    """[-low, ..., padded - low - 1]: the unpadded coordinate of each padded position."""
    values = np.arange(padded, dtype=np.int64) - low
    return e.emit(graph.ConstantOp.from_array(values, "pool_coordinates"))


def _strides_of(shape: Sequence[int], column_major: bool) -> list[int]:
    """Flat-index strides of N C S... (the spatial dims reversed when column-major)."""
    _, c, *spatial = shape
    order = list(reversed(range(len(spatial)))) if column_major else list(range(len(spatial)))
    strides = [0] * len(spatial)
    step = 1
    for dim in reversed(order):
        strides[dim] = step
        step *= spatial[dim]
    return [c * step, step, *strides]


class MaxPoolIndicesLowering(GraphLowering):
    """max_pool(x) -> (y, indices) when the indices are used (see the module doc)."""

    source = (graph.MaxPoolOp,)

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if isinstance(op, graph.MaxPoolOp) and op.results[1].uses:
            super().match_and_rewrite(op, rewriter)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x = op.operands[0]
        xs, result = e.static_in_out(x)
        attrs = e.attrs()
        kernel = ints(attrs["kernel_shape"])
        strides, dilations, low, _ = window_attrs(e, xs, kernel)
        out = result.get_shape()[2:]
        k = len(kernel)
        extents = [(o - 1) * s + (w - 1) * d + 1
                   for o, s, w, d in zip(out, strides, kernel, dilations, strict=True)]  # fmt: skip
        high = [max(0, ext - lo - size) for ext, lo, size in zip(extents, low, xs[2:], strict=True)]
        element = elt_of(x)
        padded_shape = [
            *xs[:2],
            *(lo + s + hi for lo, s, hi in zip(low, xs[2:], high, strict=True)),
        ]
        fill = e.scalar(lowest(element), element)
        padded = e.emit(top.PadOp(x, TensorType(element, padded_shape), mode=top.PadMode.CONSTANT,
                                  low=[0, 0, *low], high=[0, 0, *high], value=fill))  # fmt: skip
        loops = 2 + 2 * k
        window: list[AffineExpr] = [AffineDimExpr(2 + i) * s + AffineDimExpr(2 + k + i) * d
                                    for i, (s, d) in enumerate(zip(strides, dilations, strict=True))]  # fmt: skip
        inputs = [padded, iota(e, xs[0]), iota(e, xs[1])]
        maps = [AffineMap(loops, 0, (AffineDimExpr(0), AffineDimExpr(1), *window)),
                dim_map(loops, 0), dim_map(loops, 1)]  # fmt: skip
        for i in range(k):
            inputs.append(_coordinates(e, padded_shape[2 + i], low[i]))
            maps.append(AffineMap(loops, 0, (window[i],)))
        extent = np.zeros(kernel, np.int64)  # read at (k...): gives the kernel loops their sizes
        inputs.append(e.emit(graph.ConstantOp.from_array(extent, "pool_kernel")))
        maps.append(AffineMap(loops, 0, tuple(AffineDimExpr(2 + k + i) for i in range(k))))
        flat = _strides_of(xs, bool(attrs.get("storage_order", 0)))
        y, indices = self._reduce(e, inputs, maps, result, flat, loops)
        return [y, indices if isinstance(op.results[1].type, TensorType) else None]

    @staticmethod
    def _reduce(
        e: Emitter,
        inputs: list[SSAValue],
        maps: list[AffineMap],
        result: TensorType[Attribute],
        flat: Sequence[int],
        loops: int,
    ) -> tuple[SSAValue, SSAValue]:
        """The generic keeping (best value, flat index of it); the first maximum wins."""
        element = result.get_element_type()
        parallel = loops - (loops - 2) // 2
        out_map = AffineMap(loops, 0, tuple(AffineDimExpr(d) for d in range(parallel)))
        best = e.fill(result, lowest(element))
        where = e.fill(TensorType(i64, result.get_shape()), 0)
        block = Block(arg_types=[element, *[i64] * (len(inputs) - 1), element, i64])
        b = Body(block, unsigned=is_unsigned(element))
        value, *positions, _, best_value, best_index = block.args
        index = b.like(0, best_index)
        for position, stride in zip(positions, flat, strict=True):
            index = b.add(index, b.mul(position, b.like(stride, position)))
        better = b.cmp("ogt", b.signless(value), b.signless(best_value))
        block.add_op(top.YieldOp(b.select(better, value, best_value),
                                 b.select(better, index, best_index)))  # fmt: skip
        iterators = [top.IteratorType.PARALLEL] * parallel
        iterators += [top.IteratorType.REDUCTION] * (loops - parallel)
        generic = top.GenericOp(inputs, [best, where], Region(block), [*maps, out_map, out_map],
                                iterators)  # fmt: skip
        e.emit(generic)
        return generic.res[0], generic.res[1]


class MaxUnpoolLowering(GraphLowering):
    """max_unpool(x, indices[, output_shape]): zeros but y.flat[indices] = x (see the
    module doc), y of the result type's shape. With an output_shape, indices are flat in
    it, as in onnxruntime (the ONNX reference pads a default-shaped result instead, which
    misplaces the indices of a MaxPool over an input of that shape)."""

    source = (graph.MaxUnpoolOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, indices = op.operands[:2]
        e.check_static(x, indices)
        return [self._scatter(e, x, indices, e.static_result().get_shape())]

    @staticmethod
    def _scatter(e: Emitter, x: SSAValue, indices: SSAValue, shape: Sequence[int]) -> SSAValue:
        size, total = math.prod(shape_of(x)), math.prod(shape)
        element = elt_of(x)
        values, where = e.reshape(x, [size]), e.reshape(indices, [size])
        block = Block(arg_types=[element, elt_of(where), i64, element])
        b = Body(block)
        value, wanted, position, acc = block.args
        hit = b.cmp("oeq", convert(b, wanted, i64), position)
        block.add_op(top.YieldOp(b.add(acc, b.select(hit, value, b.like(0, value)))))
        generic = top.GenericOp(
            [values, where, iota(e, total)],
            [e.fill(TensorType(element, [total]))],
            Region(block),
            [dim_map(2, 1), dim_map(2, 1), dim_map(2, 0), dim_map(2, 0)],
            [top.IteratorType.PARALLEL, top.IteratorType.REDUCTION],
        )
        e.emit(generic)
        return e.reshape(generic.res[0], shape)


POOL_LOWERINGS: tuple[type[GraphLowering], ...] = (MaxPoolIndicesLowering, MaxUnpoolLowering)
