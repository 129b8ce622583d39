"""Float reductions whose combining op may reassociate (lowering/top_to_loop_tensor.py: LLVM
sums them in vector lanes, then the lanes as a tree), compiled for the host against
onnxruntime: long rows of mixed magnitude and a row length that leaves a scalar tail, through
ReduceSum / ReduceMean / ReduceMax and the Softmax and LayerNormalization built on them."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper

import lamina
from lamina.tests.test_graph_to_top import F, model

ROWS, LENGTH = 6, 1001
RNG = np.random.default_rng(0)
AXES = {"axes": np.array([-1], np.int64)}
NORM = {"scale": (1 + 0.1 * RNG.standard_normal(LENGTH)).astype(np.float32)}


@pytest.mark.parametrize(
    ("node", "weights"),
    [
        (helper.make_node("ReduceSum", ["x", "axes"], ["y"]), AXES),
        (helper.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=0), AXES),
        (helper.make_node("ReduceMax", ["x", "axes"], ["y"]), AXES),
        (helper.make_node("Softmax", ["x"], ["y"], axis=-1), {}),
        (helper.make_node("LayerNormalization", ["x", "scale"], ["y"], axis=-1), NORM),
    ],
    ids=["ReduceSum", "ReduceMean", "ReduceMax", "Softmax", "LayerNormalization"],
)
def test_reassociated_reductions_match_onnxruntime(
    node: onnx.NodeProto, weights: dict[str, np.ndarray]
):
    x = (RNG.standard_normal((ROWS, LENGTH)) * np.logspace(-3, 3, LENGTH)).astype(np.float32)
    m = model([node], {"x": ([ROWS, LENGTH], F)}, {"y": (None, F)}, weights, opset=18)
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    want = np.asarray(session.run(None, {"x": x})[0])
    got = np.asarray(lamina.compile(m)(x=x)[0])
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
