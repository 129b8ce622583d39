"""A real model with run-time control flow: silero-vad-ifless (If on the sample-rate input
`sr`, LSTM cell as Gemm ops) compiled once with static shapes and run with sr = 16000
and sr = 8000 (onnxruntime accepts 512-sample chunks at both rates), on the host JIT and
as a cortex-a76 bundle under qemu-aarch64, against onnxruntime at max|err| <= 1e-3 *
max|ref| + 1e-4 (float32 LSTM gates summed in other orders)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import DYNAMIC_INDEX, NoneType, TensorType

from lamina.compiler import compile as lamina_compile
from lamina.compiler import compile_bundle, import_model
from lamina.context import make_context
from lamina.dialects import graph
from lamina.errors import UnsupportedOpError
from lamina.lowering.graph_to_top import refine_and_fold
from lamina.rewrites.apply_rules import ApplyRulesPass
from lamina.runtime.qemu import run_bundle
from lamina.tests.test_control_flow import if_on_input
from lamina.tools.model_zoo import zoo_model

STATE = {"state": [2, 1, 128]}
SHAPES = {"input": [1, 512], **STATE}
RATES = (16000, 8000)


def vad_feeds(sr: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "input": (rng.standard_normal((1, 512)) * 0.1).astype(np.float32),
        "sr": np.array(sr, np.int64),
        "state": (rng.standard_normal((2, 1, 128)) * 0.1).astype(np.float32),
    }


def assert_matches(got: list[np.ndarray], expected: list[np.ndarray]) -> None:
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g.shape == e.shape and g.dtype == e.dtype
        assert np.max(np.abs(g - e)) <= 1e-3 * np.max(np.abs(e)) + 1e-4


def test_silero_vad_ifless_on_host_serves_both_rates():
    path = zoo_model("silero-vad-ifless")
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    compiled = lamina_compile(path, device="host", input_shapes=SHAPES)
    assert compiled.stats.reads_inputs
    for seed, sr in enumerate(RATES):
        feeds = vad_feeds(sr, seed)
        assert_matches(compiled(**feeds), [np.asarray(e) for e in session.run(None, feeds)])


def test_silero_vad_ifless_on_cortex_a76_under_qemu(tmp_path: Path):
    path = zoo_model("silero-vad-ifless")
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    bundle = compile_bundle(path, "cortex-a76", tmp_path / "vad", input_shapes=SHAPES)
    assert bundle.triple.startswith("aarch64")
    for seed, sr in enumerate(RATES):
        feeds = vad_feeds(sr, seed)
        expected = [np.asarray(e) for e in session.run(None, feeds)]
        assert_matches(run_bundle(tmp_path / "vad", feeds).outputs, expected)


def test_silero_vad_subgraph_values_get_static_types():
    """silero-vad (opset 16): nested Ifs on shapes inside the If on `sr`. With 256-sample
    chunks (what both rates accept in onnxruntime) folding and refining decide every shape
    test: only the If on `sr` stays and every value has a static type (graph.lstm is then
    all that convert-graph-to-top needs)."""
    module = import_model(zoo_model("silero-vad"), input_shapes={"input": [1, 256], **STATE})
    ApplyRulesPass(set="graph-default").apply(make_context(), module)
    refine_and_fold(module)
    ops = list(module.walk())
    (if_on_sr,) = [op for op in ops if isinstance(op, graph.IfOp)]
    assert isinstance(if_on_sr.parent_op(), func.FuncOp)
    dynamic = [
        r for op in ops for r in op.results
        if not isinstance(r.type, NoneType | TensorType) or (
            isinstance(r.type, TensorType) and DYNAMIC_INDEX in r.type.get_shape()
        )
    ]  # fmt: skip
    assert dynamic == []
    assert any(op.name == "graph.lstm" for op in ops)


def test_run_time_if_on_opencl_is_not_supported():
    with pytest.raises(UnsupportedOpError, match="run-time control flow on OpenCL"):
        lamina_compile(if_on_input(), device="opencl")
