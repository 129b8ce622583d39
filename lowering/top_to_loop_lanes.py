"""Runs of contiguous f32 elements as explicit vectors, for the kernels whose innermost dim
is short and seldom a multiple of the vector: the channels of NHWC convolutions.

- `tail_pieces(count, lanes)`: what is left of a run after its whole vectors, as the
  binary split of the rest (at 16 lanes, 24 = one vector + [8], 7 = [4, 2, 1]), so every
  access stays inside the run without masks; `row_pieces` emits a whole run that way;
- `load_piece` / `store_piece` / `splat` / `fma`: one piece as a `vector<width>` op, or
  as the scalar op when its width is 1 (OpenCL C has no 1-lane vectors);
- `swap_lane_blocks`: one round of a transpose of a square of vectors in registers;
- `vectorises` / `vector_epilogue`: the fused elementwise consumer (`Epilogue`) applied to
  a whole piece, its other inputs read as a piece where their map keeps the innermost loop
  dim as its last result and as one broadcast element where the map does not use it; a
  one-element constant input (a clamp's bound) is a literal (`scalar_constant`), which
  LLVM folds into cheaper min / max sequences than for a value it loads.
  Comparisons and selects stay scalar (xDSL's `arith.cmpf` gives an `i1`, never a
  vector of them), so a body with them does not vectorise.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from math import prod

from xdsl.dialects import arith, vector
from xdsl.dialects.builtin import DenseArrayBase, TensorType, VectorType, f32, i64
from xdsl.ir import Attribute, Block, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap
from xdsl.utils.hints import isa

from lamina.dialects import top
from lamina.dialects.graph import ConstantOp
from lamina.dialects.loop import VLoadOp, VStoreOp
from lamina.dialects.weights import tensor_to_array
from lamina.lowering.bufferize import Buffers
from lamina.lowering.epilogue_fusion import Epilogue
from lamina.lowering.top_to_loop_build import Emitter, is_float, memref_type


def tail_pieces(count: int, lanes: int) -> list[tuple[int, int]]:
    """(offset, width) of the pieces of a run of `count` after its `count // lanes` whole
    vectors: powers of two, widest first."""
    pieces: list[tuple[int, int]] = []
    offset, width = count - count % lanes, lanes
    while offset < count:
        while width > count - offset:
            width //= 2
        pieces.append((offset, width))
        offset += width
    return pieces


def row_pieces(em: Emitter, count: int, lanes: int, piece: Callable[[SSAValue, int], None]) -> None:
    """`piece(start, width)` over a run of `count` elements: a loop over its whole vectors,
    then the `tail_pieces`. For NCHW rows shorter than a vector or not a multiple of one
    (7, 14, 28): the scalar row loop LLVM is otherwise left with it vectorised across
    the rows instead, as gathers and scatters."""
    whole = count - count % lanes
    if whole:
        with em.inside(em.loop(0, whole, lanes, parallel=True)) as loop:
            piece(loop.induction_var, lanes)
    for offset, width in tail_pieces(count, lanes):
        piece(em.index(offset), width)


def width_of(value: SSAValue) -> int:
    t = value.type
    return t.get_shape()[0] if isinstance(t, VectorType) else 1


def load_piece(em: Emitter, buffer: SSAValue, indices: Sequence[SSAValue], width: int):
    """`width` elements of `buffer` from `indices` along its innermost dim."""
    if width == 1:
        return em.load(buffer, indices)
    element = memref_type(buffer).element_type
    return em.value(VLoadOp(buffer, indices, VectorType(element, [width])))


def load_like(em: Emitter, buffer: SSAValue, indices: Sequence[SSAValue], like: SSAValue):
    """One piece of `buffer` from `indices` of `like`'s type: a vector (of any width, one
    lane too) or a scalar."""
    if isa(like.type, VectorType[Attribute]):
        return em.value(VLoadOp(buffer, indices, like.type))
    return em.load(buffer, indices)


def splat_like(em: Emitter, scalar: SSAValue, like: SSAValue) -> SSAValue:
    """`scalar` as a piece of `like`'s type (see `load_like`)."""
    if isa(like.type, VectorType[Attribute]):
        return em.value(vector.BroadcastOp(scalar, like.type))
    return scalar


def store_piece(em: Emitter, value: SSAValue, buffer: SSAValue, indices: Sequence[SSAValue]):
    if isinstance(value.type, VectorType):
        em.emit(VStoreOp(value, buffer, indices))
    else:
        em.store(value, buffer, indices)


def splat(em: Emitter, scalar: SSAValue, width: int) -> SSAValue:
    if width == 1:
        return scalar
    return em.value(vector.BroadcastOp(scalar, VectorType(scalar.type, [width])))


def zero_piece(em: Emitter, width: int) -> SSAValue:
    """An f32 piece of `width` zeros."""
    return splat(em, em.const(0.0, f32), width)


def fma(em: Emitter, a: SSAValue, b: SSAValue, acc: SSAValue) -> SSAValue:
    """acc + a * b on one piece."""
    if isinstance(acc.type, VectorType):
        return em.value(vector.FMAOp(a, b, acc))
    return em.add(em.mul(a, b), acc)


def scalar_constant(value: SSAValue) -> float | None:
    """The element of a one-element f32 `graph.constant`, else None (also when its weight
    was elided)."""
    op, t = value.owner, value.type
    if not isinstance(op, ConstantOp) or op.is_elided() or not isa(t, TensorType[Attribute]):
        return None
    if t.get_element_type() != f32 or prod(t.get_shape()) != 1:
        return None
    return float(tensor_to_array(op.value).reshape(-1)[0])


def _reads_lanes(amap: AffineMap) -> bool | None:
    """True where `amap` reads a run along the innermost loop dim (its last result is that
    dim, no other result uses it), False where it does not use that dim, else None."""
    innermost = amap.num_dims - 1
    using = [i for i, e in enumerate(amap.results) if innermost in e.used_dims()]
    if not using:
        return False
    last = len(amap.results) - 1
    if using == [last] and amap.results[last] == AffineDimExpr(innermost):
        return True
    return None


def vectorises(body: Block, maps: Sequence[AffineMap]) -> bool:
    """Whether `vector_epilogue` takes a consumer of this body and these input maps: arith
    and math ops on floats only, each map reading a run or one element (`_reads_lanes`)."""
    for op in body.ops:
        if isinstance(op, top.YieldOp):
            continue
        values = [*op.operands, *op.results]
        if op.regions or not op.name.startswith(("arith.", "math.")):
            return False
        if not all(is_float(v.type) for v in values):
            return False
    return all(_reads_lanes(m) is not None for m in maps)


def vector_epilogue(
    em: Emitter,
    value: SSAValue,
    indices: Sequence[SSAValue],
    epilogue: Epilogue,
    buffers: Buffers,
    views: tuple[Mapping[SSAValue, SSAValue], Sequence[SSAValue]] | None = None,
) -> SSAValue:
    """The consumer's body on the piece `value`, whose first element is the output element
    at `indices` (the consumer must `vectorises`); `views` = (buffer by input, indices):
    those inputs read as a piece of that buffer at those indices instead."""
    width = width_of(value)

    def read(source: SSAValue, amap: AffineMap) -> SSAValue:
        literal = scalar_constant(source)
        if literal is not None:
            return splat(em, em.const(literal, f32), width)
        if views is not None and source in views[0]:
            return load_piece(em, views[0][source], views[1], width)
        where = [em.affine(e, indices) for e in amap.results]
        if _reads_lanes(amap):
            return load_piece(em, buffers.of[source], where, width)
        return splat(em, em.load(buffers.of[source], where), width)

    mapper = epilogue.arguments(value, read)
    for op in epilogue.body.block.ops:
        if isinstance(op, top.YieldOp):
            return mapper.get(op.arguments[0], op.arguments[0])
        if isinstance(op, arith.ConstantOp):
            scalar = em.value(op.clone())
            mapper[op.result] = splat(em, scalar, width)
            continue
        operands = [mapper[o] for o in op.operands]
        result_types = [r.type if width == 1 else VectorType(r.type, [width]) for r in op.results]
        lanes = type(op).create(
            operands=operands,
            result_types=result_types,
            properties=dict(op.properties),
            attributes=dict(op.attributes),
        )
        em.emit(lanes)
        mapper.update(zip(op.results, lanes.results, strict=True))
    raise AssertionError("an epilogue body ends in top.yield")


def swap_lane_blocks(em: Emitter, rows: list[SSAValue], block: int, stride: int) -> list[SSAValue]:
    """One round of a transpose in registers: for each pair of vectors (rows[i],
    rows[i + stride]), i & stride == 0, the lanes k with k & block of the first swapped
    with the lanes k - block of the second (two-input shuffles; `block` and `stride` powers
    of two). The rounds (block, stride) = (b, b) for every power of two b below the lanes
    transpose a square of vectors, in any order (each round swaps one bit of the row index
    with that bit of the lane index)."""
    lanes = width_of(rows[0])
    vt = VectorType(f32, [lanes])
    low = [k if not k & block else lanes + k - block for k in range(lanes)]
    high = [k + block if not k & block else lanes + k for k in range(lanes)]
    masks = [DenseArrayBase.from_list(i64, m) for m in (low, high)]
    out = list(rows)
    for i in range(len(rows)):
        if not i & stride:
            pair = rows[i], rows[i + stride]
            out[i], out[i + stride] = (
                em.value(vector.ShuffleOp(*pair, mask, result_type=vt)) for mask in masks
            )
    return out
