"""lamina against LiteRT on MediaPipe's models quantized to int8 (tools/tflite_quantize.py:
Google's AI Edge Quantizer, static int8), side by side in one run: how many output
elements equal LiteRT's int8 run and how many are within one quantization step, the
largest difference in steps, and the median latency of each (same inputs and threads)
with their ratio and geomean. A model whose outputs are not all within one step of
LiteRT's is marked and left out of the geomean; the exit status is then 1. Models the
quantizer or LiteRT cannot take are listed as such.

    .venv/bin/python -m lamina.benchmarks.tflite_int8_models --threads 1 --repeat 10
"""

from __future__ import annotations

import math
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import lamina
from lamina.benchmarks.tflite_latency import litert_run, model_arguments
from lamina.benchmarks.timing import median_seconds
from lamina.tools.model_zoo import zoo_model
from lamina.tools.tflite_check import image_feeds, litert_outputs
from lamina.tools.tflite_quantize import quantize_static, quantized_feeds


def agreement(got: list[np.ndarray], want: list[np.ndarray]) -> tuple[float, float, int]:
    """The shares of elements equal and within one step over all outputs, and the largest
    difference in steps."""
    steps = np.concatenate(
        [
            np.abs(g.astype(np.int64) - w.astype(np.int64)).ravel()
            for g, w in zip(got, want, strict=True)
        ]
    )
    return float(np.mean(steps == 0)), float(np.mean(steps <= 1)), int(steps.max(initial=0))


def main(argv: Sequence[str] | None = None) -> int:
    args = model_arguments(argv, __doc__, repeat=10)
    print(f"{'model':34} {'equal':>7} {'<=1 step':>8} {'max':>4} {'lamina ms':>10} "
          f"{'LiteRT ms':>10} {'ratio':>6}  ({args.threads} thread(s))")  # fmt: skip
    ratios: list[float] = []
    failed = 0
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.models:
            path = zoo_model(name)
            try:
                data = quantize_static(path)
                quantized = Path(scratch, f"{name}.tflite")
                quantized.write_bytes(data)
                feeds = quantized_feeds(data, image_feeds(path, seed=0))
                want = litert_outputs(data, feeds)
            except (RuntimeError, ValueError, AttributeError) as err:  # the quantizer's or LiteRT's
                print(f"{name:34} not quantized: {str(err).splitlines()[0][:70]}", flush=True)
                continue
            compiled = lamina.compile(data, threads=args.threads)
            equal, near, most = agreement(compiled(*feeds), want)
            ours = median_seconds(lambda: compiled(*feeds), args.repeat) * 1e3  # noqa: B023 (used at once)
            theirs = median_seconds(litert_run(str(quantized), feeds, args.threads), args.repeat)
            theirs *= 1e3
            mark = ""
            if near == 1.0:
                ratios.append(ours / theirs)
            else:
                failed += 1
                mark = "  steps apart (left out)"
            print(f"{name:34} {equal:7.2%} {near:8.2%} {most:4} {ours:10.3f} {theirs:10.3f} "
                  f"{ours / theirs:6.2f}{mark}", flush=True)  # fmt: skip
    geomean = math.exp(sum(math.log(r) for r in ratios) / len(ratios)) if ratios else math.nan
    print(
        f"{'geomean lamina / LiteRT (int8)':34} {'':7} {'':8} {'':4} {'':10} {'':10} {geomean:6.2f}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
