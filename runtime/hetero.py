"""Heterogeneous execution: one model whose segments run on different compute units.

    model = compile_hetero("squeezenet.onnx", soc="host", force=("Conv:gpu",))  # compiler.py
    (probs,) = model(image)
    model.segments      # [SegmentRun(unit="cpu", device="host", ...), ...]

`lamina.compiler.compile_hetero` imports the model, runs the graph-default rules and
`graph-partition` (lowering/partition.py) and hands the partitioned module to `HeteroModel`
with a function that compiles one segment for a device. `HeteroModel` builds every
`part.segment` as its own graph-level module (`segment_module`: `func.func @main` of the
segment's inputs and results) and has it compiled for its unit's device: CPU devices this
machine runs natively through the JIT, OpenCL devices through runtime/opencl.py (PoCL
here), DSP devices under qemu-hexagon (runtime/hexagon.py). The executor walks the
partitioned function: a segment call computes its results, a
`part.transfer` copies its tensor into a fresh buffer (the move between units' memories;
on one host process both are numpy memory), the return gives the outputs.

`run_on={"cpu": "host"}` runs a unit on another device than the SoC names (a phone's
Cortex-A76 unit on this machine's CPU); a unit whose device cannot run here is
"not supported".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue

from lamina.dialects.partition import SegmentOp, TransferOp
from lamina.errors import LaminaError, UnsupportedError
from lamina.targets import Device, load_device
from lamina.targets.soc import Soc

Kernel = Callable[..., list[np.ndarray]]
SegmentCompiler = Callable[[ModuleOp, Device], Kernel]
"""Compiles a segment's graph-level module for a device into a callable on its inputs."""
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
    """A partitioned graph module with a kernel per segment, each compiled for its unit's
    device (or the device `run_on` maps the unit to) by `compile_segment`; call it like
    `lamina.compile`'s result (positional inputs named `input_names`, list of outputs)."""

    def __init__(
        self,
        module: ModuleOp,
        soc: Soc,
        run_on: Mapping[str, str],
        compile_segment: SegmentCompiler,
        input_names: list[str],
    ) -> None:
        functions = [op for op in module.ops if isinstance(op, func.FuncOp)]
        if len(functions) != 1:
            raise UnsupportedError(f"heterogeneous execution of {len(functions)} functions")
        self.function = functions[0]
        self.soc = soc
        self.input_names = input_names
        self.runs: dict[SegmentOp, SegmentRun] = {}
        for op in self.function.body.block.ops:
            if isinstance(op, SegmentOp):
                device = run_on.get(op.unit.data, soc.units[op.unit.data].device)
                kernel = compile_segment(segment_module(op), load_device(device))
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
