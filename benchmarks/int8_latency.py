"""Latency of quantized models: lamina int8 against onnxruntime int8, and lamina int8 against
lamina fp32, side by side in one run, at 1 and 2 threads.

    .venv/bin/python -m lamina.benchmarks.int8_latency [--models qdq-mlp,...] [--threads 1,2]

Models (tools/quantized.py; seeded weights, calibrated on seeded random feeds): the MLP
784-512-512-10 quantized by onnxruntime's `quantize_static` (QDQ, in the Gemm and the
MatMul + Add forms) and by `quantize_dynamic`, and light SqueezeNet quantized statically
(QDQ and QOperator) and dynamically (uint8 weights): the group `small`, the default; the
group `light` is each of the nine light models quantized statically in the QDQ form
(`qdq-<model>`). Each model runs in a fresh process:
lamina compiles the quantized and the float model per thread count, onnxruntime gets
`intra_op_num_threads = t`, and the three engines are timed in alternating turns
(benchmarks/latency.py). Printed per model and thread count: the medians, lamina int8 /
onnxruntime int8 and lamina int8 / lamina fp32; at the bottom their geometric means. The
int8 outputs are checked against onnxruntime's (`quantized_mismatch`: within one
quantization step, float rounding for dynamic models); a row that does not match is marked
MISMATCH, left out of the geomeans, and the benchmark exits 1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import onnx

from lamina.benchmarks.latency import (
    cpu_name,
    exit_status,
    in_fresh_process,
    median_ms_in_turns,
    onnxruntime_session,
)
from lamina.tools.models import LIGHT_MODELS, light_model, mlp, random_inputs, with_logits
from lamina.tools.quantized import calibrated, quantize_dynamic, quantized_mismatch

Quantized = tuple[Callable[[], onnx.ModelProto], Callable[[onnx.ModelProto], onnx.ModelProto]]
"""(the float model, how it is quantized)."""
SMALL_MODELS: dict[str, Quantized] = {
    "qdq-mlp": (mlp, calibrated),
    "qdq-mlp-matmul": (partial(mlp, form="matmul"), calibrated),
    "dynamic-mlp": (partial(mlp, form="matmul"), quantize_dynamic),
    "qdq-squeezenet": (lambda: with_logits(light_model("squeezenet")), calibrated),
    "qoperator-squeezenet": (
        lambda: with_logits(light_model("squeezenet")),
        partial(calibrated, qdq=False),
    ),
    "dynamic-squeezenet": (
        lambda: with_logits(light_model("squeezenet")),
        partial(quantize_dynamic, unsigned_weights=True),
    ),
}  # fmt: skip
LIGHT_QDQ_MODELS: dict[str, Quantized] = {
    f"qdq-{name}": (partial(lambda name: with_logits(light_model(name)), name), calibrated)
    for name in LIGHT_MODELS
}
MODELS = SMALL_MODELS | LIGHT_QDQ_MODELS
GROUPS = {"small": tuple(SMALL_MODELS), "light": tuple(LIGHT_QDQ_MODELS)}
"""`--models` accepts these group names besides model names."""


def measure(name: str, threads: Sequence[int], repeat: int, warmup: int) -> dict[str, Any]:
    """One model's row: per thread count the medians (ms) of the three engines."""
    from lamina.compiler import compile as lamina_compile

    make_float, quantize = MODELS[name]
    fp32 = make_float()
    int8 = quantize(fp32)
    feeds = random_inputs(int8)
    row: dict[str, Any] = {"model": name, "ms": {}, "error": ""}
    for t in threads:
        lamina_int8 = partial(lamina_compile(int8, "host", threads=t), **feeds)
        lamina_fp32 = partial(lamina_compile(fp32, "host", threads=t), **random_inputs(fp32))
        ort_int8 = partial(onnxruntime_session(int8, t), feeds)
        mismatch = quantized_mismatch(int8, lamina_int8(), ort_int8())
        if mismatch is not None:
            row["error"] = f"{t} threads: {mismatch}"
        engines = {"int8": lamina_int8, "ort": ort_int8, "fp32": lamina_fp32}
        row["ms"][t] = median_ms_in_turns(engines, warmup, repeat)
    return row


def table(rows: list[dict[str, Any]], threads: Sequence[int]) -> str:
    head = f"{'model':<22}"
    for t in threads:
        head += f" | {t}T int8 ms {'ort ms':>7} {'fp32 ms':>8} {'/ort':>5} {'/fp32':>5}"
    lines = [head, "-" * len(head)]
    ratios: dict[tuple[int, str], list[float]] = {
        (t, k): [] for t in threads for k in ("ort", "fp32")
    }
    for row in rows:
        line = f"{row['model']:<22}"
        for t in threads:
            ms = row["ms"][t]
            to_ort, to_fp32 = ms["int8"] / ms["ort"], ms["int8"] / ms["fp32"]
            if not row["error"]:  # a row that computes the wrong thing has no speed to count
                ratios[t, "ort"].append(to_ort)
                ratios[t, "fp32"].append(to_fp32)
            line += f" | {ms['int8']:>12.3f} {ms['ort']:>7.3f} {ms['fp32']:>8.3f}"
            line += f" {to_ort:>5.2f} {to_fp32:>5.2f}"
        lines.append(line + (f"   MISMATCH {row['error']}" if row["error"] else ""))
    counted = sum(1 for row in rows if not row["error"])
    footer = f"{f'geomean ({counted} of {len(rows)} match)':<22}"
    for t in threads:
        means = [statistics.geometric_mean(r) if r else float("nan") for r in
                 (ratios[t, "ort"], ratios[t, "fp32"])]  # fmt: skip
        footer += f" | {'':>12} {'':>7} {'':>8} {means[0]:>5.2f} {means[1]:>5.2f}"
    return "\n".join([*lines, footer])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--models", default="small", help="names or groups: small, light")
    parser.add_argument("--threads", default="1,2", help="thread counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args(argv)
    names = [name for item in args.models.split(",") for name in GROUPS.get(item, (item,))]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error(f"unknown models {unknown}; known: {', '.join(MODELS)}")
    threads = [int(t) for t in args.threads.split(",")]
    print(f"CPU: {cpu_name()}; {args.repeat} timed rounds after {args.warmup} warm-up")
    rows = []
    for name in names:
        rows.append(in_fresh_process(measure, name, threads, args.repeat, args.warmup))
        print(f"  {name} done", flush=True)
    print(table(rows, threads))
    return exit_status(rows)


if __name__ == "__main__":
    sys.exit(main())
