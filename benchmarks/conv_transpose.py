"""Latency of the ConvTranspose layers of the PP-OCRv4 DB text detector (ppocr-det) against
onnxruntime, each layer a one-node ONNX model with the model's real filter, at the shapes a
1x3xSxS image gives (S = 640: 24 -> 24 channels 160 -> 320, then 24 -> 1 channel 320 -> 640,
both k2 s2), on one thread:

    .venv/bin/python -m lamina.benchmarks.conv_transpose [--size 640] [--repeat 10] [--whole]

Prints per layer lamina's and onnxruntime's best time (as benchmarks/ops.py: the shared
machine's load inflates medians) and median (timed in alternating turns as in
benchmarks/latency.py), in ms, and the ratios lamina / ort (lower is better); with `--whole`
the whole detector too.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "LAMINA_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from functools import partial  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from lamina.benchmarks.latency import median_ms_in_turns, onnxruntime_session  # noqa: E402
from lamina.benchmarks.timing import best_seconds  # noqa: E402
from lamina.compiler import compile as lamina_compile  # noqa: E402
from lamina.tools.model_zoo import zoo_model  # noqa: E402

DETECTOR_STRIDE_AT_HEAD = 4
"""The DB head reads the FPN's 1/4-resolution map and upsamples it twice by 2."""


def detector_layers(size: int) -> list[tuple[str, onnx.ModelProto]]:
    """The ConvTranspose nodes of ppocr-det as one-node models for a size x size image."""
    model = onnx.load(str(zoo_model("ppocr-det")))
    constants = {
        n.output[0]: numpy_helper.to_array(n.attribute[0].t)
        for n in model.graph.node
        if n.op_type == "Constant"
    }
    side = size // DETECTOR_STRIDE_AT_HEAD
    layers: list[tuple[str, onnx.ModelProto]] = []
    for node in (n for n in model.graph.node if n.op_type == "ConvTranspose"):
        w = constants[node.input[1]]
        c, f, k, _ = w.shape
        out = side * 2
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        layer = helper.make_node("ConvTranspose", ["x", "w"], ["y"], **attrs)
        graph = helper.make_graph(
            [layer],
            node.name,
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, side, side])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, f, out, out])],
            [numpy_helper.from_array(w, "w")],
        )
        name = f"{node.name} {c}->{f} k{k} @{side}"
        layers.append((name, helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])))
        side = out
    return layers


def time_row(name: str, model: onnx.ModelProto, shape: list[int], repeat: int) -> str:
    """One printed row: best and median times of both engines on one seeded input."""
    feeds = {"x": np.random.default_rng(0).standard_normal(shape).astype(np.float32)}
    compiled = lamina_compile(model, "host", input_shapes={"x": shape}, threads=1)
    ort_run = onnxruntime_session(model, 1)
    engines = {"lamina": partial(compiled, **feeds), "ort": partial(ort_run, feeds)}
    for got, want in zip(engines["lamina"](), engines["ort"](), strict=True):
        if not np.allclose(got, want, rtol=1e-3, atol=1e-4):
            return f"{name:36} mismatch: max abs error {np.abs(got - want).max():.3g}"
    best = {engine: best_seconds(call, 3 * repeat) * 1e3 for engine, call in engines.items()}
    ms = median_ms_in_turns(engines, warmup=2, repeat=repeat)
    return (
        f"{name:36} {best['lamina']:12.3f} {best['ort']:9.3f} {best['lamina'] / best['ort']:6.2f}"
        f"  {ms['lamina']:14.3f} {ms['ort']:9.3f} {ms['lamina'] / ms['ort']:6.2f}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="ppocr-det ConvTranspose layers: lamina vs onnxruntime, 1 thread"
    )
    parser.add_argument("--size", type=int, default=640)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--whole", action="store_true", help="also the whole detector")
    args = parser.parse_args(argv)
    header = f"{'best: lamina':>12} {'ort':>9} {'ratio':>6}  {'median: lamina':>14} {'ort':>9}"
    print(f"{'layer':36} {header} {'ratio':>6}")
    for name, model in detector_layers(args.size):
        shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
        print(time_row(name, model, shape, args.repeat))
    if args.whole:
        model = onnx.load(str(zoo_model("ppocr-det")))
        shape = [1, 3, args.size, args.size]
        print(
            time_row(f"ppocr-det {args.size}x{args.size}", model, shape, max(1, args.repeat // 5))
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
