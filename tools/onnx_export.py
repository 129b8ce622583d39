"""The graph level back to ONNX (`lamina-opt m.onnx -p ... --emit-onnx out.onnx`), so a
viewer such as Netron shows the graph after lamina's rewrites.

The generated graph ops carry their ONNX operator and attributes one to one (the dialect
is generated from `onnx.defs`), so each becomes one node with the definition of the opset
the dialect has (`GRAPH_OPSET`); the model imports the oldest opset in which all its
operators read that way (`lowest_opset`). What is not an ONNX operator is expanded back into ONNX nodes:

    graph.fused_conv {activation = "relu"}   ->  Conv, Relu
    graph.fused_gemm {activation = "clip"}   ->  Gemm, Clip(min, max as initializers)
    graph.nhwc_conv                          ->  Transpose, Conv (filter transposed), Transpose
    part.segment / part.transfer             ->  the segment's nodes inline / nothing

`graph.constant` becomes an initializer (its bytes are needed: IR printed without
`--print-weights` cannot be exported), `graph.none` a missing optional input, and the
regions of `graph.if` / `graph.loop` / `graph.scan` subgraphs. Any other op (another
level's) raises "not supported: '<op>' has no ONNX form" at the op.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import onnx
from onnx import helper, numpy_helper
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, NameLoc, NoneType, TensorType, UnrankedTensorType
from xdsl.ir import Attribute, Block, BlockArgument, Operation, SSAValue

from lamina.dialects.graph import ConstantOp, NoneOp, YieldOp, attribute_value
from lamina.dialects.graph_base import OnnxOp
from lamina.dialects.graph_fused import ACTIVATIONS, FusedOp
from lamina.dialects.graph_layout import (
    HWCF_TO_FCHW,
    LAYOUT_OPS,
    NCHW_TO_NHWC,
    NHWC_TO_NCHW,
    NhwcConvOp,
    nchw_op_type,
)
from lamina.dialects.graph_ops import GRAPH_OPSET
from lamina.dialects.partition import SegmentOp, TransferOp
from lamina.dialects.partition import YieldOp as SegmentYieldOp
from lamina.dialects.weights import numpy_dtype
from lamina.errors import LaminaError, UnsupportedError, UnsupportedOpError
from lamina.names import unused_name


def no_onnx_form(op: Operation, why: str = "") -> UnsupportedOpError:
    """The located error for an op that cannot be written as ONNX nodes."""
    return UnsupportedOpError(f"'{op.name}' has no ONNX form{why}", op=op)


def value_info(name: str, type: Attribute, op: Operation) -> onnx.ValueInfoProto:
    """An ONNX tensor value info for a value of `type` (a dynamic dim stays unnamed, an
    unranked tensor has no shape)."""
    if not isinstance(type, TensorType | UnrankedTensorType):
        raise no_onnx_form(op, f" (a value of type {type})")
    element_type = cast(Attribute, type.element_type)
    try:
        element = helper.np_dtype_to_tensor_dtype(numpy_dtype(element_type))
    except (UnsupportedError, KeyError, TypeError):
        raise no_onnx_form(op, f" (element type {element_type})") from None
    if isinstance(type, UnrankedTensorType):
        return helper.make_tensor_value_info(name, element, None)
    shape = [d if d >= 0 else None for d in cast(TensorType[Attribute], type).get_shape()]
    return helper.make_tensor_value_info(name, element, shape)


class OnnxWriter:
    """Writes graph-level functions as ONNX graphs; value names are unique model-wide."""

    def __init__(self, reserved: Sequence[str] = ()) -> None:
        self.names: dict[SSAValue, str] = {}
        self.taken: set[str] = set(reserved)
        self.node_names: set[str] = set()

    def fresh(self, hint: str, taken: set[str] | None = None) -> str:
        """`hint`, or `hint_1`, `hint_2`, ... if taken (ONNX names are unique model-wide)."""
        return unused_name(hint or "v", self.taken if taken is None else taken)

    def node_name(self, op: Operation, suffix: str = "") -> str | None:
        """The op's ONNX node name (from its location) plus `suffix`, made unique."""
        if not isinstance(op.location, NameLoc):
            return None
        return self.fresh(op.location.desc.data + suffix, self.node_names)

    def name_of(self, value: SSAValue) -> str:
        if isinstance(value.type, NoneType):
            return ""
        if value not in self.names:
            self.names[value] = self.fresh(value.name_hint or "v")
        return self.names[value]

    def graph(
        self, block: Block, title: str, output_names: Sequence[str] | None = None
    ) -> onnx.GraphProto:
        """The ONNX graph of `block`: arguments are inputs, the terminator's operands outputs."""
        inputs = [self._argument(arg, index, block) for index, arg in enumerate(block.args)]
        if output_names is not None and block.last_op is not None:
            self._name_outputs(block.last_op.operands, output_names)
        nodes: list[onnx.NodeProto] = []
        initializers: list[onnx.TensorProto] = []
        terminator = block.last_op
        for op in block.ops:
            if op is not terminator:
                self._op(op, nodes, initializers)
        if not isinstance(terminator, func.ReturnOp | YieldOp):
            raise LaminaError(f"a region ending in '{terminator and terminator.name}'")
        outputs = self._outputs(terminator, nodes, output_names)
        return helper.make_graph(nodes, title, inputs, outputs, initializers)

    def _name_outputs(self, values: Sequence[SSAValue], wanted: Sequence[str]) -> None:
        """Give each returned node output its graph output name (no Identity needed)."""
        for value, name in zip(values, wanted, strict=False):
            produced = isinstance(value.owner, Operation) and not isinstance(
                value.owner, ConstantOp | TransferOp | SegmentOp
            )
            if produced and value not in self.names:
                self.names[value] = name

    def _argument(self, arg: BlockArgument, index: int, block: Block) -> onnx.ValueInfoProto:
        hint = arg.location.desc.data if isinstance(arg.location, NameLoc) else arg.name_hint
        self.names[arg] = self.fresh(hint or f"input{index}")
        owner = block.parent_op() or cast(Operation, block.last_op)
        return value_info(self.names[arg], arg.type, owner)

    def _outputs(
        self, terminator: Operation, nodes: list[onnx.NodeProto], wanted: Sequence[str] | None
    ) -> list[onnx.ValueInfoProto]:
        """Graph outputs; a value no node of this graph produces (an input, an initializer,
        a value of an enclosing graph) or one returned twice is copied by Identity (an ONNX
        output must be a node's output, once), as is one renamed to `wanted`."""
        produced = {name for node in nodes for name in node.output}
        outputs: list[onnx.ValueInfoProto] = []
        for k, value in enumerate(terminator.operands):
            name = self.name_of(value)
            target = wanted[k] if wanted is not None and k < len(wanted) else None
            repeated = name in {o.name for o in outputs}
            if name not in produced or repeated or (target and target != name):
                copy = target if target and target != name else self.fresh(f"{name}_out")
                nodes.append(helper.make_node("Identity", [name], [copy]))
                name = copy
            outputs.append(value_info(name, value.type, terminator))
        return outputs

    def _op(
        self, op: Operation, nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto]
    ) -> None:
        if isinstance(op, ConstantOp):
            inits.append(
                numpy_helper.from_array(np.asarray(op.to_array()), self.name_of(op.output))
            )
        elif isinstance(op, NoneOp):
            return
        elif isinstance(op, TransferOp):
            self.names[op.results[0]] = self.name_of(op.operands[0])
        elif isinstance(op, SegmentOp):
            self._segment(op, nodes, inits)
        elif isinstance(op, FusedOp):
            self._fused(op, nodes, inits)
        elif isinstance(op, LAYOUT_OPS):
            self._layout(op, nodes)
        elif isinstance(op, OnnxOp):
            nodes.append(self._node(op, op.onnx_op_type, op.operands, op.results))
        else:
            raise no_onnx_form(op, " (export to ONNX takes the graph level)")

    def _segment(
        self, op: SegmentOp, nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto]
    ) -> None:
        block = op.body.block
        for arg, operand in zip(block.args, op.operands, strict=True):
            self.names[arg] = self.name_of(operand)
        for inner in block.ops:
            if isinstance(inner, SegmentYieldOp):
                for result, value in zip(op.results, inner.operands, strict=True):
                    self.names[result] = self.name_of(value)
            else:
                self._op(inner, nodes, inits)

    def _node(
        self,
        op: Operation,
        op_type: str,
        operands: Sequence[SSAValue],
        results: Sequence[SSAValue],
        skip: Sequence[str] = (),
        inputs: Sequence[str] | None = None,
        outputs: Sequence[str] | None = None,
    ) -> onnx.NodeProto:
        """The ONNX node of `op_type` with `op`'s attributes (but `skip`) and subgraphs."""
        schema = onnx.defs.get_schema(op_type, GRAPH_OPSET)
        attributes = [
            self._attribute(op, name, attr, schema)
            for name, attr in op.properties.items()
            if name not in skip
        ]
        for (name, _), region in zip(_region_names(op), op.regions, strict=True):
            title = self.fresh(f"{_node_name(op) or op_type}_{name}")
            attributes.append(helper.make_attribute(name, self.graph(region.block, title)))
        node = helper.make_node(
            op_type,
            _present(list(inputs) if inputs is not None else [self.name_of(v) for v in operands]),
            _present(list(outputs) if outputs is not None else [self.name_of(r) for r in results]),
            name=self.node_name(op),
        )
        node.attribute.extend(attributes)
        return node

    @staticmethod
    def _attribute(
        op: Operation, name: str, attr: Attribute, schema: onnx.defs.OpSchema
    ) -> onnx.AttributeProto:
        value: Any = attribute_value(attr)
        if isinstance(value, np.ndarray):
            value = numpy_helper.from_array(np.asarray(value))
        formal = schema.attributes.get(name)
        if formal is None:
            raise no_onnx_form(op, f" (attribute '{name}' is not one of {schema.name}'s)")
        return helper.make_attribute(name, value, attr_type=cast(int, formal.type))

    def _fused(
        self, op: FusedOp, nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto]
    ) -> None:
        """producer(...) then its activation (Clip's bounds as initializers)."""
        activation_type, params = ACTIVATIONS[op.activation_name()]
        producer = "Conv" if op.name == "graph.fused_conv" else "Gemm"
        result = op.results[0]
        inner = self.fresh(f"{self.name_of(result)}_{producer.lower()}")
        skip = ("activation", "activation_params")
        nodes.append(self._node(op, producer, op.operands, [], skip, outputs=[inner]))
        values = op.activation_values()
        inputs = [inner]
        attributes: dict[str, float] = {}
        if activation_type == "Clip":
            dtype = numpy_dtype(cast(TensorType[Attribute], result.type).element_type)
            for bound, number in zip(params, values, strict=True):
                inputs.append(self.fresh(f"{inner}_{bound}"))
                inits.append(numpy_helper.from_array(np.array(number, dtype), inputs[-1]))
        else:
            attributes = dict(zip(params, values, strict=True))
        name = self.node_name(op, f"/{activation_type}")
        node = helper.make_node(activation_type, inputs, [self.name_of(result)], name=name)
        node.attribute.extend(helper.make_attribute(k, v) for k, v in attributes.items())
        nodes.append(node)

    def _layout(self, op: Operation, nodes: list[onnx.NodeProto]) -> None:
        """An NHWC op as its NCHW ONNX operator between transposes."""
        x, *rest = [self.name_of(v) for v in op.operands]
        nchw_x = self.fresh(f"{x}_nchw")
        nodes.append(helper.make_node("Transpose", [x], [nchw_x], perm=list(NHWC_TO_NCHW)))
        if isinstance(op, NhwcConvOp):
            filter_fchw = self.fresh(f"{rest[0]}_fchw")
            nodes.append(
                helper.make_node("Transpose", [rest[0]], [filter_fchw], perm=list(HWCF_TO_FCHW))
            )
            rest[0] = filter_fchw
        result = self.name_of(op.results[0])
        nchw_y = self.fresh(f"{result}_nchw")
        op_type = nchw_op_type(op)
        nodes.append(self._node(op, op_type, [], [], inputs=[nchw_x, *rest], outputs=[nchw_y]))
        nodes.append(helper.make_node("Transpose", [nchw_y], [result], perm=list(NCHW_TO_NHWC)))


def _present(names: list[str]) -> list[str]:
    """Names without the trailing missing ones: onnxruntime and the checker count a trailing
    "" (Squeeze's axes, BatchNormalization's training outputs) as given."""
    while names and not names[-1]:
        names.pop()
    return names


def _node_name(op: Operation) -> str:
    return op.location.desc.data if isinstance(op.location, NameLoc) else ""


def _region_names(op: Operation) -> list[tuple[str, object]]:
    if not op.regions:
        return []
    definition = cast(OnnxOp, op).get_irdl_definition()
    return list(definition.regions)


def export_onnx(module: ModuleOp, output_names: Sequence[str] | None = None) -> onnx.ModelProto:
    """The ONNX model of `module`'s one graph-level function (`output_names`: the graph's
    output names to keep, e.g. those of the model it was imported from)."""
    functions = [op for op in module.body.ops if isinstance(op, func.FuncOp)]
    if len(functions) != 1 or not functions[0].body.blocks:
        raise LaminaError(f"export to ONNX takes a module of one function, got {len(functions)}")
    function = functions[0]
    writer = OnnxWriter(reserved=output_names or ())
    graph = writer.graph(function.body.block, function.sym_name.data, output_names)
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", lowest_opset(graph))],
        producer_name="lamina",
    )


def lowest_opset(graph: onnx.GraphProto) -> int:
    """The oldest opset in which every operator of `graph` (subgraphs included) has the
    definition the graph dialect has (GRAPH_OPSET's), so that older runtimes and viewers
    that know those definitions take the model."""
    versions = [1]
    for node in graph.node:
        versions.append(onnx.defs.get_schema(node.op_type, GRAPH_OPSET).since_version)
        versions += [lowest_opset(a.g) for a in node.attribute if a.HasField("g")]
    return max(versions)
