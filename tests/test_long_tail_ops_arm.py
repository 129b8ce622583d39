"""The long-tail ops (TopK, ScatterElements, GatherND, GridSample, DFT, Einsum) in one
model compiled for cortex-a76 and run under qemu-aarch64, against onnxruntime at the
outputs' scale (max|err| <= 1e-3 * max|ref| + 1e-4; indices exactly)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

from lamina.compiler import compile_bundle
from lamina.runtime.qemu import run_bundle
from lamina.tests.test_graph_to_top import I64, F, rand


def long_tail_model() -> onnx.ModelProto:
    nodes = [
        helper.make_node("GridSample", ["x", "grid"], ["sampled"], mode="cubic"),
        helper.make_node("Einsum", ["sampled", "w"], ["mixed"], equation="nchw,dc->ndhw"),
        helper.make_node("Reshape", ["mixed", "flat"], ["rows"]),
        helper.make_node("TopK", ["rows", "k"], ["best", "where"], axis=-1),
        helper.make_node(
            "ScatterElements", ["rows", "where", "best"], ["scattered"], axis=2, reduction="add"
        ),  # fmt: skip
        helper.make_node("GatherND", ["scattered", "picks"], ["picked"], batch_dims=1),
        helper.make_node("Unsqueeze", ["picked", "last"], ["signal"]),
        helper.make_node("DFT", ["signal", "", "axis"], ["spectrum"], onesided=1),
    ]
    weights = {
        "w": rand(4, 3, seed=5),
        "flat": np.array([1, 4, 12], np.int64),
        "k": np.array([3], np.int64),
        "picks": np.array([[[1, 2], [0, 5]]], np.int64),
        "last": np.array([-1], np.int64),
        "axis": np.array(1, np.int64),
    }
    graph = helper.make_graph(
        nodes,
        "long_tail",
        [helper.make_tensor_value_info("x", F, [1, 3, 5, 6]),
         helper.make_tensor_value_info("grid", F, [1, 4, 3, 2])],
        [helper.make_tensor_value_info("where", I64, [1, 4, 3]),
         helper.make_tensor_value_info("spectrum", F, [1, 2, 2])],
        [numpy_helper.from_array(a, n) for n, a in weights.items()],
    )  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])


def test_long_tail_ops_on_cortex_a76_match_onnxruntime(tmp_path: Path):
    m = long_tail_model()
    feeds = {"x": rand(1, 3, 5, 6), "grid": rand(1, 4, 3, 2, seed=1).clip(-1.2, 1.2)}
    bundle = compile_bundle(m, "cortex-a76", tmp_path / "bundle")
    assert bundle.triple.startswith("aarch64")
    got = run_bundle(tmp_path / "bundle", feeds).outputs
    expected = ort.InferenceSession(m.SerializeToString()).run(None, feeds)
    np.testing.assert_array_equal(got[0], np.asarray(expected[0]))
    spectrum, want = got[1], np.asarray(expected[1])
    assert spectrum.shape == want.shape
    assert float(np.abs(spectrum - want).max()) <= 1e-3 * float(np.abs(want).max()) + 1e-4
