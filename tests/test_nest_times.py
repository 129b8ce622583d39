"""benchmarks/nest_times.py: every nest call of `main` is timed by the cycle counter, the
timed module computes what the plain one does, and the report adds up."""

from __future__ import annotations

import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from lamina.benchmarks.nest_times import NestProfile, report
from lamina.compiler import compile as lamina_compile
from lamina.compiler import lower_model
from lamina.targets import load_device


def conv_pool_model() -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((16, 8, 3, 3)).astype(np.float32), "w")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["y"], kernel_shape=[2, 2], strides=[2, 2]),
    ]
    graph = helper.make_graph(
        nodes,
        "conv_pool",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 16, 16])],
        [w],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_nest_times_cover_each_nest_call_and_keep_the_results() -> None:
    model = conv_pool_model()
    x = np.random.default_rng(1).standard_normal((1, 8, 32, 32)).astype(np.float32)
    (expected,) = lamina_compile(model, threads=1)(x)
    lowered = lower_model(model, load_device("host"))
    profiles = {t: NestProfile(lowered.module, t, lowered.input_names) for t in (1, 2)}
    best: dict[int, np.ndarray] = {}
    walls: dict[int, float] = {}
    for t, profile in profiles.items():
        assert len(profile.labels) >= 2  # the conv, the pool
        assert any(label.startswith("par ") for label in profile.labels) == (t == 2)
        start = time.perf_counter()
        (got,), cycles = profile.run(x)
        walls[t] = (time.perf_counter() - start) * 1e6
        np.testing.assert_array_equal(got, expected)
        best[t] = cycles / profile.cycles_per_us
        assert (cycles > 0).all()
        assert best[t].sum() <= walls[t]  # the nests run within the call
    labels = profiles[2].labels
    text = report(labels, best, walls, top=1)
    assert len(text.splitlines()) == 1 + 1 + 4  # header, the biggest nest, the totals
    assert len(report(labels, best, walls, top=99).splitlines()) == 1 + len(labels) + 4
    assert text.splitlines()[-1].split()[:2] == [f"{walls[1]:.1f}", f"{walls[2]:.1f}"]
