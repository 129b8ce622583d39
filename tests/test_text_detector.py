"""Text detectors whose heads upsample with ConvTranspose, against onnxruntime on the same
seeded inputs: the real PP-OCRv4 DB detector (ppocr-det, real weights from its public
wheel) and a DB-style detector built here (conv backbone, FPN with nearest Resize + Add /
Concat, head Conv-BN-Relu -> ConvTranspose k2 s2 -> BN-Relu -> ConvTranspose k2 s2 ->
Sigmoid), on the host JIT and as cortex-a76 bundles under qemu-aarch64.

Both the probability map and the pre-sigmoid logits (`with_pre_sigmoid`) are compared at
the output's scale: max|err| <= 1e-3 * max|ref| + 1e-4 (f32 sums of a few hundred products
per layer, in another order than onnxruntime's, over ~20 layers).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from lamina.compiler import compile as lamina_compile
from lamina.compiler import compile_bundle
from lamina.runtime.qemu import run_bundle
from lamina.tools.model_zoo import zoo_model
from lamina.tools.models import with_pre_sigmoid

F: int = TensorProto.FLOAT


def close_at_scale(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    error, bound = float(np.abs(got - want).max()), 1e-3 * float(np.abs(want).max()) + 1e-4
    assert error <= bound, f"max|err| {error:.3g} > {bound:.3g}"


def image(shape: list[int], seed: int = 0) -> np.ndarray:
    """A normalised image-like input: smooth blobs plus noise, about N(0, 1)."""
    rng = np.random.default_rng(seed)
    coarse = rng.standard_normal((*shape[:2], shape[2] // 8 + 1, shape[3] // 8 + 1))
    smooth = coarse.repeat(8, axis=2).repeat(8, axis=3)[..., : shape[2], : shape[3]]
    return (smooth + 0.3 * rng.standard_normal(shape)).astype(np.float32)


def onnxruntime_outputs(model: onnx.ModelProto, x: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return [np.asarray(y) for y in session.run(None, {"x": x})]


def ppocr_det() -> onnx.ModelProto:
    return with_pre_sigmoid(onnx.load(str(zoo_model("ppocr-det"))))


@pytest.mark.parametrize("shape", [[1, 3, 96, 96], [1, 3, 160, 224]], ids=["96x96", "160x224"])
def test_ppocr_det_on_host_matches_onnxruntime(shape: list[int]):
    model = ppocr_det()
    x = image(shape)
    probability, logits = lamina_compile(model, input_shapes={"x": shape})(x)
    want_probability, want_logits = onnxruntime_outputs(model, x)
    assert probability.shape == (1, 1, *shape[2:])
    close_at_scale(logits, want_logits)
    close_at_scale(probability, want_probability)


def test_ppocr_det_on_cortex_a76_under_qemu_matches_onnxruntime(tmp_path: Path):
    model, shape = ppocr_det(), [1, 3, 64, 64]
    x = image(shape, seed=1)
    compile_bundle(model, "cortex-a76", tmp_path / "bundle", input_shapes={"x": shape})
    probability, logits = run_bundle(tmp_path / "bundle", {"x": x}).outputs
    want_probability, want_logits = onnxruntime_outputs(model, x)
    close_at_scale(logits, want_logits)
    close_at_scale(probability, want_probability)


def _conv(rng: np.random.Generator, name: str, c: int, f: int, k: int) -> list[onnx.TensorProto]:
    w = rng.standard_normal((f, c, k, k)) * np.sqrt(2 / (c * k * k))
    b = rng.standard_normal(f) * 0.1
    return [numpy_helper.from_array(w.astype(np.float32), f"{name}_w"),
            numpy_helper.from_array(b.astype(np.float32), f"{name}_b")]  # fmt: skip


def _batch_norm(rng: np.random.Generator, name: str, c: int) -> list[onnx.TensorProto]:
    params = [1 + 0.2 * rng.standard_normal(c), 0.1 * rng.standard_normal(c),
              0.1 * rng.standard_normal(c), 0.5 + rng.random(c)]  # fmt: skip
    return [numpy_helper.from_array(p.astype(np.float32), f"{name}_{part}")
            for p, part in zip(params, ["scale", "bias", "mean", "var"], strict=True)]  # fmt: skip


def _conv_transpose(rng: np.random.Generator, name: str, c: int, f: int) -> list[onnx.TensorProto]:
    w = rng.standard_normal((c, f, 2, 2)) * np.sqrt(2 / c)
    return [numpy_helper.from_array(w.astype(np.float32), f"{name}_w"),
            numpy_helper.from_array((0.1 * rng.standard_normal(f)).astype(np.float32), f"{name}_b")]  # fmt: skip


def db_detector(height: int, width: int, seed: int = 0) -> onnx.ModelProto:
    """A small DB-style text detector for a 1x3xHxW image (H, W multiples of 8) with seeded
    weights; output `maps` [1, 1, H, W] (probabilities) and its logits."""
    rng = np.random.default_rng(seed)
    n = helper.make_node
    weights = [*_conv(rng, "c1", 3, 8, 3), *_conv(rng, "c2", 8, 16, 3), *_conv(rng, "c3", 16, 32, 3),
               *_conv(rng, "l2", 16, 16, 1), *_conv(rng, "l3", 32, 16, 1), *_conv(rng, "h1", 32, 8, 3),
               *_batch_norm(rng, "bn1", 8), *_conv_transpose(rng, "t1", 8, 8),
               *_batch_norm(rng, "bn2", 8), *_conv_transpose(rng, "t2", 8, 1),
               numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "x2")]  # fmt: skip

    def conv(name: str, x: str, stride: int, pad: int) -> onnx.NodeProto:
        return n(
            "Conv", [x, f"{name}_w", f"{name}_b"], [name], strides=[stride] * 2, pads=[pad] * 4
        )

    def bn(name: str, x: str) -> onnx.NodeProto:
        parts = [f"{name}_{p}" for p in ("scale", "bias", "mean", "var")]
        return n("BatchNormalization", [x, *parts], [name])

    nodes = [
        conv("c1", "x", 2, 1), n("Relu", ["c1"], ["r1"]),  # H/2
        conv("c2", "r1", 2, 1), n("Relu", ["c2"], ["r2"]),  # H/4
        conv("c3", "r2", 2, 1), n("Relu", ["c3"], ["r3"]),  # H/8
        conv("l2", "r2", 1, 0), conv("l3", "r3", 1, 0),
        n("Resize", ["l3", "", "x2"], ["u3"], mode="nearest"),
        n("Add", ["l2", "u3"], ["p2"]),
        n("Concat", ["p2", "u3"], ["fused"], axis=1),  # 32 channels at H/4
        conv("h1", "fused", 1, 1), bn("bn1", "h1"), n("Relu", ["bn1"], ["a1"]),
        n("ConvTranspose", ["a1", "t1_w", "t1_b"], ["t1"], kernel_shape=[2, 2], strides=[2, 2]),
        bn("bn2", "t1"), n("Relu", ["bn2"], ["a2"]),
        n("ConvTranspose", ["a2", "t2_w", "t2_b"], ["logits"], kernel_shape=[2, 2], strides=[2, 2]),
        n("Sigmoid", ["logits"], ["maps"]),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes,
        "db_detector",
        [helper.make_tensor_value_info("x", F, [1, 3, height, width])],
        [helper.make_tensor_value_info("maps", F, [1, 1, height, width])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return with_pre_sigmoid(model)


def test_db_detector_on_host_matches_onnxruntime():
    model, x = db_detector(64, 96), image([1, 3, 64, 96], seed=2)
    got = lamina_compile(model)(x)
    for g, want in zip(got, onnxruntime_outputs(model, x), strict=True):
        close_at_scale(g, want)


def test_db_detector_on_cortex_a76_under_qemu_matches_onnxruntime(tmp_path: Path):
    model, x = db_detector(48, 64, seed=3), image([1, 3, 48, 64], seed=3)
    compile_bundle(model, "cortex-a76", tmp_path / "bundle")
    got = run_bundle(tmp_path / "bundle", {"x": x}).outputs
    for g, want in zip(got, onnxruntime_outputs(model, x), strict=True):
        close_at_scale(g, want)
