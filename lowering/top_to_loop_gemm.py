"""Packed GEMM at the loop level (the BLIS / GotoBLAS structure) for `convert-top-to-loop`.

C[Mp, Np] = A[M, K] · B[K, N] on f32, with every loop a `loop.for`:

    for jc in 0..Np step NC:                      # B block (KC x NC) stays in L2
      for pc in 0..K step KC:                     # the last K block may be shorter
        pack B[pc:, jc:]   -> Bp                   # skipped when B was packed at compile time
        for ic in 0..Mp step MC:                  # A block (MC x KC) stays in L2
          pack A[ic:, pc:] -> Ap                   # skipped when A was packed at compile time
          for jp in 0..NC/NR (parallel):          # B micro-panel (KC x NR) stays in L1
            for ip in 0..MC/MR (parallel):        # the MR x NR micro-kernel:
              acc[r][v] = pc == 0 ? 0 : C[tile]   #   MR * NR/L vector<L> iter_args
              for k in 0..min(KC, K - pc): acc[r][v] = fma(bcast(Ap[.., k, r]), Bp[.., k, v], acc)
              C[tile] = acc

Invariants: Mp and Np are multiples of MC and NC (themselves multiples of MR and NR), so
every micro-tile is full; rows and columns past M and N are padding whose contents (packed
from clamped addresses, or left as they are) only reach C's padding, which callers never
read. K is never padded: the k loop runs to the exact end.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from xdsl.dialects import arith, vector
from xdsl.dialects.builtin import VectorType, f32
from xdsl.ir import Attribute, SSAValue
from xdsl.ir.affine import AffineMap

from lamina.dialects import top
from lamina.dialects.loop import ForOp, VLoadOp, VStoreOp, YieldOp
from lamina.lowering.bufferize import Buffers
from lamina.lowering.epilogue_fusion import Epilogue, PackedConstant
from lamina.lowering.top_to_loop_build import Emitter
from lamina.lowering.top_to_loop_lanes import fma, load_like, scalar_constant, splat_like
from lamina.targets import DEFAULT_CACHES, CacheSizes

L1D_BYTES = DEFAULT_CACHES.l1d
L2_BYTES = DEFAULT_CACHES.l2
"""Cache sizes the conv blockings assume (those of `targets/x86-64-avx512.toml`)."""


Indices = Callable[[SSAValue, int], list[SSAValue]]
"""Where element (k, r) of a packed A panel (or (k, vector v) of a B panel) lives."""


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def _balanced(size: int, limit: int, unit: int) -> int:
    """The block (a multiple of `unit`, at most about `limit`) that splits `size` into
    equal blocks with the least padding."""
    blocks = max(1, -(-size // max(limit, unit)))
    return _round_up(-(-size // blocks), unit)


@dataclass(frozen=True)
class Blocking:
    """Register and cache blocking of one GEMM: micro-tile MR x NR (NR = `nv` vectors of
    `lanes`), K blocks of KC, A blocks of MC rows, B blocks of NC columns; `mp`, `np_` are
    M and N padded to whole blocks."""

    m: int
    n: int
    k: int
    lanes: int
    mr: int
    nr: int
    kc: int
    mc: int
    nc: int

    @property
    def nv(self) -> int:
        return self.nr // self.lanes

    @property
    def mp(self) -> int:
        return _round_up(self.m, self.mc)

    @property
    def np_(self) -> int:
        return _round_up(self.n, self.nc)


def micro_tile(vector_bits: int) -> tuple[int, int, int]:
    """(lanes, MR, NR) for f32: two vectors of columns; rows to fill about half of the
    vector registers with accumulators (32 registers from AVX-512 on, 16 below)."""
    lanes = max(1, vector_bits // 32)
    return lanes, (8 if vector_bits >= 512 else 6), 2 * lanes


def gemm_blocking(
    m: int,
    n: int,
    k: int,
    vector_bits: int,
    l1d: int = L1D_BYTES,
    l2: int = L2_BYTES,
    tile: tuple[int, int, int] | None = None,
) -> Blocking:
    """Blocks where the B micro-panel (KC x NR) fills half of L1 and the A block (MC x KC)
    and the B block (KC x NC) half of L2 each (elements of 4 bytes); the micro-tile
    (lanes, MR, NR) is `micro_tile`'s unless given."""
    lanes, mr, nr = tile or micro_tile(vector_bits)
    kc = _balanced(k, max(16, l1d // 2 // (4 * nr)), 1)
    mc = _balanced(_round_up(m, mr), max(mr, l2 // 2 // (4 * kc)), mr)
    nc = _balanced(_round_up(n, nr), max(nr, l2 // 2 // (4 * kc)), nr)
    return Blocking(m, n, k, lanes, mr, nr, kc, mc, nc)


def _even_block(size: int, limit: int, unit: int) -> int:
    """The block (whole `unit`s, at most `limit` unless that is less than one unit) that
    splits `size` into equal blocks with the least padding: of the block counts from the
    fewest to twice as many, the first that pads least (1024 by at most 60 in units of 8:
    32, where `_balanced` pads to 18 blocks of 64)."""
    units = -(-size // unit)
    fewest = -(-units // max(1, limit // unit))
    count = min(range(fewest, 2 * fewest + 1), key=lambda c: -(-units // c) * c)
    return -(-units // count) * unit


def matmul_gemm_blocking(
    m: int, n: int, k: int, vector_bits: int, caches: CacheSizes = DEFAULT_CACHES
) -> Blocking:
    """The blocking of a matmul's GEMM for `caches`, on `micro_tile`'s register tile: KC
    so that an A and a B micro-panel ((MR + NR) x KC) fill 3/4 of L1d, MC so that the A
    block (MC x KC) is at most L1d, NC so that the B block (KC x NC) is half of L2
    (elements of 4 bytes); MC and NC split M and N with `_even_block`.

    The A block is not the BLIS half of L2: on Sapphire Rapids (L1d 48 KiB, L2 2 MiB) at
    1024^3, KC 205, MC 32 / 64 / 128 / 256 ran at 1.095 / 1.064 / 1.025 / 1.023x numpy
    and MC 1024 at KC 256 at 0.915x (best CPU time of 25 calls, alternated in one run)."""
    lanes, mr, nr = micro_tile(vector_bits)
    kc = _balanced(k, max(16, 3 * caches.l1d // 4 // (4 * (mr + nr))), 1)
    mc = _even_block(m, max(mr, caches.l1d // (4 * kc)), mr)
    nc = _even_block(n, max(nr, caches.l2 // 2 // (4 * kc)), nr)
    return Blocking(m, n, k, lanes, mr, nr, kc, mc, nc)


@contextmanager
def span(
    em: Emitter,
    lb: SSAValue | int,
    ub: SSAValue | int,
    step: int = 1,
    *,
    parallel: bool = False,
    vector: int | None = None,
    unroll: int | None = None,
) -> Generator[SSAValue]:
    """One `loop.for` from `lb` to `ub` (static or computed bounds); yields its index."""
    bounds = [em.index(b) if isinstance(b, int) else b for b in (lb, ub)]
    loop = ForOp(
        bounds[0], bounds[1], em.index(step), parallel=parallel, vector=vector, unroll=unroll
    )
    em.emit(loop)
    with em.inside(loop):
        yield loop.induction_var


def vector_type(b: Blocking) -> VectorType[Attribute]:
    return VectorType(f32, [b.lanes])


MultiplyAdd = Callable[[Emitter, SSAValue, SSAValue, SSAValue], SSAValue]
"""(a splat of an A panel element, a piece of a B panel row, acc) -> the next acc."""


@dataclass(frozen=True)
class KernelStep:
    """What a micro-kernel computes on: accumulators of `element` (a B panel's element
    type), `starts(em, b, a_panel, b_panel)` their values at the first K block (MR rows
    of NV), `multiply_add` one k step of one of them; `unroll`: the k loop's `unroll`
    hint (LLVM's choice unless given)."""

    element: Attribute
    starts: Callable[..., list[list[SSAValue]]]
    multiply_add: MultiplyAdd
    unroll: int | None = None


def _zeros(
    em: Emitter, b: Blocking, a_panel: tuple[SSAValue, Indices], b_panel: tuple[SSAValue, Indices]
) -> list[list[SSAValue]]:
    zero = em.value(vector.BroadcastOp(em.const(0.0, f32), vector_type(b)))
    return [[zero] * b.nv for _ in range(b.mr)]


FMA_STEP = KernelStep(f32, _zeros, fma, unroll=4)
"""The f32 GEMM's: from zero, acc + a * b, 4 k steps an iteration (the pointer bumps and
the loop test once per 4 steps; LLVM left the loop rolled)."""


def micro_kernel(
    em: Emitter,
    b: Blocking,
    a_panel: tuple[SSAValue, Indices],
    b_panel: tuple[SSAValue, Indices],
    k_len: SSAValue,
    c: tuple[SSAValue, Callable[[int, int], list[SSAValue]]],
    first: SSAValue,
    step: KernelStep = FMA_STEP,
) -> None:
    """C[tile] (+)= A panel · B panel over k < k_len: the accumulators start at `step`'s
    starts when `first` (the first K block) else at C, live in the k loop's iter_args,
    end in C."""
    vt = VectorType(step.element, [b.lanes])
    c_buf, c_at = c
    starts = step.starts(em, b, a_panel, b_panel)
    inits = [
        [
            em.select(first, starts[r][v], em.value(VLoadOp(c_buf, c_at(r, v), vt)))
            for v in range(b.nv)
        ]
        for r in range(b.mr)
    ]
    sums = tile_sums(em, a_panel, b_panel, k_len, inits, step.multiply_add, step.unroll)
    for r, row in enumerate(sums):
        for v, total in enumerate(row):
            em.emit(VStoreOp(total, c_buf, c_at(r, v)))


def tile_sums(
    em: Emitter,
    a_panel: tuple[SSAValue, Indices],
    b_panel: tuple[SSAValue, Indices],
    k_len: SSAValue,
    inits: Sequence[Sequence[SSAValue]],
    multiply_add: MultiplyAdd = fma,
    unroll: int | None = None,
) -> list[list[SSAValue]]:
    """acc[r][v] = inits[r][v] + the sum over k < k_len of A panel (k, r) · B panel (k, v)
    (each step `multiply_add`), the k loop of the micro-kernel with the accumulators in its
    iter_args. The types of a row of `inits` are those of the tile's column pieces: vectors
    (a one-lane vector stays a vector: the NCHW kernels on a device without f32 vectors) or
    scalars."""
    (a_buf, a_at), (b_buf, b_at) = a_panel, b_panel
    pieces = inits[0]
    count = len(pieces)
    accs = [value for row in inits for value in row]
    loop = ForOp(em.index(0), k_len, em.index(1), accs, unroll=unroll)
    em.emit(loop)
    with em.inside(loop):
        k, *acc = loop.body.block.args
        bs = [load_like(em, b_buf, b_at(k, v), piece) for v, piece in enumerate(pieces)]
        out: list[SSAValue] = []
        for r in range(len(inits)):
            element = em.load(a_buf, a_at(k, r))
            kinds = {p.type: p for p in pieces}  # one splat per distinct piece type
            splats = {t: splat_like(em, element, like) for t, like in kinds.items()}
            for v, piece in enumerate(pieces):
                out.append(multiply_add(em, splats[piece.type], bs[v], acc[r * count + v]))
        em.emit(YieldOp(*out))
    return [list(loop.res[r * count : (r + 1) * count]) for r in range(len(inits))]


@dataclass
class GemmPlan:
    """The operands of one GEMM as packed panels. `a_panel(ic, pc, ip)` / `b_panel(jc, pc,
    jp)` give the buffer and the (k, r) / (k, v) indices of one micro-panel (k counts from
    the K block's start); `pack_a(ic, pc, k_len)` / `pack_b(jc, pc, k_len)` fill the
    runtime panel buffers (None: packed at compile time); `c_at(i, j)` indexes C; `step`
    is what the micro-kernel computes on (f32 FMAs unless given); `b_panels`: only the
    micro-panels jp of each B block in [first, end) (a conv's task: its pixel panels in the
    row form, its filter panels on pixel rows), all of them unless given."""

    blocking: Blocking
    a_panel: Callable[[SSAValue, SSAValue, SSAValue], tuple[SSAValue, Indices]]
    b_panel: Callable[[SSAValue, SSAValue, SSAValue], tuple[SSAValue, Indices]]
    c: SSAValue
    c_at: Callable[[SSAValue, SSAValue], list[SSAValue]]
    pack_a: Callable[[SSAValue, SSAValue, SSAValue], None] | None = None
    pack_b: Callable[[SSAValue, SSAValue, SSAValue], None] | None = None
    step: KernelStep = FMA_STEP
    b_panels: tuple[SSAValue, SSAValue] | None = None


def emit_gemm(em: Emitter, plan: GemmPlan) -> None:
    """The loop nest of the module docstring for `plan`."""
    b = plan.blocking
    with span(em, 0, b.np_, b.nc) as jc, span(em, 0, b.k, b.kc) as pc:
        k_len = em.value(arith.MinSIOp(em.index(b.kc), em.value(arith.SubiOp(em.index(b.k), pc))))
        first = em.value(arith.CmpiOp(pc, em.index(0), "eq"))
        if plan.pack_b is not None:
            plan.pack_b(jc, pc, k_len)
        with span(em, 0, b.mp, b.mc) as ic:
            if plan.pack_a is not None:
                plan.pack_a(ic, pc, k_len)
            with (
                span(em, *(plan.b_panels or (0, b.nc // b.nr)), parallel=True) as jp,
                span(em, 0, b.mc // b.mr, parallel=True) as ip,
            ):
                i0 = em.iadd(ic, em.imul(ip, b.mr))
                j0 = em.iadd(jc, em.imul(jp, b.nr))
                micro_kernel(
                    em,
                    b,
                    plan.a_panel(ic, pc, ip),
                    plan.b_panel(jc, pc, jp),
                    k_len,
                    (plan.c, _tile_indices(em, plan, i0, j0)),
                    first,
                    plan.step,
                )


def _tile_indices(
    em: Emitter, plan: GemmPlan, i0: SSAValue, j0: SSAValue
) -> Callable[[int, int], list[SSAValue]]:
    """`c_at(r, v)`: C's indices of row r, vector v of the micro-tile at (i0, j0), each
    computed once (at its first use, before the k loop) and reused by the store after it:
    index arithmetic is a third of a model's loop-level ops, which every later stage pays."""
    rows: dict[int, SSAValue] = {}
    columns: dict[int, SSAValue] = {}
    cells: dict[tuple[int, int], list[SSAValue]] = {}

    def c_at(r: int, v: int) -> list[SSAValue]:
        if (r, v) not in cells:
            if r not in rows:
                rows[r] = em.iadd(i0, r)
            if v not in columns:
                columns[v] = em.iadd(j0, v * plan.blocking.lanes)
            cells[r, v] = plan.c_at(rows[r], columns[v])
        return cells[r, v]

    return c_at


def runtime_panel(
    em: Emitter, block: SSAValue, step: int, batch: Sequence[SSAValue] = ()
) -> Callable[..., tuple[SSAValue, Indices]]:
    """Micro-panel `inner` of a runtime A block [MC/MR][KC][MR] (`step` 1: element r) or
    B block [NC/NR][KC][NR] (`step` = lanes: vector v at v * lanes), of batch `batch` when
    each batch has its own block."""

    def panel(outer: SSAValue, pc: SSAValue, inner: SSAValue) -> tuple[SSAValue, Indices]:
        return block, lambda k, r: [*batch, inner, k, em.index(r * step)]

    return panel


def packed_panel(
    em: Emitter, packed: SSAValue, width: int, step: int
) -> Callable[..., tuple[SSAValue, Indices]]:
    """Micro-panel `inner` of block `outer` of A packed at compile time [Mp/MR][K][MR]
    (`width` MR, `step` 1) or of B [Np/NR][K][NR] (`width` NR, `step` = lanes), see
    `pack_a_array` / `pack_b_array`; k counts from depth pc."""

    def panel(outer: SSAValue, pc: SSAValue, inner: SSAValue) -> tuple[SSAValue, Indices]:
        position = em.iadd(_divide(em, outer, width), inner)
        depths: dict[SSAValue, SSAValue] = {}  # pc + k once per k (the k loop's MR or NV reads)

        def at(k: SSAValue, r: int) -> list[SSAValue]:
            if k not in depths:
                depths[k] = em.iadd(pc, k)
            return [position, depths[k], em.index(r * step)]

        return packed, at

    return panel


def _divide(em: Emitter, value: SSAValue, by: int) -> SSAValue:
    """value / by for a value known to be a non-negative multiple of `by`."""
    return value if by == 1 else em.value(arith.DivUIOp(value, em.index(by)))


def pack_a_array(a: np.ndarray, b: Blocking) -> np.ndarray:
    """A [M, K] (numpy) -> [Mp/MR, K, MR] with zero rows past M (written in one pass)."""
    array = np.asarray(a, np.float32).reshape(b.m, b.k)
    packed = np.zeros((b.mp // b.mr, b.k, b.mr), np.float32)
    panels = packed.transpose(0, 2, 1)  # [Mp/MR, MR, K], a view of `packed`
    full, rest = divmod(b.m, b.mr)
    panels[:full] = array[: full * b.mr].reshape(full, b.mr, b.k)
    if rest:
        panels[full, :rest] = array[full * b.mr :]
    return packed


def pack_b_array(bmat: np.ndarray, b: Blocking) -> np.ndarray:
    """B [K, N] (numpy) -> [Np/NR, K, NR] with zero columns past N (written in one pass)."""
    array = np.asarray(bmat, np.float32).reshape(b.k, b.n)
    packed = np.zeros((b.np_ // b.nr, b.k, b.nr), np.float32)
    panels = packed.transpose(1, 0, 2)  # [K, Np/NR, NR], a view of `packed`
    full, rest = divmod(b.n, b.nr)
    panels[:, :full] = array[:, : full * b.nr].reshape(b.k, full, b.nr)
    if rest:
        panels[:, full, :rest] = array[:, full * b.nr :]
    return packed


def packed_by_group(
    layout: str,
    groups: Callable[[np.ndarray], Iterable[np.ndarray]],
    pack: Callable[[np.ndarray], np.ndarray],
) -> list[PackedConstant]:
    """A conv's filter (operand 1) packed at compile time under `layout`: `groups` splits
    the f32 filter into its groups' matrices, `pack` lays out one, the groups' panels one
    after the other."""

    def pack_groups(array: np.ndarray) -> np.ndarray:
        return np.concatenate([pack(m) for m in groups(np.asarray(array, np.float32))])

    return [PackedConstant(1, layout, pack_groups)]


def clamped(em: Emitter, index: SSAValue, size: int, padded: int) -> SSAValue:
    """`index` clamped below `size` when it may reach the padding (`padded` > `size`)."""
    if padded <= size:
        return index
    return em.value(arith.MinSIOp(index, em.index(size - 1)))


def store_with_epilogue(
    em: Emitter,
    value: SSAValue,
    out: SSAValue,
    indices: list[SSAValue],
    epilogue: Epilogue | None,
    buffers: Buffers,
) -> None:
    """out[indices] = value, or the fused consumer's body applied to it (its other inputs
    read through their maps at the same loop indices, one-element constants as literals)."""
    if epilogue is not None:

        def read(source: SSAValue, amap: AffineMap) -> SSAValue:
            literal = scalar_constant(source)
            if literal is not None:
                return em.const(literal, f32)
            return em.load(buffers.of[source], [em.affine(e, indices) for e in amap.results])

        mapper = epilogue.arguments(value, read)
        for body_op in epilogue.body.block.ops:
            if isinstance(body_op, top.YieldOp):
                value = mapper.get(body_op.arguments[0], body_op.arguments[0])
            else:
                em.emit(body_op.clone(value_mapper=mapper))
    em.store(value, out, indices)


MIN_GEMM_FLOPS = 1 << 15
"""Below this many multiply-adds (per batch) the reference loop nest is as good."""
