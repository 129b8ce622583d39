"""One convolution (+ RELU6) in both layouts through lamina, and through LiteRT, side by side
in one run: the NHWC form is a one-operator TFLite model (CONV_2D / DEPTHWISE_CONV_2D,
which lamina keeps NHWC: top.conv2d nhwc_hwcf), the NCHW form an ONNX Conv + Clip of the
same weights (nchw_fchw), LiteRT (XNNPACK) runs the TFLite model; the shapes are layers of
the MediaPipe models. Outputs are checked against LiteRT's; times are medians of the
engines timed in alternating turns (benchmarks/latency.py), in ms.

    .venv/bin/python -m lamina.benchmarks.conv_layouts --threads 1 --repeat 20
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import lamina
from lamina.benchmarks.latency import median_ms_in_turns
from lamina.benchmarks.tflite_latency import litert_run
from lamina.parser.tflite_ops import same_pads
from lamina.tools.tflite_builder import TFLiteBuilder
from lamina.tools.tflite_check import litert_outputs, mismatch

RELU6 = 3
"""TFLite's FusedActivationFunction code of RELU6."""


@dataclass(frozen=True)
class Layer:
    """A conv of `size` x `size` x `c` inputs: `kernel`, `stride`, `f` outputs (depthwise:
    f = c, one input channel per output channel); SAME padding."""

    name: str
    size: int
    c: int
    f: int
    kernel: int
    stride: int
    depthwise: bool = False

    @property
    def out(self) -> int:
        return -(-self.size // self.stride)

    def pads(self) -> tuple[int, int]:
        """TFLite SAME, as the importer reads it: the odd pixel at the end."""
        low, high = same_pads([self.size], [self.kernel], [self.stride], [1])
        return low, high


LAYERS = [
    Layer("1x1 24->24 @64 (face detection)", 64, 24, 24, 1, 1),
    Layer("1x1 16->64 @112 (hand landmark)", 112, 16, 64, 1, 1),
    Layer("1x1 128->128 @16", 16, 128, 128, 1, 1),
    Layer("1x1 384->64 @14", 14, 384, 64, 1, 1),
    Layer("3x3/2 3->24 @224 (stem)", 224, 3, 24, 3, 2),
    Layer("5x5/2 3->24 @128 (stem)", 128, 3, 24, 5, 2),
    Layer("dw 3x3 24 @112", 112, 24, 24, 3, 1, True),
    Layer("dw 5x5/2 96 @56", 56, 96, 96, 5, 2, True),
    Layer("dw 3x3 384 @14", 14, 384, 384, 3, 1, True),
]


def tflite_model(layer: Layer, w: np.ndarray, b: np.ndarray) -> bytes:
    """`w` is OHWI (1HWC for a depthwise conv), as TFLite stores it."""
    m = TFLiteBuilder()
    x = m.input("x", [1, layer.size, layer.size, layer.c])
    y = m.tensor("y", [1, layer.out, layer.out, layer.f])
    inputs = [x, m.constant("w", w), m.constant("b", b)]
    stride = layer.stride
    if layer.depthwise:
        m.op("DEPTHWISE_CONV_2D", inputs, [y], "DepthwiseConv2DOptions", Padding=0,
             StrideW=stride, StrideH=stride, DepthMultiplier=1, FusedActivationFunction=RELU6)  # fmt: skip
    else:
        m.op("CONV_2D", inputs, [y], "Conv2DOptions", Padding=0, StrideW=stride,
             StrideH=stride, FusedActivationFunction=RELU6)  # fmt: skip
    m.output(y)
    return m.finish()


def onnx_model(layer: Layer, w: np.ndarray, b: np.ndarray):
    """The same conv as NCHW Conv + Clip(0, 6), the filter as OIHW."""
    oihw = np.transpose(w, (3, 0, 1, 2) if layer.depthwise else (0, 3, 1, 2))
    low, high = layer.pads()
    conv = helper.make_node("Conv", ["x", "w", "b"], ["c"], strides=[layer.stride] * 2,
                            pads=[low, low, high, high], group=layer.c if layer.depthwise else 1)  # fmt: skip
    clip = helper.make_node("Clip", ["c", "lo", "hi"], ["y"])
    graph = helper.make_graph(
        [conv, clip],
        "conv",
        [
            helper.make_tensor_value_info(
                "x", TensorProto.FLOAT, [1, layer.c, layer.size, layer.size]
            )
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, layer.f, layer.out, layer.out])],
        [numpy_helper.from_array(a, n) for a, n in ((oihw, "w"), (b, "b"))]
        + [numpy_helper.from_array(np.array(v, np.float32), n) for v, n in ((0, "lo"), (6, "hi"))],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def measure(layer: Layer, threads: int, repeat: int, scratch: Path) -> dict[str, float]:
    rng = np.random.default_rng(0)
    shape = (1, layer.kernel, layer.kernel, layer.c) if layer.depthwise else (
        layer.f, layer.kernel, layer.kernel, layer.c)  # fmt: skip
    w = (rng.standard_normal(shape) / math.sqrt(layer.kernel**2 * layer.c)).astype(np.float32)
    b = rng.standard_normal(layer.f).astype(np.float32)
    x = rng.standard_normal((1, layer.size, layer.size, layer.c)).astype(np.float32)
    data = tflite_model(layer, w, b)
    nhwc = lamina.compile(data, threads=threads)
    nchw = lamina.compile(onnx_model(layer, w, b), threads=threads)
    x_nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    (want,) = litert_outputs(data, [x])
    (y_nchw,) = nchw(x_nchw)
    for got in (nhwc(x)[0], y_nchw.transpose(0, 2, 3, 1)):
        if (wrong := mismatch([got], [want])) is not None:
            raise SystemExit(f"{layer.name}: {wrong}")
    path = scratch / "layer.tflite"
    path.write_bytes(data)
    engines = {"nhwc": lambda: nhwc(x), "nchw": lambda: nchw(x_nchw),
               "litert": litert_run(str(path), [x], threads)}  # fmt: skip
    return median_ms_in_turns(engines, warmup=2, repeat=repeat)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    print(f"{'layer':34} {'NHWC ms':>8} {'NCHW ms':>8} {'LiteRT':>8} {'NHWC/NCHW':>10} "
          f"{'NHWC/LiteRT':>12}  ({args.threads} thread(s))")  # fmt: skip
    for layer in LAYERS:
        with tempfile.TemporaryDirectory(prefix="lamina-conv-") as scratch:
            ms = measure(layer, args.threads, args.repeat, Path(scratch))
            print(f"{layer.name:34} {ms['nhwc']:8.3f} {ms['nchw']:8.3f} {ms['litert']:8.3f} "
                  f"{ms['nhwc'] / ms['nchw']:10.2f} {ms['nhwc'] / ms['litert']:12.2f}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
