"""Per-op latency of conv layers (ResNet-50 and SqueezeNet shapes) against onnxruntime,
each layer a single-Conv ONNX model, both on one thread:

    .venv/bin/python -m lamina.benchmarks.ops [--repeats 10] [--only resnet]

Prints, per layer, lamina's and onnxruntime's best time and their ratio (lamina / ort,
lower is better), then the geometric mean of the ratios.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "LAMINA_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

# (name, C, H, W, F, K, stride, pad)
LAYERS = [
    ("resnet conv1 7x7/2", 3, 224, 224, 64, 7, 2, 3),
    ("resnet 1x1 64->64 @56", 64, 56, 56, 64, 1, 1, 0),
    ("resnet 3x3 64 @56", 64, 56, 56, 64, 3, 1, 1),
    ("resnet 1x1 64->256 @56", 64, 56, 56, 256, 1, 1, 0),
    ("resnet 3x3 128/2 @56", 128, 56, 56, 128, 3, 2, 1),
    ("resnet 3x3 256 @14", 256, 14, 14, 256, 3, 1, 1),
    ("resnet 1x1 1024->256 @14", 1024, 14, 14, 256, 1, 1, 0),
    ("resnet 3x3 512 @7", 512, 7, 7, 512, 3, 1, 1),
    ("resnet 1x1 512->2048 @7", 512, 7, 7, 2048, 1, 1, 0),
    ("squeezenet conv1 3x3/2", 3, 224, 224, 64, 3, 2, 0),
    ("squeezenet squeeze 1x1 @55", 128, 55, 55, 16, 1, 1, 0),
    ("squeezenet expand 3x3 @55", 16, 55, 55, 64, 3, 1, 1),
    ("squeezenet expand 3x3 @13", 64, 13, 13, 256, 3, 1, 1),
]


def conv_model(c: int, h: int, w: int, f: int, k: int, stride: int, pad: int) -> onnx.ModelProto:
    """One Conv (with bias) on a 1 x c x h x w input, He-scaled random weights."""
    rng = np.random.default_rng(0)
    weight = (rng.standard_normal((f, c, k, k)) * np.sqrt(2 / (c * k * k))).astype(np.float32)
    bias = (0.1 * rng.standard_normal(f)).astype(np.float32)
    node = helper.make_node(
        "Conv", ["x", "w", "b"], ["y"], kernel_shape=[k, k], strides=[stride] * 2, pads=[pad] * 4
    )
    graph = helper.make_graph(
        [node],
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, h, w])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return onnx.shape_inference.infer_shapes(model)


def best_time(fn: Callable[[], object], repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    import onnxruntime as ort

    import lamina

    parser = argparse.ArgumentParser(description="conv layers: lamina vs onnxruntime, 1 thread")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--only", default="", help="run the layers whose name contains this")
    args = parser.parse_args()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    ratios: list[float] = []
    for name, c, h, w, f, k, stride, pad in LAYERS:
        if args.only not in name:
            continue
        model = conv_model(c, h, w, f, k, stride, pad)
        x = np.random.default_rng(1).standard_normal((1, c, h, w)).astype(np.float32)
        compiled = lamina.compile(model)
        session = ort.InferenceSession(model.SerializeToString(), options)
        (expected,) = session.run(None, {"x": x})
        (got,) = compiled(x)
        error = float(np.abs(got - expected).max())
        ours = best_time(lambda: compiled(x), args.repeats)  # noqa: B023
        theirs = best_time(lambda: session.run(None, {"x": x}), args.repeats)  # noqa: B023
        ratios.append(ours / theirs)
        print(
            f"{name:28s} lamina {ours * 1e3:8.3f} ms  ort {theirs * 1e3:8.3f} ms  "
            f"ratio {ours / theirs:5.2f}x  (max abs error {error:.1e})"
        )
    if ratios:
        print(f"geomean ratio (lamina / ort): {float(np.exp(np.mean(np.log(ratios)))):.2f}x")


if __name__ == "__main__":
    main()
