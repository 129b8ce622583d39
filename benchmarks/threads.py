"""Latency with 1 and N threads, lamina against onnxruntime at the same thread counts.

    .venv/bin/python -m lamina.benchmarks.threads [--models squeezenet resnet50] [--threads 2]

For each model: compile once per thread count (`lamina.compile(..., threads=t)`), check
that the outputs with t threads equal those with 1, then time every configuration
interleaved (round-robin, median of `--repeat` calls each) so that load from other users of
the machine hits all of them alike. Printed: medians, the t-thread speed-up of each engine,
and lamina / onnxruntime at each thread count; plus compile seconds (LLVM's share apart).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import onnx

from lamina.compiler import compile as lamina_compile
from lamina.tools.models import light_model, random_inputs


def _onnxruntime(model: onnx.ModelProto, threads: int) -> Callable[[dict[str, np.ndarray]], object]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return lambda feeds: session.run(None, feeds)


def bench_model(name: str, threads: int, repeat: int) -> None:
    model = light_model(name)
    feeds = random_inputs(model)
    inputs = [feeds[i.name] for i in model.graph.input if i.name in feeds]
    runs: dict[str, Callable[[], object]] = {}
    outputs: dict[int, list[np.ndarray]] = {}
    for t in sorted({1, threads}):
        start = time.perf_counter()
        compiled = lamina_compile(model, threads=t)
        total = time.perf_counter() - start
        print(
            f"{name}: compile ({t} thread(s)) {total:.2f} s, llvm {compiled.stats.seconds['llvm']:.2f} s"
        )
        outputs[t] = compiled(*inputs)
        runs[f"lamina x{t}"] = lambda c=compiled: c(*inputs)
        session = _onnxruntime(model, t)
        runs[f"onnxruntime x{t}"] = lambda r=session: r(feeds)
    for a, b in zip(outputs[1], outputs[threads], strict=True):
        if not np.array_equal(a, b):
            print(f"{name}: WARNING outputs differ with {threads} threads")
    times: dict[str, list[float]] = {k: [] for k in runs}
    for fn in runs.values():
        fn()  # warm up
    for _ in range(repeat):
        for key, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    median = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    for key, ms in median.items():
        print(f"{name}: {key:18s} {ms:9.2f} ms")
    for engine in ("lamina", "onnxruntime"):
        speedup = median[f"{engine} x1"] / median[f"{engine} x{threads}"]
        print(f"{name}: {engine} speed-up x{threads} / x1 = {speedup:.2f}")
    for t in sorted({1, threads}):
        ratio = median[f"lamina x{t}"] / median[f"onnxruntime x{t}"]
        print(f"{name}: lamina / onnxruntime at {t} thread(s) = {ratio:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description="lamina vs onnxruntime latency, 1 and N threads")
    parser.add_argument("--models", nargs="+", default=["squeezenet", "resnet50"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    for name in args.models:
        bench_model(name, args.threads, args.repeat)


if __name__ == "__main__":
    main()
