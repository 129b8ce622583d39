"""The cost model and placement solver of graph-partition (lowering/partition.py).

Cost of a placement (what `place` minimises): sum over ops of `Unit.seconds(flops, bytes,
dtype)` on the op's unit, plus, for every value and every unit other than its producer's
that uses it, the link time `Soc.transfer_seconds`. Graph inputs are produced on, and graph
outputs used on, the host unit.

Solver: a dynamic program over the ops in block (topological) order with the op's unit as
state; an operand produced further back than the previous op is charged at the unit the
best path so far gave its producer (exact on chains, an estimate on DAG branches). Then
Kernighan-Lin-style refinement with the exact cost: move single ops, then whole same-unit
runs, to the unit that lowers the total most, until no move helps. Segments come from a
list schedule that keeps running ops of the current unit while any is ready.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from xdsl.dialects import func
from xdsl.dialects.builtin import DenseArrayBase, IntegerAttr, ShapedType, TensorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.utils.hints import isa

from lamina.dialects.graph import ConstantOp, NoneOp
from lamina.errors import UnsupportedOpError
from lamina.parser.graph_names import location_name
from lamina.targets.soc import Soc

_MAX_ROUNDS = 8
_MACS_FIRST_OPERAND = {"MatMul", "Gemm", "MatMulInteger", "QLinearMatMul", "graph.fused_gemm"}
_MACS_WEIGHT = {"Conv", "ConvInteger", "QLinearConv", "ConvTranspose", "graph.fused_conv"}
"""Op types (ONNX, or the op name of lamina's non-ONNX graph ops) whose weight is
[F, C/group, kernel...]: 2 * outputs * prod(weight[1:]) flops."""
_MACS_WEIGHT_LAST = {"graph.nhwc_conv"}
"""... whose weight is [kernel..., C/group, F]: 2 * outputs * prod(weight[:-1]) flops."""


@dataclass(eq=False)
class Node:
    """One graph op of a function with what the cost model needs to know about it."""

    op: Operation
    index: int
    op_type: str
    name: str
    """The ONNX node name (the op's location), "" when it has none."""
    label: str
    uses: list[SSAValue]
    """Values from other ops (or graph inputs) it reads, nested regions included."""
    constants: list[Operation]
    """The `graph.constant` / `graph.none` ops it reads (cloned into its segment)."""
    flops: float
    nbytes: float
    dtype: str
    dtypes: set[str]


def value_bytes(value: SSAValue) -> int:
    """Bytes of a tensor value (dynamic dims count as 1; non-tensors as 0)."""
    t = value.type
    if not isinstance(t, ShapedType):
        return 0
    shape = [max(d, 1) for d in t.get_shape()]
    element: Attribute | None = t.element_type if isa(t, TensorType[Attribute]) else None
    bits = getattr(element, "bitwidth", 32)
    return math.prod(shape) * max(int(bits), 8) // 8


def _elements(value: SSAValue) -> int:
    t = value.type
    return math.prod(max(d, 1) for d in t.get_shape()) if isinstance(t, ShapedType) else 0


def _dtype(attribute: Attribute) -> str | None:
    return str(attribute.element_type) if isa(attribute, TensorType[Attribute]) else None


def op_flops(op: Operation, op_type: str) -> float:
    """Arithmetic of one op from its static shapes: 2 per multiply-accumulate of convs and
    matmuls, window size per output of pools, else one per element touched."""
    out = sum(_elements(r) for r in op.results)
    if op_type in _MACS_WEIGHT and len(op.operands) > 1:
        weight = op.operands[3 if op_type == "QLinearConv" else 1].type
        if isinstance(weight, ShapedType):
            return 2.0 * out * math.prod(weight.get_shape()[1:])
    if op_type in _MACS_WEIGHT_LAST and len(op.operands) > 1:
        weight = op.operands[1].type
        if isinstance(weight, ShapedType):
            return 2.0 * out * math.prod(weight.get_shape()[:-1])
    if op_type in _MACS_FIRST_OPERAND and op.operands:
        a = op.operands[0].type
        trans = op.properties.get("transA")
        if isinstance(a, ShapedType) and a.get_shape():
            k = a.get_shape()[-2 if isinstance(trans, IntegerAttr) and trans.value.data else -1]
            return 2.0 * out * max(k, 1)
    kernel = op.properties.get("kernel_shape")
    if isinstance(kernel, DenseArrayBase):
        return float(out * math.prod(kernel.get_values()))  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
    return float(max(out, sum(_elements(v) for v in op.operands)))


def graph_nodes(function: func.FuncOp) -> list[Node]:
    """The ops of `function`'s body except constants and the return, in block order."""
    nodes: list[Node] = []
    for op in function.body.block.ops:
        if isinstance(op, ConstantOp | NoneOp | func.ReturnOp):
            continue
        uses = list(dict.fromkeys(_external_uses(op)))
        constants = [v.owner for v in uses if isinstance(v.owner, ConstantOp | NoneOp)]
        op_type = str(getattr(op, "onnx_op_type", op.name))
        name = location_name(op.location) or ""
        types = [v.type for v in (*op.operands, *op.results)]
        dtypes = {d for d in map(_dtype, types) if d is not None}
        nodes.append(
            Node(
                op=op,
                index=len(nodes),
                op_type=op_type,
                name=name,
                label=f"{name} ({op_type})" if name else op_type,
                uses=[v for v in uses if not isinstance(v.owner, ConstantOp | NoneOp)],
                constants=constants,  # pyright: ignore[reportArgumentType]
                flops=op_flops(op, op_type),
                nbytes=float(sum(value_bytes(v) for v in (*op.operands, *op.results))),
                dtype=next((d for d in map(_dtype, [r.type for r in op.results]) if d), "f32"),
                dtypes=dtypes,
            )
        )
    return nodes


def _external_uses(op: Operation) -> Iterable[SSAValue]:
    """Operands of `op` and of its nested ops that are defined outside `op`."""
    for inner in op.walk():
        for value in inner.operands:
            owner = value.owner
            defining = owner if isinstance(owner, Operation) else owner.parent_op()
            if defining is None or not op.is_ancestor(defining):
                yield value


@dataclass
class Placement:
    """A unit per node, the cost tables behind it and the segments made from it."""

    soc: Soc
    nodes: list[Node]
    forced: dict[str, str]
    unit_of: dict[Operation, str] = field(default_factory=dict[Operation, str])
    segments: list[list[Node]] = field(default_factory=list[list[Node]])

    def __post_init__(self) -> None:
        self.index = {n.op: n.index for n in self.nodes}
        self.consumers: dict[SSAValue, list[Node]] = {}
        for node in self.nodes:
            for value in node.uses:
                self.consumers.setdefault(value, []).append(node)
        self.returned: set[SSAValue] = set()
        self.units = list(self.soc.units)
        self.costs = [self._unit_costs(n) for n in self.nodes]

    def _unit_costs(self, node: Node) -> dict[str, float]:
        """Seconds of `node` per feasible unit (only the forced one when forced)."""
        pinned = self.forced.get(node.name) or self.forced.get(node.op_type)
        costs = {
            name: unit.seconds(node.flops, node.nbytes, node.dtype)
            for name, unit in self.soc.units.items()
            if unit.supports(node.op_type, node.dtypes) and pinned in (None, name)
        }
        if not costs:
            what = f"on unit '{pinned}'" if pinned else f"on any unit of SoC '{self.soc.name}'"
            raise UnsupportedOpError(
                f"{node.label} on {', '.join(sorted(node.dtypes)) or 'no tensors'} {what}",
                op=node.op,
            )
        return costs

    def home(self, value: SSAValue) -> str:
        """The unit that produces `value` (graph inputs: the host unit)."""
        owner = value.owner
        return self.unit_of[owner] if isinstance(owner, Operation) else self.soc.host_unit

    def op_seconds(self, node: Node) -> float:
        return self.costs[node.index][self.unit_of[node.op]]

    def value_seconds(self, value: SSAValue) -> float:
        """Transfer time of `value` to every other unit that uses it."""
        dests = {self.unit_of[n.op] for n in self.consumers.get(value, [])}
        if value in self.returned:
            dests.add(self.soc.host_unit)
        home = self.home(value)
        nbytes = value_bytes(value)
        return sum(self.soc.transfer_seconds(home, d, nbytes) for d in dests if d != home)

    def total_seconds(self) -> float:
        values = {v for n in self.nodes for v in (*n.uses, *n.op.results)} | self.returned
        return sum(self.op_seconds(n) for n in self.nodes) + sum(
            self.value_seconds(v) for v in values
        )

    def used_outside(self, result: SSAValue, segment: list[Node]) -> bool:
        inside = {n.op for n in segment}
        users = self.consumers.get(result, [])
        return result in self.returned or any(n.op not in inside for n in users)


def place(nodes: list[Node], soc: Soc, forced: dict[str, str]) -> Placement:
    """The placement of `nodes` on `soc` (see the module docstring), segments included."""
    placement = Placement(soc, nodes, forced)
    if nodes:
        function_block = nodes[0].op.parent_block()
        ret = function_block.last_op if function_block else None
        placement.returned = set(ret.operands) if ret is not None else set()
    _dynamic_program(placement)
    _refine(placement)
    placement.segments = _segments(placement)
    return placement


def _dynamic_program(p: Placement) -> None:
    """Best unit per node along the block order (state: the node's unit); see module doc."""
    paths: dict[str, tuple[float, list[str]]] = {"": (0.0, [])}
    for node in p.nodes:
        step: dict[str, tuple[float, list[str]]] = {}
        for unit, seconds in p.costs[node.index].items():
            options = [
                (cost + seconds + _arrival(p, node, unit, path), path + [unit])
                for cost, path in paths.values()
            ]
            step[unit] = min(options, key=lambda option: option[0])
        paths = step
    _, best = min(paths.values(), key=lambda option: option[0])
    p.unit_of = {n.op: unit for n, unit in zip(p.nodes, best, strict=True)}


def _arrival(p: Placement, node: Node, unit: str, path: list[str]) -> float:
    """Transfers `node` on `unit` needs given the units `path` gave the earlier nodes."""
    seconds = 0.0
    for value in node.uses:
        owner = value.owner
        home = path[p.index[owner]] if owner in p.index else p.soc.host_unit  # pyright: ignore[reportArgumentType]
        seconds += p.soc.transfer_seconds(home, unit, value_bytes(value))
    return seconds


def _refine(p: Placement) -> None:
    """Kernighan-Lin-style passes of improving moves (single ops, then same-unit runs)."""
    best = p.total_seconds()
    for _ in range(_MAX_ROUNDS):
        improved = False
        for group in [[n] for n in p.nodes] + _runs(p):
            for unit in p.units:
                if any(unit not in p.costs[n.index] for n in group):
                    continue
                old = {n.op: p.unit_of[n.op] for n in group}
                p.unit_of.update({n.op: unit for n in group})
                total = p.total_seconds()
                if total < best - 1e-12:
                    best, improved = total, True
                else:
                    p.unit_of.update(old)
        if not improved:
            return


def _runs(p: Placement) -> list[list[Node]]:
    """Maximal runs of consecutive (in block order) nodes on one unit, longer than one."""
    runs: list[list[Node]] = []
    for node in p.nodes:
        if runs and p.unit_of[runs[-1][-1].op] == p.unit_of[node.op]:
            runs[-1].append(node)
        else:
            runs.append([node])
    return [r for r in runs if len(r) > 1]


def _segments(p: Placement) -> list[list[Node]]:
    """Contiguous same-unit groups of a topological order that stays on one unit as long
    as one of its ops is ready (fewer segments than block order on branchy graphs)."""
    waiting = {n.op: sum(1 for v in n.uses if v.owner in p.index) for n in p.nodes}
    ready = [n for n in p.nodes if waiting[n.op] == 0]
    segments: list[list[Node]] = []
    current = p.soc.host_unit
    while ready:
        same = [n for n in ready if p.unit_of[n.op] == current]
        node = min(same or ready, key=lambda n: n.index)
        ready.remove(node)
        current = p.unit_of[node.op]
        if segments and p.unit_of[segments[-1][0].op] == current:
            segments[-1].append(node)
        else:
            segments.append([node])
        for result in node.op.results:
            for user in dict.fromkeys(p.consumers.get(result, [])):
                waiting[user.op] -= sum(1 for v in user.uses if v is result)
                if waiting[user.op] == 0:
                    ready.append(user)
    return segments
