"""A Graphviz picture of a module at any level (`lamina-opt --view-op-graph=out.dot`).

    digraph "lamina" {
      subgraph cluster_0 { label="func @main";
        n0 [label="input data\\n1x3x224x224xf32", shape=ellipse];
        n1 [label="conv1\\ngraph.conv\\n1x64x112x112xf32"];
        n2 [label="output 0\\n1x64x112x112xf32", shape=ellipse];
      }
      n0 -> n1; n1 -> n2;
    }

Every op is a node labelled with its name (the ONNX node name, else its first result's
SSA name), its op type and its result types; a function's arguments and returned values
are nodes of their own; every region (a function body, a branch of `graph.if`, a
`part.segment` placed on a unit, a loop body) is a cluster holding its ops; an edge goes
from each value's producer to each user.
"""

from __future__ import annotations

from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType, ModuleOp, NameLoc, StringAttr, TensorType
from xdsl.ir import Attribute, Block, BlockArgument, Operation, Region, SSAValue

from lamina.dialects.partition import SegmentOp

_ARGUMENT_STYLE = "shape=ellipse, style=filled, fillcolor=lightblue"
_CONSTANT_STYLE = "style=filled, fillcolor=lightgray"


def type_text(type: Attribute) -> str:
    """`1x3x224x224xf32` for a shaped type, the type's own text otherwise."""
    if isinstance(type, TensorType | MemRefType):
        dims = ["?" if d < 0 else str(d) for d in type.get_shape()]
        return "x".join([*dims, str(type.get_element_type())])
    return str(type)


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _op_name(op: Operation) -> str:
    if isinstance(op.location, NameLoc):
        return op.location.desc.data
    hint = op.results[0].name_hint if op.results else None
    return f"%{hint}" if hint else ""


def _argument_name(arg: BlockArgument, index: int) -> str:
    if isinstance(arg.location, NameLoc):
        return arg.location.desc.data
    return f"%{arg.name_hint}" if arg.name_hint else f"arg{index}"


def _region_label(op: Operation, index: int) -> str:
    if isinstance(op, func.FuncOp):
        return f"func @{op.sym_name.data}"
    if isinstance(op, SegmentOp):
        unit = op.properties.get("unit")
        return f"segment on {unit.data if isinstance(unit, StringAttr) else '?'}"
    return f"{op.name} region {index}" + (f" ({_op_name(op)})" if _op_name(op) else "")


class OpGraphWriter:
    """Builds the Graphviz text of one module."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.edges: list[str] = []
        self.node_of: dict[SSAValue, str] = {}
        self.nodes = 0
        self.clusters = 0

    def dot(self, module: ModuleOp, title: str = "lamina") -> str:
        """The module as one `digraph`."""
        self.lines = [
            f"digraph {_quoted(title)} {{",
            '  node [shape=box, fontname="monospace"];',
        ]
        self.edges = []
        for op in module.body.ops:
            self._op(op, 1)
        return "\n".join([*self.lines, *self.edges, "}"]) + "\n"

    def _node(self, label: str, style: str, depth: int) -> str:
        name = f"n{self.nodes}"
        self.nodes += 1
        extra = f", {style}" if style else ""
        self.lines.append(f"{'  ' * depth}{name} [label={_quoted(label)}{extra}];")
        return name

    def _edges_into(self, node: str, values: list[SSAValue]) -> None:
        for value in values:
            source = self.node_of.get(value)
            if source is not None:
                self.edges.append(f"  {source} -> {node};")

    def _op(self, op: Operation, depth: int) -> None:
        if isinstance(op, func.ReturnOp):
            for k, value in enumerate(op.operands):
                node = self._node(f"output {k}\n{type_text(value.type)}", _ARGUMENT_STYLE, depth)
                self._edges_into(node, [value])
            return
        if not isinstance(op, func.FuncOp):
            results = "\n".join(type_text(r.type) for r in op.results)
            label = "\n".join(part for part in (_op_name(op), op.name, results) if part)
            style = _CONSTANT_STYLE if op.name.endswith(".constant") else ""
            node = self._node(label, style, depth)
            self._edges_into(node, list(op.operands))
            for result in op.results:
                self.node_of[result] = node
        for index, region in enumerate(op.regions):
            self._region(region, _region_label(op, index), depth)

    def _region(self, region: Region, label: str, depth: int) -> None:
        indent = "  " * depth
        self.lines.append(f"{indent}subgraph cluster_{self.clusters} {{")
        self.clusters += 1
        self.lines.append(f"{indent}  label={_quoted(label)};")
        for block in region.blocks:
            self._block(block, depth + 1)
        self.lines.append(f"{indent}}}")

    def _block(self, block: Block, depth: int) -> None:
        for index, arg in enumerate(block.args):
            label = f"input {_argument_name(arg, index)}\n{type_text(arg.type)}"
            self.node_of[arg] = self._node(label, _ARGUMENT_STYLE, depth)
        for op in block.ops:
            self._op(op, depth)


def op_graph_dot(module: ModuleOp, title: str = "lamina") -> str:
    """The Graphviz `digraph` of `module` (see the module docstring)."""
    return OpGraphWriter().dot(module, title)
