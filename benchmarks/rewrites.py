"""The default graph rule set on the light models: time, ops before/after, same outputs.

The issue's bar: applying `graph-default` to ResNet-50 takes under 1 s.
Usage: python benchmarks/rewrites.py [model ...]
"""

from __future__ import annotations

import sys
import time
from collections import Counter

import numpy as np

from lamina.context import make_context
from lamina.parser.onnx import import_onnx
from lamina.rewrites.apply_rules import ApplyRulesPass
from lamina.runtime.reference import run_reference
from lamina.tools.models import LIGHT_MODELS, light_model, random_inputs, with_logits


def _graph_ops(module) -> int:
    return sum(1 for op in module.walk() if op.name.startswith("graph."))


def main() -> None:
    names = sys.argv[1:] or list(LIGHT_MODELS)
    ApplyRulesPass(set="graph-default").apply(
        make_context(), import_onnx(light_model("squeezenet"))
    )
    print(f"{'model':<14} {'ops before':>10} {'ops after':>9} {'rules s':>8} {'max rel diff':>12}")
    for name in names:
        model = with_logits(light_model(name))
        feeds = random_inputs(model)
        module = import_onnx(model)
        before_ops = _graph_ops(module)
        before = run_reference(module, feeds)
        start = time.perf_counter()
        ApplyRulesPass(set="graph-default").apply(make_context(), module)
        seconds = time.perf_counter() - start
        after = run_reference(module, feeds)
        rel = max(
            float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))
            for a, b in zip(after, before, strict=True)
        )
        kinds = Counter(op.name for op in module.walk() if op.name.startswith("graph."))
        print(
            f"{name:<14} {before_ops:>10} {_graph_ops(module):>9} {seconds:>8.3f} {rel:>12.2e}"
            f"   {', '.join(f'{k[6:]} x{v}' for k, v in kinds.most_common(4))}"
        )


if __name__ == "__main__":
    main()
