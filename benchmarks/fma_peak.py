"""The fp32 peak of one core, measured: a register-only FMA loop JIT-compiled through lamina's
LLVM path (codegen/llvm_target.py: the host's target machine and O2 pipeline, then MCJIT).

    .venv/bin/python -m lamina.benchmarks.fma_peak      # GFLOP/s of one core

`fma_peak_module(lanes, chains)` defines
`void @fma_peak(i64 %iterations, float %scale, float %offset, ptr %out)`: `chains`
independent `<lanes x float>` accumulators, chain c starting at c + 1, each iteration
`acc = fma(acc, scale, offset)` on every chain, then the accumulators stored to `out`
(chains x lanes floats, so that none is dead). The loop touches no memory: it measures the
FMA units. Sized from the host's detected features: its widest vector
(`Device.vector_lanes_f32`: 16 lanes with AVX-512, 8 with AVX2) and half its vector
registers as chains (16 of AVX-512's or AArch64's 32, 8 of AVX2's 16): more independent
chains than FMA latency x FMA ports of the cores we know (4 x 2), and no spills.

GFLOP/s = 2 * lanes * chains * iterations / CPU seconds of the call (`time.process_time`:
the loop runs on this thread alone, and CPU time leaves out the time another process holds
the core), the best of a few calls of at least `MIN_CALL_SECONDS`.
"""

from __future__ import annotations

import ctypes
import time
from typing import Any

import llvmlite.binding as llvm
import llvmlite.ir as ir
import numpy as np

from lamina.codegen.llvm_target import DEFAULT_OPT_LEVEL, optimize, target_machine
from lamina.targets import Device, is_aarch64, load_device

FUNCTION = "fma_peak"
SCALE, OFFSET = 0.999, 0.001
"""acc = acc * SCALE + OFFSET: every chain tends to OFFSET / (1 - SCALE) = 1, never to
infinity or a denormal."""
MIN_CALL_SECONDS = 0.05


def vector_registers(device: Device) -> int:
    """How many vector registers the device has: 32 with AVX-512 or on AArch64, else 16."""
    return 32 if "+avx512f" in device.features or is_aarch64(device) else 16


def fma_peak_module(lanes: int, chains: int) -> ir.Module:
    """The module of `@fma_peak` (module docstring) on `chains` vectors of `lanes` f32."""
    f32, i64 = ir.FloatType(), ir.IntType(64)
    vector = ir.VectorType(f32, lanes)
    module = ir.Module(name="lamina.fma_peak")
    fma = ir.Function(
        module, ir.FunctionType(vector, [vector, vector, vector]), f"llvm.fma.v{lanes}f32"
    )
    function = ir.Function(
        module, ir.FunctionType(ir.VoidType(), [i64, f32, f32, ir.PointerType()]), FUNCTION
    )
    iterations, scale, offset, out = function.args
    entry, loop, done = (function.append_basic_block(n) for n in ("entry", "loop", "done"))
    builder = ir.IRBuilder(entry)
    splat_scale, splat_offset = (_splat(builder, s, vector) for s in (scale, offset))
    builder.branch(loop)
    builder.position_at_end(loop)
    counter = builder.phi(i64, "i")
    accumulators = [builder.phi(vector, f"acc{c}") for c in range(chains)]
    updated = [builder.call(fma, [acc, splat_scale, splat_offset]) for acc in accumulators]
    next_counter = builder.add(counter, ir.Constant(i64, 1))
    builder.cbranch(builder.icmp_unsigned("<", next_counter, iterations), loop, done)
    counter.add_incoming(ir.Constant(i64, 0), entry)
    counter.add_incoming(next_counter, loop)
    for c, (acc, new) in enumerate(zip(accumulators, updated, strict=True)):
        acc.add_incoming(ir.Constant(vector, [float(c + 1)] * lanes), entry)
        acc.add_incoming(new, loop)
    builder.position_at_end(done)
    for c, new in enumerate(updated):
        address = builder.gep(out, [ir.Constant(i64, c * lanes)], source_etype=f32)
        builder.store(new, address, align=4)  # `out` need not be vector-aligned
    builder.ret_void()
    return module


def _splat(builder: ir.IRBuilder, scalar: ir.Value, vector: ir.VectorType) -> ir.Value:
    lane0 = builder.insert_element(ir.Constant(vector, ir.Undefined), scalar, ir.IntType(32)(0))
    zeros = ir.Constant(ir.VectorType(ir.IntType(32), vector.count), [0] * vector.count)
    return builder.shuffle_vector(lane0, ir.Constant(vector, ir.Undefined), zeros)


class PeakLoop:
    """`@fma_peak` compiled for a device (the host by default); keeps its machine code."""

    def __init__(self, device: Device | None = None) -> None:
        self.device = device or load_device("host")
        self.lanes = self.device.vector_lanes_f32
        self.chains = vector_registers(self.device) // 2
        self.module = fma_peak_module(self.lanes, self.chains)
        self.module.triple = self.device.triple
        self.engine: Any = llvm.create_mcjit_compiler(
            optimize(self.module, self.device, DEFAULT_OPT_LEVEL),
            target_machine(self.device, fresh=True),
        )
        self.engine.finalize_object()
        signature = ctypes.CFUNCTYPE(
            None, ctypes.c_int64, ctypes.c_float, ctypes.c_float, ctypes.c_void_p
        )
        self._call = signature(self.engine.get_function_address(FUNCTION))

    def run(self, iterations: int) -> np.ndarray:
        """The accumulators [chains, lanes] after `iterations` (>= 1) steps."""
        out = np.empty((self.chains, self.lanes), np.float32)
        self._call(iterations, SCALE, OFFSET, out.ctypes.data)
        return out

    def flops(self, iterations: int) -> int:
        return 2 * self.lanes * self.chains * iterations

    def gflops(self, calls: int = 3) -> float:
        """The best GFLOP/s (CPU time) of `calls` calls of at least MIN_CALL_SECONDS."""
        iterations = 1 << 16
        while _cpu_seconds(self.run, iterations) < MIN_CALL_SECONDS:
            iterations *= 2
        best = min(_cpu_seconds(self.run, iterations) for _ in range(calls))
        return self.flops(iterations) / best / 1e9


def _cpu_seconds(run: Any, iterations: int) -> float:
    start = time.process_time()
    run(iterations)
    return time.process_time() - start


def core_gflops() -> float:
    """The measured fp32 peak of one core of this machine, GFLOP/s."""
    return PeakLoop().gflops()


def main() -> None:
    loop = PeakLoop()
    print(
        f"fp32 peak of one core: {loop.gflops():.1f} GFLOP/s "
        f"({loop.chains} chains of <{loop.lanes} x float> FMAs, device {loop.device.cpu})"
    )


if __name__ == "__main__":
    main()
