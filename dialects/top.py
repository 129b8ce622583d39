"""The `top` (tensor-op) dialect: structured compute on tensors, like linalg.

`top.generic` is the one structured op: inputs, outputs (inits), one indexing map per
operand, one iterator kind per loop, and a scalar body. Elementwise ops, bias adds and
activations are `top.generic` with a body of `arith` / `math` ops. The named ops (`matmul`,
`conv2d`, `pool`, `reduce`, `transpose`, `pad`, `gather`, `broadcast`, `fill`, `reshape`,
`concat`, `slice`) stay named because a lowering or a micro-kernel needs to recognise them; they are
pure value ops whose result type is given, and each verifier checks that result shape
exactly.

All shapes may hold dynamic (`?`) dims; a verifier checks only what is known statically.
Negative axes and other framework conveniences are resolved before the `top` level.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import auto
from math import prod
from typing import Self, cast

from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    AffineMapAttr,
    AnyFloat,
    ArrayAttr,
    DenseArrayBase,
    IndexType,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
    UnitAttr,
    i64,
)
from xdsl.dialects.utils import AbstractYieldOperation, EnumAttribute
from xdsl.ir import Attribute, Dialect, Region, SpacedOpaqueSyntaxAttribute, SSAValue
from xdsl.ir.affine import AffineConstantExpr, AffineDimExpr, AffineExpr, AffineMap
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import HasParent, IsTerminator, Pure, RecursiveMemoryEffect
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.hints import isa
from xdsl.utils.str_enum import StrEnum

from lamina.dialects.top_control import TOP_CONTROL_OPS
from lamina.dialects.top_index import INDEX_ATTRS, INDEX_OPS
from lamina.dialects.top_index_bounds import index_interval
from lamina.dialects.top_shape import TOP_SHAPE_OPS, dynamic_count

# ---------------------------------------------------------------------------------------
# Enum attributes. Standalone they print as `#top<reduce_kind sum>`; inside an op's
# custom form only the keyword (`sum`) is printed.
# ---------------------------------------------------------------------------------------


class IteratorType(StrEnum):
    """How a loop of a `top.generic` combines its iterations."""

    PARALLEL = auto()
    REDUCTION = auto()


class ConvLayout(StrEnum):
    """Data and filter layout of `top.conv2d`: input_filter (output has the input layout).

    nchwc: input N x C/c x H x W x c, filter F/f x C/c x KH x KW x c x f,
    output N x F/f x OH x OW x f (blocked channels, groups = 1).
    """

    NCHW_FCHW = auto()
    NHWC_HWCF = auto()
    NCHWC = auto()


class TensorLayout(StrEnum):
    """Where the spatial dims of a windowed op's operand are (nchwc: blocked channels last)."""

    NCHW = auto()
    NHWC = auto()
    NCHWC = auto()


class PoolKind(StrEnum):
    MAX = auto()
    AVG = auto()


class ReduceKind(StrEnum):
    """mean divides by the reduced element count; l1 = sum|x|, l2 = sqrt(sum x^2),
    log_sum = log(sum x), log_sum_exp = log(sum exp x), sum_square = sum x^2."""

    SUM = auto()
    PROD = auto()
    MAX = auto()
    MIN = auto()
    MEAN = auto()
    L1 = auto()
    L2 = auto()
    SUM_SQUARE = auto()
    LOG_SUM = auto()
    LOG_SUM_EXP = auto()


class PadMode(StrEnum):
    CONSTANT = auto()
    REFLECT = auto()
    EDGE = auto()


@irdl_attr_definition
class IteratorTypeAttr(EnumAttribute[IteratorType], SpacedOpaqueSyntaxAttribute):
    name = "top.iterator_type"


@irdl_attr_definition
class ConvLayoutAttr(EnumAttribute[ConvLayout], SpacedOpaqueSyntaxAttribute):
    name = "top.conv_layout"


@irdl_attr_definition
class TensorLayoutAttr(EnumAttribute[TensorLayout], SpacedOpaqueSyntaxAttribute):
    name = "top.layout"


@irdl_attr_definition
class PoolKindAttr(EnumAttribute[PoolKind], SpacedOpaqueSyntaxAttribute):
    name = "top.pool_kind"


@irdl_attr_definition
class ReduceKindAttr(EnumAttribute[ReduceKind], SpacedOpaqueSyntaxAttribute):
    name = "top.reduce_kind"


@irdl_attr_definition
class PadModeAttr(EnumAttribute[PadMode], SpacedOpaqueSyntaxAttribute):
    name = "top.pad_mode"


# ---------------------------------------------------------------------------------------
# Shape helpers shared by the verifiers.
# ---------------------------------------------------------------------------------------

Shape = tuple[int, ...]
I64Array = DenseArrayBase[IntegerType]


def _i64_array(values: Sequence[int]) -> I64Array:
    return DenseArrayBase.from_list(i64, values)


def _ints(attr: I64Array) -> Shape:
    return attr.get_values()


def _tensor_type(value: SSAValue) -> TensorType[Attribute]:
    assert isa(value.type, TensorType[Attribute]), "IRDL checks operand types first"
    return value.type


def _shape(value: SSAValue) -> Shape:
    return _tensor_type(value).get_shape()


def _elt(value: SSAValue) -> Attribute:
    return _tensor_type(value).get_element_type()


def _verify_compound_indices(
    name: str, operand: SSAValue, amap: AffineMap, extents: Sequence[int]
) -> None:
    """Each dim of `operand` that `amap` indexes by a compound expression holds every
    index the loops reach (dims read by one loop alone are checked against its extent)."""
    for dim, (expr, size) in enumerate(zip(amap.results, _shape(operand), strict=True)):
        interval = None if isinstance(expr, AffineDimExpr) else index_interval(expr, extents)
        if interval is None or size == DYNAMIC_INDEX:
            continue
        if interval[0] < 0 or interval[1] >= size:
            raise VerifyException(
                f"dim {dim} of {name} ({operand.type}) is {size} but its index {expr} "
                f"reaches [{interval[0]}, {interval[1]}] over loop extents "
                f"{_shape_str(extents)}: it needs size {interval[1] + 1}"
            )


def _agree(a: int, b: int) -> bool:
    return a == b or DYNAMIC_INDEX in (a, b)


def _expect_dynamic_sizes(result: SSAValue, sizes: Sequence[SSAValue]) -> None:
    """One `index` size operand per `?` dim of `result`."""
    if (count := dynamic_count(result.type)) != len(sizes):
        raise VerifyException(
            f"expected {count} dynamic size operands for result type {result.type}, "
            f"got {len(sizes)}"
        )


def _shape_str(shape: Sequence[int]) -> str:
    return "[" + ", ".join("?" if d == DYNAMIC_INDEX else str(d) for d in shape) + "]"


def _expect_shape(what: str, value: SSAValue, expected: Sequence[int]) -> None:
    """Raise unless `value` (called `what`) has exactly `expected` (with `?` wildcards)."""
    shape = _shape(value)
    if len(shape) != len(expected) or not all(map(_agree, shape, expected)):
        raise VerifyException(
            f"expected {what} type {value.type} to have shape {_shape_str(expected)}"
        )


def _expect_rank(what: str, value: SSAValue, rank: int) -> None:
    if len(_shape(value)) != rank:
        raise VerifyException(f"expected {what} type {value.type} to have rank {rank}")


def _expect_same_element(what: str, value: SSAValue, other: str, other_value: SSAValue) -> None:
    if _elt(value) != _elt(other_value):
        raise VerifyException(
            f"expected {what} type {value.type} to have the element type of "
            f"{other} type {other_value.type}"
        )


def _can_accumulate(source: Attribute, acc: Attribute) -> bool:
    """An accumulator may be wider than its operands (i8 -> i32, f16 -> f32)."""
    if source == acc:
        return True
    if isinstance(source, IntegerType) and isinstance(acc, IntegerType):
        return acc.bitwidth >= source.bitwidth
    if isinstance(source, AnyFloat) and isinstance(acc, AnyFloat):
        return acc.bitwidth >= source.bitwidth
    return False


def _expect_lengths(rank: int, **arrays: Sequence[int]) -> None:
    for name, values in arrays.items():
        if len(values) != rank:
            raise VerifyException(f"expected {rank} values in {name}, got {list(values)}")


def _expect_positive(**arrays: Sequence[int]) -> None:
    for name, values in arrays.items():
        if any(v < 1 for v in values):
            raise VerifyException(f"expected {name} to be positive, got {list(values)}")


def _expect_non_negative(**arrays: Sequence[int]) -> None:
    for name, values in arrays.items():
        if any(v < 0 for v in values):
            raise VerifyException(f"expected {name} to be non-negative, got {list(values)}")


def _window_out(size: int, kernel: int, stride: int, dilation: int, pads: int, ceil: bool) -> int:
    """Output length of a sliding window (ONNX / PyTorch convention)."""
    if size == DYNAMIC_INDEX:
        return DYNAMIC_INDEX
    span = size + pads - dilation * (kernel - 1) - 1
    return (-(-span // stride) if ceil else span // stride) + 1


def broadcast_shapes(lhs: Sequence[int], rhs: Sequence[int]) -> Shape | None:
    """numpy broadcasting of two shapes (aligned on the right); None if they do not."""
    rank = max(len(lhs), len(rhs))
    lhs = (1,) * (rank - len(lhs)) + tuple(lhs)
    rhs = (1,) * (rank - len(rhs)) + tuple(rhs)
    out: list[int] = []
    for a, b in zip(lhs, rhs, strict=True):
        if a == 1 or a == b:
            out.append(b)
        elif b == 1:
            out.append(a)
        elif DYNAMIC_INDEX in (a, b):
            out.append(b if a == DYNAMIC_INDEX else a)
        else:
            return None
    return tuple(out)


def broadcast_map(shape: Sequence[int], rank: int) -> AffineMap:
    """The indexing map that reads an operand of `shape` inside a `rank`-loop elementwise
    nest with numpy broadcasting: size-1 dims read index 0.

        broadcast_map([4, 1], 3) == (d0, d1, d2) -> (d1, 0)
    """
    offset = rank - len(shape)
    results: list[AffineExpr] = [
        AffineConstantExpr(0) if d == 1 else AffineDimExpr(offset + i) for i, d in enumerate(shape)
    ]
    return AffineMap(rank, 0, tuple(results))


# ---------------------------------------------------------------------------------------
# top.generic and top.yield
# ---------------------------------------------------------------------------------------


@irdl_op_definition
class GenericOp(IRDLOperation):
    """A loop nest over the iteration space of `iterator_types`, one loop per entry. Each
    operand's indexing map sends loop indices to the element read (inputs) or updated
    (outputs); the body gets those elements and yields the new output elements. Results
    are the final outputs. Reduction loops accumulate into the outputs' initial values.

        %c = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                           affine_map<(d0, d1) -> (d1)>,
                                           affine_map<(d0, d1) -> (d0, d1)>],
                          iterator_types = ["parallel", "parallel"]}
            ins(%a, %bias : tensor<4x8xf32>, tensor<8xf32>)
            outs(%init : tensor<4x8xf32>) {
        ^bb0(%x: f32, %y: f32, %out: f32):
          %s = arith.addf %x, %y : f32
          top.yield %s : f32
        } -> tensor<4x8xf32>
    """

    name = "top.generic"

    inputs = var_operand_def(TensorType)
    outputs = var_operand_def(TensorType)
    res = var_result_def(TensorType)
    body = region_def("single_block")
    indexing_maps = prop_def(ArrayAttr[AffineMapAttr])
    iterator_types = prop_def(ArrayAttr[IteratorTypeAttr])

    irdl_options = (AttrSizedOperandSegments(as_property=True),)
    traits = traits_def(RecursiveMemoryEffect())

    def __init__(
        self,
        inputs: Sequence[SSAValue],
        outputs: Sequence[SSAValue],
        body: Region,
        indexing_maps: Sequence[AffineMap | AffineMapAttr],
        iterator_types: Sequence[IteratorType | IteratorTypeAttr],
        result_types: Sequence[Attribute] | None = None,
    ) -> None:
        maps = [m if isinstance(m, AffineMapAttr) else AffineMapAttr(m) for m in indexing_maps]
        iters = [
            it if isinstance(it, IteratorTypeAttr) else IteratorTypeAttr(it)
            for it in iterator_types
        ]
        super().__init__(
            operands=[inputs, outputs],
            result_types=[[o.type for o in outputs] if result_types is None else result_types],
            properties={"indexing_maps": ArrayAttr(maps), "iterator_types": ArrayAttr(iters)},
            regions=[body],
        )

    def maps(self) -> tuple[AffineMap, ...]:
        """The indexing maps, one per operand (inputs then outputs)."""
        return tuple(m.data for m in self.indexing_maps)

    def loop_ranges(self) -> Shape:
        """The extent of each loop, read off the first operand dim each loop indexes alone
        (DYNAMIC_INDEX if that dim is dynamic)."""
        ranges = [DYNAMIC_INDEX] * len(self.iterator_types)
        known = [False] * len(ranges)
        for operand, amap in zip(self.operands, self.maps(), strict=True):
            for expr, size in zip(amap.results, _shape(operand), strict=True):
                if isinstance(expr, AffineDimExpr) and not known[expr.position]:
                    ranges[expr.position] = size
                    known[expr.position] = size != DYNAMIC_INDEX
        return tuple(ranges)

    def print(self, printer: Printer) -> None:
        printer.print_string(" {indexing_maps = ")
        printer.print_attribute(self.indexing_maps)
        printer.print_string(", iterator_types = [")
        printer.print_list(self.iterator_types, lambda it: printer.print_string_literal(it.data))
        printer.print_string("]")
        for key, value in self.attributes.items():
            printer.print_string(f", {key} = ")
            printer.print_attribute(value)
        printer.print_string("}")
        for keyword, values in (("ins", self.inputs), ("outs", self.outputs)):
            if values:
                printer.print_string(f" {keyword}(")
                printer.print_list(values, printer.print_ssa_value)
                printer.print_string(" : ")
                printer.print_list(values.types, printer.print_attribute)
                printer.print_string(")")
        printer.print_string(" ")
        printer.print_region(self.body)
        if self.res:
            printer.print_string(" -> ")
            printer.print_list(self.res.types, printer.print_attribute)

    @classmethod
    def parse(cls, parser: Parser) -> Self:
        pos = parser.pos
        attrs = parser.parse_optional_attr_dict()
        maps = attrs.pop("indexing_maps", None)
        iters = attrs.pop("iterator_types", None)
        if not isinstance(maps, ArrayAttr) or not isinstance(iters, ArrayAttr):
            parser.raise_error("expected indexing_maps and iterator_types arrays", pos)
        iterator_types: list[IteratorTypeAttr] = []
        for it in cast(ArrayAttr[Attribute], iters):
            if isinstance(it, StringAttr) and it.data in set(IteratorType):
                it = IteratorTypeAttr(IteratorType(it.data))
            if not isinstance(it, IteratorTypeAttr):
                parser.raise_error(f"expected 'parallel' or 'reduction', got {it}", pos)
            iterator_types.append(it)

        def operand_list(keyword: str) -> Sequence[SSAValue]:
            pos = parser.pos
            if not parser.parse_optional_characters(keyword):
                return []
            parser.parse_punctuation("(")
            names = parser.parse_comma_separated_list(
                Parser.Delimiter.NONE, parser.parse_unresolved_operand
            )
            parser.parse_punctuation(":")
            types = parser.parse_comma_separated_list(Parser.Delimiter.NONE, parser.parse_type)
            parser.parse_punctuation(")")
            return parser.resolve_operands(names, types, pos)

        inputs = operand_list("ins")
        outputs = operand_list("outs")
        body = parser.parse_region()
        result_types: list[Attribute] = []
        if parser.parse_optional_punctuation("->"):
            result_types = parser.parse_comma_separated_list(
                Parser.Delimiter.NONE, parser.parse_type
            )
        op = cls(
            inputs,
            outputs,
            body,
            cast(ArrayAttr[AffineMapAttr], maps).data,
            iterator_types,
            result_types,
        )
        op.attributes |= attrs
        return op

    def verify_(self) -> None:
        operands = [*self.inputs, *self.outputs]
        names = [f"input #{i}" for i in range(len(self.inputs))] + [
            f"output #{i}" for i in range(len(self.outputs))
        ]
        maps = self.maps()
        num_loops = len(self.iterator_types)
        if not self.outputs:
            raise VerifyException("expected at least one output")
        if len(maps) != len(operands):
            raise VerifyException(
                f"expected one indexing map per operand ({len(operands)}), got {len(maps)}"
            )
        for name, operand, amap in zip(names, operands, maps, strict=True):
            if amap.num_dims != num_loops or amap.num_symbols:
                raise VerifyException(
                    f"expected indexing map of {name} to have {num_loops} dims (one per "
                    f"iterator) and no symbols, got {amap}"
                )
            if len(amap.results) != len(_shape(operand)):
                raise VerifyException(
                    f"expected indexing map of {name} to have one result per dim of "
                    f"{operand.type}, got {amap}"
                )
        for name, amap in zip(names[len(self.inputs) :], maps[len(self.inputs) :], strict=True):
            if not amap.is_projected_permutation():
                raise VerifyException(
                    f"expected indexing map of {name} to be a projected permutation, got {amap}"
                )
        self._verify_loop_ranges(names, operands, maps)
        self._verify_body(operands)
        if list(self.res.types) != list(self.outputs.types):
            raise VerifyException(
                f"expected result types ({', '.join(map(str, self.res.types))}) to be the "
                f"output types ({', '.join(map(str, self.outputs.types))})"
            )

    def _verify_loop_ranges(
        self, names: list[str], operands: list[SSAValue], maps: tuple[AffineMap, ...]
    ) -> None:
        """Every loop is indexed alone by some operand dim, and all such dims agree."""
        seen: dict[int, tuple[int, str]] = {}
        for name, operand, amap in zip(names, operands, maps, strict=True):
            for dim, (expr, size) in enumerate(zip(amap.results, _shape(operand), strict=True)):
                if not isinstance(expr, AffineDimExpr):
                    continue
                loop = expr.position
                if loop in seen and not _agree(seen[loop][0], size):
                    first_size, first = seen[loop]
                    raise VerifyException(
                        f"loop d{loop} has extent {first_size} from {first} but dim {dim} "
                        f"of {name} ({operand.type}) is {size}"
                    )
                if loop not in seen or seen[loop][0] == DYNAMIC_INDEX:
                    seen[loop] = (size, f"{name} ({operand.type})")
        for loop in range(len(self.iterator_types)):
            if loop not in seen:
                raise VerifyException(
                    f"loop d{loop} has no extent: no indexing map result is d{loop} alone"
                )
        extents = [seen[loop][0] for loop in range(len(self.iterator_types))]
        if DYNAMIC_INDEX not in extents:
            for name, operand, amap in zip(names, operands, maps, strict=True):
                _verify_compound_indices(name, operand, amap, extents)

    def _verify_body(self, operands: list[SSAValue]) -> None:
        block = self.body.block
        expected = [_elt(o) for o in operands]
        got = [a.type for a in block.args]
        if got != expected:
            raise VerifyException(
                f"expected body arguments of types ({', '.join(map(str, expected))}), the "
                f"element types of inputs and outputs, got ({', '.join(map(str, got))})"
            )
        yield_op = block.last_op
        if not isinstance(yield_op, YieldOp):
            raise VerifyException("expected the body to end in top.yield")
        yielded = list(yield_op.arguments.types)
        outs = [_elt(o) for o in self.outputs]
        if yielded != outs:
            raise VerifyException(
                f"expected top.yield of the output element types ({', '.join(map(str, outs))})"
                f", got ({', '.join(map(str, yielded))})"
            )


@irdl_op_definition
class YieldOp(AbstractYieldOperation[Attribute]):
    """Ends a `top.generic` body with the new output elements, one per output.

    top.yield %s : f32
    """

    name = "top.yield"
    traits = traits_def(IsTerminator(), HasParent(GenericOp), Pure())


# ---------------------------------------------------------------------------------------
# Named ops
# ---------------------------------------------------------------------------------------


@irdl_op_definition
class MatmulOp(IRDLOperation):
    """C = A · B over the last two dims; leading (batch) dims broadcast like numpy.matmul.
    Both operands have rank >= 2 (a 1-D operand is reshaped before `top`). `transpose_lhs` /
    `transpose_rhs` swap an operand's last two dims first. The result element type may be
    wider than the operands' (i8 x i8 -> i32 accumulates in i32).

        %c = top.matmul %a, %b : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
        %d = top.matmul %a, %w transpose_rhs
            : (tensor<2x4x8xf32>, tensor<16x8xf32>) -> tensor<2x4x16xf32>
    """

    name = "top.matmul"
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)
    transpose_lhs = opt_prop_def(UnitAttr)
    transpose_rhs = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    assembly_format = (
        "$lhs `,` $rhs (`transpose_lhs` $transpose_lhs^)? (`transpose_rhs` $transpose_rhs^)?"
        " attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        lhs: SSAValue,
        rhs: SSAValue,
        result_type: Attribute,
        *,
        transpose_lhs: bool = False,
        transpose_rhs: bool = False,
    ) -> None:
        super().__init__(
            operands=[lhs, rhs],
            result_types=[result_type],
            properties={
                "transpose_lhs": UnitAttr() if transpose_lhs else None,
                "transpose_rhs": UnitAttr() if transpose_rhs else None,
            },
        )

    def verify_(self) -> None:
        lhs, rhs = _shape(self.lhs), _shape(self.rhs)
        for name, value, shape in (("lhs", self.lhs, lhs), ("rhs", self.rhs, rhs)):
            if len(shape) < 2:
                raise VerifyException(f"expected {name} type {value.type} to have rank >= 2")
        m, k = lhs[-1:-3:-1] if self.transpose_lhs else lhs[-2:]
        k2, n = rhs[-1:-3:-1] if self.transpose_rhs else rhs[-2:]
        if not _agree(k, k2):
            raise VerifyException(
                f"expected the contracting dims of lhs type {self.lhs.type} ({k}) and rhs "
                f"type {self.rhs.type} ({k2}) to agree"
            )
        batch = broadcast_shapes(lhs[:-2], rhs[:-2])
        if batch is None:
            raise VerifyException(
                f"expected the batch dims of lhs type {self.lhs.type} and rhs type "
                f"{self.rhs.type} to broadcast"
            )
        _expect_same_element("rhs", self.rhs, "lhs", self.lhs)
        _expect_shape("result", self.result, (*batch, m, n))
        if not _can_accumulate(_elt(self.lhs), _elt(self.result)):
            raise VerifyException(
                f"expected result type {self.result.type} to have the element type of lhs "
                f"type {self.lhs.type} or a wider one"
            )


@irdl_op_definition
class Conv2dOp(IRDLOperation):
    """2-D convolution (cross-correlation) with explicit layout, strides, dilations, pads
    (`pad_low` = top/left, `pad_high` = bottom/right) and groups, plus an optional bias of
    shape [F] (nchwc: [F/f, f]). Out = (H + pads - dilation * (K - 1) - 1) / stride + 1.

        %y = top.conv2d nchw_fchw %x, %w, %b strides [2, 2] dilations [1, 1]
            pad_low [1, 1] pad_high [1, 1] groups 1
            : (tensor<1x3x224x224xf32>, tensor<64x3x3x3xf32>, tensor<64xf32>)
            -> tensor<1x64x112x112xf32>
    """

    name = "top.conv2d"
    input = operand_def(TensorType)
    filter = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    result = result_def(TensorType)
    layout = prop_def(ConvLayoutAttr)
    strides = prop_def(DenseArrayBase.constr(i64))
    dilations = prop_def(DenseArrayBase.constr(i64))
    pad_low = prop_def(DenseArrayBase.constr(i64))
    pad_high = prop_def(DenseArrayBase.constr(i64))
    groups = prop_def(IntegerAttr.constr(type=i64))
    traits = traits_def(Pure())
    assembly_format = (
        "$layout $input `,` $filter (`,` $bias^)? `strides` $strides `dilations` $dilations"
        " `pad_low` $pad_low `pad_high` $pad_high `groups` $groups"
        " attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        input: SSAValue,
        filter: SSAValue,
        result_type: Attribute,
        *,
        layout: ConvLayout,
        strides: Sequence[int] = (1, 1),
        dilations: Sequence[int] = (1, 1),
        pad_low: Sequence[int] = (0, 0),
        pad_high: Sequence[int] = (0, 0),
        groups: int = 1,
        bias: SSAValue | None = None,
    ) -> None:
        super().__init__(
            operands=[input, filter, bias],
            result_types=[result_type],
            properties={
                "layout": ConvLayoutAttr(layout),
                "strides": _i64_array(strides),
                "dilations": _i64_array(dilations),
                "pad_low": _i64_array(pad_low),
                "pad_high": _i64_array(pad_high),
                "groups": IntegerAttr(groups, i64),
            },
        )

    def verify_(self) -> None:
        strides, dilations = _ints(self.strides), _ints(self.dilations)
        low, high = _ints(self.pad_low), _ints(self.pad_high)
        groups = self.groups.value.data
        _expect_lengths(2, strides=strides, dilations=dilations, pad_low=low, pad_high=high)
        _expect_positive(strides=strides, dilations=dilations, groups=[groups])
        _expect_non_negative(pad_low=low, pad_high=high)
        layout = self.layout.data
        blocked = layout == ConvLayout.NCHWC
        _expect_rank("input", self.input, 5 if blocked else 4)
        _expect_rank("filter", self.filter, 6 if blocked else 4)
        x, w = _shape(self.input), _shape(self.filter)
        if layout == ConvLayout.NCHW_FCHW:
            (n, c, h, wd), (f, cg, kh, kw) = x, w
        elif layout == ConvLayout.NHWC_HWCF:
            (n, h, wd, c), (kh, kw, cg, f) = x, w
        else:
            if groups != 1:
                raise VerifyException(f"expected groups = 1 with layout nchwc, got {groups}")
            n, c, h, wd, cb = x
            f, cg, kh, kw, cb2, _ = w
            if not (_agree(cb, cb2) and _agree(c, cg)):
                raise VerifyException(
                    f"expected filter type {self.filter.type} to have the input channel "
                    f"blocks of input type {self.input.type}"
                )
        if c != DYNAMIC_INDEX and cg != DYNAMIC_INDEX and c != cg * groups:
            raise VerifyException(
                f"expected input type {self.input.type} to have {groups} x {cg} channels "
                f"(groups x filter type {self.filter.type} channels)"
            )
        if f != DYNAMIC_INDEX and f % groups:
            raise VerifyException(
                f"expected filter type {self.filter.type} to have a filter count divisible "
                f"by groups ({groups})"
            )
        oh, ow = (
            _window_out(size, k, s, d, lo + hi, ceil=False)
            for size, k, s, d, lo, hi in zip(
                (h, wd), (kh, kw), strides, dilations, low, high, strict=True
            )
        )
        expected = {
            ConvLayout.NCHW_FCHW: (n, f, oh, ow),
            ConvLayout.NHWC_HWCF: (n, oh, ow, f),
            ConvLayout.NCHWC: (n, f, oh, ow, w[-1]),
        }[layout]
        _expect_shape("result", self.result, expected)
        _expect_same_element("filter", self.filter, "input", self.input)
        if not _can_accumulate(_elt(self.input), _elt(self.result)):
            raise VerifyException(
                f"expected result type {self.result.type} to have the element type of input "
                f"type {self.input.type} or a wider one"
            )
        if self.bias is not None:
            _expect_shape("bias", self.bias, (f, w[-1]) if blocked else (f,))
            _expect_same_element("bias", self.bias, "result", self.result)


def _spatial_dims(layout: TensorLayout, rank: int) -> range:
    """The positions of the spatial dims of a rank-`rank` operand in `layout`."""
    if layout == TensorLayout.NHWC:
        return range(1, rank - 1)
    return range(2, rank - 1 if layout == TensorLayout.NCHWC else rank)


@irdl_op_definition
class PoolOp(IRDLOperation):
    """Max or average pooling over the spatial dims of `layout` (any count, one per kernel
    entry). Padded positions are skipped by max and, unless `count_include_pad`, not
    counted by avg. Ceil mode is resolved into the result type: each spatial output is
    floor((H + pads - dilation * (K - 1) - 1) / stride) + 1, or that with ceil.

        %y = top.pool max nchw %x kernel [3, 3] strides [2, 2] dilations [1, 1]
            pad_low [1, 1] pad_high [1, 1] : tensor<1x64x112x112xf32> -> tensor<1x64x56x56xf32>
    """

    name = "top.pool"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    kind = prop_def(PoolKindAttr)
    layout = prop_def(TensorLayoutAttr)
    kernel = prop_def(DenseArrayBase.constr(i64))
    strides = prop_def(DenseArrayBase.constr(i64))
    dilations = prop_def(DenseArrayBase.constr(i64))
    pad_low = prop_def(DenseArrayBase.constr(i64))
    pad_high = prop_def(DenseArrayBase.constr(i64))
    count_include_pad = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    assembly_format = (
        "$kind $layout $input `kernel` $kernel `strides` $strides `dilations` $dilations"
        " `pad_low` $pad_low `pad_high` $pad_high (`count_include_pad` $count_include_pad^)?"
        " attr-dict `:` type($input) `->` type($result)"
    )

    def __init__(
        self,
        input: SSAValue,
        result_type: Attribute,
        *,
        kind: PoolKind,
        layout: TensorLayout,
        kernel: Sequence[int],
        strides: Sequence[int] | None = None,
        dilations: Sequence[int] | None = None,
        pad_low: Sequence[int] | None = None,
        pad_high: Sequence[int] | None = None,
        count_include_pad: bool = False,
    ) -> None:
        ones, zeros = [1] * len(kernel), [0] * len(kernel)
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties={
                "kind": PoolKindAttr(kind),
                "layout": TensorLayoutAttr(layout),
                "kernel": _i64_array(kernel),
                "strides": _i64_array(ones if strides is None else strides),
                "dilations": _i64_array(ones if dilations is None else dilations),
                "pad_low": _i64_array(zeros if pad_low is None else pad_low),
                "pad_high": _i64_array(zeros if pad_high is None else pad_high),
                "count_include_pad": UnitAttr() if count_include_pad else None,
            },
        )

    def spatial_dims(self) -> range:
        """The positions of the pooled dims in the input and result."""
        return _spatial_dims(self.layout.data, len(_shape(self.input)))

    def verify_(self) -> None:
        kernel, strides = _ints(self.kernel), _ints(self.strides)
        dilations, low, high = _ints(self.dilations), _ints(self.pad_low), _ints(self.pad_high)
        k = len(kernel)
        _expect_lengths(k, strides=strides, dilations=dilations, pad_low=low, pad_high=high)
        _expect_positive(kernel=kernel, strides=strides, dilations=dilations)
        _expect_non_negative(pad_low=low, pad_high=high)
        if self.count_include_pad and self.kind.data != PoolKind.AVG:
            raise VerifyException("expected count_include_pad only with avg pooling")
        extra = 3 if self.layout.data == TensorLayout.NCHWC else 2
        _expect_rank("input", self.input, k + extra)
        _expect_rank("result", self.result, k + extra)
        x, y = _shape(self.input), _shape(self.result)
        spatial = self.spatial_dims()
        for dim in range(len(x)):
            if dim not in spatial and not _agree(x[dim], y[dim]):
                raise VerifyException(
                    f"expected result type {self.result.type} to keep dim {dim} of input "
                    f"type {self.input.type}"
                )
        for i, dim in enumerate(spatial):
            args = (x[dim], kernel[i], strides[i], dilations[i], low[i] + high[i])
            floor, ceil = _window_out(*args, ceil=False), _window_out(*args, ceil=True)
            if not (_agree(y[dim], floor) or _agree(y[dim], ceil)):
                raise VerifyException(
                    f"expected dim {dim} of result type {self.result.type} to be {floor}"
                    + (f" or {ceil} (ceil mode)" if ceil != floor else "")
                )
        _expect_same_element("result", self.result, "input", self.input)


@irdl_op_definition
class ReduceOp(IRDLOperation):
    """Reduces `input` over `axes` (sorted, distinct) with `kind`. With `keepdims` the
    reduced dims stay as size 1; without, they are dropped.

        %s = top.reduce sum %x axes [1] keepdims : tensor<4x8xf32> -> tensor<4x1xf32>
        %m = top.reduce max %x axes [0, 1] : tensor<4x8xf32> -> tensor<f32>
    """

    name = "top.reduce"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    kind = prop_def(ReduceKindAttr)
    axes = prop_def(DenseArrayBase.constr(i64))
    keepdims = opt_prop_def(UnitAttr)
    traits = traits_def(Pure())
    assembly_format = (
        "$kind $input `axes` $axes (`keepdims` $keepdims^)?"
        " attr-dict `:` type($input) `->` type($result)"
    )

    def __init__(
        self,
        input: SSAValue,
        result_type: Attribute,
        *,
        kind: ReduceKind,
        axes: Sequence[int],
        keepdims: bool = False,
    ) -> None:
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties={
                "kind": ReduceKindAttr(kind),
                "axes": _i64_array(axes),
                "keepdims": UnitAttr() if keepdims else None,
            },
        )

    def verify_(self) -> None:
        axes, x = _ints(self.axes), _shape(self.input)
        if list(axes) != sorted(set(axes)) or any(not 0 <= a < len(x) for a in axes):
            raise VerifyException(
                f"expected axes {list(axes)} to be sorted, distinct dims of input type "
                f"{self.input.type}"
            )
        if self.keepdims:
            expected = [1 if d in axes else s for d, s in enumerate(x)]
        else:
            expected = [s for d, s in enumerate(x) if d not in axes]
        _expect_shape("result", self.result, expected)
        _expect_same_element("result", self.result, "input", self.input)


@irdl_op_definition
class TransposeOp(IRDLOperation):
    """Permutes dims: result dim i is input dim permutation[i]. A layout change
    (NCHW -> NHWC) is a transpose.

        %t = top.transpose %x permutation [1, 0] : tensor<4x8xf32> -> tensor<8x4xf32>
    """

    name = "top.transpose"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    permutation = prop_def(DenseArrayBase.constr(i64))
    traits = traits_def(Pure())
    assembly_format = (
        "$input `permutation` $permutation attr-dict `:` type($input) `->` type($result)"
    )

    def __init__(self, input: SSAValue, permutation: Sequence[int], result_type: Attribute) -> None:
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties={"permutation": _i64_array(permutation)},
        )

    def verify_(self) -> None:
        perm, x = _ints(self.permutation), _shape(self.input)
        if sorted(perm) != list(range(len(x))):
            raise VerifyException(
                f"expected permutation {list(perm)} to permute the dims of input type "
                f"{self.input.type}"
            )
        _expect_shape("result", self.result, [x[p] for p in perm])
        _expect_same_element("result", self.result, "input", self.input)


@irdl_op_definition
class PadOp(IRDLOperation):
    """Pads each dim by `low` before and `high` after (non-negative). constant fills with
    `value` (zero when absent); reflect mirrors without repeating the edge (pads < dim);
    edge repeats the border element.

        %p = top.pad constant %x value %c low [0, 1] high [0, 1]
            : (tensor<4x8xf32>, f32) -> tensor<4x10xf32>
        %q = top.pad reflect %x low [1, 1] high [1, 1] : (tensor<4x8xf32>) -> tensor<6x10xf32>
    """

    name = "top.pad"
    input = operand_def(TensorType)
    value = opt_operand_def()
    result = result_def(TensorType)
    mode = prop_def(PadModeAttr)
    low = prop_def(DenseArrayBase.constr(i64))
    high = prop_def(DenseArrayBase.constr(i64))
    traits = traits_def(Pure())
    assembly_format = (
        "$mode $input (`value` $value^)? `low` $low `high` $high"
        " attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        input: SSAValue,
        result_type: Attribute,
        *,
        mode: PadMode,
        low: Sequence[int],
        high: Sequence[int],
        value: SSAValue | None = None,
    ) -> None:
        super().__init__(
            operands=[input, value],
            result_types=[result_type],
            properties={
                "mode": PadModeAttr(mode),
                "low": _i64_array(low),
                "high": _i64_array(high),
            },
        )

    def verify_(self) -> None:
        x, low, high = _shape(self.input), _ints(self.low), _ints(self.high)
        _expect_lengths(len(x), low=low, high=high)
        _expect_non_negative(low=low, high=high)
        mode = self.mode.data
        if self.value is not None:
            if mode != PadMode.CONSTANT:
                raise VerifyException(f"expected no value with pad mode {mode}")
            if self.value.type != _elt(self.input):
                raise VerifyException(
                    f"expected value type {self.value.type} to be the element type of input "
                    f"type {self.input.type}"
                )
        for dim, (size, lo, hi) in enumerate(zip(x, low, high, strict=True)):
            # reflect mirrors around the border element, so it needs one more than it pads
            needed = max(lo, hi) + 1 if mode == PadMode.REFLECT else 1
            if mode != PadMode.CONSTANT and max(lo, hi) and 0 <= size < needed:
                raise VerifyException(
                    f"expected dim {dim} of input type {self.input.type} to have at least "
                    f"{needed} elements for {mode} pads {lo}, {hi}"
                )
        expected = [
            s if s == DYNAMIC_INDEX else s + lo + hi for s, lo, hi in zip(x, low, high, strict=True)
        ]
        _expect_shape("result", self.result, expected)
        _expect_same_element("result", self.result, "input", self.input)


@irdl_op_definition
class GatherOp(IRDLOperation):
    """Picks slices of `data` along `axis` (ONNX Gather): result shape is
    data[:axis] + indices + data[axis+1:]. An index i < 0 reads data[..., i + size, ...].

        %g = top.gather %data[%idx] axis 0
            : (tensor<100x16xf32>, tensor<2x3xi64>) -> tensor<2x3x16xf32>
    """

    name = "top.gather"
    data = operand_def(TensorType)
    indices = operand_def(TensorType)
    result = result_def(TensorType)
    axis = prop_def(IntegerAttr.constr(type=i64))
    traits = traits_def(Pure())
    assembly_format = (
        "$data `[` $indices `]` `axis` $axis attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self, data: SSAValue, indices: SSAValue, result_type: Attribute, *, axis: int
    ) -> None:
        super().__init__(
            operands=[data, indices],
            result_types=[result_type],
            properties={"axis": IntegerAttr(axis, i64)},
        )

    def verify_(self) -> None:
        x, axis = _shape(self.data), self.axis.value.data
        if not 0 <= axis < len(x):
            raise VerifyException(f"expected axis {axis} to be a dim of data type {self.data.type}")
        if not isinstance(_elt(self.indices), IntegerType | IndexType):
            raise VerifyException(
                f"expected indices type {self.indices.type} to have integer elements"
            )
        _expect_shape("result", self.result, (*x[:axis], *_shape(self.indices), *x[axis + 1 :]))
        _expect_same_element("result", self.result, "data", self.data)


@irdl_op_definition
class BroadcastOp(IRDLOperation):
    """Broadcasts `input` to the result shape by numpy rules: dims align on the right,
    each input dim is 1 or the result dim, missing leading dims are added.

        %b = top.broadcast %x : tensor<4x1xf32> -> tensor<2x4x8xf32>
    """

    name = "top.broadcast"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"

    def __init__(self, input: SSAValue, result_type: Attribute) -> None:
        super().__init__(operands=[input], result_types=[result_type])

    def verify_(self) -> None:
        x, y = _shape(self.input), _shape(self.result)
        if len(x) > len(y) or any(
            s not in (1, DYNAMIC_INDEX) and not _agree(s, t)
            for s, t in zip(x, y[len(y) - len(x) :], strict=True)
        ):
            raise VerifyException(
                f"expected input type {self.input.type} to broadcast to result type "
                f"{self.result.type}"
            )
        _expect_same_element("result", self.result, "input", self.input)


@irdl_op_definition
class FillOp(IRDLOperation):
    """A tensor with every element `value` (a scalar of the result's element type);
    the usual init of a reduction's or a matmul's output.

        %z = top.fill %c : f32 -> tensor<4x8xf32>
    """

    name = "top.fill"
    value = operand_def()
    dynamic_sizes = var_operand_def(IndexType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$value (`(` $dynamic_sizes^ `)`)? attr-dict `:` type($value) `->` type($result)"
    )

    def __init__(
        self, value: SSAValue, result_type: Attribute, dynamic_sizes: Sequence[SSAValue] = ()
    ) -> None:
        super().__init__(operands=[value, dynamic_sizes], result_types=[result_type])

    def verify_(self) -> None:
        _expect_dynamic_sizes(self.result, self.dynamic_sizes)
        if self.value.type != _elt(self.result):
            raise VerifyException(
                f"expected value type {self.value.type} to be the element type of result "
                f"type {self.result.type}"
            )


@irdl_op_definition
class ReshapeOp(IRDLOperation):
    """The same elements in row-major order under a new shape (ONNX Reshape, Flatten,
    Squeeze, Unsqueeze). The element counts agree when both shapes are static.

        %r = top.reshape %x : tensor<1x512x1x1xf32> -> tensor<1x512xf32>
    """

    name = "top.reshape"
    input = operand_def(TensorType)
    dynamic_sizes = var_operand_def(IndexType)
    result = result_def(TensorType)
    traits = traits_def(Pure())
    assembly_format = (
        "$input (`(` $dynamic_sizes^ `)`)? attr-dict `:` type($input) `->` type($result)"
    )

    def __init__(
        self, input: SSAValue, result_type: Attribute, dynamic_sizes: Sequence[SSAValue] = ()
    ) -> None:
        super().__init__(operands=[input, dynamic_sizes], result_types=[result_type])

    def verify_(self) -> None:
        _expect_dynamic_sizes(self.result, self.dynamic_sizes)
        x, y = _shape(self.input), _shape(self.result)
        if DYNAMIC_INDEX not in (*x, *y) and prod(x) != prod(y):
            raise VerifyException(
                f"expected result type {self.result.type} to have as many elements as input "
                f"type {self.input.type}"
            )
        _expect_same_element("result", self.result, "input", self.input)


@irdl_op_definition
class ConcatOp(IRDLOperation):
    """Joins the inputs (at least one, same rank) along `axis`; every other dim agrees.

    %c = top.concat %a, %b axis 1
        : (tensor<1x64x8x8xf32>, tensor<1x32x8x8xf32>) -> tensor<1x96x8x8xf32>
    """

    name = "top.concat"
    inputs = var_operand_def(TensorType)
    result = result_def(TensorType)
    axis = prop_def(IntegerAttr.constr(type=i64))
    traits = traits_def(Pure())
    assembly_format = "$inputs `axis` $axis attr-dict `:` functional-type(operands, results)"

    def __init__(self, inputs: Sequence[SSAValue], result_type: Attribute, *, axis: int) -> None:
        super().__init__(
            operands=[inputs],
            result_types=[result_type],
            properties={"axis": IntegerAttr(axis, i64)},
        )

    def verify_(self) -> None:
        if not self.inputs:
            raise VerifyException("expected at least one input")
        y, axis = _shape(self.result), self.axis.value.data
        if not 0 <= axis < len(y):
            raise VerifyException(
                f"expected axis {axis} to be a dim of result type {self.result.type}"
            )
        total = 0
        for i, value in enumerate(self.inputs):
            expected = [DYNAMIC_INDEX if d == axis else s for d, s in enumerate(y)]
            _expect_shape(f"input #{i}", value, expected)
            _expect_same_element(f"input #{i}", value, "result", self.result)
            size = _shape(value)[axis]
            total = DYNAMIC_INDEX if DYNAMIC_INDEX in (total, size) else total + size
        if not _agree(y[axis], total):
            raise VerifyException(
                f"expected dim {axis} of result type {self.result.type} to be {total}, the sum "
                "of the inputs' sizes"
            )


@irdl_op_definition
class SliceOp(IRDLOperation):
    """A strided window of `input`: result[i] = input[offsets + strides * i] per dim, the
    sizes given by the result type. Strides are non-zero and may be negative; every index
    read lies inside the input (ONNX Slice and Split after clamping).

        %s = top.slice %x offsets [1, 6] strides [1, -2] : tensor<3x7xf32> -> tensor<2x4xf32>
    """

    name = "top.slice"
    input = operand_def(TensorType)
    result = result_def(TensorType)
    offsets = prop_def(DenseArrayBase.constr(i64))
    strides = prop_def(DenseArrayBase.constr(i64))
    traits = traits_def(Pure())
    assembly_format = (
        "$input `offsets` $offsets `strides` $strides attr-dict `:` type($input) `->` type($result)"
    )

    def __init__(
        self, input: SSAValue, result_type: Attribute, *, offsets: Sequence[int],
        strides: Sequence[int],
    ) -> None:  # fmt: skip
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties={"offsets": _i64_array(offsets), "strides": _i64_array(strides)},
        )

    def verify_(self) -> None:
        x, y = _shape(self.input), _shape(self.result)
        offsets, strides = _ints(self.offsets), _ints(self.strides)
        _expect_lengths(len(x), offsets=offsets, strides=strides)
        _expect_rank("result", self.result, len(x))
        if 0 in strides:
            raise VerifyException(f"expected strides to be non-zero, got {list(strides)}")
        for dim, (size, out, offset, stride) in enumerate(zip(x, y, offsets, strides, strict=True)):
            if DYNAMIC_INDEX in (size, out) or out == 0:
                continue
            last = offset + stride * (out - 1)
            if not (0 <= offset < size and 0 <= last < size):
                raise VerifyException(
                    f"expected dim {dim} of result type {self.result.type} to read inside input "
                    f"type {self.input.type} (indices {offset} .. {last})"
                )
        _expect_same_element("result", self.result, "input", self.input)


Top = Dialect(
    "top",
    [
        GenericOp,
        YieldOp,
        MatmulOp,
        Conv2dOp,
        PoolOp,
        ReduceOp,
        TransposeOp,
        PadOp,
        GatherOp,
        BroadcastOp,
        FillOp,
        ReshapeOp,
        ConcatOp,
        SliceOp,
        *TOP_CONTROL_OPS,
        *INDEX_OPS,
        *TOP_SHAPE_OPS,
    ],
    [
        IteratorTypeAttr,
        ConvLayoutAttr,
        TensorLayoutAttr,
        PoolKindAttr,
        ReduceKindAttr,
        PadModeAttr,
        *INDEX_ATTRS,
    ],
)
