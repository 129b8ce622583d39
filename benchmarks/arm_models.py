"""The light models compiled for cortex-a76 and run under qemu-aarch64, against onnxruntime.

    .venv/bin/python -m lamina.benchmarks.arm_models [--models squeezenet shufflenet]
        [--repeat 3] [--timeout 1800]

For each model (seeded random weights, logits exposed): build the AOT bundle for cortex-a76
(codegen/aot.py; compile seconds, LLVM's share apart), run it under qemu-aarch64
(runtime/qemu.py: median of `--repeat` calls inside one process, as the bundle's driver
times them), run onnxruntime natively (1 thread, median of `--repeat`) on the same inputs,
and check every output at rtol 1e-3 / atol 1e-4. Times under emulation say nothing about a
real Cortex-A76; the ratio qemu / onnxruntime-native is printed only to compare models with
each other and runs with each other. A model that fails to compile or run is a row with
its error; the others still run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

from lamina.codegen.aot import write_bundle
from lamina.errors import LaminaError
from lamina.runtime.qemu import run_bundle
from lamina.tools.models import LIGHT_MODELS, light_model, random_inputs, with_logits

DEVICE = "cortex-a76"
RTOL, ATOL = 1e-3, 1e-4


def onnxruntime_run(
    model: onnx.ModelProto, feeds: dict[str, np.ndarray], repeat: int
) -> tuple[list[np.ndarray], float]:
    """onnxruntime's outputs (1 thread) and its median latency in ms."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    outputs = session.run(None, feeds)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - start)
    return [np.asarray(o) for o in outputs], 1000 * statistics.median(times)


def bench_model(name: str, repeat: int, timeout_s: float) -> str:
    """One row of the table for a light model."""
    model = with_logits(light_model(name))
    feeds = random_inputs(model)
    expected, ort_ms = onnxruntime_run(model, feeds, repeat)
    with tempfile.TemporaryDirectory(prefix="lamina-arm-") as scratch:
        try:
            start = time.perf_counter()
            bundle = write_bundle(model, DEVICE, Path(scratch) / name)
            compile_s = time.perf_counter() - start
            llvm_s = bundle.stats.seconds.get("llvm", 0.0) if bundle.stats else 0.0
            run = run_bundle(Path(scratch) / name, feeds, repeat=repeat, timeout_s=timeout_s)
        except LaminaError as e:
            return f"{name:<14} {'':>9} {'':>7} {'':>11} {ort_ms:>9.1f} {'':>9}  {e}"
    errors = [float(np.max(np.abs(g - w))) for g, w in zip(run.outputs, expected, strict=True)]
    ok = all(
        np.allclose(g, w, rtol=RTOL, atol=ATOL) for g, w in zip(run.outputs, expected, strict=True)
    )
    return (
        f"{name:<14} {compile_s:>9.1f} {llvm_s:>7.1f} {run.median_ms:>11.1f} {ort_ms:>9.1f} "
        f"{run.median_ms / ort_ms:>9.0f}  {'ok' if ok else 'MISMATCH'} max|err| {max(errors):.2e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="light models on cortex-a76 under qemu")
    parser.add_argument("--models", nargs="*", default=list(LIGHT_MODELS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per qemu run")
    args = parser.parse_args()
    print(f"device {DEVICE} under qemu-aarch64; onnxruntime native, 1 thread")
    print(
        f"{'model':<14} {'compile s':>9} {'llvm s':>7} {'qemu ms':>11} {'ort ms':>9} "
        f"{'qemu/ort':>9}  check"
    )
    for name in args.models:
        print(bench_model(name, args.repeat, args.timeout), flush=True)


if __name__ == "__main__":
    main()
