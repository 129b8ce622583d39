"""The `part` dialect: a graph-level function split into segments, one per compute unit.

`graph-partition` (lowering/partition.py) produces it; runtime/hetero.py runs it. A
partitioned function's body holds only `part.segment`, `part.transfer` and `func.return`:

    %0 = part.transfer %x from "cpu" to "gpu" : tensor<1x3x8x8xf32>
    %1 = part.segment "gpu" (%0) : (tensor<1x3x8x8xf32>) -> tensor<1x4x8x8xf32> {
    ^bb0(%a: tensor<1x3x8x8xf32>):
      %w = graph.constant dense_resource<w> : tensor<4x3x3x3xf32>
      %n = graph.none : none
      %c = graph.conv %a, %w, %n {pads = array<i64: 1, 1, 1, 1>} : (...) -> tensor<1x4x8x8xf32>
      part.yield %c : tensor<1x4x8x8xf32>
    }
    %2 = part.transfer %1 from "gpu" to "cpu" : tensor<1x4x8x8xf32>
    func.return %2 : tensor<1x4x8x8xf32>

Invariants the verifiers check: a segment is isolated from above (its block arguments are
its inputs, its weights are inside it) and ends in `part.yield` of its result types; a
transfer moves a value between two different units and keeps its type; a segment or a
transfer that takes the result of a transfer sits on the unit the transfer moved it to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from xdsl.dialects.builtin import StringAttr, TensorType
from xdsl.ir import Attribute, Block, Dialect, Operation, Region, SSAValue
from xdsl.irdl import (
    AnyAttr,
    IRDLOperation,
    VarConstraint,
    base,
    irdl_op_definition,
    operand_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.traits import HasParent, IsolatedFromAbove, IsTerminator, Pure
from xdsl.utils.exceptions import VerifyException


@irdl_op_definition
class SegmentOp(IRDLOperation):
    """Ops that run together on one compute unit (`unit`, a unit of the SoC description).

    %r = part.segment "gpu" (%a) : (tensor<4xf32>) -> tensor<4xf32> {
    ^bb0(%x: tensor<4xf32>):
      %y = graph.relu %x : tensor<4xf32>
      part.yield %y : tensor<4xf32>
    }
    """

    name = "part.segment"

    unit = prop_def(StringAttr)
    inputs = var_operand_def()
    outputs = var_result_def()
    body = region_def("single_block")
    traits = traits_def(IsolatedFromAbove())
    assembly_format = "$unit `(` $inputs `)` attr-dict `:` functional-type($inputs, $outputs) $body"

    def __init__(
        self,
        unit: str,
        inputs: Sequence[SSAValue],
        output_types: Sequence[Attribute],
        body: Region,
    ) -> None:
        super().__init__(
            operands=[inputs],
            result_types=[output_types],
            properties={"unit": StringAttr(unit)},
            regions=[body],
        )

    @property
    def block(self) -> Block:
        return self.body.block

    def verify_(self) -> None:
        unit = self.unit.data
        if not unit:
            raise VerifyException("part.segment needs a non-empty unit name")
        arg_types = [a.type for a in self.block.args]
        if arg_types != [v.type for v in self.inputs]:
            raise VerifyException(
                f'part.segment "{unit}": block arguments ({_types(arg_types)}) must match '
                f"the inputs ({_types(v.type for v in self.inputs)})"
            )
        last = self.block.last_op
        if not isinstance(last, YieldOp):
            raise VerifyException(f'part.segment "{unit}" must end in part.yield')
        yielded = [v.type for v in last.values]
        if yielded != [r.type for r in self.outputs]:
            raise VerifyException(
                f'part.segment "{unit}": part.yield of ({_types(yielded)}) does not match '
                f"the results ({_types(r.type for r in self.outputs)})"
            )
        for index, value in enumerate(self.inputs):
            check_arrival(self, value, unit, f"input {index}")


@irdl_op_definition
class TransferOp(IRDLOperation):
    """Moves a tensor from one compute unit's memory to another's; the value is unchanged.

    %y = part.transfer %x from "cpu" to "gpu" : tensor<1x64x56x56xf32>
    """

    name = "part.transfer"

    T: ClassVar = VarConstraint("T", base(TensorType))
    input = operand_def(T)
    output = result_def(T)
    source = prop_def(StringAttr, prop_name="from")
    dest = prop_def(StringAttr, prop_name="to")
    traits = traits_def(Pure())
    assembly_format = "$input `from` $from `to` $to attr-dict `:` type($input)"

    def __init__(self, value: SSAValue, source: str, dest: str) -> None:
        super().__init__(
            operands=[value],
            result_types=[value.type],
            properties={"from": StringAttr(source), "to": StringAttr(dest)},
        )

    def verify_(self) -> None:
        if self.source == self.dest:
            raise VerifyException(
                f'part.transfer from "{self.source.data}" to itself moves nothing'
            )
        check_arrival(self, self.input, self.source.data, "its input")


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Ends a `part.segment` with the values it produces.

    part.yield %a, %b : tensor<4xf32>, tensor<2xf32>
    """

    name = "part.yield"

    values = var_operand_def(AnyAttr())
    traits = traits_def(IsTerminator(), HasParent(SegmentOp))
    assembly_format = "attr-dict ($values^ `:` type($values))?"

    def __init__(self, *values: SSAValue | Operation) -> None:
        super().__init__(operands=[list(values)])


def check_arrival(op: Operation, value: SSAValue, unit: str, what: str) -> None:
    """A value moved by a `part.transfer` must be used on the unit it was moved to."""
    producer = value.owner
    if isinstance(producer, TransferOp) and producer.dest.data != unit:
        raise VerifyException(
            f'{op.name} on "{unit}": {what} was transferred to "{producer.dest.data}"'
        )


def _types(types: Iterable[Attribute]) -> str:
    return ", ".join(str(t) for t in types)


Partition = Dialect("part", [SegmentOp, TransferOp, YieldOp], [])
