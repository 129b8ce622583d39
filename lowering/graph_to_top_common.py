"""What every `convert-graph-to-top` pattern shares: the `GraphLowering` base class, the
`Emitter` that collects the top ops replacing one graph op, and `Body`, a builder of
`top.generic` scalar bodies.

A pattern raises `UnsupportedOpError` ("not supported: ...") naming the op and its ONNX
node for anything it cannot lower exactly: dynamic shapes, unknown attribute values,
non-constant shape operands.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import ClassVar, cast

import numpy as np
from xdsl.dialects import arith, math
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    AnyFloat,
    AnySignlessIntegerType,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    NoneType,
    Signedness,
    TensorType,
)
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineMap
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern

from lamina.dialects import top
from lamina.dialects.graph import ConstantOp, onnx_attributes
from lamina.dialects.top_shape import DimOp
from lamina.errors import UnsupportedError, UnsupportedOpError
from lamina.lowering.graph_dims import Dims
from lamina.lowering.graph_dims_infer import shapes_for
from lamina.lowering.symbolic_dims import Size, materialize
from lamina.parser.graph_names import location_name

Shape = tuple[int, ...]


def node_name(op: Operation) -> str | None:
    """The ONNX node name an imported op carries as its location (`loc("conv1")`)."""
    return location_name(op.location)


class DynamicShapeError(UnsupportedOpError):
    """A static-shape lowering met a dynamic dim (`Emitter.static`)."""


def unsupported(
    op: Operation, what: str, kind: type[UnsupportedOpError] = UnsupportedOpError
) -> UnsupportedOpError:
    """`not supported: '<op>' (node '<name>'): <what>`, pointing at `op` for lamina-opt."""
    name = node_name(op)
    where = f" (node '{name}')" if name else ""
    error = kind(f"'{op.name}'{where}: {what}", name)
    setattr(error, "op", op)  # noqa: B010 (lamina-opt reports the error at `op`)
    return error


def tensor_type(value: SSAValue) -> TensorType[Attribute]:
    return cast(TensorType[Attribute], value.type)


def shape_of(value: SSAValue) -> Shape:
    return tensor_type(value).get_shape()


def elt_of(value: SSAValue) -> Attribute:
    return tensor_type(value).get_element_type()


def is_none(value: SSAValue) -> bool:
    return isinstance(value.type, NoneType)


def constant_value(value: SSAValue) -> np.ndarray | None:
    """The array of a `graph.constant` operand, None if it is computed or its weights were
    elided when printed (lowerings then compute from it as from any tensor)."""
    owner = value.owner
    if not isinstance(owner, ConstantOp) or owner.is_elided():
        return None
    return owner.to_array()


def scalar_constant(value: float, type: Attribute) -> arith.ConstantOp:
    """`arith.constant value : type` for an integer, index or float type."""
    if isinstance(type, IntegerType | IndexType):
        int_type = cast(Attribute, type)
        width = 64 if isinstance(type, IndexType) else cast(AnySignlessIntegerType, type).bitwidth
        return arith.ConstantOp(IntegerAttr(int(value), IntegerType(width)), int_type)
    float_type = cast(AnyFloat, type)
    return arith.ConstantOp(FloatAttr(float(value), float_type), float_type)


def broadcast_map(shape: Sequence[int], result: Sequence[int]) -> AffineMap:
    """Reads an operand of `shape` broadcast (numpy rules) to `result`: a size-1 dim that is
    stretched reads index 0, every other dim its loop.

        broadcast_map([4, 1], [2, 4, 8]) == (d0, d1, d2) -> (d1, 0)
    """
    offset = len(result) - len(shape)
    return AffineMap(
        len(result),
        0,
        tuple(
            AffineConstantExpr(0)
            if d == 1 and result[offset + i] != 1
            else AffineDimExpr(offset + i)
            for i, d in enumerate(shape)
        ),
    )


def integer_type(t: Attribute) -> IntegerType[int, Signedness] | None:
    """`t` as an integer type (any signedness), None for other types."""
    return cast(IntegerType[int, Signedness], t) if isinstance(t, IntegerType) else None


def is_unsigned(t: Attribute) -> bool:
    integer = integer_type(t)
    return integer is not None and integer.signedness.data == Signedness.UNSIGNED


def identity_map(rank: int) -> AffineMap:
    return AffineMap.identity(rank)


class Body:
    """Builds the scalar body of a `top.generic`: arith / math ops on one element type.

    arith takes signless integers only: `unsigned` bodies work on signless values (see
    `signless`) and divide, compare and take extremes with the unsigned ops."""

    def __init__(self, block: Block, unsigned: bool = False) -> None:
        self.block = block
        self.unsigned = unsigned

    def signless(self, value: SSAValue) -> SSAValue:
        """`value` as a signless integer (arith.bitcast of an unsigned one), else as is."""
        t = integer_type(value.type)
        if t is not None and t.signedness.data != Signedness.SIGNLESS:
            return self.emit(arith.BitcastOp(value, IntegerType(t.width.data)))
        return value

    def cast_to(self, value: SSAValue, type: Attribute) -> SSAValue:
        """`value` bitcast to the integer `type` of the same width when they differ."""
        return value if value.type == type else self.emit(arith.BitcastOp(value, type))

    def emit(self, op: Operation) -> SSAValue:
        self.block.add_op(op)
        return op.results[0]

    def const(self, value: float, type: Attribute) -> SSAValue:
        return self.emit(scalar_constant(value, type))

    def like(self, value: float, other: SSAValue) -> SSAValue:
        """A constant of `other`'s type."""
        return self.const(value, other.type)

    def _binary(
        self,
        float_op: Callable[[SSAValue, SSAValue], Operation],
        int_op: Callable[[SSAValue, SSAValue], Operation] | None,
        a: SSAValue,
        b: SSAValue,
    ) -> SSAValue:
        if isinstance(a.type, IntegerType):
            if int_op is None:
                raise TypeError(f"no integer form for {float_op}")
            return self.emit(int_op(a, b))
        return self.emit(float_op(a, b))

    def add(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self._binary(arith.AddfOp, arith.AddiOp, a, b)

    def sub(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self._binary(arith.SubfOp, arith.SubiOp, a, b)

    def mul(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self._binary(arith.MulfOp, arith.MuliOp, a, b)

    def div(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self._binary(arith.DivfOp, arith.DivUIOp if self.unsigned else arith.DivSIOp, a, b)

    def max(self, a: SSAValue, b: SSAValue) -> SSAValue:
        int_op = arith.MaxUIOp if self.unsigned else arith.MaxSIOp
        return self._binary(arith.MaximumfOp, int_op, a, b)

    def min(self, a: SSAValue, b: SSAValue) -> SSAValue:
        int_op = arith.MinUIOp if self.unsigned else arith.MinSIOp
        return self._binary(arith.MinimumfOp, int_op, a, b)

    def neg(self, a: SSAValue) -> SSAValue:
        if isinstance(a.type, IntegerType):
            return self.sub(self.like(0, a), a)
        return self.emit(arith.NegfOp(a))

    def abs(self, a: SSAValue) -> SSAValue:
        if isinstance(a.type, IntegerType):
            return self.emit(math.AbsIOp(a))
        return self.emit(math.AbsFOp(a))

    def exp(self, a: SSAValue) -> SSAValue:
        return self.emit(math.ExpOp(a))

    def log(self, a: SSAValue) -> SSAValue:
        return self.emit(math.LogOp(a))

    def sqrt(self, a: SSAValue) -> SSAValue:
        return self.emit(math.SqrtOp(a))

    def tanh(self, a: SSAValue) -> SSAValue:
        return self.emit(math.TanhOp(a))

    def erf(self, a: SSAValue) -> SSAValue:
        return self.emit(math.ErfOp(a))

    def pow(self, a: SSAValue, b: SSAValue) -> SSAValue:
        return self.emit(math.PowFOp(a, b))

    def cmp(self, predicate: str, a: SSAValue, b: SSAValue) -> SSAValue:
        """`predicate` as in arith.cmpf (`olt`, `oeq`, ...); integers use the signed form."""
        if isinstance(a.type, IntegerType):
            order = {"olt": "lt", "ole": "le", "ogt": "gt", "oge": "ge"}
            prefix = "u" if self.unsigned else "s"
            names = {"oeq": "eq", "une": "ne", **{k: prefix + v for k, v in order.items()}}
            return self.emit(arith.CmpiOp(a, b, names[predicate]))
        return self.emit(arith.CmpfOp(a, b, predicate))

    def select(self, cond: SSAValue, a: SSAValue, b: SSAValue) -> SSAValue:
        return self.emit(arith.SelectOp(cond, a, b))


BodyFn = Callable[[Body, Sequence[SSAValue]], SSAValue]
"""Builds a generic body from its input element values; returns the yielded value."""


class Emitter:
    """Collects the ops that replace one graph op, each located at the graph op. In a
    function with dynamic input dims, `dims` / `sizes` give the run-time dims of values
    (graph_dims.py) as `index` values computed from `top.dim`s of the inputs."""

    def __init__(self, source: Operation) -> None:
        self.source = source
        self.ops: list[Operation] = []
        self.shapes = shapes_for(source)
        self._sizes: dict[Size, SSAValue] = {}
        self.dynamic_ok = False
        """Set for lowerings that handle dynamic dims: `static` then admits them."""

    def fail(self, what: str) -> UnsupportedOpError:
        return unsupported(self.source, what)

    def emit(self, op: Operation) -> SSAValue:
        op.location = self.source.location
        self.ops.append(op)
        return op.results[0]

    def static(self, value: SSAValue) -> Shape:
        """The shape of a ranked, static tensor (a lowering with `dynamic_dims` also takes
        dynamic ones: DYNAMIC_INDEX marks their `?`); anything else is not supported."""
        described = str(value.type)
        if not isinstance(value.type, TensorType):
            raise self.fail(f"expected a ranked tensor, got {described}")
        shape = shape_of(value)
        if DYNAMIC_INDEX in shape and not self.dynamic_ok:
            raise unsupported(self.source, f"dynamic shape {described}", DynamicShapeError)
        return shape

    def check_static(self, *values: SSAValue) -> None:
        """Each of `values` is a ranked, static tensor (as `static` checks it)."""
        for value in values:
            self.static(value)

    def dims(self, value: SSAValue) -> Dims:
        """`value`'s dims: ints where static, symbolic sizes (None if unknown) where not."""
        if self.shapes is None:
            return tuple(None if d == DYNAMIC_INDEX else d for d in shape_of(value))
        return self.shapes.of(value)

    def size(self, size: Size | None) -> SSAValue:
        """The `index` value of a (symbolic) size."""
        if size is None:
            raise self.fail("dynamic shape: a dim that no shape rule determines")
        shapes = self.shapes
        assert shapes is not None or isinstance(size, int)

        def symbol_value(name: str) -> SSAValue:
            assert shapes is not None
            index, axis = shapes.bindings[name]
            return self.emit(DimOp(shapes.args[index], axis))

        return materialize(size, symbol_value, self.emit, self._sizes)

    def dynamic_sizes(self, result_type: Attribute, dims: Dims) -> list[SSAValue]:
        """The `index` operands a `top.fill` / `top.reshape` of `result_type` takes: one
        per `?`, from `dims`."""
        shape = cast(TensorType[Attribute], result_type).get_shape()
        if len(dims) != len(shape):
            raise self.fail(f"dims {dims} do not fit {result_type}")
        return [self.size(d) for d, s in zip(dims, shape, strict=True) if s == DYNAMIC_INDEX]

    def static_result(self, index: int = 0) -> TensorType[Attribute]:
        result = self.source.results[index]
        self.static(result)
        return tensor_type(result)

    def static_in_out(self, value: SSAValue) -> tuple[Shape, TensorType[Attribute]]:
        """`value`'s static shape and the static type of the op's first result: what a
        lowering of one main input checks first."""
        return self.static(value), self.static_result()

    def axis_attr(self, rank: int, name: str = "axis", default: int | None = None) -> int:
        """The int attribute `name` (`default` where it is absent, if given), an axis of a
        rank-`rank` tensor, in [0, rank)."""
        attrs = self.attrs()
        value = attrs[name] if default is None else attrs.get(name, default)
        return normalize_axis(self, int(cast(int, value)), rank)

    def constant(self, value: SSAValue, what: str) -> np.ndarray:
        """The value of an operand that must be a `graph.constant` (shape inputs, axes)."""
        array = constant_value(value)
        if array is None:
            raise self.fail(f"{what} must be a constant")
        return array

    def attrs(self) -> dict[str, object]:
        return onnx_attributes(self.source)

    def scalar(self, value: float, type: Attribute) -> SSAValue:
        """A scalar constant; an unsigned one is a signless constant bitcast (arith
        constants are signless)."""
        integer = integer_type(type)
        if integer is not None and is_unsigned(integer):
            bits = integer.width.data
            raw = self.emit(scalar_constant(int(value) % (1 << bits), IntegerType(bits)))
            return self.emit(arith.BitcastOp(raw, integer))
        return self.emit(scalar_constant(value, type))

    def fill(
        self, result_type: TensorType[Attribute], value: float = 0, dims: Dims | None = None
    ) -> SSAValue:
        """A `top.fill` of `result_type`; a dynamic one takes its sizes from `dims`."""
        scalar = self.scalar(value, result_type.get_element_type())
        if dims is None and DYNAMIC_INDEX in result_type.get_shape():
            raise self.fail(f"a fill of {result_type} whose dims are not known")
        sizes = self.dynamic_sizes(result_type, dims) if dims is not None else []
        return self.emit(top.FillOp(scalar, result_type, sizes))

    def generic(
        self,
        inputs: Sequence[SSAValue],
        result_type: TensorType[Attribute],
        body: BodyFn,
        maps: Sequence[AffineMap] | None = None,
        unsigned: bool = False,
        dims: Dims | None = None,
    ) -> SSAValue:
        """An all-parallel `top.generic` over `result_type`'s shape; inputs broadcast like
        numpy unless `maps` (one per input) are given; `unsigned` as in `Body`. A dynamic
        `result_type` has the dims `dims` (by default those of the op's first result)."""
        rank = len(result_type.get_shape())
        if maps is None:
            maps = [broadcast_map(shape_of(v), result_type.get_shape()) for v in inputs]
        if dims is None and DYNAMIC_INDEX in result_type.get_shape():
            dims = self.dims(self.source.results[0])
        init = self.fill(result_type, dims=dims)
        elts = [elt_of(v) for v in inputs] + [result_type.get_element_type()]
        block = Block(arg_types=elts)
        builder = Body(block, unsigned)
        value = body(builder, block.args[: len(inputs)])
        block.add_op(top.YieldOp(value))
        return self.emit(
            top.GenericOp(
                inputs,
                [init],
                Region(block),
                [*maps, identity_map(rank)],
                [top.IteratorType.PARALLEL] * rank,
            )
        )

    def reshape(self, value: SSAValue, shape: Sequence[int], dims: Dims | None = None) -> SSAValue:
        """`value` reshaped to `shape`; a dynamic `shape` has the dims `dims`."""
        if tuple(shape) == shape_of(value):
            return value
        result_type = TensorType(elt_of(value), shape)
        if dims is None and DYNAMIC_INDEX in result_type.get_shape():
            raise self.fail(f"a reshape to {result_type} whose dims are not known")
        sizes = self.dynamic_sizes(result_type, dims) if dims is not None else []
        return self.emit(top.ReshapeOp(value, result_type, sizes))


class GraphLowering(RewritePattern, ABC):
    """Replaces each op of type `source` by the top ops `lower` emits; `lower` returns one
    value per result (None for an optional result of type `none`)."""

    source: ClassVar[tuple[type[Operation], ...]]
    dynamic_dims: ClassVar[bool] = False
    """Whether `lower` handles tensors with dynamic dims (through `Emitter.dims`); other
    lowerings of an op with a `?` say "not supported"."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, self.source):
            return
        emitter = Emitter(op)
        emitter.dynamic_ok = self.dynamic_dims
        if not self.dynamic_dims and (dynamic := _dynamic_types(op)):
            _static_lowering_fails(self, op)
            raise emitter.fail(
                f"dynamic dims ({dynamic}) in an op that is lowered at static shapes only; "
                "give the inputs static shapes (input_shapes= / --input-shape)"
            )
        results = list(self.lower(op, emitter))
        for result, value in zip(op.results, results, strict=True):
            if value is None and result.uses:
                raise emitter.fail(f"output #{result.index} is used but cannot be computed")
            if value is not None and emitter.shapes is not None:
                emitter.shapes.inherit(result, value)
        rewriter.replace(op, emitter.ops, results)

    @abstractmethod
    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]: ...


def _static_lowering_fails(lowering: GraphLowering, op: Operation) -> None:
    """Raise the lowering's own "not supported" for `op` if it has one (a computed operand
    it needs constant says more than "dynamic dims"); what it emits is dropped: it is not
    written for dynamic shapes."""
    try:
        lowering.lower(op, Emitter(op))
    except DynamicShapeError:
        pass
    except UnsupportedError:
        raise
    except Exception:  # noqa: BLE001, S110 (any other failure: static shapes assumed)
        pass


def _dynamic_types(op: Operation) -> str:
    """The dynamic tensor types among `op`'s operands and results, "" if none."""
    types: list[Attribute] = [v.type for v in (*op.operands, *op.results)]
    ranked = [cast(TensorType[Attribute], t) for t in types if isinstance(t, TensorType)]
    dynamic = {str(t) for t in ranked if DYNAMIC_INDEX in t.get_shape()}
    return ", ".join(sorted(dynamic))


def normalize_axis(e: Emitter, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise e.fail(f"axis {axis} out of range for rank {rank}")
    return axis % rank


def ints(value: object) -> list[int]:
    return [int(v) for v in cast(Sequence[int], value)]
