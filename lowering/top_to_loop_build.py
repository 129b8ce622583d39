"""Building loop-level IR for `convert-top-to-loop`: an `Emitter` that appends `loop`,
`arith` and `math` ops at an insertion point, opens loop nests, hoists constants to the
function entry and picks the float or integer form of each arithmetic op.

    em = Emitter(InsertPoint.before(op), constants)
    with em.nest([4, 16], parallel=[True, True], vector=16) as (i, j):
        x = em.load(a, [i, j])
        em.store(em.mul(x, x), b, [i, j])
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import cast

from xdsl.dialects import arith, math
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    AnyFloat,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    TensorType,
    f32,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.ir.affine import (
    AffineBinaryOpExpr,
    AffineBinaryOpKind,
    AffineConstantExpr,
    AffineDimExpr,
    AffineExpr,
)
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.hints import isa

from lamina.dialects.loop import DeallocOp, ForOp, LoadOp, StoreOp, YieldOp, byte_size
from lamina.dialects.loop_shape import DimOp
from lamina.errors import UnsupportedError

Extent = int | SSAValue
"""A loop bound or buffer dim: a constant, or an `index` value known at run time."""


@dataclass(frozen=True)
class ConvSizes:
    """The sizes of a 2-D convolution: c input channels of h x w, f output channels of
    oh x ow, a kh x kw kernel."""

    c: int
    h: int
    w: int
    f: int
    kh: int
    kw: int
    oh: int
    ow: int


def f32_conv_shapes(op: Operation) -> tuple[tuple[int, ...], ...] | None:
    """The shapes of a conv's input, filter and result (its first two operands and its
    result) when all three are f32 tensors, else None."""
    return conv_shapes(op, f32)


def conv_shapes(op: Operation, element: Attribute) -> tuple[tuple[int, ...], ...] | None:
    """`f32_conv_shapes` for tensors of `element`."""
    types: list[Attribute] = [v.type for v in (*op.operands[:2], op.results[0])]
    if not all(isa(t, TensorType[Attribute]) and t.get_element_type() == element for t in types):
        return None
    return tuple(cast(TensorType[Attribute], t).get_shape() for t in types)


def has_dynamic_dims(op: Operation) -> bool:
    """Whether an operand or result of `op` is a tensor or buffer with a `?` dim."""
    types: list[Attribute] = [v.type for v in (*op.operands, *op.results)]
    shaped = [
        cast(TensorType[Attribute], t) for t in types if isinstance(t, TensorType | MemRefType)
    ]
    return any(DYNAMIC_INDEX in t.get_shape() for t in shaped)


def memref_type(buffer: SSAValue) -> MemRefType[Attribute]:
    assert isa(buffer.type, MemRefType[Attribute]), f"expected a memref, got {buffer.type}"
    return buffer.type


def shape_of(buffer: SSAValue) -> tuple[int, ...]:
    return memref_type(buffer).get_shape()


def element_of(buffer: SSAValue) -> Attribute:
    return memref_type(buffer).element_type


def is_float(t: Attribute) -> bool:
    return isinstance(t, AnyFloat)


@dataclass
class Constants:
    """Index and scalar constants of one function, hoisted to its entry and shared."""

    block: Block
    cache: dict[tuple[float | int, Attribute], SSAValue] = field(
        default_factory=dict[tuple[float | int, Attribute], SSAValue]
    )
    last: Operation | None = None

    def get(self, value: float | int, t: Attribute) -> SSAValue:
        key = (value, t)
        if key not in self.cache:
            if isinstance(t, AnyFloat):
                op = arith.ConstantOp(FloatAttr(float(value), t))
            elif isinstance(t, IntegerType):
                op = arith.ConstantOp(IntegerAttr(int(value), cast(IntegerType, t)))
            elif isinstance(t, IndexType):
                op = arith.ConstantOp(IntegerAttr(int(value), t))
            else:
                raise UnsupportedError(f"constants of type {t}")
            point = InsertPoint.after(self.last) if self.last else InsertPoint.at_start(self.block)
            Rewriter.insert_op(op, point)
            self.last = op
            self.cache[key] = op.result
        return self.cache[key]


class Emitter:
    """Appends ops at `point`; `loop` / `nest` move the point into a loop body."""

    def __init__(self, point: InsertPoint, constants: Constants) -> None:
        self.point = point
        self.constants = constants

    def emit(self, op: Operation) -> Operation:
        Rewriter.insert_op(op, self.point)
        return op

    def value(self, op: Operation) -> SSAValue:
        self.emit(op)
        return op.results[0]

    # --- constants --------------------------------------------------------------------------

    def index(self, value: Extent) -> SSAValue:
        """An `index` value: a hoisted constant for an int, the value itself otherwise."""
        return value if isinstance(value, SSAValue) else self.constants.get(value, IndexType())

    def extents(self, buffer: SSAValue) -> list[Extent]:
        """`buffer`'s dims: ints where static, a `loop.dim` (emitted here) where dynamic."""
        return [
            self.value(DimOp(buffer, axis)) if size == DYNAMIC_INDEX else size
            for axis, size in enumerate(shape_of(buffer))
        ]

    def product(self, sizes: Sequence[Extent]) -> Extent:
        """The product of sizes, an int when they are all static."""
        result: Extent = 1
        for size in sizes:
            if isinstance(result, int) and isinstance(size, int):
                result *= size
            else:
                result = self.imul(self.index(result), size)
        return result

    def const(self, value: float | int, t: Attribute) -> SSAValue:
        return self.constants.get(value, t)

    def lowest(self, t: Attribute) -> SSAValue:
        """The identity of max: -inf, or the smallest integer of the type."""
        if is_float(t):
            return self.const(float("-inf"), t)
        bits = cast(IntegerType, t).bitwidth
        return self.const(0 if bits == 1 else -(1 << (bits - 1)), t)

    def highest(self, t: Attribute) -> SSAValue:
        if is_float(t):
            return self.const(float("inf"), t)
        bits = cast(IntegerType, t).bitwidth
        return self.const(1 if bits == 1 else (1 << (bits - 1)) - 1, t)

    # --- loops ------------------------------------------------------------------------------

    @contextmanager
    def inside(self, loop: ForOp) -> Generator[ForOp]:
        """Emit into `loop`'s body (ended by an empty `loop.yield` unless it carries values)."""
        saved = self.point
        block = loop.body.block
        if not loop.iter_args and not isinstance(block.last_op, YieldOp):
            block.add_op(YieldOp())
        last = block.last_op
        self.point = (
            InsertPoint.before(last) if isinstance(last, YieldOp) else (InsertPoint.at_end(block))
        )
        try:
            yield loop
        finally:
            self.point = saved

    def loop(
        self,
        lb: Extent,
        ub: Extent,
        step: int = 1,
        *,
        parallel: bool = False,
        vector: int | None = None,
        iter_args: Sequence[SSAValue] = (),
    ) -> ForOp:
        op = ForOp(
            self.index(lb),
            self.index(ub),
            self.index(step),
            iter_args,
            parallel=parallel and not iter_args,
            vector=vector,
        )
        self.emit(op)
        return op

    @contextmanager
    def nest(
        self,
        extents: Sequence[Extent],
        parallel: Sequence[bool] | bool = True,
        vector: int | None = None,
    ) -> Generator[list[SSAValue]]:
        """Perfectly nested loops over `extents` (outermost first); yields the induction
        variables. `vector` is the hint put on the innermost loop."""
        flags = [parallel] * len(extents) if isinstance(parallel, bool) else list(parallel)
        saved = self.point
        ivs: list[SSAValue] = []
        try:
            for depth, (extent, par) in enumerate(zip(extents, flags, strict=True)):
                innermost = depth == len(extents) - 1
                if isinstance(extent, SSAValue):
                    hint = vector if innermost else None
                else:
                    hint = min(vector, extent) if innermost and vector and extent > 1 else None
                loop = self.loop(0, extent, parallel=par, vector=hint)
                loop.body.block.add_op(YieldOp())
                self.point = InsertPoint.before(loop.body.block.last_op)  # pyright: ignore
                ivs.append(loop.induction_var)
            yield ivs
        finally:
            self.point = saved

    def reduce(
        self,
        extents: Sequence[Extent],
        inits: Sequence[SSAValue],
        step: Callable[[list[SSAValue], list[SSAValue]], list[SSAValue]],
    ) -> list[SSAValue]:
        """Sequential loops over `extents` carrying `inits`; `step(ivs, acc)` gives the
        next accumulators. Returns the final accumulators."""

        def level(depth: int, ivs: list[SSAValue], acc: list[SSAValue]) -> list[SSAValue]:
            if depth == len(extents):
                return step(ivs, acc)
            loop = self.loop(0, extents[depth], iter_args=acc)
            with self.inside(loop):
                args: list[SSAValue] = list(loop.body.block.args)
                inner = level(depth + 1, [*ivs, args[0]], args[1:])
                self.emit(YieldOp(*inner))
            return list(loop.res)

        return level(0, [], list(inits))

    # --- memory -----------------------------------------------------------------------------

    def load(self, buffer: SSAValue, indices: Sequence[SSAValue]) -> SSAValue:
        return self.value(LoadOp(buffer, indices))

    def store(self, value: SSAValue, buffer: SSAValue, indices: Sequence[SSAValue]) -> None:
        self.emit(StoreOp(value, buffer, indices))

    def dealloc(self, *buffers: SSAValue) -> None:
        """Free scratch `loop.alloc`s, in order, once nothing after this point reads them."""
        for buffer in buffers:
            self.emit(DeallocOp(buffer))

    # --- index arithmetic -------------------------------------------------------------------

    def affine(self, expr: AffineExpr, dims: Sequence[SSAValue]) -> SSAValue:
        """The index value of an affine expression of the loop indices `dims`."""
        if isinstance(expr, AffineDimExpr):
            return dims[expr.position]
        if isinstance(expr, AffineConstantExpr):
            return self.index(expr.value)
        if isinstance(expr, AffineBinaryOpExpr):
            lhs, rhs = self.affine(expr.lhs, dims), self.affine(expr.rhs, dims)
            match expr.kind:
                case AffineBinaryOpKind.Add:
                    return self.value(arith.AddiOp(lhs, rhs))
                case AffineBinaryOpKind.Mul:
                    return self.value(arith.MuliOp(lhs, rhs))
                case AffineBinaryOpKind.FloorDiv:
                    return self.value(arith.FloorDivSIOp(lhs, rhs))
                case AffineBinaryOpKind.CeilDiv:
                    return self.value(arith.CeilDivSIOp(lhs, rhs))
                case AffineBinaryOpKind.Mod:
                    # affine mod is never negative; remsi takes the sign of lhs
                    rem = self.value(arith.RemSIOp(lhs, rhs))
                    neg = self.value(arith.CmpiOp(rem, self.index(0), "slt"))
                    fixed = self.value(arith.AddiOp(rem, rhs))
                    return self.select(neg, fixed, rem)
        raise UnsupportedError(f"affine expression {expr} in an indexing map")

    def iadd(self, a: SSAValue, b: int | SSAValue) -> SSAValue:
        if isinstance(b, int):
            if b == 0:
                return a
            b = self.index(b)
        return self.value(arith.AddiOp(a, b))

    def imul(self, a: SSAValue, b: Extent) -> SSAValue:
        return a if b == 1 else self.value(arith.MuliOp(a, self.index(b)))

    def window(self, out: SSAValue, tap: SSAValue, stride: int, dilation: int, low: int):
        """The input position `out * stride - low + tap * dilation` of a sliding window."""
        return self.iadd(self.iadd(self.imul(out, stride), self.imul(tap, dilation)), -low)

    def in_range(self, i: SSAValue, size: Extent) -> SSAValue:
        """`0 <= i < size` as one unsigned compare (a negative index is a huge unsigned)."""
        return self.value(arith.CmpiOp(i, self.index(size), "ult"))

    def both(self, a: SSAValue | None, b: SSAValue) -> SSAValue:
        return b if a is None else self.value(arith.AndIOp(a, b))

    def select(self, cond: SSAValue, a: SSAValue, b: SSAValue) -> SSAValue:
        return self.value(arith.SelectOp(cond, a, b))

    def clamp(self, i: SSAValue, size: Extent) -> SSAValue:
        """`i` clamped into [0, size): safe to load from even when out of range."""
        low = self.value(arith.MaxSIOp(i, self.index(0)))
        last = size - 1 if isinstance(size, int) else self.iadd(size, -1)
        return self.value(arith.MinSIOp(low, self.index(last)))

    # --- scalar arithmetic, float or integer ------------------------------------------------

    def add(self, a: SSAValue, b: SSAValue) -> SSAValue:
        op = arith.AddfOp(a, b) if is_float(a.type) else arith.AddiOp(a, b)
        return self.value(op)

    def mul(self, a: SSAValue, b: SSAValue) -> SSAValue:
        op = arith.MulfOp(a, b) if is_float(a.type) else arith.MuliOp(a, b)
        return self.value(op)

    def div(self, a: SSAValue, b: SSAValue) -> SSAValue:
        op = arith.DivfOp(a, b) if is_float(a.type) else arith.DivSIOp(a, b)
        return self.value(op)

    def max(self, a: SSAValue, b: SSAValue) -> SSAValue:
        """max; booleans (i1) compare unsigned, so true (1) beats false, like every bit width
        below them (the lowest / highest above agree)."""
        if is_float(a.type):
            return self.value(arith.MaximumfOp(a, b))
        return self.value((arith.MaxUIOp if _is_bool(a) else arith.MaxSIOp)(a, b))

    def min(self, a: SSAValue, b: SSAValue) -> SSAValue:
        if is_float(a.type):
            return self.value(arith.MinimumfOp(a, b))
        return self.value((arith.MinUIOp if _is_bool(a) else arith.MinSIOp)(a, b))

    def abs(self, a: SSAValue) -> SSAValue:
        return self.value(math.AbsFOp(a) if is_float(a.type) else math.AbsIOp(a))

    def float_op(self, op: Callable[[SSAValue], Operation], a: SSAValue, what: str) -> SSAValue:
        if not is_float(a.type):
            raise UnsupportedError(f"{what} of element type {a.type}")
        return self.value(op(a))

    def extend(self, value: SSAValue, to: Attribute) -> SSAValue:
        """Widen an operand to the accumulator type (f16 -> f32, i8 -> i32)."""
        if value.type == to:
            return value
        if is_float(to):
            return self.value(arith.ExtFOp(value, to))
        assert isinstance(to, IntegerType)
        return self.value(arith.ExtSIOp(value, cast(IntegerType, to)))

    def from_count(self, count: Extent, t: Attribute) -> SSAValue:
        """`count` as a scalar of type `t` (converted at run time when dynamic)."""
        if isinstance(count, int):
            return self.const(float(count) if is_float(t) else count, t)
        as_int = self.value(arith.IndexCastOp(count, IntegerType(64)))
        if is_float(t):
            return self.value(arith.SIToFPOp(as_int, cast(AnyFloat, t)))
        integer = cast(IntegerType, t)
        return self.value(arith.TruncIOp(as_int, integer)) if integer.bitwidth < 64 else as_int


def _is_bool(value: SSAValue) -> bool:
    t: Attribute = value.type
    return isinstance(t, IntegerType) and cast(IntegerType, t).bitwidth == 1


def lanes(vector_bits: int, buffer: SSAValue) -> int | None:
    """How many elements of `buffer` fill one vector register of `vector_bits`."""
    size = byte_size(element_of(buffer))
    return max(1, vector_bits // (8 * size)) if size else None


def copy(em: Emitter, src: SSAValue, dst: SSAValue, vector_bits: int) -> None:
    """dst[...] = src[...] for two buffers of one shape."""
    with em.nest(em.extents(dst), vector=lanes(vector_bits, dst)) as ivs:
        em.store(em.load(src, ivs), dst, ivs)


def fill(em: Emitter, value: SSAValue, dst: SSAValue, vector_bits: int) -> None:
    """dst[...] = value."""
    with em.nest(em.extents(dst), vector=lanes(vector_bits, dst)) as ivs:
        em.store(value, dst, ivs)
