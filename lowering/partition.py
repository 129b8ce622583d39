"""graph-partition: place each graph op on a compute unit of an SoC and split the function
into `part.segment`s joined by `part.transfer`s (dialects/partition.py).

    lamina-opt model.mlir -p 'graph-partition{soc=phone force="Conv:gpu,conv1:cpu" dump="g.dot"}'

It lives in lowering/ (not rewrites/graph/, a folder of rule files rather than a Python
package) because, like a lowering, it owns its source completely: every graph op of a
function ends up inside a segment, and the IR changes structure (regions, new dialect).

The placement minimises the estimated latency of one run, which is the sum of every op's
time on its unit plus every transfer's time, since the executor (runtime/hetero.py) runs
segments one after another. An op's time is the unit's roofline (`Unit.seconds`: launch +
max(FLOPs / throughput, bytes / bandwidth)) on the op's static shapes; a value used on
another unit than the one producing it pays the link's latency + bytes / bandwidth once per
destination unit. Graph inputs and outputs live on the SoC's host unit. The solver
(lowering/partition_cost.py) runs a dynamic program over the ops in topological order with
the op's unit as state, then refines it Kernighan-Lin style.

What holds afterwards: the body of every function is `part.transfer`s, `part.segment`s and
the `func.return`; every graph op is in a segment on a unit that supports it (or the one
`force` named); the segments in block order are a topological order of the graph.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Block, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from lamina.dialects.partition import SegmentOp, TransferOp, YieldOp
from lamina.errors import LaminaError
from lamina.lowering.partition_cost import Node, Placement, graph_nodes, place, value_bytes
from lamina.targets.soc import Soc, load_soc


@dataclass(frozen=True)
class GraphPartitionPass(ModulePass):
    """Split every graph-level function into segments per compute unit of SoC `soc`.

    `force` pins ops: `name:unit` for an ONNX node name, `OpType:unit` for every op of a type
    (a node name wins over its type); elements may also be comma-separated in one string.
    `dump` writes the placement as a Graphviz file (and `<dump>.svg` when `dot` exists).
    """

    name = "graph-partition"

    soc: str = "host"
    force: tuple[str, ...] = ()
    dump: str | None = None

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        soc = load_soc(self.soc)
        forced = parse_force(self.force, soc)
        placements: list[Placement] = []
        for function in [f for f in op.walk() if isinstance(f, func.FuncOp)]:
            if not function.body.blocks or _is_partitioned(function):
                continue
            placement = place(graph_nodes(function), soc, forced)
            partition_function(function, placement)
            placements.append(placement)
        if self.dump is not None:
            write_dot(placements, soc, self.dump)


def parse_force(entries: Sequence[str], soc: Soc) -> dict[str, str]:
    """`("Conv:gpu", "conv1:cpu,Relu:dsp")` as {key: unit}; units must be the SoC's."""
    forced: dict[str, str] = {}
    for entry in (e.strip() for item in entries for e in item.split(",")):
        key, colon, unit = entry.rpartition(":")
        if not colon or not key or not unit:
            raise LaminaError(f"force entry '{entry}' is not <node or op type>:<unit>")
        if unit not in soc.units:
            raise LaminaError(
                f"force entry '{entry}': SoC '{soc.name}' has no unit '{unit}' "
                f"(units: {', '.join(soc.units)})"
            )
        forced[key] = unit
    return forced


def _is_partitioned(function: func.FuncOp) -> bool:
    return any(isinstance(op, SegmentOp) for op in function.body.block.ops)


def partition_function(function: func.FuncOp, placement: Placement) -> None:
    """Rebuild `function`'s body as segments and transfers following `placement`."""
    block = function.body.block
    ret = block.last_op
    if not isinstance(ret, func.ReturnOp):
        raise LaminaError("a graph function must end in func.return", op=function)
    builder = _Builder(block, ret, placement)
    for segment in placement.segments:
        builder.add_segment(segment)
    ret.operands = [builder.on_unit(v, placement.soc.host_unit) for v in ret.operands]
    for old in reversed(builder.old_ops):
        Rewriter.erase_op(old)


class _Builder:
    """Inserts segments and transfers before the return; remembers each value's copies."""

    def __init__(self, block: Block, ret: func.ReturnOp, placement: Placement) -> None:
        self.block = block
        self.ret = ret
        self.placement = placement
        self.old_ops = [op for op in block.ops if op is not ret]
        self.copies: dict[tuple[SSAValue, str], SSAValue] = {}
        """(original value, unit) -> the value holding it on that unit."""
        for arg in block.args:
            self.copies[arg, placement.soc.host_unit] = arg

    def on_unit(self, value: SSAValue, unit: str) -> SSAValue:
        """`value` on `unit`, inserting a transfer (once per unit) when it lives elsewhere."""
        if (value, unit) in self.copies:
            return self.copies[value, unit]
        home = self.placement.home(value)
        source = self.copies.get((value, home))
        if source is None:
            raise LaminaError(f"internal error: value {value.name_hint} used before placed")
        transfer = TransferOp(source, home, unit)
        Rewriter.insert_op(transfer, InsertPoint.before(self.ret))
        self.copies[value, unit] = transfer.output
        return transfer.output

    def add_segment(self, nodes: list[Node]) -> None:
        unit = self.placement.unit_of[nodes[0].op]
        inside = {r for n in nodes for r in n.op.results}
        inputs = list(dict.fromkeys(v for n in nodes for v in n.uses if v not in inside))
        outputs = [r for r in inside if self.placement.used_outside(r, nodes)]
        outputs.sort(key=lambda r: (self.placement.index[r.owner], r.index))  # pyright: ignore[reportArgumentType]
        body = Block(arg_types=[v.type for v in inputs])
        mapping: dict[SSAValue, SSAValue] = dict(zip(inputs, body.args, strict=True))
        for outer, inner in mapping.items():
            inner.name_hint = outer.name_hint
        for constant in dict.fromkeys(c for n in nodes for c in n.constants):
            body.add_op(constant.clone(value_mapper=mapping))
            mapping.update(zip(constant.results, body.ops.last.results, strict=True))  # pyright: ignore[reportOptionalMemberAccess]
        for node in nodes:
            body.add_op(node.op.clone(value_mapper=mapping))
        body.add_op(YieldOp(*[mapping[r] for r in outputs]))
        operands = [self.on_unit(v, unit) for v in inputs]
        segment = SegmentOp(unit, operands, [r.type for r in outputs], Region(body))
        Rewriter.insert_op(segment, InsertPoint.before(self.ret))
        for old, new in zip(outputs, segment.outputs, strict=True):
            new.name_hint = old.name_hint
            self.copies[old, unit] = new


def write_dot(placements: list[Placement], soc: Soc, path: str) -> None:
    """The placement as a Graphviz digraph: one cluster per segment, ops coloured by unit,
    edges crossing units labelled with the bytes moved; `<path>.svg` too if `dot` exists."""
    colours = dict(
        zip(soc.units, ("lightblue", "palegreen", "orange", "plum", "khaki"), strict=False)
    )
    lines = ["digraph partition {", "  rankdir=TB; node [shape=box, style=filled];"]
    for f, placement in enumerate(placements):
        for s, nodes in enumerate(placement.segments):
            unit = placement.unit_of[nodes[0].op]
            micro = sum(placement.op_seconds(n) for n in nodes) * 1e6
            lines.append(f'  subgraph cluster_{f}_{s} {{ label="{unit} #{s} ({micro:.1f} us)";')
            for node in nodes:
                lines.append(
                    f'    n{f}_{node.index} [label="{node.label}", fillcolor={colours[unit]}];'
                )
            lines.append("  }")
        for node in placement.nodes:
            for value in node.uses:
                if value.owner in placement.index:
                    producer = placement.index[value.owner]  # pyright: ignore[reportArgumentType]
                    moved = placement.home(value) != placement.unit_of[node.op]
                    label = f' [label="{value_bytes(value)} B", color=red]' if moved else ""
                    lines.append(f"  n{f}_{producer} -> n{f}_{node.index}{label};")
    lines.append("}")
    try:
        Path(path).write_text("\n".join(lines) + "\n")
        if shutil.which("dot"):
            subprocess.run(["dot", "-Tsvg", path, "-o", f"{path}.svg"], check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        raise LaminaError(f"cannot write the partition picture: {e}", where=path) from None
