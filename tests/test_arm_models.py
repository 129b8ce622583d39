"""Models compiled for cortex-a76 (AOT bundle, codegen/aot.py) and run under qemu-aarch64
(runtime/qemu.py), against onnxruntime on the same inputs; unsupported models fail with the
node, op and device named and leave no bundle."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import lamina.compiler as compiler
from lamina.compiler import compile_bundle, import_model, lower
from lamina.lowering.loop_to_neon import LoopToNeonPass, neon_ops
from lamina.runtime.qemu import run_bundle
from lamina.targets import load_device
from lamina.tools.models import light_model, mlp, random_inputs, with_logits
from lamina.universe import LAMINA_PASSES

DEVICE = "cortex-a76"
# fp32 sums of hundreds of products in a different order (and fused on AArch64) than
# onnxruntime's: relative differences near 1e-5 on O(1) values, absolute near 1e-6 on ~0.
RTOL, ATOL = 1e-3, 1e-4


def convnet(seed: int = 0) -> onnx.ModelProto:
    """Two 3x3 convolutions (6 and 16 filters: GEMM panels with a 2-row tail) with ReLU."""
    rng = np.random.default_rng(seed)
    w1 = (rng.standard_normal((6, 3, 3, 3)) * 0.3).astype(np.float32)
    w2 = (rng.standard_normal((16, 6, 3, 3)) * 0.2).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["y"], strides=[2, 2]),
    ]
    graph = helper.make_graph(
        nodes,
        "convnet",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 20, 20])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 9, 9])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def check_against_onnxruntime(model: onnx.ModelProto, tmp_path: Path) -> None:
    feeds = random_inputs(model)
    bundle = compile_bundle(model, DEVICE, tmp_path / "bundle")
    assert bundle.triple.startswith("aarch64")
    run = run_bundle(tmp_path / "bundle", feeds)
    expected = ort.InferenceSession(model.SerializeToString()).run(None, feeds)
    assert len(run.outputs) == len(expected)
    for got, want in zip(run.outputs, expected, strict=True):
        np.testing.assert_allclose(got, np.asarray(want), rtol=RTOL, atol=ATOL)


def test_mlp_on_cortex_a76_under_qemu_matches_onnxruntime(tmp_path: Path):
    check_against_onnxruntime(mlp(form="matmul"), tmp_path)


def test_squeezenet_on_cortex_a76_under_qemu_matches_onnxruntime(tmp_path: Path):
    check_against_onnxruntime(with_logits(light_model("squeezenet")), tmp_path)


def test_convnet_through_loop_to_neon_under_qemu_matches_onnxruntime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # The device with `passes = ['loop-to-neon{...}']` (what targets/cortex-a76.toml gets).
    a76 = load_device(DEVICE)
    passes = ['loop-to-neon{device="cortex-a76"}']
    device = dataclasses.replace(a76, extra={**a76.extra, "passes": passes})
    monkeypatch.setitem(LAMINA_PASSES, "loop-to-neon", lambda: LoopToNeonPass)
    monkeypatch.setattr(compiler, "load_device", lambda name: device)
    model = convnet()
    lowered = lower(import_model(model), device)
    assert {op.name for op in neon_ops(lowered)} == {"neon.fmla_lane"}
    assert not [op for op in lowered.walk() if op.name == "vector.fma"]
    check_against_onnxruntime(model, tmp_path)


def test_unsupported_op_names_node_op_and_device_and_leaves_no_bundle(tmp_path: Path):
    node = helper.make_node("Bernoulli", ["x"], ["y"], name="coin")
    graph = helper.make_graph(
        [node],
        "coin",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 3])],
    )
    path = tmp_path / "coin.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lamina.tools.compile",
            str(path),
            "--device",
            DEVICE,
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    message = result.stderr.strip().splitlines()[-1]  # after the progress lines
    assert "'graph.bernoulli'" in message and "node 'coin'" in message, message
    assert f"device '{DEVICE}'" in message
    assert not out.exists()
