"""Small-M `top.matmul` (M < 4 rows, a constant right operand) as a GEMV-style kernel: the
fully connected layers of AlexNet / VGG at batch 1 (1 x 4096 · 4096 x 4096) read every
weight once, so they are bound by how fast the weights stream from memory.

B is packed at compile time into panels of NB = `VECTORS` vectors of columns,
Bp[Np/NB][K][NB] (`pack_b_array`), so each panel is one contiguous stream:

    for jp in 0..Np/NB (parallel):                      # one panel of NB columns
      acc[s][r][v] = 0                                   # S sets of M x NB/L vectors
      for k in 0..K - K%S step S:                        # S independent FMA chains
        for s < S: acc[s][r][v] = fma(bcast(A[r, k+s]), Bp[jp, k+s, v*L], acc[s][r][v])
      (the last K%S steps once more, straight-line)
      C[r, jp*NB + v*L] = sum over s of acc[s][r][v]

C is written straight when N is a multiple of NB and no elementwise consumer is fused, else
into an arena Cp[M][Np] that one pass copies out through the epilogue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
from xdsl.dialects import arith, vector
from xdsl.dialects.builtin import MemRefType, TensorType, VectorType, f32
from xdsl.ir import Attribute, SSAValue
from xdsl.utils.hints import isa

from lamina.dialects import top
from lamina.dialects.graph import ConstantOp
from lamina.dialects.loop import AllocOp, ForOp, VLoadOp, VStoreOp, YieldOp
from lamina.lowering.bufferize import Buffers
from lamina.lowering.epilogue_fusion import PackedConstant
from lamina.lowering.top_to_loop_build import Emitter
from lamina.lowering.top_to_loop_gemm import Blocking, pack_b_array, span, store_with_epilogue

MAX_ROWS = 3
"""Matmuls with at most this many rows (per batch-free operand) take the GEMV kernel."""

VECTORS = 4
"""Vectors of columns per panel: M*VECTORS*SETS accumulators stay in registers."""

SETS = 2
"""Independent accumulator sets along K (hide the FMA latency at M = 1)."""


def gemv_blocking(op: top.MatmulOp, vector_bits: int) -> Blocking | None:
    """The panel layout of `op`'s right operand when `op` takes the GEMV kernel: f32, no
    batch dims, at most `MAX_ROWS` rows, a constant right operand."""
    types = [v.type for v in (op.lhs, op.rhs, op.result)]
    if not all(isa(t, TensorType[Attribute]) and t.get_element_type() == f32 for t in types):
        return None
    a_shape, b_shape, c_shape = (cast(TensorType[Attribute], t).get_shape() for t in types)
    if len(a_shape) != 2 or len(b_shape) != 2 or not isinstance(op.rhs.owner, ConstantOp):
        return None
    m, n = c_shape
    if m > MAX_ROWS:
        return None
    k = a_shape[0] if op.transpose_lhs else a_shape[1]
    lanes = max(1, vector_bits // 32)
    nb = min(VECTORS, -(-n // lanes)) * lanes
    return Blocking(m, n, k, lanes, 1, nb, k, 1, nb)


def packed_gemv_rhs(op: top.MatmulOp, vector_bits: int) -> list[PackedConstant]:
    """The right operand as [Np/NB][K][NB] panels, when `op` takes the GEMV kernel."""
    b = gemv_blocking(op, vector_bits)
    if b is None:
        return []
    transposed = bool(op.transpose_rhs)

    def pack(array: np.ndarray) -> np.ndarray:
        return pack_b_array(array.T if transposed else array, b)

    return [PackedConstant(1, f"gemv-b-{b.k}x{b.np_}/{b.nr}{'t' * transposed}", pack)]


def lower_gemv(em: Emitter, op: top.MatmulOp, b: Blocking, buffers: Buffers) -> None:
    """The loop nest of the module docstring (the right operand must be packed)."""
    epilogue = buffers.epilogues.get(op)
    c = buffers.buffer(op.result if epilogue is None else epilogue.result, op)
    a, bp = buffers.buffer(op.lhs, op), buffers.packed[(op, 1)]
    direct = epilogue is None and b.np_ == b.n
    cp = c if direct else em.value(AllocOp(MemRefType(f32, [b.m, b.np_])))
    vt = VectorType(f32, [b.lanes])
    zero = em.value(vector.BroadcastOp(em.const(0.0, f32), vt))
    nv = b.nr // b.lanes

    def a_at(r: int, k: SSAValue) -> list[SSAValue]:
        return [k, em.index(r)] if op.transpose_lhs else [em.index(r), k]

    def step(jp: SSAValue, k: SSAValue, acc: Sequence[SSAValue]) -> list[SSAValue]:
        """One k of one set: acc[r*nv + v] += A[r, k] * Bp[jp, k, v*L]."""
        columns = [em.value(VLoadOp(bp, [jp, k, em.index(v * b.lanes)], vt)) for v in range(nv)]
        out: list[SSAValue] = []
        for r in range(b.m):
            row = em.value(vector.BroadcastOp(em.load(a, a_at(r, k)), vt))
            out += [
                em.value(vector.FMAOp(row, col, acc[r * nv + v])) for v, col in enumerate(columns)
            ]
        return out

    tiles = b.m * nv
    main = b.k - b.k % SETS
    with span(em, 0, b.np_ // b.nr, parallel=True) as jp:
        loop = ForOp(em.index(0), em.index(main), em.index(SETS), [zero] * (tiles * SETS))
        em.emit(loop)
        with em.inside(loop):
            k, *acc = loop.body.block.args
            out: list[SSAValue] = []
            for s in range(SETS):
                out += step(jp, em.iadd(k, s), acc[s * tiles : (s + 1) * tiles])
            em.emit(YieldOp(*out))
        sets: list[list[SSAValue]] = [
            list(loop.res[s * tiles : (s + 1) * tiles]) for s in range(SETS)
        ]
        for k_tail in range(main, b.k):
            sets[0] = step(jp, em.index(k_tail), sets[0])
        j0 = em.imul(jp, b.nr)
        for t in range(tiles):
            total = sets[0][t]
            for s in range(1, SETS):
                total = em.value(arith.AddfOp(total, sets[s][t]))
            r, v = divmod(t, nv)
            em.emit(VStoreOp(total, cp, [em.index(r), em.iadd(j0, v * b.lanes)]))
    if not direct:
        rows = span(em, 0, b.m, parallel=True)
        with rows as i, span(em, 0, b.n, parallel=True, vector=b.lanes) as j:
            store_with_epilogue(em, em.load(cp, [i, j]), c, [i, j], epilogue, buffers)
        em.dealloc(cp)
