"""Integer tensor kernels for Hexagon HVX, built as loop-level IR with `hvx` ops.

Each builder returns a module with one `func.func` whose arguments are the operand buffers
then the result buffer (written in place); codegen/llvm_hvx.py turns the `hvx` ops into
intrinsics and runtime/hexagon.py runs the function under qemu-hexagon. Lanes are 128
bytes; a size that does not fill whole vectors is "not supported: ...".

| builder | semantics (bit-exact) |
|---|---|
| `elementwise(op, dtype, n)` | int8/int16/int32 add, sub, mul, saturating to the type |
| `requantize(n, multiplier, shift, zero_point)` | int32 -> int8 as TFLite: SRDHM, rounding right shift, + zero point, saturate |
| `matmul(m, k, n, signed_lhs)` | int32 C = A (u8, or s8) x B (s8), vrmpy on 4-deep dot products |
| `conv2d(h, w, c, oc, kernel, stride, signed_lhs)` | direct NHWC conv (VALID; pad beforehand), vrmpy over channels |
| `max_pool(h, w, c, kernel, stride)` / `avg_pool(...)` | int8 NHWC pooling (VALID), avg rounds half away from zero |

Layouts the vrmpy kernels take: the left operand as 32-bit words of 4 consecutive bytes
along the reduced dimension (`a.view(np.int32)`), the right one packed by `pack_rhs` so that
the 4 reduced values of 32 output columns fill one vector.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import IntegerType, MemRefType, ModuleOp, VectorType, i8, i16, i32
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.rewriter import InsertPoint

from lamina.dialects.isa.hvx import KINDS, OPS, VECTOR_BYTES, VCastOp
from lamina.dialects.loop import VLoadOp, VStoreOp
from lamina.errors import UnsupportedError
from lamina.lowering.top_to_loop_build import Constants, Emitter

DTYPES: dict[str, tuple[IntegerType, str]] = {
    "int8": (i8, "b"),
    "int16": (i16, "h"),
    "int32": (i32, "w"),
}
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
OFFSET_WORD = 0x80808080 - (1 << 32)
"""Four bytes of 128 as a signed i32: x ^ this maps s8 lanes to u8 lanes (x + 128)."""


class HVXEmitter(Emitter):
    """An `Emitter` with one method per use of an HVX op: `em.hvx("vaddbsat", a, b)`."""

    def hvx(self, insn: str, *args: SSAValue) -> SSAValue:
        return self.value(OPS[insn](*args))

    def cast(self, value: SSAValue, kind: str) -> SSAValue:
        return value if value.type == KINDS[kind] else self.value(VCastOp(value, KINDS[kind]))

    def splat(self, word: int, kind: str = "w") -> SSAValue:
        """A register with the 32-bit `word` in every word, seen as `kind` lanes."""
        signed = (word + (1 << 31)) % (1 << 32) - (1 << 31)
        return self.cast(self.hvx("lvsplatw", self.const(signed, i32)), kind)

    def xor(self, a: SSAValue, word: int) -> SSAValue:
        return self.value(arith.XOrIOp(a, self.const(word, i32)))

    def vload(self, kind: str, buffer: SSAValue, indices: Sequence[SSAValue]) -> SSAValue:
        return self.value(VLoadOp(buffer, indices, cast(VectorType[Attribute], KINDS[kind])))

    def vstore(self, value: SSAValue, buffer: SSAValue, indices: Sequence[SSAValue]) -> None:
        self.emit(VStoreOp(value, buffer, indices))

    def for_range(
        self, ub: int, step: int, body: Callable[[SSAValue], None], parallel: bool = True
    ):
        loop = self.loop(0, ub, step, parallel=parallel)
        with self.inside(loop):
            body(loop.induction_var)


def _module(name: str, arg_types: Sequence[Attribute], build: Callable[..., None]) -> ModuleOp:
    """A module with `func.func @name(args)` whose body `build(em, *args)` emits."""
    block = Block(arg_types=list(arg_types))
    block.add_op(func.ReturnOp())
    em = HVXEmitter(InsertPoint.before(block.last_op), Constants(block))  # pyright: ignore
    build(em, *block.args)
    function = func.FuncOp(name, (list(arg_types), []), Region(block))
    return ModuleOp([function])


def _memref(shape: Sequence[int], element: Attribute) -> MemRefType[Attribute]:
    return MemRefType(element, list(shape))


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise UnsupportedError(what)


# ---------------------------------------------------------------------------------------------
# Elementwise and requantize


def elementwise(op: str, dtype: str, n: int) -> ModuleOp:
    """`@elementwise(a, b, out)`: out = sat(a <op> b) lane-wise on `n` elements."""
    _require(op in ("add", "sub", "mul"), f"HVX elementwise '{op}' (add, sub, mul)")
    _require(dtype in DTYPES, f"HVX elementwise on {dtype} (int8, int16, int32)")
    element, kind = DTYPES[dtype]
    lanes = VECTOR_BYTES // (element.bitwidth // 8)
    _require(n % lanes == 0, f"{n} {dtype} elements: a multiple of {lanes} (one vector)")
    t = _memref([n], element)

    def build(em: HVXEmitter, a: SSAValue, b: SSAValue, out: SSAValue) -> None:
        def body(i: SSAValue) -> None:
            x, y = em.vload(kind, a, [i]), em.vload(kind, b, [i])
            em.vstore(_SATURATING[op, kind](em, x, y), out, [i])

        em.for_range(n, lanes, body)

    return _module("elementwise", [t, t, t], build)


def _mul_w(em: HVXEmitter, a: SSAValue, b: SSAValue) -> SSAValue:
    """sat32(a * b): the low word, unless floor(a * b / 2^31) says it does not fit."""
    low = em.hvx(
        "vmpyiewuh.acc", em.hvx("vaslw", em.hvx("vmpyiowh", a, b), em.const(16, i32)), a, b
    )
    high = em.hvx("vmpyowh.sacc", em.hvx("vmpyewuh", a, b), a, b)
    over = em.hvx("vgtw", high, em.splat(0))
    under = em.hvx("vgtw", em.splat(-1), high)
    fits = em.hvx("vmux", under, em.splat(INT32_MIN), low)
    return em.hvx("vmux", over, em.splat(INT32_MAX), fits)


_SATURATING: dict[tuple[str, str], Callable[[HVXEmitter, SSAValue, SSAValue], SSAValue]] = {
    ("add", "b"): lambda em, a, b: em.hvx("vaddbsat", a, b),
    ("add", "h"): lambda em, a, b: em.hvx("vaddhsat", a, b),
    ("add", "w"): lambda em, a, b: em.hvx("vaddwsat", a, b),
    ("sub", "b"): lambda em, a, b: em.hvx("vsubbsat", a, b),
    ("sub", "h"): lambda em, a, b: em.hvx("vsubhsat", a, b),
    ("sub", "w"): lambda em, a, b: em.hvx("vsubwsat", a, b),
    # widening products (even lanes low, odd high), narrowed back with saturation
    ("mul", "b"): lambda em, a, b: _narrow(em, "vasrhbsat", em.hvx("vmpybv", a, b)),
    ("mul", "h"): lambda em, a, b: _narrow(em, "vasrwhsat", em.hvx("vmpyhv", a, b)),
    ("mul", "w"): _mul_w,
}


def _narrow(em: HVXEmitter, insn: str, pair: SSAValue) -> SSAValue:
    return em.hvx(
        insn, em.hvx("hi", em.cast(pair, "ww")), em.hvx("lo", em.cast(pair, "ww")), em.const(0, i32)
    )


def requantize(n: int, multiplier: int, shift: int, zero_point: int) -> ModuleOp:
    """`@requantize(x: i32[n], out: i8[n])`: TFLite's MultiplyByQuantizedMultiplier
    (multiplier in [2^30, 2^31), `shift` > 0 left, < 0 right) + zero point, saturated."""
    _require(n % VECTOR_BYTES == 0, f"requantizing {n} elements: a multiple of {VECTOR_BYTES}")
    _require(
        0 <= multiplier <= INT32_MAX and -31 <= shift <= 30, "requantize multiplier/shift range"
    )

    def build(em: HVXEmitter, x: SSAValue, out: SSAValue) -> None:
        def body(i: SSAValue) -> None:
            words = [
                _requantize_word(
                    em, em.vload("w", x, [em.iadd(i, 32 * q)]), multiplier, shift, zero_point
                )
                for q in range(4)
            ]
            low = em.hvx("vpackwh.sat", words[1], words[0])
            high = em.hvx("vpackwh.sat", words[3], words[2])
            em.vstore(em.hvx("vpackhb.sat", high, low), out, [i])

        em.for_range(n, VECTOR_BYTES, body)

    return _module("requantize", [_memref([n], i32), _memref([n], i8)], build)


def _requantize_word(em: HVXEmitter, x: SSAValue, multiplier: int, shift: int, zp: int) -> SSAValue:
    if shift > 0:
        x = em.hvx("vaslw", x, em.const(shift, i32))
    m = em.splat(multiplier)
    # SaturatingRoundingDoublingHighMul: round(x * m / 2^31), saturated
    y = em.hvx("vmpyowh.rnd.sacc", em.hvx("vmpyewuh", x, m), x, m)
    if shift < 0:  # RoundingDivideByPOT: round half away from zero
        exponent = -shift
        mask = (1 << exponent) - 1
        remainder = em.hvx("vand", y, em.splat(mask))
        negative = em.hvx("vgtw", em.splat(0), y)
        threshold = em.hvx("vmux", negative, em.splat((mask >> 1) + 1), em.splat(mask >> 1))
        shifted = em.hvx("vasrw", y, em.const(exponent, i32))
        up = em.hvx("vgtw", remainder, threshold)
        y = em.hvx("vmux", up, em.hvx("vaddw", shifted, em.splat(1)), shifted)
    return em.hvx("vaddwsat", y, em.splat(zp))


# ---------------------------------------------------------------------------------------------
# vrmpy kernels: matmul and direct conv


def pack_rhs(b: np.ndarray) -> np.ndarray:
    """B[..., K, N] (s8) -> [..., K/4, N*4]: the 4 reduced values of each column together."""
    *outer, k, n = b.shape
    packed = b.reshape(*outer, k // 4, 4, n).swapaxes(-1, -2)
    return np.ascontiguousarray(packed).reshape(*outer, k // 4, n * 4)


def _dot(
    em: HVXEmitter,
    extents: Sequence[int],
    word: Callable[[list[SSAValue]], SSAValue],
    weights: Callable[[list[SSAValue]], SSAValue],
    init: SSAValue,
    signed_lhs: bool,
) -> SSAValue:
    """init + sum over `extents` of vrmpy(splat(word(ivs)) as u8, weights(ivs) as s8)."""

    def step(ivs: list[SSAValue], acc: list[SSAValue]) -> list[SSAValue]:
        w = word(ivs)
        if signed_lhs:
            w = em.xor(w, OFFSET_WORD)
        splat = em.cast(em.hvx("lvsplatw", w), "b")
        return [em.hvx("vrmpybusv.acc", acc[0], splat, weights(ivs))]

    return em.reduce(extents, [init], step)[0]


def _offset_init(
    em: HVXEmitter, extents: Sequence[int], weights: Callable[[list[SSAValue]], SSAValue]
) -> SSAValue:
    """-128 * (sum of the weights of each column): corrects (x + 128) back to x."""
    ones = em.splat(OFFSET_WORD, "b")

    def step(ivs: list[SSAValue], acc: list[SSAValue]) -> list[SSAValue]:
        return [em.hvx("vrmpybusv.acc", acc[0], ones, weights(ivs))]

    total = em.reduce(extents, [em.splat(0)], step)[0]
    return em.hvx("vsubw", em.splat(0), total)


def matmul(m: int, k: int, n: int, signed_lhs: bool = False) -> ModuleOp:
    """`@matmul(a: i32[m, k/4], b: i8[k/4, n*4], c: i32[m, n])`: C = A · B exactly, A u8
    (or s8 when `signed_lhs`, via A + 128 and a column-sum correction), B s8 packed."""
    _require(k % 4 == 0 and n % 32 == 0, f"matmul {m}x{k}x{n}: k a multiple of 4, n of 32")
    types = [_memref([m, k // 4], i32), _memref([k // 4, n * 4], i8), _memref([m, n], i32)]

    def build(em: HVXEmitter, a: SSAValue, b: SSAValue, c: SSAValue) -> None:
        def columns(j: SSAValue) -> None:
            def weights(ivs: list[SSAValue]) -> SSAValue:
                return em.vload("b", b, [ivs[0], em.imul(j, 4)])

            init = _offset_init(em, [k // 4], weights) if signed_lhs else em.splat(0)

            def row(i: SSAValue) -> None:
                acc = _dot(
                    em, [k // 4], lambda ivs: em.load(a, [i, ivs[0]]), weights, init, signed_lhs
                )
                em.vstore(acc, c, [i, j])

            em.for_range(m, 1, row)

        em.for_range(n, 32, columns)

    return _module("matmul", types, build)


def conv2d(
    h: int, w: int, c: int, oc: int, kernel: int, stride: int = 1, signed_lhs: bool = False
) -> ModuleOp:
    """`@conv2d(x: i32[h, w, c/4], wt: i8[k, k, c/4, oc*4], y: i32[oh, ow, oc])`: direct
    NHWC convolution, VALID (pad the input beforehand with its zero point); weights
    `pack_rhs(w_hwio)`; x u8 (or s8 with `signed_lhs`)."""
    _require(c % 4 == 0 and oc % 32 == 0, f"conv2d with {c}->{oc} channels: c % 4, oc % 32")
    _require(h >= kernel and w >= kernel, "conv2d with a kernel larger than the input")
    oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    types = [
        _memref([h, w, c // 4], i32),
        _memref([kernel, kernel, c // 4, oc * 4], i8),
        _memref([oh, ow, oc], i32),
    ]

    def build(em: HVXEmitter, x: SSAValue, wt: SSAValue, y: SSAValue) -> None:
        taps = [kernel, kernel, c // 4]

        def channels(o: SSAValue) -> None:
            def weights(ivs: list[SSAValue]) -> SSAValue:
                return em.vload("b", wt, [*ivs, em.imul(o, 4)])

            init = _offset_init(em, taps, weights) if signed_lhs else em.splat(0)

            def pixel(r: SSAValue, s: SSAValue) -> None:
                def word(ivs: list[SSAValue]) -> SSAValue:
                    kh, kw, g = ivs
                    return em.load(
                        x, [em.window(r, kh, stride, 1, 0), em.window(s, kw, stride, 1, 0), g]
                    )

                em.vstore(_dot(em, taps, word, weights, init, signed_lhs), y, [r, s, o])

            em.for_range(oh, 1, lambda r: em.for_range(ow, 1, lambda s: pixel(r, s)))

        em.for_range(oc, 32, channels)

    return _module("conv2d", types, build)


# ---------------------------------------------------------------------------------------------
# Pooling


def _pool_types(h: int, w: int, c: int, kernel: int, stride: int) -> list[Attribute]:
    _require(c % VECTOR_BYTES == 0, f"pooling {c} channels: a multiple of {VECTOR_BYTES}")
    _require(h >= kernel and w >= kernel, "pooling with a window larger than the input")
    oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    return [_memref([h, w, c], i8), _memref([oh, ow, c], i8)]


def _pool(
    name: str,
    h: int,
    w: int,
    c: int,
    kernel: int,
    stride: int,
    window: Callable[[HVXEmitter, Callable[[list[SSAValue]], SSAValue]], SSAValue],
) -> ModuleOp:
    """`@name(x: i8[h, w, c], y: i8[oh, ow, c])` (NHWC, VALID): y = window(load of a tap)."""
    types = _pool_types(h, w, c, kernel, stride)
    oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1

    def build(em: HVXEmitter, x: SSAValue, y: SSAValue) -> None:
        def pixel(r: SSAValue, s: SSAValue, ch: SSAValue) -> None:
            def tap(ivs: list[SSAValue]) -> SSAValue:
                rr, ss = em.window(r, ivs[0], stride, 1, 0), em.window(s, ivs[1], stride, 1, 0)
                return em.vload("b", x, [rr, ss, ch])

            em.vstore(window(em, tap), y, [r, s, ch])

        em.for_range(
            oh,
            1,
            lambda r: em.for_range(
                ow, 1, lambda s: em.for_range(c, VECTOR_BYTES, lambda ch: pixel(r, s, ch))
            ),
        )

    return _module(name, types, build)


def max_pool(h: int, w: int, c: int, kernel: int, stride: int) -> ModuleOp:
    """`@max_pool(x, y)`: int8 max over each kernel x kernel window."""

    def window(em: HVXEmitter, tap: Callable[[list[SSAValue]], SSAValue]) -> SSAValue:
        def step(ivs: list[SSAValue], acc: list[SSAValue]) -> list[SSAValue]:
            return [em.hvx("vmaxb", acc[0], tap(ivs))]

        return em.reduce([kernel, kernel], [em.splat(0x80808080, "b")], step)[0]

    return _pool("max_pool", h, w, c, kernel, stride, window)


def avg_pool(h: int, w: int, c: int, kernel: int, stride: int) -> ModuleOp:
    """`@avg_pool(x, y)`: int8 mean of each window, rounded half away from zero (TFLite):
    16-bit sums of the even and odd lanes, divided exactly by a reciprocal multiply."""
    count = kernel * kernel
    _require(count <= 256, f"average pooling over {count} > 256 values (16-bit sums)")
    bits = max(1, (count - 1).bit_length())
    shift = 15 + bits  # floor(t * r >> shift) == t // count for all t < 2^15
    reciprocal = -(-(1 << shift) // count)

    def window(em: HVXEmitter, tap: Callable[[list[SSAValue]], SSAValue]) -> SSAValue:
        def step(ivs: list[SSAValue], acc: list[SSAValue]) -> list[SSAValue]:
            wide = em.cast(em.hvx("vsb", tap(ivs)), "ww")
            parts = [em.cast(em.hvx(half, wide), "h") for half in ("lo", "hi")]
            return [em.hvx("vaddh", a, p) for a, p in zip(acc, parts, strict=True)]

        zero = em.splat(0, "h")
        even, odd = em.reduce([kernel, kernel], [zero, zero], step)
        means = [_divide_rounded(em, total, count, reciprocal, shift) for total in (even, odd)]
        return em.hvx("vasrhbsat", means[1], means[0], em.const(0, i32))

    return _pool("avg_pool", h, w, c, kernel, stride, window)


def _divide_rounded(em: HVXEmitter, total: SSAValue, count: int, r: int, shift: int) -> SSAValue:
    """sign(total) * ((|total| + count // 2) // count) on int16 lanes."""
    magnitude = em.hvx("vaddh", em.hvx("vabsh", total), em.splat(_halves(count // 2), "h"))
    product = em.cast(em.hvx("vmpyuhv", magnitude, em.splat(_halves(r), "h")), "ww")
    amount = em.const(shift, i32)
    low, high = (em.hvx("vlsrw", em.hvx(half, product), amount) for half in ("lo", "hi"))
    quotient = em.hvx("vasrwh", high, low, em.const(0, i32))
    negative = em.cast(em.hvx("vgth", em.splat(0, "h"), total), "q")
    negated = em.hvx("vsubh", em.splat(0, "h"), quotient)
    return em.cast(em.hvx("vmux", negative, em.cast(negated, "w"), em.cast(quotient, "w")), "h")


def _halves(value: int) -> int:
    """A word holding the 16-bit `value` in both halves."""
    return (value & 0xFFFF) * 0x10001
