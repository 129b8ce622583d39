"""`top.generic`, the one structured op of the `top` dialect, and its terminator
`top.yield`: a loop nest given by one indexing map per operand and one iterator kind per
loop, with a scalar body of `arith` / `math` ops. Elementwise ops, bias adds and
activations are `top.generic`s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self, cast

from xdsl.dialects.builtin import DYNAMIC_INDEX, AffineMapAttr, ArrayAttr, StringAttr, TensorType
from xdsl.dialects.utils import AbstractYieldOperation
from xdsl.ir import Attribute, Region, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    irdl_op_definition,
    prop_def,
    region_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import HasParent, IsTerminator, Pure, RecursiveMemoryEffect
from xdsl.utils.exceptions import VerifyException

from lamina.dialects.top_base import (
    IteratorType,
    IteratorTypeAttr,
    Shape,
    agree,
    element_type_of,
    shape_of,
    shape_str,
)
from lamina.dialects.top_index_bounds import index_interval


def _verify_compound_indices(
    name: str, operand: SSAValue, amap: AffineMap, extents: Sequence[int]
) -> None:
    """Each dim of `operand` that `amap` indexes by a compound expression holds every
    index the loops reach (dims read by one loop alone are checked against its extent)."""
    for dim, (expr, size) in enumerate(zip(amap.results, shape_of(operand), strict=True)):
        interval = None if isinstance(expr, AffineDimExpr) else index_interval(expr, extents)
        if interval is None or size == DYNAMIC_INDEX:
            continue
        if interval[0] < 0 or interval[1] >= size:
            raise VerifyException(
                f"dim {dim} of {name} ({operand.type}) is {size} but its index {expr} "
                f"reaches [{interval[0]}, {interval[1]}] over loop extents "
                f"{shape_str(extents)}: it needs size {interval[1] + 1}"
            )


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
            for expr, size in zip(amap.results, shape_of(operand), strict=True):
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
            if len(amap.results) != len(shape_of(operand)):
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
            for dim, (expr, size) in enumerate(zip(amap.results, shape_of(operand), strict=True)):
                if not isinstance(expr, AffineDimExpr):
                    continue
                loop = expr.position
                if loop in seen and not agree(seen[loop][0], size):
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
        expected = [element_type_of(o) for o in operands]
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
        outs = [element_type_of(o) for o in self.outputs]
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
