"""lamina against LiteRT (XNNPACK) on real .tflite models, side by side in one run: the
median latency of each on the same inputs and thread count, their ratio per model and the
geomean of the ratios (goal: <= 0.9 at 1 thread). lamina's outputs are checked against
LiteRT's at their scale (the logits a final LOGISTIC reads, tools/tflite_check.py): a row
that does not match says so, stays out of the geomean and makes the exit status 1.

    .venv/bin/python -m lamina.benchmarks.tflite_latency --threads 1 --repeat 20
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence

import numpy as np
from ai_edge_litert.interpreter import Interpreter

import lamina
from lamina.benchmarks.timing import median_seconds
from lamina.parser.tflite import import_tflite
from lamina.parser.tflite_model import read_tflite
from lamina.tools.model_zoo import MEDIAPIPE_MODELS, zoo_model
from lamina.tools.tflite_check import image_feeds, litert_tensors, logits_outputs, mismatch


def litert_run(path: str, feeds: list[np.ndarray], threads: int) -> Callable[[], object]:
    interpreter = Interpreter(model_path=path, num_threads=threads)
    interpreter.allocate_tensors()
    details = interpreter.get_input_details()

    def run() -> None:
        for detail, value in zip(details, feeds, strict=True):
            interpreter.set_tensor(detail["index"], value)
        interpreter.invoke()

    return run


def model_arguments(argv: Sequence[str] | None, doc: str | None, repeat: int) -> argparse.Namespace:
    """--threads, --repeat and --models (MediaPipe's zoo names) of a TFLite benchmark."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=repeat)
    parser.add_argument("--models", nargs="*", default=list(MEDIAPIPE_MODELS))
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = model_arguments(argv, __doc__, repeat=20)
    print(
        f"{'model':34} {'lamina ms':>10} {'LiteRT ms':>10} {'ratio':>7}  ({args.threads} thread(s))"
    )
    ratios: list[float] = []
    for name in args.models:
        path = zoo_model(name)
        model, _ = read_tflite(path)
        logits, feeds = logits_outputs(path), image_feeds(path)
        outputs = [model.tensors[i].name for i in model.outputs]
        # the model's own outputs (what LiteRT computes and is timed on) and the logits, by
        # position: result names come from SSA name hints, which drop a `_1` suffix
        returned = [*outputs, *(n for n in logits if n not in outputs)]
        compiled = lamina.compile(import_tflite(path, outputs=returned), threads=args.threads)
        got = dict(zip(returned, compiled(*feeds), strict=True))
        wrong = mismatch([got[n] for n in logits], litert_tensors(path, logits, feeds))
        ours = median_seconds(lambda: compiled(*feeds), args.repeat) * 1e3  # noqa: B023 (used at once)
        theirs = median_seconds(litert_run(str(path), feeds, args.threads), args.repeat) * 1e3
        if wrong is None:
            ratios.append(ours / theirs)
        check = "" if wrong is None else f"  MISMATCH {wrong} (left out)"
        print(f"{name:34} {ours:10.3f} {theirs:10.3f} {ours / theirs:7.2f}{check}", flush=True)
    geomean = math.exp(sum(math.log(r) for r in ratios) / len(ratios)) if ratios else math.nan
    print(f"{'geomean lamina / LiteRT':34} {'':10} {'':10} {geomean:7.2f}")
    return 0 if len(ratios) == len(args.models) else 1


if __name__ == "__main__":
    sys.exit(main())
