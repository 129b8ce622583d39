"""Fuzz the TFLite door: seeded mutations (tools/tflite_mutations.py) of a small built
model, of real MediaPipe models and of one quantized to int8 (tools/tflite_quantize.py), each imported and verified like `lamina.compile`
does; prints the outcomes per seed model and the first failing mutations.

    .venv/bin/python -m lamina.benchmarks.tflite_fuzz --count 2000 --seed 1

Every mutation must import or end in a `LaminaError` (a diagnostic) within --hang-s
seconds; exits 1 on any other exception (a traceback) or a hang.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from types import FrameType

from lamina.compiler import import_model
from lamina.errors import LaminaError
from lamina.tools.model_zoo import zoo_model
from lamina.tools.tflite_mutations import mutations, seed_model
from lamina.tools.tflite_quantize import quantize_static

REAL_MODELS = ("mp-face-detection", "mp-palm-detection-lite", "mp-face-detection-sparse")


class _Hang(BaseException):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Hang


def outcome(data: bytes, hang_s: int) -> tuple[str, str]:
    signal.alarm(hang_s)
    try:
        import_model(data)
        return "ok", ""
    except LaminaError:
        return "diagnostic", ""
    except _Hang:
        return "hang", ""
    except Exception as e:  # what the door must never let out
        return "traceback", "".join(traceback.format_exception_only(e)).strip()
    finally:
        signal.alarm(0)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="mutations per seed model")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hang-s", type=int, default=20)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGALRM, _alarm)
    seeds = {"built": seed_model(), **{name: zoo_model(name).read_bytes() for name in REAL_MODELS}}
    seeds["mp-hand-landmark-lite int8"] = quantize_static(zoo_model("mp-hand-landmark-lite"))
    failed = 0
    for name, data in seeds.items():
        counts: Counter[str] = Counter()
        start = time.perf_counter()
        for i, mutated in enumerate(mutations(data, args.count, args.seed)):
            kind, detail = outcome(mutated, args.hang_s)
            counts[kind] += 1
            if kind in ("traceback", "hang") and counts[kind] <= 3:
                print(f"  {name} mutation {i}: {kind} {detail}")
        failed += counts["traceback"] + counts["hang"]
        seconds = time.perf_counter() - start
        summary = ", ".join(f"{k} {counts[k]}" for k in ("ok", "diagnostic", "traceback", "hang"))
        print(f"{name:28} {args.count} mutations in {seconds:.0f} s: {summary}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
