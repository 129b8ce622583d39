"""A `top.matmul` on f32 as the packed GEMM of lowering/top_to_loop_gemm.py, per batch: its
blocking for the device's caches, its constant operands packed at compile time, and the
scratch blocks (packed A / B, padded C) one per batch where they fit, so that the batches
(attention's heads) run in parallel."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from math import prod
from typing import cast

import numpy as np
from xdsl.dialects.builtin import MemRefType, TensorType, f32
from xdsl.ir import Attribute, SSAValue
from xdsl.utils.hints import isa

from lamina.dialects import top
from lamina.dialects.loop import AllocOp
from lamina.lowering.bufferize import Buffers
from lamina.lowering.epilogue_fusion import PackedConstant
from lamina.lowering.top_to_loop_build import Emitter
from lamina.lowering.top_to_loop_gemm import (
    MIN_GEMM_FLOPS,
    Blocking,
    GemmPlan,
    clamped,
    emit_gemm,
    matmul_gemm_blocking,
    micro_tile,
    pack_a_array,
    pack_b_array,
    packed_panel,
    runtime_panel,
    span,
    store_with_epilogue,
)
from lamina.targets import DEFAULT_CACHES, CacheSizes

PRIVATE_SCRATCH_BYTES = 1 << 20
"""The most scratch (packed blocks, padded C) a batched matmul takes to give each batch its
own; an L2's worth, of the arena that the model's tensors already take."""


def matmul_blocking(
    op: top.MatmulOp, vector_bits: int, caches: CacheSizes = DEFAULT_CACHES
) -> Blocking | None:
    """The blocking of `op` as a packed GEMM for `caches`, or None when the reference nest
    lowers it (not f32, fewer rows than half a micro-tile, or too small)."""
    types = [v.type for v in (op.lhs, op.rhs, op.result)]
    if not all(isa(t, TensorType[Attribute]) and t.get_element_type() == f32 for t in types):
        return None
    a_shape, _, c_shape = (cast(TensorType[Attribute], t).get_shape() for t in types)
    m, n = c_shape[-2:]
    k = a_shape[-2] if op.transpose_lhs else a_shape[-1]
    _, mr, _ = micro_tile(vector_bits)
    if 2 * m < mr or m * n * k < MIN_GEMM_FLOPS:
        return None
    return matmul_gemm_blocking(m, n, k, vector_bits, caches)


def packed_matmul_operands(
    op: top.MatmulOp, vector_bits: int, caches: CacheSizes = DEFAULT_CACHES
) -> list[PackedConstant]:
    """Operands without batch dims, in panel layout, when `op` lowers to a GEMM."""
    b = matmul_blocking(op, vector_bits, caches)
    if b is None:
        return []
    shapes = [cast(TensorType[Attribute], v.type).get_shape() for v in (op.lhs, op.rhs)]
    ta, tb = bool(op.transpose_lhs), bool(op.transpose_rhs)
    requests: list[PackedConstant] = []
    if all(d == 1 for d in shapes[0][:-2]):
        layout = f"gemm-a-{b.mp}x{b.k}/{b.mr}{'t' * ta}"
        requests.append(PackedConstant(0, layout, lambda x: pack_a_array(_matrix(x, ta), b)))
    if all(d == 1 for d in shapes[1][:-2]):
        layout = f"gemm-b-{b.k}x{b.np_}/{b.nr}{'t' * tb}"
        requests.append(PackedConstant(1, layout, lambda x: pack_b_array(_matrix(x, tb), b)))
    return requests


def _matrix(array: np.ndarray, transpose: bool) -> np.ndarray:
    matrix = array.reshape(array.shape[-2:])
    return matrix.T if transpose else matrix


def _broadcast_indices(
    em: Emitter, ivs: Sequence[SSAValue], shape: Sequence[int]
) -> list[SSAValue]:
    offset = len(ivs) - len(shape)
    return [em.index(0) if d == 1 else ivs[offset + i] for i, d in enumerate(shape)]


def lower_matmul_gemm(em: Emitter, op: top.MatmulOp, b: Blocking, buffers: Buffers) -> None:
    """C = A · B per batch as a packed GEMM: operands packed at compile time where
    `buffers.packed` has them, else per block; straight into C when no padding or
    epilogue is needed, else into an arena Cp[Mp][Np] copied out through the epilogue."""
    epilogue = buffers.epilogues.get(op)
    c = buffers.buffer(op.result if epilogue is None else epilogue.result, op)
    a_packed, b_packed = buffers.packed.get((op, 0)), buffers.packed.get((op, 1))
    a = a_packed or buffers.buffer(op.lhs, op)
    bm = b_packed or buffers.buffer(op.rhs, op)
    a_shape, b_shape, c_shape = (
        cast(MemRefType[Attribute], v.type).get_shape() for v in (a, bm, c)
    )
    direct = epilogue is None and (b.mp, b.np_) == (b.m, b.n)
    shapes = [[b.mp, b.np_]] * (not direct) + [[b.mc // b.mr, b.kc, b.mr]] * (a_packed is None)
    shapes += [[b.nc // b.nr, b.kc, b.nr]] * (b_packed is None)
    # one set of scratch blocks per batch while they fit PRIVATE_SCRATCH_BYTES: the batches
    # (attention's heads) run in parallel; else they share one set and run one after another
    batches = prod(c_shape[:-2])
    private = batches > 1 and 4 * batches * sum(map(prod, shapes)) <= PRIVATE_SCRATCH_BYTES
    per_batch = list(c_shape[:-2]) if private else []
    scratch = [em.value(AllocOp(MemRefType(f32, [*per_batch, *s]))) for s in shapes]
    free = iter(scratch)
    cp = c if direct else next(free)
    ap, bp = (None if packed else next(free) for packed in (a_packed, b_packed))
    with em.nest(c_shape[:-2], parallel=private or not shapes) as batch:
        own = batch if private else []
        a_batch = [] if a_packed else _broadcast_indices(em, batch, a_shape[:-2])
        b_batch = [] if b_packed else _broadcast_indices(em, batch, b_shape[:-2])
        plan = GemmPlan(
            b,
            packed_panel(em, a, b.mr, 1) if ap is None else runtime_panel(em, ap, 1, own),
            packed_panel(em, bm, b.nr, b.lanes)
            if bp is None
            else runtime_panel(em, bp, b.lanes, own),
            cp,
            (lambda i, j: [*batch, i, j]) if direct else (lambda i, j: [*own, i, j]),
        )
        ta, tb = bool(op.transpose_lhs), bool(op.transpose_rhs)
        if ap is not None:
            plan.pack_a = partial(_pack_a, em, b, a, a_batch, ta, ap, own)
        if bp is not None:
            plan.pack_b = partial(_pack_b, em, b, bm, b_batch, tb, bp, own)
        emit_gemm(em, plan)
        if not direct:
            with em.nest([b.m, b.n], vector=b.lanes) as (i, j):
                value = em.load(cp, [*own, i, j])
                store_with_epilogue(em, value, c, [*batch, i, j], epilogue, buffers)
    em.dealloc(*scratch)


def _pack_a(
    em: Emitter,
    b: Blocking,
    a: SSAValue,
    batch: list[SSAValue],
    transposed: bool,
    ap: SSAValue,
    own: list[SSAValue],
    ic: SSAValue,
    pc: SSAValue,
    k_len: SSAValue,
) -> None:
    """Ap[own..., ip, kk, r] = A[ic + ip*MR + r, pc + kk] (rows past M read row M-1), in Ap's
    order: the stores contiguous, the MR rows of A read side by side."""
    with span(em, 0, b.mc // b.mr, parallel=True) as ip, span(em, 0, k_len, parallel=True) as kk:
        k = em.iadd(pc, kk)
        row = em.iadd(ic, em.imul(ip, b.mr))
        with span(em, 0, b.mr, parallel=True) as r:
            i = clamped(em, em.iadd(row, r), b.m, b.mp)
            em.store(
                em.load(a, [*batch, *((k, i) if transposed else (i, k))]), ap, [*own, ip, kk, r]
            )


def _pack_b(
    em: Emitter,
    b: Blocking,
    bm: SSAValue,
    batch: list[SSAValue],
    transposed: bool,
    bp: SSAValue,
    own: list[SSAValue],
    jc: SSAValue,
    pc: SSAValue,
    k_len: SSAValue,
) -> None:
    """Bp[own..., jp, kk, jj] = B[pc + kk, jc + jp*NR + jj] (columns past N read column N-1):
    B's rows read in order (kk outer), or for a transposed B (k contiguous) NR of its rows at
    a time through the K block (jp outer: each cache line serves consecutive kk)."""
    panels = b.nc // b.nr
    with (
        span(em, 0, panels if transposed else k_len, parallel=True) as outer,
        span(em, 0, k_len if transposed else panels, parallel=True) as inner,
    ):
        jp, kk = (outer, inner) if transposed else (inner, outer)
        k = em.iadd(pc, kk)
        j0 = em.iadd(jc, em.imul(jp, b.nr))
        with span(em, 0, b.nr, parallel=True, vector=b.lanes) as jj:
            j = clamped(em, em.iadd(j0, jj), b.n, b.np_)
            value = em.load(bm, [*batch, *((j, k) if transposed else (k, j))])
            em.store(value, bp, [*own, jp, kk, jj])
