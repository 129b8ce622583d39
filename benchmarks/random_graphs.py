"""Random small graphs (tools/random_graphs.py) compiled for the host and compared with
onnxruntime at the output's scale; prints the counts and every graph that does not match.

    .venv/bin/python -m lamina.benchmarks.random_graphs --count 1000 --seed 1

Exits 1 when any graph does not match, is refused, or fails to compile.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Sequence

import numpy as np
import onnxruntime as ort

from lamina.compiler import compile as lamina_compile
from lamina.errors import LaminaError
from lamina.tools.models import output_mismatch
from lamina.tools.random_graphs import FAMILIES, random_feeds, random_graph


def check_graph(seed: int) -> str | None:
    """None when graph `seed` compiles and matches onnxruntime, else why not."""
    model = random_graph(seed)
    feeds = random_feeds(model, seed)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = np.asarray(session.run(None, feeds)[0])
    try:
        (got,) = lamina_compile(model, opt_level=1)(**feeds)
    except LaminaError as e:
        return f"refused: {e.message.splitlines()[0]}"
    mismatch = output_mismatch(got, want)
    return None if mismatch is None else f"mismatch: {mismatch}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1, help="the first graph's seed")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    outcomes: Counter[tuple[str, str]] = Counter()
    families = list(FAMILIES)
    for seed in range(args.seed, args.seed + args.count):
        family = families[seed % len(families)]
        try:
            problem = check_graph(seed)
        except Exception as e:  # a bug in lamina: reported with the graph, the run goes on
            problem = f"error: {type(e).__name__}: {e}"
        outcomes[(family, "ok" if problem is None else problem.split(":")[0])] += 1
        if problem is not None:
            print(f"graph {seed} ({family}): {problem}", flush=True)
    for family in families:
        counts = {k[1]: v for k, v in outcomes.items() if k[0] == family}
        print(f"{family:<8} " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    good = sum(v for k, v in outcomes.items() if k[1] == "ok")
    print(f"{good} of {args.count} graphs match onnxruntime ({time.perf_counter() - start:.0f} s)")
    return 0 if good == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
