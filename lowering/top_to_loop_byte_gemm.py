"""The int8 GEMM of `convert-top-to-loop{int8_gemm=true}`: the packed GEMM of
top_to_loop_gemm.py (its blocking and loop nest) on 4-byte words, each micro-kernel step a
`loop.byte_dot` per accumulator (u8 x s8, four bytes a lane: `vpdpbusd` on x86).

Word kq of a row holds its bytes 4kq..4kq+3 (K padded to Kq = ceil(K / 4) words by zero
weights). The activations, packed per block at run time, have each byte xor 0x80 (a + 128
read unsigned): byte_dot's lhs; the weights, packed at compile time into panels
[P][1 + Kq][width] of words, its signed rhs, the first row of each panel the start of the
accumulators, -128 * sum_k w (what the xor adds), so that the sums are exact:

    sum_k (a_k + 128) w_k - 128 sum_k w_k = sum_k a_k w_k           (i32, wrapping)

An int8 `top.matmul` (signed bytes, B transposed: `is_byte_matmul`) by constant weights
W [N, K] is C[M, N] = A · W^T with the activations as A (one row or a few: tiles of one
vector-broadcast row and four vectors of columns) and W as B; the int8 convolutions are in
top_to_loop_byte_conv.py. The result is the i32 sums; a fused consumer
(the requantization) is applied when copying them out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
from xdsl.dialects import arith, vector
from xdsl.dialects.builtin import (
    DenseArrayBase,
    IntegerType,
    MemRefType,
    TensorType,
    VectorType,
    i8,
    i32,
    i64,
)
from xdsl.ir import Attribute, Operation, SSAValue

from lamina.dialects import top
from lamina.dialects.loop import AllocOp, ByteDotOp
from lamina.dialects.top_base import element_type_of
from lamina.lowering.bufferize import Buffers
from lamina.lowering.epilogue_fusion import PackedConstant
from lamina.lowering.top_to_loop_build import Emitter
from lamina.lowering.top_to_loop_gemm import (
    MIN_GEMM_FLOPS,
    Blocking,
    GemmPlan,
    Indices,
    KernelStep,
    clamped,
    emit_gemm,
    gemm_blocking,
    micro_tile,
    packed_panel,
    runtime_panel,
    span,
    store_with_epilogue,
)
from lamina.lowering.top_to_loop_lanes import load_piece, splat

FLIP = -0x7F7F7F80
"""0x80808080 as an i32: the xor that reads each signed byte of a word as unsigned."""


def byte_tile(m: int, vector_bits: int) -> tuple[int, int, int]:
    """(lanes, MR, NR) of the byte GEMM: `micro_tile`'s, but with fewer than MR rows
    (matrix-vector products) a tile of all of them by four vectors of columns."""
    lanes, mr, nr = micro_tile(vector_bits)
    return (lanes, m, 4 * lanes) if m < mr else (lanes, mr, nr)


def words(k: int) -> int:
    """The 4-byte words a row of k bytes takes."""
    return -(-k // 4)


def is_byte_matmul(op: top.MatmulOp) -> bool:
    """An 8-bit integer matmul into i32 whose k is the last dim of both operands."""
    element = element_type_of(op.lhs)
    return (
        bool(op.transpose_rhs)
        and not op.transpose_lhs
        and isinstance(element, IntegerType)
        and element.bitwidth == 8
        and element_type_of(op.result) == i32
    )


def byte_matmul_blocking(op: top.MatmulOp, vector_bits: int) -> Blocking | None:
    """The byte GEMM's blocking of `op` (k in words), or None: not a byte matmul, weights
    with batch dims, fewer columns than a vector (a row sum), or too small."""
    if not is_byte_matmul(op):
        return None
    a_shape, w_shape, c_shape = (
        cast(TensorType[Attribute], v.type).get_shape() for v in (op.lhs, op.rhs, op.result)
    )
    m, n = c_shape[-2:]
    k = a_shape[-1]
    lanes, _, _ = micro_tile(vector_bits)
    if any(d != 1 for d in w_shape[:-2]) or n < lanes or m * n * k < MIN_GEMM_FLOPS:
        return None
    return gemm_blocking(m, n, words(k), vector_bits, tile=byte_tile(m, vector_bits))


def pack_weights(weights: np.ndarray, rows: int, width: int) -> np.ndarray:
    """Weights [R, K] (int8) -> panels [rows / width][1 + Kq][width] of i32 words (little
    endian): row 0 of a panel -128 * the sum of each weight row, then its words; rows past
    R and bytes past K are zero."""
    matrix = np.asarray(weights, np.int8).reshape(weights.shape[0], -1)
    count, k = matrix.shape
    padded = np.zeros((rows, 4 * words(k)), np.int8)
    padded[:count, :k] = matrix
    start = np.zeros((rows, 1), np.int32)
    start[:count, 0] = -128 * matrix.sum(axis=1, dtype=np.int32)
    panels = np.concatenate([start, padded.view("<i4")], axis=1)
    return np.ascontiguousarray(panels.reshape(rows // width, width, -1).transpose(0, 2, 1))


def packed_byte_weights(op: Operation, vector_bits: int) -> list[PackedConstant]:
    """W in B-panel layout (`pack_weights`), when `op` takes the byte GEMM."""
    b = byte_matmul_blocking(op, vector_bits) if isinstance(op, top.MatmulOp) else None
    if b is None:
        return []
    layout = f"byte-gemm-b-{b.np_}x{b.k}/{b.nr}"
    return [PackedConstant(1, layout, lambda w: pack_weights(w.reshape(w.shape[-2:]), b.np_, b.nr))]


def weights_panel(
    em: Emitter, packed: SSAValue, width: int, step: int
) -> Callable[..., tuple[SSAValue, Indices]]:
    """`packed_panel` of `pack_weights` panels: k row 1 + pc + k, so that k = -1 in the
    first K block is the accumulators' start row."""
    panel = packed_panel(em, packed, width, step)

    def at_block(outer: SSAValue, pc: SSAValue, inner: SSAValue) -> tuple[SSAValue, Indices]:
        return panel(outer, em.iadd(pc, 1), inner)

    return at_block


def byte_step(weights_in_b: bool) -> KernelStep:
    """The byte GEMM's micro-kernel step, its weights the B panels (`weights_in_b`) or the
    A panels: accumulators of i32 starting at the weights' start row (k = -1 of
    `weights_panel`), each k step byte_dot(activation bytes, weight bytes) of the word of
    A row r (broadcast) and the vector v of B words."""

    def starts(
        em: Emitter,
        b: Blocking,
        a_panel: tuple[SSAValue, Indices],
        b_panel: tuple[SSAValue, Indices],
    ) -> list[list[SSAValue]]:
        (a_buf, a_at), (b_buf, b_at) = a_panel, b_panel
        before = em.index(-1)
        if weights_in_b:
            row = [load_piece(em, b_buf, b_at(before, v), b.lanes) for v in range(b.nv)]
            return [row] * b.mr
        return [[splat(em, em.load(a_buf, a_at(before, r)), b.lanes)] * b.nv for r in range(b.mr)]

    def multiply_add(em: Emitter, a: SSAValue, b: SSAValue, acc: SSAValue) -> SSAValue:
        lanes = cast(VectorType[Attribute], acc.type).get_shape()[0]
        bytes_a, bytes_b = (_as_bytes(em, v, 4 * lanes) for v in (a, b))
        unsigned, signed = (bytes_a, bytes_b) if weights_in_b else (bytes_b, bytes_a)
        return em.value(ByteDotOp(acc, unsigned, signed))

    return KernelStep(i32, starts, multiply_add)


def _as_bytes(em: Emitter, words: SSAValue, count: int) -> SSAValue:
    return em.value(vector.BitcastOp(words, VectorType(i8, [count])))


def packed_word(em: Emitter, byte_at: Callable[[int], SSAValue]) -> SSAValue:
    """The i32 word of the bytes `byte_at(0..3)` (byte t at bits 8t), each xor 0x80."""
    word: SSAValue | None = None
    for t in range(4):
        wide = em.value(arith.ExtUIOp(byte_at(t), i32))
        if t:
            wide = em.value(arith.ShLIOp(wide, em.const(8 * t, i32)))
        word = wide if word is None else em.value(arith.OrIOp(word, wide))
    assert word is not None
    return em.value(arith.XOrIOp(word, em.const(FLIP, i32)))


def shuffled_bytes(em: Emitter, sources: tuple[SSAValue, SSAValue], mask: list[int]) -> SSAValue:
    """The bytes of the two byte vectors `sources` (one after the other) at `mask`."""
    kept = VectorType(i8, [len(mask)])
    pattern = DenseArrayBase.from_list(i64, mask)
    return em.value(vector.ShuffleOp(*sources, pattern, result_type=kept))


def packed_words(em: Emitter, taps: Sequence[SSAValue]) -> SSAValue:
    """`packed_word` of four vectors of N bytes: the vector<Nxi32> whose word i holds byte
    i of each tap (interleaved by shuffles), each xor 0x80."""
    count = cast(VectorType[Attribute], taps[0].type).get_shape()[0]

    def interleave(a: SSAValue, b: SSAValue, mask: list[int], size: int) -> SSAValue:
        return shuffled_bytes(em, (a, b), mask)

    pairs = [i + count * side for i in range(count) for side in (0, 1)]
    low, high = (
        interleave(taps[0], taps[1], pairs, 2 * count),
        interleave(taps[2], taps[3], pairs, 2 * count),
    )
    quads = [2 * (i // 4) + i % 2 + 2 * count * ((i // 2) % 2) for i in range(4 * count)]
    word_bytes = interleave(low, high, quads, 4 * count)
    flip = em.value(vector.BroadcastOp(em.const(-128, i8), VectorType(i8, [4 * count])))
    flipped = em.value(arith.XOrIOp(word_bytes, flip))
    return em.value(vector.BitcastOp(flipped, VectorType(i32, [count])))


def lower_byte_matmul(em: Emitter, op: top.MatmulOp, b: Blocking, buffers: Buffers) -> None:
    """C = A · W^T per batch as the byte GEMM (W packed by `packed_byte_weights`): A's
    rows packed per block; straight into C when no padding or epilogue is needed, else
    into an arena Cp[Mp][Np] copied out through the epilogue."""
    epilogue = buffers.epilogues.get(op)
    c = buffers.buffer(op.result if epilogue is None else epilogue.result, op)
    a, w = buffers.buffer(op.lhs, op), buffers.packed[(op, 1)]
    a_shape, c_shape = (cast(MemRefType[Attribute], v.type).get_shape() for v in (a, c))
    direct = epilogue is None and (b.mp, b.np_) == (b.m, b.n)
    k = a_shape[-1]
    cp = c if direct else em.value(AllocOp(MemRefType(i32, [b.mp, b.np_])))
    ap = em.value(AllocOp(MemRefType(i32, [b.mc // b.mr, b.kc, b.mr])))
    # the A panels are shared by every batch: the batches run one after another
    with em.nest(c_shape[:-2], parallel=False) as batch:
        a_batch = [em.index(0) if d == 1 else i for d, i in zip(a_shape[:-2], batch, strict=True)]

        def pack_a(ic: SSAValue, pc: SSAValue, k_len: SSAValue) -> None:
            """Ap[ip, kk, r] = the word of A row ic + ip*MR + r at pc + kk (rows past M
            read row M-1, bytes past K byte K-1: both meet zero weights)."""
            ip_r = span(em, 0, b.mc // b.mr, parallel=True), span(em, 0, b.mr, parallel=True)
            with ip_r[0] as ip, ip_r[1] as r:
                i = clamped(em, em.iadd(em.iadd(ic, em.imul(ip, b.mr)), r), b.m, b.mp)
                with span(em, 0, k_len, parallel=True, vector=b.lanes) as kk:
                    k0 = em.imul(em.iadd(pc, kk), 4)

                    def byte_at(t: int) -> SSAValue:
                        return em.load(a, [*a_batch, i, clamped(em, em.iadd(k0, t), k, 4 * b.k)])

                    em.store(packed_word(em, byte_at), ap, [ip, kk, r])

        plan = GemmPlan(
            b,
            runtime_panel(em, ap, 1),
            weights_panel(em, w, b.nr, b.lanes),
            cp,
            (lambda i, j: [*batch, i, j]) if direct else (lambda i, j: [i, j]),
            pack_a=pack_a,
            step=byte_step(weights_in_b=True),
        )
        emit_gemm(em, plan)
        if not direct:
            with em.nest([b.m, b.n], vector=b.lanes) as (i, j):
                store_with_epilogue(em, em.load(cp, [i, j]), c, [*batch, i, j], epilogue, buffers)
    em.dealloc(ap)
    if not direct:
        em.dealloc(cp)


def takes_byte_gemm(op: Operation, vector_bits: int) -> bool:
    """Whether the byte GEMM lowers `op` (given its packed weights: then it also applies
    its elementwise consumer)."""
    return isinstance(op, top.MatmulOp) and byte_matmul_blocking(op, vector_bits) is not None
