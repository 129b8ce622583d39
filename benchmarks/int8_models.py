"""The nine light models quantized by onnxruntime's `quantize_static` (per-channel int8
weights, uint8 activations; the QDQ and the QOperator form), compiled by lamina and checked
against onnxruntime's int8 run of the same file on the same inputs.

    .venv/bin/python -m lamina.benchmarks.int8_models [--models squeezenet,...]
        [--forms qdq,qoperator] [--device host|cortex-a76] [--timeout 3600]

Models: `light_model` (seeded random weights) with its logits exposed, `calibrated` on four
seeded random feeds (tools/quantized.py). On the host the model is JIT-compiled; for
another device it is an AOT bundle run under the device's emulator (qemu-aarch64 for
cortex-a76) and its object's disassembly must hold an int8 dot product (`sdot` / `udot`).
Each row runs in a fresh process. Printed per row: compile seconds, whether the top-1
classes are equal, the share of output elements within one quantization step of
onnxruntime's (worst over the outputs), the largest difference in steps, the range of
each of onnxruntime's outputs in steps (max |output| / step, probabilities / logits: an
output of a few steps checks little), and PASS (top-1 equal, >= 99% within one step, and
on aarch64 a dot product) or FAIL; a model that does not compile or run is a row with its
error. Exits 1 if any row does not pass.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lamina.benchmarks.latency import in_fresh_process
from lamina.tools.models import LIGHT_MODELS, light_model, random_inputs, with_logits
from lamina.tools.quantized import calibrated, output_steps, within_one_step

FORMS = ("qdq", "qoperator")
DOT_PRODUCTS = ("sdot\t", "udot\t")
"""The aarch64 int8 dot products, as llvm-objdump prints them."""


def aarch64_dot_products(object_file: Path, device_name: str) -> int:
    """How many `sdot` / `udot` the object's disassembly holds (decoded with the device's
    CPU and features)."""
    from lamina.targets import load_device

    device = load_device(device_name)
    command = ["llvm-objdump", "-d", f"--mcpu={device.cpu}", f"--mattr={device.feature_string}"]
    listing = subprocess.run([*command, str(object_file)], capture_output=True, text=True).stdout
    return sum(listing.count(instruction) for instruction in DOT_PRODUCTS)


def lamina_outputs(
    model: Any, feeds: dict[str, np.ndarray], device: str, timeout_s: float
) -> tuple[list[np.ndarray], int | None]:
    """lamina's outputs, and for an aarch64 bundle the count of its dot products."""
    from lamina.compiler import compile as lamina_compile
    from lamina.compiler import compile_bundle
    from lamina.runtime.qemu import run_bundle

    if device == "host":
        return lamina_compile(model, "host")(**feeds), None
    with tempfile.TemporaryDirectory(prefix="lamina-int8-") as scratch:
        bundle = Path(scratch) / "bundle"
        compile_bundle(model, device, bundle, name="int8")
        outputs = run_bundle(bundle, feeds, timeout_s=timeout_s).outputs
        return outputs, aarch64_dot_products(bundle / "model.o", device)


def measure(name: str, form: str, device: str, timeout_s: float) -> dict[str, Any]:
    """One row: the model quantized in `form`, lamina's outputs against onnxruntime's."""
    import onnxruntime as ort

    logging.getLogger().setLevel(logging.ERROR)  # the quantizer's advice to pre-process
    ort.set_default_logger_severity(3)
    row: dict[str, Any] = {"model": name, "form": form, "error": ""}
    try:
        model = calibrated(with_logits(light_model(name)), qdq=form == "qdq")
        feeds = random_inputs(model)
        session = ort.InferenceSession(
            model.SerializeToString(), providers=["CPUExecutionProvider"]
        )
        want = [np.asarray(o) for o in session.run(None, feeds)]
        start = time.process_time()
        got, dots = lamina_outputs(model, feeds, device, timeout_s)
        row["seconds"] = time.process_time() - start
    except Exception as e:  # a row per model: one that fails names why, the others still run
        row["error"] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        return row
    top1, shares, steps, spans = True, [], [], []
    for g, w, step in zip(got, want, output_steps(model), strict=True):
        rows = len(w) if w.ndim else 1
        top1 &= bool(np.array_equal(g.reshape(rows, -1).argmax(1), w.reshape(rows, -1).argmax(1)))
        shares.append(within_one_step(g, w, step))
        steps.append(float(np.abs(g.astype(np.float64) - w).max() / step))
        spans.append(float(np.abs(w).max() / step))
    row.update(top1=top1, share=min(shares), steps=max(steps), spans=spans, dots=dots)
    row["passed"] = top1 and min(shares) >= 0.99 and (dots is None or dots > 0)
    return row


def line(row: dict[str, Any]) -> str:
    head = f"{row['model']:<14} {row['form']:<10}"
    if row["error"]:
        return f"{head} ERROR {row['error']}"
    dots = "" if row["dots"] is None else f" {row['dots']:>6}"
    verdict = "PASS" if row["passed"] else "FAIL"
    return (
        f"{head} {row['seconds']:>9.1f} {'yes' if row['top1'] else 'NO':>5} "
        f"{row['share']:>9.2%} {row['steps']:>9.1f} {'/'.join(f'{s:.0f}' for s in row['spans']):>9}"
        f"{dots}  {verdict}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--models", default=",".join(LIGHT_MODELS))
    parser.add_argument("--forms", default=",".join(FORMS))
    parser.add_argument("--device", default="host")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per emulated run")
    args = parser.parse_args(argv)
    names, forms = args.models.split(","), args.forms.split(",")
    unknown = [n for n in names if n not in LIGHT_MODELS] + [f for f in forms if f not in FORMS]
    if unknown:
        parser.error(f"unknown {unknown}; models: {', '.join(LIGHT_MODELS)}; forms: qdq, qoperator")
    dots = "" if args.device == "host" else f" {'sdot+udot':>6}"
    print(f"device {args.device}; seconds are lamina's compile + run (CPU time)")
    head = f"{'model':<14} {'form':<10} {'seconds':>9} {'top-1':>5} {'<=1 step':>9}"
    print(f"{head} {'max steps':>9} {'ranges':>9}{dots}")
    rows = []
    for name in names:
        for form in forms:
            rows.append(in_fresh_process(measure, name, form, args.device, args.timeout))
            print(line(rows[-1]), flush=True)
    failed = [f"{r['model']} {r['form']}" for r in rows if r["error"] or not r["passed"]]
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
