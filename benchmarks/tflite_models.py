"""Real .tflite models (MediaPipe's, from the zoo) as AOT bundles for a device, checked
against LiteRT on the same inputs.

    python -m lamina.benchmarks.tflite_models --device cortex-a76 [--models mp-face-detection ...]
    python -m lamina.benchmarks.tflite_models --device host

For each model: import it with the tensors a final LOGISTIC reads as outputs (its logits:
outputs are compared at their scale, tools/tflite_check.py), build the bundle for the
device (codegen/aot.py), run it (natively on the host, under qemu-aarch64 for cortex-a76:
runtime/qemu.py) on images in [0, 1), run LiteRT natively on the same inputs, and check
max|err| <= 1e-3 * max|ref| + 1e-4 on every output. A model that fails to compile, run or
match is a row saying so and makes the exit status 1; the others still run. Emulated times
say nothing about the real device.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from lamina.compiler import compile_bundle
from lamina.errors import LaminaError
from lamina.parser.tflite import import_tflite
from lamina.parser.tflite_model import read_tflite
from lamina.runtime.qemu import run_bundle
from lamina.tools.model_zoo import MEDIAPIPE_MODELS, zoo_model
from lamina.tools.tflite_check import image_feeds, litert_tensors, logits_outputs, mismatch


def check_model(name: str, device: str) -> tuple[bool, str]:
    """Whether the bundle of model `name` for `device` matches LiteRT, and its row."""
    path = zoo_model(name)
    names, feeds = logits_outputs(path), image_feeds(path)
    model, _ = read_tflite(path)
    inputs = {model.tensors[i].name: f for i, f in zip(model.inputs, feeds, strict=True)}
    with tempfile.TemporaryDirectory(prefix="lamina-tflite-") as scratch:
        out = Path(scratch) / "bundle"
        try:
            start = time.perf_counter()
            bundle = compile_bundle(import_tflite(path, outputs=names), device, out, name="model")
            compile_s = time.perf_counter() - start
            run = run_bundle(out, inputs)
        except LaminaError as e:
            return False, f"{name:34} {'':>9} {'':>11}  {e.message.splitlines()[0]}"
    wrong = mismatch(run.outputs, litert_tensors(path, names, feeds))
    check = "ok" if wrong is None else f"MISMATCH {wrong}"
    return (
        wrong is None,
        f"{name:34} {compile_s:9.1f} {run.median_ms:11.2f}  {bundle.triple} {check}",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--device", default="cortex-a76", help="a CPU device (host: native)")
    parser.add_argument("--models", nargs="*", default=list(MEDIAPIPE_MODELS))
    args = parser.parse_args(argv)
    print(f"{'model':34} {'compile s':>9} {'bundle ms':>11}  triple, check against LiteRT")
    matched = 0
    for name in args.models:
        ok, row = check_model(name, args.device)
        matched += ok
        print(row, flush=True)
    print(f"{matched} of {len(args.models)} models match LiteRT on {args.device}")
    return 0 if matched == len(args.models) else 1


if __name__ == "__main__":
    sys.exit(main())
