"""`make demo`: take a real model through what lamina can do today, saying each step.

SqueezeNet from the onnx wheel (seeded random weights) is imported into the `graph`
dialect, printed as text and parsed back, run on lamina's reference interpreter, then
compiled by lamina for this machine (host JIT) and compared with onnxruntime: top-5
classes and latency of both, and the reference interpreter's result as a cross-check.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from io import StringIO

import numpy as np

MODEL = "squeezenet"


def _median_ms(run: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> int:
    from xdsl.printer import Printer

    from lamina.context import make_context
    from lamina.dialects.weights import printing_weights
    from lamina.parser.onnx import import_onnx
    from lamina.runtime.reference import run_reference
    from lamina.tools.models import light_model
    from lamina.tools.opt import LocatingParser

    print(
        f"1. load light_{MODEL}.onnx from the onnx wheel, weights replaced by seeded random values"
    )
    model = light_model(MODEL, seed=0)
    start = time.perf_counter()
    module = import_onnx(model)
    print(f"2. import into the graph dialect: {(time.perf_counter() - start) * 1e3:.0f} ms")
    ops = Counter(op.name for op in module.walk() if op.name.startswith("graph."))
    print("   ops: " + ", ".join(f"{name} x{n}" for name, n in ops.most_common()))

    text = StringIO()
    with printing_weights(True):
        printer = Printer(stream=text)
        printer.print_op(module)
        printer.print_metadata(make_context().loaded_dialects)
    reparsed = LocatingParser(make_context(), text.getvalue(), "squeezenet.mlir").parse_module()
    print(f"3. print as text ({len(text.getvalue()) / 1e6:.1f} MB with weights) and parse back")

    graph_input = model.graph.input[0]
    shape = [d.dim_value for d in graph_input.type.tensor_type.shape.dim]
    image = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    feeds = {graph_input.name: image}
    # by position: text printed without locations no longer carries the ONNX input names
    (reference,) = run_reference(reparsed, [image])
    latency = _median_ms(lambda: run_reference(reparsed, [image]))
    print(f"4. run on the reference interpreter (numpy): {latency:.1f} ms median of 5")

    import lamina

    compiled = lamina.compile(model, "host")
    seconds = sum(compiled.stats.seconds.values())
    print(
        f"5. compile with lamina for the host ({compiled.device.cpu}, "
        f"{compiled.function.jit.device.cores} threads): {seconds:.1f} s"
    )
    (probs,) = compiled(image)
    lamina_latency = _median_ms(lambda: compiled(image))

    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, feeds)
    ort_latency = _median_ms(lambda: session.run(None, feeds))
    flat, want = np.asarray(probs).reshape(-1), np.asarray(expected).reshape(-1)
    cross = np.abs(np.asarray(reference).reshape(-1) - flat).max()
    print(
        f"6. latency, median of 5: lamina {lamina_latency:.1f} ms, onnxruntime "
        f"{ort_latency:.1f} ms ({lamina_latency / ort_latency:.1f}x)"
    )
    print(f"   max abs difference: vs onnxruntime {np.abs(flat - want).max():.2e}, ", end="")
    print(f"vs the reference interpreter {cross:.2e}")
    print("   top-5 (class: lamina / onnxruntime):")
    lamina_top, ort_top = np.argsort(flat)[::-1][:5], np.argsort(want)[::-1][:5]
    for mine, theirs in zip(lamina_top, ort_top, strict=True):
        print(f"     #{mine:<4} {flat[mine]:.5f}   /   #{theirs:<4} {want[theirs]:.5f}")
    ok = np.allclose(flat, want, rtol=1e-3, atol=1e-4) and cross < 1e-4
    print("result:", "matches onnxruntime" if ok else "DOES NOT match onnxruntime")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
