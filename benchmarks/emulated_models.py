"""Models compiled as AOT bundles for a device this machine emulates, against onnxruntime.

    python -m lamina.benchmarks.emulated_models --device cortex-a76 [--models squeezenet ...]
    python -m lamina.benchmarks.emulated_models --device hexagon-v66-hvx128 [--models mlp squeezenet]
        [--repeat 3] [--timeout 1800]

For each model (`mlp` = the 784-512-512-10 MLP; otherwise a light model with seeded random
weights and its logits exposed): build the bundle for the device (codegen/aot.py; compile
seconds, LLVM's share apart), run it under the device's emulator (qemu-aarch64 or
qemu-hexagon, runtime/qemu.py: the median of `--repeat` calls inside one process, as the
bundle's driver times them), run onnxruntime natively (1 thread, median of `--repeat`) on
the same inputs, and check every output at rtol 1e-3 / atol 1e-4. Emulated times say
nothing about the real device; qemu / onnxruntime-native only compares models and runs with
each other. A model that fails to compile or run is a row with its error; the others still
run. Defaults: the MLP and SqueezeNet on Hexagon (where the fp32 code runs on the scalar
core and SqueezeNet takes minutes), the nine light models elsewhere; `--device host` runs
the host bundles natively (no emulator), checking the AOT path of every model.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

from lamina.compiler import compile_bundle
from lamina.errors import LaminaError
from lamina.runtime.qemu import run_bundle
from lamina.tools.models import LIGHT_MODELS, light_model, mlp, random_inputs, with_logits

RTOL, ATOL = 1e-3, 1e-4
DEFAULT_MODELS = {"cortex-a76": list(LIGHT_MODELS), "hexagon-v66-hvx128": ["mlp", "squeezenet"]}


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


def bench_model(device: str, name: str, repeat: int, timeout_s: float) -> str:
    """One row of the table."""
    model = mlp() if name == "mlp" else with_logits(light_model(name))
    feeds = random_inputs(model)
    expected, ort_ms = onnxruntime_run(model, feeds, repeat)
    with tempfile.TemporaryDirectory(prefix="lamina-emulated-") as scratch:
        out = Path(scratch) / name
        try:
            start = time.perf_counter()
            bundle = compile_bundle(model, device, out)
            compile_s = time.perf_counter() - start
            llvm_s = bundle.stats.seconds.get("llvm", 0.0) if bundle.stats else 0.0
            run = run_bundle(out, feeds, repeat=repeat, timeout_s=timeout_s)
        except LaminaError as e:
            return f"{name:<14} {'':>9} {'':>7} {'':>11} {ort_ms:>9.2f} {'':>9}  {e}"
    pairs = list(zip(run.outputs, expected, strict=True))
    error = max(float(np.max(np.abs(g - w))) for g, w in pairs)
    ok = all(np.allclose(g, w, rtol=RTOL, atol=ATOL) for g, w in pairs)
    return (
        f"{name:<14} {compile_s:>9.1f} {llvm_s:>7.1f} {run.median_ms:>11.2f} {ort_ms:>9.2f} "
        f"{run.median_ms / ort_ms:>9.0f}  {'ok' if ok else 'MISMATCH'} max|err| {error:.2e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="models as AOT bundles under emulation")
    parser.add_argument("--device", default="cortex-a76", help="also `host`: run natively")
    parser.add_argument("--models", nargs="*", help="light model names or `mlp`")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per qemu run")
    args = parser.parse_args()
    print(f"device {args.device}: AOT bundle under qemu; onnxruntime native, 1 thread")
    print(
        f"{'model':<14} {'compile s':>9} {'llvm s':>7} {'qemu ms':>11} {'ort ms':>9} "
        f"{'qemu/ort':>9}  check"
    )
    for name in args.models or DEFAULT_MODELS.get(args.device, list(LIGHT_MODELS)):
        print(bench_model(args.device, name, args.repeat, args.timeout), flush=True)


if __name__ == "__main__":
    main()
