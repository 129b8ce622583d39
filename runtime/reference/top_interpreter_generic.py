"""`top.generic` on numpy arrays, for the top interpreter: each input is gathered over the
iteration space through its indexing map (numpy fancy indexing on broadcast index grids),
so an all-parallel generic is one vectorised evaluation of its body. A reduction whose body
is `acc = combine(acc, f(inputs))` reduces f over the reduction axes with numpy; any other
reduction body runs once per point of the reduction space, vectorised over the rest.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
from xdsl.dialects import arith
from xdsl.ir import Block, Operation
from xdsl.ir.affine import (
    AffineBinaryOpExpr,
    AffineBinaryOpKind,
    AffineConstantExpr,
    AffineDimExpr,
    AffineExpr,
    AffineMap,
)

from lamina.dialects.top_base import IteratorType
from lamina.dialects.top_generic import GenericOp
from lamina.errors import LaminaError, UnsupportedOpError
from lamina.runtime.reference.top_interpreter_scalar import run_block

Array = np.ndarray


def _affine(expr: AffineExpr, grids: Sequence[Any]) -> Any:
    """An affine expression evaluated on index grids (arrays or ints)."""
    if isinstance(expr, AffineDimExpr):
        return grids[expr.position]
    if isinstance(expr, AffineConstantExpr):
        return expr.value
    if isinstance(expr, AffineBinaryOpExpr):
        lhs, rhs = _affine(expr.lhs, grids), _affine(expr.rhs, grids)
        kind = expr.kind
        if kind == AffineBinaryOpKind.Add:
            return lhs + rhs
        if kind == AffineBinaryOpKind.Mul:
            return lhs * rhs
        if kind == AffineBinaryOpKind.FloorDiv:
            return lhs // rhs
        if kind == AffineBinaryOpKind.CeilDiv:
            return -(-lhs // rhs)
        if kind == AffineBinaryOpKind.Mod:
            return lhs % rhs
    raise UnsupportedOpError(f"affine expression {expr} in the top interpreter")


def _check_extents(array: Array, positions: Sequence[int], grids: Sequence[Any]) -> None:
    """Dim k of `array`, read by loop positions[k] alone, has that loop's extent: a size-1
    dim is not broadcast (the IR is wrong if a verifier-skipping pass made it so)."""
    for dim, (position, size) in enumerate(zip(positions, array.shape, strict=True)):
        grid = grids[position]
        extent = np.shape(grid)[position] if np.ndim(grid) else None
        if extent is not None and extent != size:
            raise LaminaError(
                f"top.generic operand of shape {array.shape}: dim {dim} is {size} but loop "
                f"d{position} runs {extent} times"
            )


def _gather(array: Array, amap: AffineMap, grids: Sequence[Any], rank: int) -> Array:
    """array[map(i)] for every point i of the grids, broadcastable to the iteration space."""
    if all(isinstance(r, AffineDimExpr) for r in amap.results) and len(
        {cast(AffineDimExpr, r).position for r in amap.results}
    ) == len(amap.results):
        # a projected permutation: a transposed view with size-1 dims, no copy
        positions = [cast(AffineDimExpr, r).position for r in amap.results]
        _check_extents(array, positions, grids)
        view = np.transpose(array, np.argsort(positions))
        shape = [1] * rank
        for position, size in zip(sorted(positions), view.shape, strict=True):
            shape[position] = size
        # grids may fix some loops to one index (a reduction step)
        fixed = tuple(
            slice(None) if shape[d] == 1 or np.ndim(g) else slice(g, g + 1)
            for d, g in enumerate(grids)
        )
        return view.reshape(shape)[fixed]
    index = tuple(_affine(r, grids) for r in amap.results)
    return array[index] if index else array[()]


_COMBINERS: dict[type[Operation], np.ufunc] = {
    arith.AddfOp: np.add,
    arith.AddiOp: np.add,
    arith.MulfOp: np.multiply,
    arith.MuliOp: np.multiply,
    arith.MaximumfOp: np.maximum,
    arith.MinimumfOp: np.minimum,
    arith.MaxSIOp: np.maximum,
    arith.MinSIOp: np.minimum,
}


def _combiner(block: Block, n_inputs: int) -> list[np.ufunc] | None:
    """The ufunc of each output if every yielded value is `combine(acc_k, f(inputs))` and
    acc_k is used nowhere else; None otherwise."""
    yield_op = block.last_op
    assert yield_op is not None
    ufuncs: list[np.ufunc] = []
    for k, value in enumerate(yield_op.operands):
        acc = block.args[n_inputs + k]
        owner = value.owner
        ufunc = _COMBINERS.get(type(owner)) if isinstance(owner, Operation) else None
        if (
            ufunc is None
            or acc.uses.get_length() != 1
            or acc not in cast(Operation, owner).operands
        ):
            return None
        ufuncs.append(ufunc)
    return ufuncs


def run_generic(op: GenericOp, args: Sequence[Array]) -> list[Array]:
    maps = op.maps()
    ranges = op.loop_ranges()
    rank = len(ranges)
    n_inputs = len(op.inputs)
    reductions = [d for d, it in enumerate(op.iterator_types) if it.data == IteratorType.REDUCTION]
    grids: list[Any] = list(np.ogrid[tuple(slice(0, r) for r in ranges)]) if rank else []
    outputs = [np.asarray(a) for a in args[n_inputs:]]
    out_maps = maps[n_inputs:]
    block = op.body.block
    if not reductions:
        values = [_gather(a, m, grids, rank) for a, m in zip(args, maps, strict=True)]
        results = run_block(block, values)
        return [
            _scatter(r, m, o, ranges) for r, m, o in zip(results, out_maps, outputs, strict=True)
        ]
    ufuncs = _combiner(block, n_inputs)
    if ufuncs is not None:
        identities = [np.asarray(u.identity if u.identity is not None else _extreme(u, o), o.dtype)
                      for u, o in zip(ufuncs, outputs, strict=True)]  # fmt: skip
        values = [
            _gather(a, m, grids, rank)
            for a, m in zip(args[:n_inputs], maps[:n_inputs], strict=True)
        ]
        terms = run_block(block, [*values, *identities])
        finals: list[Array] = []
        for u, t, m, o in zip(ufuncs, terms, out_maps, outputs, strict=True):
            full = np.broadcast_to(t, ranges)
            reduced = u.reduce(full, axis=tuple(reductions), keepdims=True)
            init = _gather(o, m, grids, rank)
            combined = u(np.broadcast_to(init, reduced.shape), reduced)
            finals.append(_scatter(combined, m, o, combined.shape))
        return finals
    return _run_sequential(op, args, grids, reductions, ranges)


def _extreme(ufunc: np.ufunc, like: Array) -> Any:
    info = np.finfo(like.dtype) if like.dtype.kind == "f" else np.iinfo(like.dtype)
    if like.dtype.kind == "f":
        return -np.inf if ufunc is np.maximum else np.inf
    return info.min if ufunc is np.maximum else info.max


def _run_sequential(
    op: GenericOp, args: Sequence[Array], grids: list[Any], reductions: list[int],
    ranges: Sequence[int],
) -> list[Array]:  # fmt: skip
    maps = op.maps()
    n_inputs = len(op.inputs)
    rank = len(ranges)
    outputs = [np.asarray(a) for a in args[n_inputs:]]
    out_maps = maps[n_inputs:]
    step_grids = list(grids)
    for d in reductions:
        step_grids[d] = 0
    accs = [_gather(o, m, step_grids, rank) for o, m in zip(outputs, out_maps, strict=True)]
    for point in itertools.product(*(range(ranges[d]) for d in reductions)):
        for d, i in zip(reductions, point, strict=True):
            step_grids[d] = i
        values = [
            _gather(a, m, step_grids, rank)
            for a, m in zip(args[:n_inputs], maps[:n_inputs], strict=True)
        ]
        accs = run_block(op.body.block, [*values, *accs])
    shape = [1 if d in reductions else r for d, r in enumerate(ranges)]
    return [_scatter(a, m, o, shape) for a, m, o in zip(accs, out_maps, outputs, strict=True)]


def _scatter(value: Array, amap: AffineMap, init: Array, shape: Sequence[int]) -> Array:
    """The output tensor holding `value` (over the iteration space `shape`) at the positions
    of its projected-permutation map; loops the map drops are read at their last index."""
    value = np.broadcast_to(value, tuple(shape))
    positions = [cast(AffineDimExpr, r).position for r in amap.results]
    dropped = [d for d in range(len(shape)) if d not in positions]
    if dropped:
        value = value[tuple(-1 if d in dropped else slice(None) for d in range(len(shape)))]
    kept = [d for d in range(len(shape)) if d not in dropped]
    value = np.transpose(value, [kept.index(p) for p in positions])
    return np.array(value, dtype=init.dtype)
