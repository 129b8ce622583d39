"""`loop.for`, the counted loop of the `loop` level, with loop-carried values
(`iter_args`) and the hints later passes and codegen read (`parallel`, `unroll N`,
`vector N`), and its terminator `loop.yield`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

from xdsl.dialects.arith import ConstantOp
from xdsl.dialects.builtin import I64, IndexType, IntegerAttr, UnitAttr
from xdsl.dialects.utils import AbstractYieldOperation, parse_assignment, print_assignment
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    irdl_op_definition,
    lazy_traits_def,
    operand_def,
    opt_prop_def,
    region_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import Parser, UnresolvedOperand
from xdsl.printer import Printer
from xdsl.traits import (
    HasParent,
    IsTerminator,
    Pure,
    RecursiveMemoryEffect,
    SingleBlockImplicitTerminator,
    ensure_terminator,
)
from xdsl.utils.exceptions import VerifyException

from lamina.dialects.loop_base import optional_i64, show_value


def constant_index(value: SSAValue) -> int | None:
    """The value of an `arith.constant` of integer or index type, None for anything else."""
    owner = value.owner
    if isinstance(owner, ConstantOp) and isinstance(owner.value, IntegerAttr):
        return owner.value.value.data
    return None


@irdl_op_definition
class YieldOp(AbstractYieldOperation[Attribute]):
    """Ends a `loop.for` body, passing the next values of its iter_args. Implicit (and not
    printed) when the loop carries no values.

        loop.yield %sum : f32
    """

    name = "loop.yield"

    traits = lazy_traits_def(lambda: (IsTerminator(), HasParent(ForOp), Pure()))


_HINTS = ("parallel", "unroll", "vector")


@irdl_op_definition
class ForOp(IRDLOperation):
    """A counted loop: the body runs for `%i = lb, lb + step, ...` while `%i < ub`, with
    `step > 0`. Values in `iter_args` are carried from one iteration to the next through
    `loop.yield`; the results are their values after the last iteration (the initial values
    when the loop runs zero times). Hints for later passes and codegen:
    `parallel` (iterations are independent, so they carry no values), `unroll N`
    (unroll by N), `vector N` (vectorize N lanes wide).

        loop.for %i = %c0 to %c64 step %c1 parallel vector 8 {
          ...
        }
        %sum = loop.for %k = %c0 to %c64 step %c1 unroll 4 iter_args(%acc = %zero) -> (f32) {
          %x = loop.load %a[%k] : memref<64xf32>
          %next = arith.addf %acc, %x : f32
          loop.yield %next : f32
        }
    """

    name = "loop.for"

    lb = operand_def(IndexType)
    ub = operand_def(IndexType)
    step = operand_def(IndexType)
    iter_args = var_operand_def()
    parallel = opt_prop_def(UnitAttr)
    unroll = opt_prop_def(IntegerAttr[I64])
    vector = opt_prop_def(IntegerAttr[I64])
    res = var_result_def()
    body = region_def("single_block")

    traits = traits_def(SingleBlockImplicitTerminator(YieldOp), RecursiveMemoryEffect())

    def __init__(
        self,
        lb: SSAValue | Operation,
        ub: SSAValue | Operation,
        step: SSAValue | Operation,
        iter_args: Sequence[SSAValue | Operation] = (),
        body: Region | Block | None = None,
        *,
        parallel: bool = False,
        unroll: int | None = None,
        vector: int | None = None,
    ) -> None:
        """`body` defaults to an empty block with the induction variable and one argument
        per iter_arg; the caller fills it and ends it with a `loop.yield`."""
        carried = [SSAValue.get(a).type for a in iter_args]
        if body is None:
            body = Block(arg_types=[IndexType(), *carried])
        super().__init__(
            operands=[lb, ub, step, iter_args],
            result_types=[carried],
            regions=[[body] if isinstance(body, Block) else body],
            properties={
                "parallel": UnitAttr() if parallel else None,
                "unroll": optional_i64(unroll),
                "vector": optional_i64(vector),
            },
        )

    @property
    def induction_var(self) -> SSAValue:
        return self.body.block.args[0]

    def constant_trip_count(self) -> int | None:
        """How many times the loop runs when its bounds and (positive) step are constants,
        else None."""
        lb, ub, step = (constant_index(v) for v in (self.lb, self.ub, self.step))
        if lb is None or ub is None or step is None or step <= 0:
            return None
        return max(0, -(-(ub - lb) // step))

    def verify_(self) -> None:
        args = self.body.block.args
        if not args or not isinstance(args[0].type, IndexType):
            raise VerifyException("loop.for body must take the index induction variable first")
        carried = args[1:]
        if [a.type for a in carried] != [a.type for a in self.iter_args]:
            raise VerifyException(
                f"loop.for body arguments ({', '.join(str(a.type) for a in carried)}) do not "
                f"match its iter_args ({', '.join(str(a.type) for a in self.iter_args)})"
            )
        if self.parallel is not None and self.iter_args:
            raise VerifyException(
                "parallel loop.for cannot carry iter_args: its iterations must be independent"
            )
        for hint in (self.unroll, self.vector):
            if hint is not None and hint.value.data < 1:
                which = "unroll" if hint is self.unroll else "vector"
                raise VerifyException(
                    f"loop.for {which} factor must be positive, got {hint.value.data}"
                )
        step = self.step.owner
        if (
            isinstance(step, ConstantOp)
            and isinstance(step.value, IntegerAttr)
            and step.value.value.data <= 0
        ):
            raise VerifyException(
                f"loop.for step {show_value(self.step, 'step')} = {step.value.value.data} "
                "must be positive"
            )
        terminator = self.body.block.last_op
        if isinstance(terminator, YieldOp):
            yielded = [v.type for v in terminator.arguments]
            if yielded != [a.type for a in self.iter_args]:
                raise VerifyException(
                    f"loop.yield types ({', '.join(map(str, yielded))}) do not match the "
                    f"loop.for iter_args ({', '.join(str(a.type) for a in self.iter_args)})"
                )

    def print(self, printer: Printer) -> None:
        indvar, *carried = self.body.block.args
        printer.print_string(" ")
        printer.print_ssa_value(indvar)
        printer.print_string(" = ")
        printer.print_ssa_value(self.lb)
        printer.print_string(" to ")
        printer.print_ssa_value(self.ub)
        printer.print_string(" step ")
        printer.print_ssa_value(self.step)
        if self.parallel is not None:
            printer.print_string(" parallel")
        if self.unroll is not None:
            printer.print_string(f" unroll {self.unroll.value.data}")
        if self.vector is not None:
            printer.print_string(f" vector {self.vector.value.data}")
        if carried:
            printer.print_string(" iter_args(")
            printer.print_list(
                zip(carried, self.iter_args, strict=True),
                lambda pair: print_assignment(printer, *pair),
            )
            printer.print_string(") -> (")
            printer.print_list((a.type for a in carried), printer.print_attribute)
            printer.print_string(")")
        printer.print_string(" ")
        printer.print_region(
            self.body,
            print_entry_block_args=False,
            print_empty_block=False,
            print_block_terminators=bool(carried),
        )
        printer.print_op_attributes(self.attributes)

    @classmethod
    def parse(cls, parser: Parser) -> Self:
        index = IndexType()
        indvar = parser.parse_argument(expect_type=False)
        parser.parse_punctuation("=")
        lb = parser.parse_operand(index)
        parser.parse_keyword("to")
        ub = parser.parse_operand(index)
        parser.parse_keyword("step")
        step = parser.parse_operand(index)
        hints: dict[str, int] = {}
        while (hint := parser.parse_optional_keyword_in(_HINTS)) is not None:
            if hint in hints:
                parser.raise_error(f"loop.for hint '{hint}' given twice")
            hints[hint] = 1 if hint == "parallel" else parser.parse_integer(allow_boolean=False)
        block_args = [indvar.resolve(index)]
        init_values: list[UnresolvedOperand] = []
        types: list[Attribute] = []
        pos = parser.pos
        if parser.parse_optional_keyword("iter_args"):
            pairs = parser.parse_comma_separated_list(
                Parser.Delimiter.PAREN, lambda: parse_assignment(parser)
            )
            parser.parse_punctuation("->")
            types = parser.parse_comma_separated_list(Parser.Delimiter.PAREN, parser.parse_type)
            if len(types) != len(pairs):
                parser.raise_error(f"loop.for has {len(pairs)} iter_args but {len(types)} types")
            block_args += [arg.resolve(t) for (arg, _), t in zip(pairs, types, strict=True)]
            init_values = [operand for _, operand in pairs]
        inits = parser.resolve_operands(init_values, types, pos)
        body = parser.parse_region(block_args)
        op = cls(
            lb,
            ub,
            step,
            inits,
            body,
            parallel="parallel" in hints,
            unroll=hints.get("unroll"),
            vector=hints.get("vector"),
        )
        op.attributes |= parser.parse_optional_attr_dict()
        if not inits:
            for trait in op.get_traits_of_type(SingleBlockImplicitTerminator):
                ensure_terminator(op, trait)
        return op
