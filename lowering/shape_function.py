"""The shape function of a model with dynamic input dims (like TVM's shape functions):
beside `@<entry>`, a plain function that a caller runs first to check the inputs' dims and
learn the outputs' dims, so that it can allocate the outputs.

    func.func @encoder_shapes(%in: memref<2xindex>, %out: memref<1xindex>) -> i32
        attributes {lamina.shapes_of = "encoder",
                    lamina.checks = ["input 'attention_mask' dim 1 ('seq'): ..."]}

`%in` holds the `?` dims of the inputs (inputs in order, each dim in axis order), `%out`
receives the `?` dims of the outputs the same way. The result is 0, or the number
(1-based) of the first check that fails, whose message is `lamina.checks[n - 1]`. It is
loop-level IR from the start (memrefs of index, arith, `loop.load` / `loop.store`), so
the lowerings leave it alone and codegen emits it as an ordinary C function.
"""

from __future__ import annotations

from xdsl.dialects import arith, func
from xdsl.dialects.builtin import (
    ArrayAttr,
    IndexType,
    IntegerAttr,
    MemRefType,
    StringAttr,
    i32,
)
from xdsl.ir import Block, Operation, Region, SSAValue

from lamina.dialects.loop import LoadOp, StoreOp
from lamina.lowering import symbolic_dims as sd
from lamina.lowering.graph_dims import Dims, SymbolicShapes, static_dims

SHAPES_OF = "lamina.shapes_of"
"""Attribute of a shape function: the name of the kernel it belongs to."""
CHECKS = "lamina.checks"


def shape_function(entry: func.FuncOp, shapes: SymbolicShapes) -> func.FuncOp:
    """`@<entry>_shapes` for `entry` (a graph-level function) with its symbolic shapes;
    raises ValueError naming an output dim that no rule determines."""
    dynamic_inputs = [
        (index, axis)
        for index, arg in enumerate(shapes.args)
        for axis, d in enumerate(static_dims(arg))
        if d is None
    ]
    returned = entry.body.block.last_op
    assert isinstance(returned, func.ReturnOp)
    outputs: list[Dims] = [shapes.of(v) for v in returned.arguments]
    out_sizes = [(k, axis, d) for k, dims in enumerate(outputs) for axis, d in enumerate(dims)]
    static = [static_dims(v) for v in returned.arguments]
    wanted = [(k, axis, d) for k, axis, d in out_sizes if static[k][axis] is None]
    block = Block(
        arg_types=[
            MemRefType(IndexType(), [len(dynamic_inputs)]),
            MemRefType(IndexType(), [len(wanted)]),
        ]
    )
    in_dims, out_dims = block.args
    in_dims.name_hint, out_dims.name_hint = "in_dims", "out_dims"

    def emit(op: Operation) -> SSAValue:
        block.add_op(op)
        return op.results[0]

    def index(n: int) -> SSAValue:
        return emit(arith.ConstantOp(IntegerAttr(n, IndexType())))

    def symbol_value(name: str) -> SSAValue:
        position = dynamic_inputs.index(shapes.bindings[name])
        return emit(LoadOp(in_dims, [index(position)]))

    cache: dict[sd.Size, SSAValue] = {}

    def size(value: sd.Size) -> SSAValue:
        return sd.materialize(value, symbol_value, emit, cache)

    for slot, (k, axis, d) in enumerate(wanted):
        if d is None:
            raise ValueError(f"dim {axis} of output #{k} has no shape rule")
        block.add_op(StoreOp(size(d), out_dims, [index(slot)]))
    status = emit(arith.ConstantOp(IntegerAttr(0, i32)))
    for number in range(len(shapes.checks), 0, -1):  # the first failing check wins
        a, b, _ = shapes.checks[number - 1]
        differ = emit(arith.CmpiOp(size(a), size(b), "ne"))
        status = emit(
            arith.SelectOp(differ, emit(arith.ConstantOp(IntegerAttr(number, i32))), status)
        )
    block.add_op(func.ReturnOp(status))
    name = entry.sym_name.data
    function = func.FuncOp(f"{name}_shapes", ([a.type for a in block.args], [i32]), Region(block))
    function.attributes[SHAPES_OF] = StringAttr(name)
    function.attributes[CHECKS] = ArrayAttr([StringAttr(m) for _, _, m in shapes.checks])
    return function
