"""An MLP and SqueezeNet compiled for hexagon-v66-hvx128 as AOT bundles and run under
qemu-hexagon, against onnxruntime.

    .venv/bin/python -m lamina.benchmarks.hexagon_models [--models mlp squeezenet]
        [--repeat 3] [--timeout 1800]

For each model (seeded random weights; SqueezeNet with its logits exposed): build the
Hexagon bundle (codegen/aot_hexagon.py; compile seconds, LLVM's share apart), link it with
its Makefile and run it under qemu-hexagon (runtime/qemu.py: the median of `--repeat`
calls inside one process, as the freestanding driver times them with the emulator's wall
clock), run onnxruntime natively (1 thread, median of `--repeat`) on the same inputs, and
check every output at rtol 1e-3 / atol 1e-4. Emulated times say nothing about a real
Hexagon DSP; the ratio qemu / onnxruntime-native only compares models and runs with each
other. A model that fails to compile or run is a row with its error.

SqueezeNet under qemu-hexagon takes minutes (compile + run), too long for the test suite;
tests/test_hexagon_models.py and tests/test_hexagon_bundle.py run the MLP.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

from lamina.benchmarks.arm_models import onnxruntime_run
from lamina.codegen.aot import write_bundle
from lamina.errors import LaminaError
from lamina.runtime.qemu import build_bundle, run_bundle
from lamina.tools.models import light_model, mlp, random_inputs, with_logits

DEVICE = "hexagon-v66-hvx128"
RTOL, ATOL = 1e-3, 1e-4
MODELS = ("mlp", "squeezenet")


def model_named(name: str) -> onnx.ModelProto:
    return mlp() if name == "mlp" else with_logits(light_model(name))


def bench_model(name: str, repeat: int, timeout_s: float) -> str:
    """One row of the table."""
    model = model_named(name)
    feeds = random_inputs(model)
    expected, ort_ms = onnxruntime_run(model, feeds, repeat)
    with tempfile.TemporaryDirectory(prefix="lamina-hexagon-") as scratch:
        out = Path(scratch) / name
        try:
            start = time.perf_counter()
            bundle = write_bundle(model, DEVICE, out)
            compile_s = time.perf_counter() - start
            llvm_s = bundle.stats.seconds.get("llvm", 0.0) if bundle.stats else 0.0
            build_bundle(out)
            run = run_bundle(out, feeds, repeat=repeat, timeout_s=timeout_s)
        except LaminaError as e:
            return f"{name:<12} {'':>9} {'':>7} {'':>11} {ort_ms:>9.2f} {'':>9}  {e}"
    pairs = list(zip(run.outputs, expected, strict=True))
    error = max(float(np.max(np.abs(g - w))) for g, w in pairs)
    ok = all(np.allclose(g, w, rtol=RTOL, atol=ATOL) for g, w in pairs)
    return (
        f"{name:<12} {compile_s:>9.1f} {llvm_s:>7.1f} {run.median_ms:>11.2f} {ort_ms:>9.2f} "
        f"{run.median_ms / ort_ms:>9.0f}  {'ok' if ok else 'MISMATCH'} max|err| {error:.2e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="models on hexagon-v66-hvx128 under qemu")
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per qemu run")
    args = parser.parse_args()
    print(f"device {DEVICE}: AOT bundle under qemu-hexagon; onnxruntime native, 1 thread")
    print(
        f"{'model':<12} {'compile s':>9} {'llvm s':>7} {'qemu ms':>11} {'ort ms':>9} "
        f"{'qemu/ort':>9}  check"
    )
    for name in args.models:
        print(bench_model(name, args.repeat, args.timeout), flush=True)


if __name__ == "__main__":
    main()
