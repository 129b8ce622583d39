"""Whole models end to end against onnxruntime, through both ways lamina runs them: the host
JIT (`lamina.compile`) and the host AOT bundle (codegen/aot.py: object + C driver built with
cc, run as a separate process without Python).

Tolerances: rtol 1e-3 / atol 1e-4. Every output is an f32 sum of up to thousands of
products per layer, added in another order (and contracted to FMAs differently) than
onnxruntime's MLAS kernels do; over SqueezeNet's 26 layers the relative differences grow
to ~1e-4 on the logits, and probabilities near zero need the absolute floor.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import lamina
from lamina.compiler import compile_bundle
from lamina.runtime.qemu import run_bundle
from lamina.tools.models import light_model, mlp, random_inputs, with_logits

RTOL, ATOL = 1e-3, 1e-4


def matmul(m: int, k: int, n: int) -> onnx.ModelProto:
    """C = A @ B with both operands graph inputs (a bundle with two inputs)."""
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        "matmul",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [m, k]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [k, n]),
        ],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [m, n])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


MODELS: dict[str, Callable[[], onnx.ModelProto]] = {
    "squeezenet": lambda: with_logits(light_model("squeezenet")),
    "mlp_784_512_512_10": lambda: mlp(batch=4),
    "matmul_192x256x128": lambda: matmul(192, 256, 128),
}
"""The models small enough to compile twice in the test budget (SqueezeNet: ~6 s of LLVM
per compile; ShuffleNet's 18 s leaves it to benchmarks/latency.py)."""


def onnxruntime_outputs(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return [np.asarray(x) for x in session.run(None, feeds)]


def assert_matches(got: list[np.ndarray], want: list[np.ndarray]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", MODELS)
def test_jit_matches_onnxruntime(name: str):
    model = MODELS[name]()
    feeds = random_inputs(model)
    compiled = lamina.compile(model)
    assert_matches(compiled(**feeds), onnxruntime_outputs(model, feeds))


@pytest.mark.parametrize("name", MODELS)
def test_host_bundle_matches_onnxruntime(name: str, tmp_path: Path):
    model = MODELS[name]()
    feeds = random_inputs(model)
    bundle = compile_bundle(model, "host", tmp_path / name)
    assert [spec.name for spec in bundle.inputs] == list(feeds)
    run = run_bundle(bundle.directory, feeds)
    assert_matches(run.outputs, onnxruntime_outputs(model, feeds))
