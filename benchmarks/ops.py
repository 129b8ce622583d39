"""Per-op latency of single layers against onnxruntime, each layer a one-node ONNX model,
both on one thread: dense conv (ResNet-50, SqueezeNet), grouped and depthwise conv
(AlexNet, ShuffleNet), fully connected layers at batch 1 (AlexNet / VGG) and pooling:

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
from functools import partial  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from lamina.benchmarks.timing import best_seconds  # noqa: E402

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


# (name, C, H, W, F, K, stride, pad, groups): groups == C is depthwise
GROUPED_LAYERS = [
    ("alexnet conv2 5x5 g2 @27", 96, 27, 27, 256, 5, 1, 2, 2),
    ("alexnet conv4 3x3 g2 @13", 384, 13, 13, 384, 3, 1, 1, 2),
    ("shufflenet 1x1 g4 @28", 136, 28, 28, 136, 1, 1, 0, 4),
    ("shufflenet 1x1 g4 @14", 272, 14, 14, 272, 1, 1, 0, 4),
    ("shufflenet dw 3x3 @28", 136, 28, 28, 136, 3, 1, 1, 136),
    ("shufflenet dw 3x3/2 @28", 136, 28, 28, 136, 3, 2, 1, 136),
    ("shufflenet dw 3x3 @7", 544, 7, 7, 544, 3, 1, 1, 544),
]

# (name, K, N): Gemm(transB) with bias on a 1 x K input
FC_LAYERS = [
    ("alexnet fc6 9216->4096", 9216, 4096),
    ("vgg fc7 4096->4096", 4096, 4096),
    ("alexnet fc8 4096->1000", 4096, 1000),
    ("densenet fc 1024->1000", 1024, 1000),
]

# (name, op, C, H, W, K, stride, pad)
POOL_LAYERS = [
    ("alexnet maxpool 3x3/2 @54", "MaxPool", 96, 54, 54, 3, 2, 0),
    ("resnet maxpool 3x3/2 @112", "MaxPool", 64, 112, 112, 3, 2, 1),
    ("vgg maxpool 2x2/2 @56", "MaxPool", 256, 56, 56, 2, 2, 0),
    ("densenet avgpool 2x2/2 @56", "AveragePool", 128, 56, 56, 2, 2, 0),
    ("inception avgpool 3x3/1 @28", "AveragePool", 256, 28, 28, 3, 1, 1),
    ("resnet global avgpool @7", "GlobalAveragePool", 2048, 7, 7, 0, 0, 0),
]


def _model(node: onnx.NodeProto, x_shape: list[int], weights: list[np.ndarray]) -> onnx.ModelProto:
    names = node.input[1:]
    graph = helper.make_graph(
        [node],
        node.op_type.lower(),
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w, n) for w, n in zip(weights, names, strict=True)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return onnx.shape_inference.infer_shapes(model)


def conv_model(
    c: int, h: int, w: int, f: int, k: int, stride: int, pad: int, groups: int = 1
) -> onnx.ModelProto:
    """One Conv (with bias) on a 1 x c x h x w input, He-scaled random weights."""
    rng = np.random.default_rng(0)
    cg = c // groups
    weight = (rng.standard_normal((f, cg, k, k)) * np.sqrt(2 / (cg * k * k))).astype(np.float32)
    bias = (0.1 * rng.standard_normal(f)).astype(np.float32)
    node = helper.make_node(
        "Conv",
        ["x", "w", "b"],
        ["y"],
        kernel_shape=[k, k],
        strides=[stride] * 2,
        pads=[pad] * 4,
        group=groups,
    )
    return _model(node, [1, c, h, w], [weight, bias])


def fc_model(k: int, n: int) -> onnx.ModelProto:
    """Gemm(transB) with bias on a 1 x k input, as ONNX exports of FC layers are."""
    rng = np.random.default_rng(0)
    weight = (rng.standard_normal((n, k)) * np.sqrt(2 / k)).astype(np.float32)
    bias = (0.1 * rng.standard_normal(n)).astype(np.float32)
    node = helper.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)
    return _model(node, [1, k], [weight, bias])


def pool_model(op: str, c: int, h: int, w: int, k: int, stride: int, pad: int) -> onnx.ModelProto:
    attrs: dict[str, Any] = {}
    if not op.startswith("Global"):
        attrs = {"kernel_shape": [k, k], "strides": [stride] * 2}
    if pad:
        attrs["pads"] = [pad] * 4
    return _model(helper.make_node(op, ["x"], ["y"], **attrs), [1, c, h, w], [])


def all_layers() -> list[tuple[str, Callable[[], onnx.ModelProto]]]:
    """Every benchmarked layer as (name, a function building its model)."""
    layers: list[tuple[str, Callable[[], onnx.ModelProto]]] = []
    for name, *conv in LAYERS:
        layers.append((name, partial(conv_model, *conv)))
    for name, *conv in GROUPED_LAYERS:
        layers.append((name, partial(conv_model, *conv)))
    for name, k, n in FC_LAYERS:
        layers.append((name, partial(fc_model, k, n)))
    for name, *pool in POOL_LAYERS:
        layers.append((name, partial(pool_model, *pool)))
    return layers


def main() -> None:
    import onnxruntime as ort

    import lamina

    parser = argparse.ArgumentParser(description="single layers: lamina vs ort, 1 thread")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--only", default="", help="run the layers whose name contains this")
    args = parser.parse_args()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    ratios: list[float] = []
    for name, build in all_layers():
        if args.only not in name:
            continue
        model = build()
        dims = model.graph.input[0].type.tensor_type.shape.dim
        x = np.random.default_rng(1).standard_normal([d.dim_value for d in dims])
        x = x.astype(np.float32)
        start = time.perf_counter()
        compiled = lamina.compile(model)
        compile_s = time.perf_counter() - start
        session = ort.InferenceSession(model.SerializeToString(), options)
        (expected,) = session.run(None, {"x": x})
        (got,) = compiled(x)
        error = float(np.abs(got - expected).max())
        ours = best_seconds(lambda: compiled(x), args.repeats)  # noqa: B023
        theirs = best_seconds(lambda: session.run(None, {"x": x}), args.repeats)  # noqa: B023
        ratios.append(ours / theirs)
        print(
            f"{name:30s} lamina {ours * 1e3:8.3f} ms  ort {theirs * 1e3:8.3f} ms  "
            f"ratio {ours / theirs:5.2f}x  (max abs error {error:.1e}, compile {compile_s:.1f} s)"
        )
    if ratios:
        print(f"geomean ratio (lamina / ort): {float(np.exp(np.mean(np.log(ratios)))):.2f}x")


if __name__ == "__main__":
    main()
