"""Import, print and parse back the light models (issue: ResNet-50 in under 2 s).

For each model of the onnx wheel (seeded random weights, so ResNet-50 carries its real
100 MB of float32 weights): ONNX import, printing with weights (`--print-weights`), parsing
the text back, and a check that the reparsed weights are the same bytes.
Usage: python benchmarks/import_models.py [model ...]
"""

from __future__ import annotations

import sys
import time
from io import StringIO

import numpy as np
from xdsl.printer import Printer

from lamina.context import make_context
from lamina.dialects.graph import ConstantOp
from lamina.dialects.weights import printing_weights
from lamina.parser.onnx import import_onnx
from lamina.tools.models import LIGHT_MODELS, light_model
from lamina.tools.opt import LocatingParser


def _weights(module) -> list[np.ndarray]:
    return [op.to_array() for op in module.walk() if isinstance(op, ConstantOp)]


def main() -> None:
    names = sys.argv[1:] or ["resnet50", *[m for m in LIGHT_MODELS if m != "resnet50"]]
    ctx = make_context()
    print(
        f"{'model':<14} {'ops':>6} {'weights MB':>10} {'import s':>9} {'print s':>8} "
        f"{'parse s':>8} {'total s':>8}"
    )
    for name in names:
        model = light_model(name)
        start = time.perf_counter()
        module = import_onnx(model)
        imported = time.perf_counter()
        text = StringIO()
        with printing_weights(True):
            printer = Printer(stream=text)
            printer.print_op(module)
            printer.print_metadata(ctx.loaded_dialects)
        printed = time.perf_counter()
        reparsed = LocatingParser(ctx, text.getvalue(), f"{name}.mlir").parse_module()
        parsed = time.perf_counter()
        before, after = _weights(module), _weights(reparsed)
        assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
        n_ops = sum(1 for _ in module.walk())
        megabytes = sum(w.nbytes for w in before) / 1e6
        print(
            f"{name:<14} {n_ops:>6} {megabytes:>10.1f} {imported - start:>9.2f} "
            f"{printed - imported:>8.2f} {parsed - printed:>8.2f} {parsed - start:>8.2f}"
        )


if __name__ == "__main__":
    main()
