"""Heterogeneous execution: one model whose segments run on different compute units.

    model = compile_hetero("squeezenet.onnx", soc="host", force=("Conv:gpu",))
    (probs,) = model(image)
    model.segments      # [SegmentRun(unit="cpu", device="host", ...), ...]

`compile_hetero` imports the model, runs the graph-default rules and `graph-partition`
(lowering/partition.py), then compiles every `part.segment` as its own graph-level module
(`func.func @main` of the segment's inputs and results) for its unit's device: CPU devices
this machine runs natively through the JIT (`lamina.compile`), OpenCL devices through
runtime/opencl.py (PoCL here), DSP devices under qemu-hexagon (runtime/hexagon.py). The
executor walks the partitioned function: a segment call computes its results, a
`part.transfer` copies its tensor into a fresh buffer (the move between units' memories;
on one host process both are numpy memory), the return gives the outputs.

`run_on={"cpu": "host"}` runs a unit on another device than the SoC names (a phone's
Cortex-A76 unit on this machine's CPU); a unit whose device cannot run here is
"not supported".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue
from xdsl.passes import PassPipeline

from lamina.compiler import ModelSource, compile, graph_input_names, import_model, lower
from lamina.context import make_context
from lamina.dialects.partition import SegmentOp, TransferOp
from lamina.errors import LaminaError, UnsupportedError
from lamina.lowering.partition import GraphPartitionPass
from lamina.targets import Device, load_device
from lamina.targets.soc import Soc, load_soc
from lamina.universe import LAMINA_PASSES

Kernel = Callable[..., list[np.ndarray]]
_NOT_COUNTED = {"graph.constant", "graph.none", "part.yield"}


@dataclass
class SegmentRun:
    """One compiled segment: its unit, the device it runs on, its op count and timings."""

    unit: str
    device: str
    num_ops: int
    kernel: Kernel = field(repr=False)
    seconds: float = 0.0


@dataclass
class TransferStats:
    """What the last call moved between units."""

    count: int = 0
    bytes: int = 0
    seconds: float = 0.0


class HeteroModel:
    """A partitioned graph module with a compiled kernel per segment; call it like
    `lamina.compile`'s result (positional inputs, list of outputs)."""

    def __init__(
        self, module: ModuleOp, soc: Soc, run_on: Mapping[str, str], opt_level: int
    ) -> None:
        functions = [op for op in module.ops if isinstance(op, func.FuncOp)]
        if len(functions) != 1:
            raise UnsupportedError(f"heterogeneous execution of {len(functions)} functions")
        self.function = functions[0]
        self.soc = soc
        self.input_names = graph_input_names(module)
        self.runs: dict[SegmentOp, SegmentRun] = {}
        for op in self.function.body.block.ops:
            if isinstance(op, SegmentOp):
                device = run_on.get(op.unit.data, soc.units[op.unit.data].device)
                kernel = segment_kernel(segment_module(op), load_device(device), opt_level)
                num_ops = sum(1 for o in op.block.ops if o.name not in _NOT_COUNTED)
                self.runs[op] = SegmentRun(op.unit.data, device, num_ops, kernel)
        self.transfers = TransferStats()

    @property
    def segments(self) -> list[SegmentRun]:
        return list(self.runs.values())

    def __call__(self, *inputs: np.ndarray) -> list[np.ndarray]:
        args = self.function.body.block.args
        if len(inputs) != len(args):
            raise LaminaError(
                f"the model takes {len(args)} inputs ({', '.join(self.input_names)}), "
                f"got {len(inputs)}"
            )
        values: dict[SSAValue, np.ndarray] = dict(zip(args, inputs, strict=True))
        self.transfers = TransferStats()
        for op in self.function.body.block.ops:
            if isinstance(op, SegmentOp):
                run = self.runs[op]
                start = time.perf_counter()
                results = run.kernel(*[values[v] for v in op.inputs])
                run.seconds = time.perf_counter() - start
                values.update(zip(op.outputs, results, strict=True))
            elif isinstance(op, TransferOp):
                start = time.perf_counter()
                values[op.output] = np.array(values[op.input], copy=True, order="C")
                self.transfers.count += 1
                self.transfers.bytes += values[op.output].nbytes
                self.transfers.seconds += time.perf_counter() - start
            elif isinstance(op, func.ReturnOp):
                return [values[v] for v in op.operands]
        raise LaminaError("internal error: the partitioned function has no return")


def compile_hetero(
    model: ModelSource,
    soc: str = "host",
    force: Sequence[str] = (),
    *,
    run_on: Mapping[str, str] | None = None,
    input_shapes: dict[str, list[int]] | None = None,
    opt_level: int = 3,
) -> HeteroModel:
    """Partition `model` over SoC `soc` (placement forced by `force`, see graph-partition)
    and compile each segment for its unit; see the module docstring."""
    description = load_soc(soc)
    unknown = set(run_on or {}) - set(description.units)
    if unknown:
        raise LaminaError(f"run_on names units {sorted(unknown)} that SoC '{soc}' lacks")
    module = import_model(model, input_shapes)
    rules = PassPipeline.parse_spec(LAMINA_PASSES, "apply-rules{set=graph-default}").passes
    for rule_pass in rules:
        rule_pass.apply(make_context(), module)
    GraphPartitionPass(soc=soc, force=tuple(force)).apply(make_context(), module)
    module.verify()
    return HeteroModel(module, description, run_on or {}, opt_level)


def segment_module(segment: SegmentOp) -> ModuleOp:
    """The segment as a graph-level module: `func.func @main` of its inputs -> results."""
    body = segment.body.clone()
    block = body.block
    yield_op = block.last_op
    assert yield_op is not None
    block.insert_op_after(func.ReturnOp(*yield_op.operands), yield_op)
    block.erase_op(yield_op)
    inputs = [a.type for a in block.args]
    outputs = [r.type for r in segment.outputs]
    return ModuleOp([func.FuncOp("main", (inputs, outputs), body)])


def segment_kernel(module: ModuleOp, device: Device, opt_level: int) -> Kernel:
    """A callable running the graph-level `module` on `device` from this process."""
    if device.kind == "dsp":
        from lamina.runtime.hexagon import HexagonModule

        lower(module, device)
        return HexagonModule(module, device=device).kernel()
    if device.kind == "cpu" and device.triple != load_device("host").triple:
        raise UnsupportedError(
            f"running device '{device.name}' ({device.triple}) in this process "
            "(map its unit to a local device with run_on)"
        )
    return compile(module, device.name, opt_level=opt_level)
