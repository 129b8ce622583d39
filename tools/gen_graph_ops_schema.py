"""What `tools/gen_graph_ops.py` reads off an ONNX schema and writes about it besides the
op classes: Python names of operators and fields, element and attribute types, attribute
defaults, and the example of each op in the textual form, which the op's docstring shows and
`filecheck_tests/graph/ops.mlir` (`generate_test`) round-trips.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from onnx import AttributeProto, helper
from onnx.defs import OpSchema

ELEMENT_TYPES = {
    "float": "f32",
    "int64": "i64",
    "int32": "i32",
    "bool": "i1",
    "uint8": "ui8",
    "int8": "i8",
    "float16": "f16",
    "double": "f64",
    "bfloat16": "bf16",
    "int16": "i16",
    "uint16": "ui16",
    "uint32": "ui32",
    "uint64": "ui64",
}
"""ONNX element types in the order the examples prefer them."""


WORDS = {"NaN": "Nan", "Col2Im": "Col2im"}
"""Spellings the case rule would split wrongly (`IsNaN` -> `is_nan`, not `is_na_n`)."""


def snake_case(op_type: str) -> str:
    """`BatchNormalization` -> `batch_normalization`, `LSTM` -> `lstm`, `ReduceL2` -> `reduce_l2`."""
    for word, spelling in WORDS.items():
        op_type = op_type.replace(word, spelling)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", op_type)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return name.lower()


def field_name(onnx_name: str) -> str:
    """The Python field of an ONNX input, output or attribute name."""
    from xdsl.irdl import IRDLOperation

    name = snake_case(onnx_name)
    if keyword.iskeyword(name) or hasattr(IRDLOperation, name) or name in ("name", "irdl_options"):
        name += "_"
    return name


def allowed_types(schema: OpSchema, type_str: str) -> list[str]:
    for c in schema.type_constraints:
        if c.type_param_str == type_str:
            return list(c.allowed_type_strs)
    return [type_str]


def example_type(schema: OpSchema, formal: OpSchema.FormalParameter) -> str:
    """An unranked tensor type for the examples, with a plausible element type."""
    tensors = [t[7:-1] for t in allowed_types(schema, formal.type_str) if t.startswith("tensor(")]
    for onnx_type, mlir_type in ELEMENT_TYPES.items():
        if onnx_type in tensors:
            return f"tensor<*x{mlir_type}>"
    return "tensor<*xf32>"  # string tensors: the dialect has no string element type yet


# ---------------------------------------------------------------------------------------------
# Attributes


def attr_kind(attr: OpSchema.Attribute) -> int:
    """The attribute's type as an `AttributeProto` enum value."""
    return int(cast(Any, attr.type))


def onnx_default(attr: OpSchema.Attribute) -> object | None:
    if not attr.default_value.name:
        return None
    value = helper.get_attribute_value(attr.default_value)
    if attr.type == AttributeProto.FLOAT:
        return float(str(np.float32(value)))
    if attr.type == AttributeProto.FLOATS:
        return [float(str(np.float32(v))) for v in value]
    if attr.type == AttributeProto.STRING:
        return value.decode()
    if attr.type == AttributeProto.STRINGS:
        return [v.decode() for v in value]
    if attr.type in (AttributeProto.INT, AttributeProto.INTS):
        return value
    return None


SAMPLE_VALUES: dict[int, object] = {
    AttributeProto.INT: 1,
    AttributeProto.FLOAT: 0.5,
    AttributeProto.STRING: "a",
    AttributeProto.INTS: [1, 1],
    AttributeProto.FLOATS: [0.5, 0.5],
    AttributeProto.STRINGS: ["Sigmoid", "Tanh", "Tanh"],
}


def attribute_text(attr_type: int, value: object) -> str:
    """The attribute as the xDSL printer prints it (so the tests compare like with like)."""
    from xdsl.dialects.builtin import (
        ArrayAttr,
        DenseArrayBase,
        DenseIntOrFPElementsAttr,
        FloatAttr,
        IntegerAttr,
        StringAttr,
        TensorType,
        f32,
        i64,
    )
    from xdsl.ir import Attribute

    attr: Attribute
    if attr_type == AttributeProto.INT:
        attr = IntegerAttr(cast(int, value), i64)
    elif attr_type == AttributeProto.FLOAT:
        attr = FloatAttr(cast(float, value), f32)
    elif attr_type == AttributeProto.STRING:
        attr = StringAttr(cast(str, value))
    elif attr_type == AttributeProto.INTS:
        attr = DenseArrayBase.from_list(i64, cast(list[int], value))
    elif attr_type == AttributeProto.FLOATS:
        attr = DenseArrayBase.from_list(f32, cast(list[float], value))
    elif attr_type == AttributeProto.STRINGS:
        attr = ArrayAttr([StringAttr(v) for v in cast(list[str], value)])
    else:
        attr = DenseIntOrFPElementsAttr.from_list(TensorType(f32, [1]), [0.0])
    return str(attr)


# ---------------------------------------------------------------------------------------------
# Examples (docstrings and the round-trip test)

REGION_EXAMPLES = {
    "If": (
        "%cond",
        ["%cond: tensor<i1>", "%v: tensor<*xf32>"],
        " then_branch {\n  graph.yield %v : tensor<*xf32>\n} else_branch {\n"
        "  graph.yield %v : tensor<*xf32>\n}",
        "(tensor<i1>) -> tensor<*xf32>",
    ),
    "Loop": (
        "%m, %cond, %v",
        ["%m: tensor<i64>", "%cond: tensor<i1>", "%v: tensor<*xf32>"],
        " body {\n^bb0(%i: tensor<i64>, %c: tensor<i1>, %x: tensor<*xf32>):\n"
        "  graph.yield %c, %x : tensor<i1>, tensor<*xf32>\n}",
        "(tensor<i64>, tensor<i1>, tensor<*xf32>) -> tensor<*xf32>",
    ),
    "Scan": (
        "%v",
        ["%v: tensor<*xf32>"],
        " body {\n^bb0(%x: tensor<*xf32>):\n  graph.yield %x : tensor<*xf32>\n}",
        "(tensor<*xf32>) -> tensor<*xf32>",
    ),
}
"""Operands, function arguments, regions and types of the examples of the ops with regions."""


@dataclass
class Example:
    args: list[str]
    """Function arguments (`%x: tensor<*xf32>`)."""
    uses_none: bool
    op: str
    """The op in custom form, results left out (`graph.conv %x, %w ... -> tensor<*xf32>`)."""
    num_results: int


def example(schema: OpSchema) -> Example:
    name = snake_case(schema.name)
    attrs = []
    for attr in attributes(schema):
        if attr.type == AttributeProto.GRAPH:
            continue
        if schema.name == "Scan" and attr.name == "num_scan_inputs":
            value: object = 1
        else:
            default = onnx_default(attr)
            value = default if default is not None else SAMPLE_VALUES.get(attr_kind(attr))
        attrs.append(f"{attr.name} = {attribute_text(attr_kind(attr), value)}")
    attr_dict = " {" + ", ".join(attrs) + "}" if attrs else ""
    if schema.name in REGION_EXAMPLES:
        operands, args, regions, ftype = REGION_EXAMPLES[schema.name]
        return Example(args, False, f"graph.{name} {operands}{regions}{attr_dict} : {ftype}", 1)

    args, operands, operand_types, uses_none = [], [], [], False
    for formal in schema.inputs:
        ty = example_type(schema, formal)
        var = "%" + field_name(formal.name).rstrip("_")
        if formal.option == OpSchema.FormalParameterOption.Optional:
            operands.append("%none")
            operand_types.append("none")
            uses_none = True
        elif formal.option == OpSchema.FormalParameterOption.Variadic:
            for i in range(2):
                args.append(f"{var}_{i}: {ty}")
                operands.append(f"{var}_{i}")
                operand_types.append(ty)
        else:
            args.append(f"{var}: {ty}")
            operands.append(var)
            operand_types.append(ty)
    result_types = []
    for formal in schema.outputs:
        ty = example_type(schema, formal)
        if formal.option == OpSchema.FormalParameterOption.Optional:
            result_types.append("none")
        elif formal.option == OpSchema.FormalParameterOption.Variadic:
            result_types += [ty, ty]
        else:
            result_types.append(ty)
    results = result_types[0] if len(result_types) == 1 else f"({', '.join(result_types)})"
    operand_text = " " + ", ".join(operands) if operands else ""
    ftype = f"({', '.join(operand_types)}) -> {results}"
    return Example(
        args, uses_none, f"graph.{name}{operand_text}{attr_dict} : {ftype}", len(result_types)
    )


def printed_form(op_text: str) -> str:
    """The form lamina prints: `: T` instead of `: (T, T) -> T` when every type is T."""
    match = re.fullmatch(r"(.*) : \((.+)\) -> ([^(),]+)", op_text)
    if match is None or "\n" in op_text:
        return op_text
    head, inputs, result = match.groups()
    if {t.strip() for t in inputs.split(",")} == {result}:
        return f"{head} : {result}"
    return op_text


def example_line(schema: OpSchema) -> str:
    ex = example(schema)
    lhs = ", ".join(f"%{'y' if ex.num_results == 1 else f'y{i}'}" for i in range(ex.num_results))
    return f"{lhs} = {printed_form(ex.op)}"


def attributes(schema: OpSchema) -> list[OpSchema.Attribute]:
    """The attributes in name order, except that `then_branch` comes before `else_branch`."""
    order = {"then_branch": "0", "else_branch": "1"}
    return sorted(schema.attributes.values(), key=lambda a: order.get(a.name, a.name))


def generate_test(schemas: list[OpSchema]) -> str:
    lines = [
        "// Generated by tools/gen_graph_ops.py: a round trip of every generated graph op.",
        "// RUN: lamina-opt %s | lamina-opt | filecheck %s",
        "// RUN: lamina-opt %s --print-op-generic | lamina-opt | filecheck %s",
        "",
    ]
    for schema in schemas:
        ex = example(schema)
        name = snake_case(schema.name)
        lines.append(f"// CHECK-LABEL: func.func @{name}(")
        lines.append(f"func.func @{name}({', '.join(ex.args)}) {{")
        if ex.uses_none:
            lines.append("  %none = graph.none : none")
        lhs = ", ".join(f"%r{i}" for i in range(ex.num_results))
        op_lines = ex.op.splitlines()
        check = re.sub(r"%[A-Za-z_][A-Za-z0-9_]*", "%{{.*}}", printed_form(op_lines[0]))
        lines.append(f"  // CHECK: {check}")
        lines.append(f"  {lhs} = {op_lines[0]}")
        for line in op_lines[1:]:
            lines.append(f"  {line}")
        lines.append("  func.return")
        lines.append("}")
        lines.append("")
    return "\n".join(lines)
