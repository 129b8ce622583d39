"""Generate `dialects/graph_ops.py` and `filecheck_tests/graph/ops.mlir` from the ONNX schemas.

One IRDL op per operator of the default ONNX domain, at the newest schema version that is at
most `OPSET`, following the conventions of `docs/graph-dialect.md`. Run it after upgrading the
`onnx` package or changing the conventions, and check in both outputs:

    .venv/bin/python -m lamina.tools.gen_graph_ops
"""

from __future__ import annotations

import keyword
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
from onnx import AttributeProto, defs, helper
from onnx.defs import OpSchema

OPSET = 28
ROOT = Path(__file__).resolve().parent.parent
OPS_MODULE = ROOT / "dialects" / "graph_ops.py"
OPS_TEST = ROOT / "filecheck_tests" / "graph" / "ops.mlir"

HAND_WRITTEN = {"Constant": "graph.constant in dialects/graph.py (dense or dense_resource value)"}
"""Operators with a hand-written op instead of a generated one."""

SHARED_FIELDS = {"Conv": "ConvFields", "Gemm": "GemmFields"}
"""Operators whose operands and attributes hand-written ops take too (`graph.fused_conv`,
`graph.nhwc_conv`, ...): they are generated as a base class of their own, which the op
derives from and the hand-written ops import."""

WINDOW_POOLS = ("AveragePool", "LpPool", "MaxPool")
"""Pools whose data operand and window attributes (the ones all of them have) are generated
once, as `PoolWindowFields`: they derive from it, and so do the NHWC pools of
`graph_layout.py`. Results stay in each op (IRDL lists a subclass's fields first)."""

SEQUENCE_OPS_REASON = "takes or returns sequence/optional values, which the dialect has no type for"
LEFT_OUT_REASONS = {"Optional": "TYPE_PROTO attribute and optional-typed result"}

ATTR_CONSTRAINT: dict[int, str] = {
    AttributeProto.INT: "IntegerAttr[I64]",
    AttributeProto.FLOAT: "FloatAttr[Float32Type]",
    AttributeProto.STRING: "StringAttr",
    AttributeProto.INTS: "DenseArrayBase[I64]",
    AttributeProto.FLOATS: "DenseArrayBase[Float32Type]",
    AttributeProto.STRINGS: "ArrayAttr[StringAttr]",
    AttributeProto.TENSOR: "TensorValueAttr",
}

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


def newest_schemas() -> list[OpSchema]:
    """The newest non-deprecated schema <= OPSET of each operator of the default domain."""
    newest: dict[str, OpSchema] = {}
    for schema in defs.get_all_schemas_with_history():
        if schema.domain not in ("", "ai.onnx") or schema.since_version > OPSET:
            continue
        old = newest.get(schema.name)
        if old is None or schema.since_version > old.since_version:
            newest[schema.name] = schema
    return [s for _, s in sorted(newest.items()) if not s.deprecated]


def left_out_reason(schema: OpSchema) -> str | None:
    if schema.name in HAND_WRITTEN:
        return HAND_WRITTEN[schema.name]
    if schema.name in LEFT_OUT_REASONS:
        return LEFT_OUT_REASONS[schema.name]
    for formal in [*schema.inputs, *schema.outputs]:
        if not any(t.startswith("tensor(") for t in allowed_types(schema, formal.type_str)):
            return SEQUENCE_OPS_REASON
    return None


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


# ---------------------------------------------------------------------------------------------
# The module


HEADER = '''"""The generated ops of the `graph` dialect: one per ONNX operator, opset <= {opset}.

Generated by `tools/gen_graph_ops.py` from the `onnx.defs` schemas (onnx {onnx_version}); do
not edit by hand, change the generator and rerun it. The conventions (operands, results,
properties, regions) are those of `docs/graph-dialect.md`. Import the dialect from
`lamina.dialects.graph`, which adds the structural ops and the hand-written verifiers.

Left out:
{left_out}
"""

from __future__ import annotations

{imports}
'''


IMPORTS = {
    "xdsl.dialects.builtin": [
        "I64",
        "ArrayAttr",
        "DenseArrayBase",
        "Float32Type",
        "FloatAttr",
        "IntegerAttr",
        "StringAttr",
    ],
    "xdsl.irdl": [
        "irdl_op_definition",
        "operand_def",
        "opt_prop_def",
        "prop_def",
        "region_def",
        "result_def",
        "var_operand_def",
        "var_result_def",
    ],
    "lamina.dialects.graph_base": [
        "AnyTensor",
        "OnnxOp",
        "OnnxOpWithoutRegions",
        "OptionalTensor",
        "TensorValueAttr",
        "onnx_op",
    ],
}
"""The names the generated ops use, by module: one import line each, which `ruff` (run
by `main`) wraps and sorts."""


def import_lines() -> str:
    return "\n".join(
        f"from {module} import {', '.join(names)}" for module, names in IMPORTS.items()
    )


def docstring(schema: OpSchema) -> str:
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", (schema.doc or "").strip()) if p.strip()]
    first = " ".join(paragraphs[0].split()) if paragraphs else schema.name
    sentences = re.split(r"(?<=[.!?]) ", first)
    first = sentences[0]
    for sentence in sentences[1:]:
        if len(first) + len(sentence) > 400:
            break
        first += " " + sentence
    first = first.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = textwrap.wrap(first, 92)
    lines += ["", "Example:", ""]
    lines += ["    " + line for line in example_line(schema).splitlines()]
    body = "\n    ".join(line if line.strip() else "" for line in lines)
    return f'    """{body}\n    """'


def attributes(schema: OpSchema) -> list[OpSchema.Attribute]:
    """The attributes in name order, except that `then_branch` comes before `else_branch`."""
    order = {"then_branch": "0", "else_branch": "1"}
    return sorted(schema.attributes.values(), key=lambda a: order.get(a.name, a.name))


def has_regions(schema: OpSchema) -> bool:
    return any(a.type == AttributeProto.GRAPH for a in schema.attributes.values())


def window_field_names(schemas: list[OpSchema]) -> set[str]:
    """The inputs and attributes every `WINDOW_POOLS` operator has; they are all the pools'
    inputs, so that inheriting them keeps the operand order."""
    pools = [s for s in schemas if s.name in WINDOW_POOLS]
    names = set.intersection(*({f.name for f in [*p.inputs, *attributes(p)]} for p in pools))
    assert all({f.name for f in p.inputs} <= names for p in pools), "a pool has its own input"
    return names


def window_fields_class(schema: OpSchema, names: set[str]) -> str:
    """`PoolWindowFields`: the `names` fields, as `schema` (one of the pools) has them."""
    ops = ", ".join(f"graph.{snake_case(name)}" for name in WINDOW_POOLS)
    fields = [operand_field(f) for f in schema.inputs]
    fields += [attribute_field(a) for a in attributes(schema) if a.name in names]
    return "\n".join(
        [
            "class PoolWindowFields(OnnxOpWithoutRegions):",
            f'    """The data operand and window attributes of {ops}',
            '    and of the NHWC pools (graph_layout.py)."""',
            "",
            *fields,
        ]
    )


def op_class(schema: OpSchema, window_names: set[str]) -> str:
    """The op's class; for a `SHARED_FIELDS` operator its fields class, then the op, and
    before the first of the `WINDOW_POOLS` their `PoolWindowFields`."""
    name = snake_case(schema.name)
    defaults = {}
    for attr in attributes(schema):
        default = onnx_default(attr)
        if default is not None:
            defaults[attr.name] = default
    base = "OnnxOp" if has_regions(schema) else "OnnxOpWithoutRegions"
    inherited: set[str] = set()
    if schema.name in WINDOW_POOLS:
        base, inherited = "PoolWindowFields", window_names
    head = [
        f"@onnx_op({schema.name!r}, {defaults!r})",
        "@irdl_op_definition",
        f"class {schema.name}Op({SHARED_FIELDS.get(schema.name, base)}):",
        docstring(schema),
        "",
        f'    name = "graph.{name}"',
    ]
    if schema.name in SHARED_FIELDS:
        fields_class = [
            f"class {SHARED_FIELDS[schema.name]}({base}):",
            f'    """The operands and attributes of graph.{name} and of the ops that take them."""',
            "",
            *op_fields(schema),
        ]
        return "\n".join(fields_class) + "\n\n\n" + "\n".join(head)
    op = "\n".join([*head, "", *op_fields(schema, inherited)])
    if schema.name == WINDOW_POOLS[0]:
        return window_fields_class(schema, window_names) + "\n\n\n" + op
    return op


def value_field(formal: OpSchema.FormalParameter, kind: str) -> str:
    """The definition of an input (`kind` "operand") or output (`kind` "result")."""
    option = OpSchema.FormalParameterOption
    if formal.option == option.Variadic:
        definition = f"var_{kind}_def(AnyTensor)"
    elif formal.option == option.Optional:
        definition = f"{kind}_def(OptionalTensor)"
    else:
        definition = f"{kind}_def(AnyTensor)"
    return f"    {field_name(formal.name)} = {definition}"


def operand_field(formal: OpSchema.FormalParameter) -> str:
    return value_field(formal, "operand")


def attribute_field(attr: OpSchema.Attribute) -> str:
    """The property definition of a non-graph attribute."""
    field = field_name(attr.name)
    prop_name = f", prop_name={attr.name!r}" if field != attr.name else ""
    kind = "prop_def" if attr.required else "opt_prop_def"
    return f"    {field} = {kind}({ATTR_CONSTRAINT[attr_kind(attr)]}{prop_name})"


def op_fields(schema: OpSchema, inherited: set[str] | None = None) -> list[str]:
    """The operand, result, property and region definitions (and the assembly format),
    except the inputs and attributes named in `inherited` (a base class defines them)."""
    skip = inherited or set()
    lines = [operand_field(f) for f in schema.inputs if f.name not in skip]
    lines += [value_field(f, "result") for f in schema.outputs]
    regions = []
    for attr in attributes(schema):
        if attr.name in skip:
            continue
        if attr.type == AttributeProto.GRAPH:
            regions.append(attr.name)
            lines.append(f'    {field_name(attr.name)} = region_def("single_block")')
        else:
            lines.append(attribute_field(attr))
    if regions:
        region_text = " ".join(f"`{r}` ${r}" for r in regions)
        lines.append(
            f'    assembly_format = "operands {region_text} attr-dict `:` '
            'functional-type(operands, results)"'
        )
    return lines


def generate_module(schemas: list[OpSchema], left_out: dict[str, str]) -> str:
    import onnx

    left_text = "\n".join(f"- {name}: {why}" for name, why in sorted(left_out.items()))
    parts = [
        HEADER.format(
            opset=OPSET,
            onnx_version=onnx.__version__,
            left_out=left_text,
            imports=import_lines(),
        )
    ]
    parts.append(
        f"GRAPH_OPSET = {OPSET}\n"
        '"""The opset whose operator definitions the generated ops have (the newest of each)."""'
    )
    window_names = window_field_names(schemas)
    parts += [op_class(s, window_names) for s in schemas]
    table = ",\n".join(f"    {s.name!r}: {s.name}Op" for s in schemas)
    parts.append(
        "GENERATED_OPS: dict[str, type[OnnxOp]] = {\n"
        + table
        + ",\n}\n"
        + '"""ONNX op_type -> generated op class (`graph.ONNX_OPS` adds `Constant`)."""'
    )
    return "\n\n\n".join(parts) + "\n"


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


def main() -> None:
    schemas, left_out = [], {}
    for schema in newest_schemas():
        reason = left_out_reason(schema)
        if reason is None:
            schemas.append(schema)
        else:
            left_out[schema.name] = reason
    OPS_MODULE.write_text(generate_module(schemas, left_out))
    ruff = Path(sys.executable).parent / "ruff"
    subprocess.run([str(ruff), "format", "-q", str(OPS_MODULE)], check=True)
    subprocess.run([str(ruff), "check", "-q", "--fix", str(OPS_MODULE)], check=True)
    OPS_TEST.parent.mkdir(parents=True, exist_ok=True)
    OPS_TEST.write_text(generate_test(schemas))
    print(f"{len(schemas)} ops -> {OPS_MODULE.relative_to(ROOT)}, {OPS_TEST.relative_to(ROOT)}")
    print("left out: " + ", ".join(sorted(left_out)))


if __name__ == "__main__":
    main()
