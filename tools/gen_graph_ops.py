"""Generate `dialects/graph_ops.py` and `filecheck_tests/graph/ops.mlir` from the ONNX schemas.

One IRDL op per operator of the default ONNX domain, at the newest schema version that is at
most `OPSET`, following the conventions of `docs/graph-dialect.md`. Run it after upgrading the
`onnx` package or changing the conventions, and check in both outputs:

    .venv/bin/python -m lamina.tools.gen_graph_ops
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from onnx import AttributeProto, defs
from onnx.defs import OpSchema

from lamina.tools.gen_graph_ops_schema import (
    allowed_types,
    attr_kind,
    attributes,
    example_line,
    field_name,
    generate_test,
    onnx_default,
    snake_case,
)

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

ATTRIBUTE_GROUPS = {
    "ConvWindowFields": ("Conv", "ConvInteger", "ConvTranspose", "QLinearConv"),
    "RecurrentFields": ("GRU", "LSTM", "RNN"),
    "NormalizationAxisFields": ("LayerNormalization", "RMSNormalization"),
    "LinearQuantizeFields": ("DequantizeLinear", "QuantizeLinear"),
    "RandomFields": (
        "Bernoulli",
        "Multinomial",
        "RandomNormal",
        "RandomNormalLike",
        "RandomUniform",
        "RandomUniformLike",
    ),
}
"""Families of operators that share a set of attributes (the ones all members have), with
the name of the class that defines those properties once, before the first member: each
member derives from it (Conv through `ConvFields`). Only attributes are shared: properties
are looked up by name, while a subclass's operands would come before the inherited ones."""

SHARED_SIGNATURES = {
    "Elu": "XToYAlphaFields",
    "Softmax": "InputToOutputAxisFields",
    "ReduceSum": "ReduceFields",
    "ArgMax": "ArgReduceFields",
    "CumSum": "CumulativeFields",
    "DepthToSpace": "DepthSpaceFields",
    "Gather": "GatherFields",
    "HannWindow": "WindowFunctionFields",
}
"""Operators (without regions) whose every field other operators have too, with the name of
the class that defines those fields once: each operator with the same operands, results and
properties as the one named derives from that class and only gives its name."""

SHARED_VALUES = {
    "Abs": "XToYFields",
    "Acos": "InputToOutputFields",
    "Add": "ABToCFields",
    "BitShift": "XYToZFields",
    "MatMul": "ABToYFields",
    "RandomNormal": "RandomOutputFields",
    "ScatterElements": "ScatterFields",
    "GRU": "SingleStateRecurrentFields",
    "Bernoulli": "RandomLikeFields",
}
"""Operators (without regions) whose operands and results other operators have too, with
the name of the class that defines them once: each operator with those operands and
results, and not of a `SHARED_SIGNATURES` class, derives from it and adds its properties.
The class derives from the members' `ATTRIBUTE_GROUPS` class where they have one."""

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
        "onnx_op_definition",
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


@dataclass(frozen=True)
class AttributeGroup:
    """The `ATTRIBUTE_GROUPS` class `base` of the operators `members`: the attributes
    `names` that every member has."""

    base: str
    members: tuple[str, ...]
    names: frozenset[str]


def attribute_groups(schemas: list[OpSchema]) -> dict[str, AttributeGroup]:
    """Operator name -> its `ATTRIBUTE_GROUPS` family."""
    by_name = {s.name: s for s in schemas}
    groups: dict[str, AttributeGroup] = {}
    for base, members in ATTRIBUTE_GROUPS.items():
        fields = [{a.name: attribute_field(a) for a in attributes(by_name[m])} for m in members]
        names = frozenset(n for n, f in fields[0].items() if all(o.get(n) == f for o in fields))
        assert names, f"the operators of {base} share no attribute"
        groups |= dict.fromkeys(members, AttributeGroup(base, members, names))
    return groups


def attribute_group_class(schema: OpSchema, group: AttributeGroup) -> str:
    """The class of an `ATTRIBUTE_GROUPS` family: the shared attributes, as `schema` has them."""
    ops = ", ".join(f"graph.{snake_case(name)}" for name in group.members)
    doc = textwrap.fill(
        f"The attributes of {ops}: each derives from this class and adds its operands, "
        "results and other attributes.",
        width=91,
        initial_indent='    """',
        subsequent_indent="    ",
    )
    fields = [attribute_field(a) for a in attributes(schema) if a.name in group.names]
    return "\n".join([f"class {group.base}(OnnxOpWithoutRegions):", doc + '"""', "", *fields])


@dataclass(frozen=True)
class SharedSignature:
    """The `SHARED_SIGNATURES` class `base` of the operators `members` (in schema order), or
    with `values_only` the `SHARED_VALUES` class (each member adds its properties)."""

    base: str
    members: tuple[str, ...]
    values_only: bool
    parent: str = "OnnxOpWithoutRegions"


def value_fields(schema: OpSchema) -> list[str]:
    """The operand and result definitions."""
    return [operand_field(f) for f in schema.inputs] + [
        value_field(f, "result") for f in schema.outputs
    ]


def shared_signatures(
    schemas: list[OpSchema], groups: dict[str, AttributeGroup]
) -> dict[str, SharedSignature]:
    """Operator name -> its `SHARED_SIGNATURES` class, for every operator whose fields are
    those of a named one, else its `SHARED_VALUES` class, where its operands and results
    (and `ATTRIBUTE_GROUPS` class, in `groups`) are those of a named one."""
    candidates = {
        s.name: s
        for s in schemas
        if not has_regions(s) and not {s.name} & {*SHARED_FIELDS, *WINDOW_POOLS}
    }

    def parent(name: str) -> str:
        return groups[name].base if name in groups else "OnnxOpWithoutRegions"

    def key(schema: OpSchema, values_only: bool) -> tuple[str, list[str]]:
        fields = value_fields(schema) if values_only else op_fields(schema)
        return parent(schema.name), fields

    entries = [(*e, False) for e in SHARED_SIGNATURES.items()]
    entries += [(*e, True) for e in SHARED_VALUES.items()]
    shared: dict[str, SharedSignature] = {}
    for representative, base, values_only in entries:
        wanted = key(candidates[representative], values_only)
        members = tuple(
            n for n, s in candidates.items() if n not in shared and key(s, values_only) == wanted
        )
        assert len(members) > 1, f"no operator has the fields of {representative}"
        signature = SharedSignature(base, members, values_only, parent(representative))
        shared |= dict.fromkeys(members, signature)
    return shared


def signature_class(schema: OpSchema, signature: SharedSignature) -> str:
    """The class of a `SHARED_SIGNATURES` entry: the fields it shares, as `schema` (its
    first member) has them."""
    ops = ", ".join(f"graph.{snake_case(name)}" for name in signature.members)
    if signature.values_only:
        text = f"The operands and results of {ops}: each derives from this class and adds "
        text += "its name and any properties of its own."
        fields = value_fields(schema)
    else:
        text = f"The fields of {ops}: each derives from this class and adds only its name."
        fields = op_fields(schema)
    doc = textwrap.fill(text, width=91, initial_indent='    """', subsequent_indent="    ")
    return "\n".join([f"class {signature.base}({signature.parent}):", doc + '"""', "", *fields])


@dataclass(frozen=True)
class Families:
    """The operators that take their fields from a shared class, by kind of family."""

    window_names: set[str]
    signatures: dict[str, SharedSignature]
    attribute_groups: dict[str, AttributeGroup]


def op_class(schema: OpSchema, families: Families) -> str:
    """The op's class; for a `SHARED_FIELDS` operator its fields class, then the op, and
    before the first of the `WINDOW_POOLS` their `PoolWindowFields`; an operator of
    `families.signatures` or `families.attribute_groups` derives from its class (written
    before the first of its members)."""
    name = snake_case(schema.name)
    defaults = {}
    for attr in attributes(schema):
        default = onnx_default(attr)
        if default is not None:
            defaults[attr.name] = default
    base = "OnnxOp" if has_regions(schema) else "OnnxOpWithoutRegions"
    inherited: set[str] = set()
    if schema.name in WINDOW_POOLS:
        base, inherited = "PoolWindowFields", families.window_names
    group = families.attribute_groups.get(schema.name)
    if group is not None:
        base, inherited = group.base, set(group.names)
    signature = families.signatures.get(schema.name)
    if signature is not None:
        base = signature.base
    defaults_arg = f", {defaults!r}" if defaults else ""
    head = [
        f'@onnx_op_definition({schema.name!r}, "graph.{name}"{defaults_arg})',
        f"class {schema.name}Op({SHARED_FIELDS.get(schema.name, base)}):",
        docstring(schema),
    ]
    if schema.name in SHARED_FIELDS:
        fields_class = [
            f"class {SHARED_FIELDS[schema.name]}({base}):",
            f'    """The operands and attributes of graph.{name} and of the ops that take them."""',
            "",
            *op_fields(schema, inherited),
        ]
        op = "\n".join(fields_class) + "\n\n\n" + "\n".join(head)
    elif signature is not None:
        own = [attribute_field(a) for a in attributes(schema) if a.name not in inherited]
        own = own if signature.values_only else []
        op = "\n".join([*head, "", *own] if own else head)
        if schema.name == signature.members[0]:
            op = signature_class(schema, signature) + "\n\n\n" + op
    else:
        op = "\n".join([*head, "", *op_fields(schema, inherited)])
    if schema.name == WINDOW_POOLS[0]:
        op = window_fields_class(schema, families.window_names) + "\n\n\n" + op
    if group is not None and schema.name == group.members[0]:
        op = attribute_group_class(schema, group) + "\n\n\n" + op
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
    groups = attribute_groups(schemas)
    families = Families(window_field_names(schemas), shared_signatures(schemas, groups), groups)
    parts += [op_class(s, families) for s in schemas]
    table = ",\n".join(f"    {s.name!r}: {s.name}Op" for s in schemas)
    parts.append(
        "GENERATED_OPS: dict[str, type[OnnxOp]] = {\n"
        + table
        + ",\n}\n"
        + '"""ONNX op_type -> generated op class (`graph.ONNX_OPS` adds `Constant`)."""'
    )
    return "\n\n\n".join(parts) + "\n"


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
