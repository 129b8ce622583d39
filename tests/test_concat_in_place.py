"""Concat inputs written in place (lowering/concat_slices.py): models whose concats take
produced values (written straight into their slice), function inputs and values read
after the concat (copied), against onnxruntime on the host JIT, and one model on each
other back end (cortex-a76 under qemu, OpenCL on PoCL, Hexagon under qemu)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import lamina
from lamina.compiler import compile_bundle, import_model, lower, pipeline
from lamina.context import make_context
from lamina.dialects import loop
from lamina.runtime.hexagon import DEVICE, HexagonModule
from lamina.runtime.qemu import run_bundle
from lamina.targets import load_device
from lamina.tests.test_e2e_models import assert_matches, onnxruntime_outputs
from lamina.tools.models import random_inputs
from lamina.universe import parse_pass_pipeline

SIDE = 6


class Graph:
    """An NCHW float graph under construction: each conv adds its random weights."""

    def __init__(self, channels: int) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.weights: list[onnx.TensorProto] = []
        self.channels: dict[str, int] = {"x": channels}
        self.rng = np.random.default_rng(0)

    def conv(self, x: str, out: str, filters: int, kernel: int = 1) -> str:
        shape = (filters, self.channels[x], kernel, kernel)
        w = (self.rng.standard_normal(shape) * 0.3).astype(np.float32)
        self.weights.append(numpy_helper.from_array(w, f"{out}_w"))
        pad = kernel // 2
        self.nodes.append(helper.make_node("Conv", [x, f"{out}_w"], [f"{out}_c"], pads=[pad] * 4))
        self.nodes.append(helper.make_node("Relu", [f"{out}_c"], [out]))
        self.channels[out] = filters
        return out

    def concat(self, out: str, *inputs: str) -> str:
        self.nodes.append(helper.make_node("Concat", list(inputs), [out], axis=1))
        self.channels[out] = sum(self.channels[x] for x in inputs)
        return out

    def model(self, *outputs: str) -> onnx.ModelProto:
        def info(name: str) -> onnx.ValueInfoProto:
            shape = [1, self.channels[name], SIDE, SIDE]
            return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

        graph = helper.make_graph(
            self.nodes, "concats", [info("x")], [info(o) for o in outputs], self.weights
        )
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def fire() -> onnx.ModelProto:
    """SqueezeNet's fire module: squeeze, two expands concatenated, then a conv."""
    g = Graph(8)
    s = g.conv("x", "s", 4)
    g.concat("e", g.conv(s, "e1", 8), g.conv(s, "e3", 8, kernel=3))
    return g.model(g.conv("e", "y", 4))


def dense() -> onnx.ModelProto:
    """DenseNet's dense block: each layer's features appended to the block so far (whose
    earlier concat the layer also reads)."""
    g = Graph(3)
    block = g.conv("x", "p", 4)
    for k in range(3):
        block = g.concat(f"b{k}", block, g.conv(g.conv(block, f"n{k}", 4), f"g{k}", 4, 3))
    return g.model(g.conv(block, "y", 4))


def mixed() -> onnx.ModelProto:
    """A concat of the model input, of a value read again after it (both copied) and of a
    produced value (in place); the same value twice in one concat."""
    g = Graph(4)
    a, b = g.conv("x", "a", 4), g.conv("x", "b", 4)
    g.concat("c", "x", a, b, b)
    after = g.conv(a, "after", 4)
    return g.model(g.conv("c", "y", 4), after)


MODELS = {"fire": fire, "dense": dense, "mixed": mixed}


def views(model: onnx.ModelProto) -> int:
    """The `loop.view`s (slices written in place) after convert-top-to-loop for the host."""
    passes = pipeline(load_device("host")).split(",")
    upto = next(k for k, p in enumerate(passes) if p.startswith("convert-top-to-loop"))
    module = import_model(model)
    for step in parse_pass_pipeline(",".join(passes[: upto + 1])).passes:
        step.apply(make_context(), module)
    return sum(isinstance(op, loop.ViewOp) for op in module.walk())


@pytest.mark.parametrize("name", MODELS)
def test_concats_match_onnxruntime_on_the_host(name: str) -> None:
    model = MODELS[name]()
    feeds = random_inputs(model)
    assert_matches(lamina.compile(model)(**feeds), onnxruntime_outputs(model, feeds))


def test_only_inputs_that_cannot_be_written_in_place_are_copied() -> None:
    assert views(fire()) == 2  # e1, e3
    assert views(dense()) == 6  # p, g0, b0, g1, b1, g2 into b2
    assert views(mixed()) == 1  # the first b; x, a and the second b are copied


def test_concats_on_cortex_a76_under_qemu(tmp_path: Path) -> None:
    model = dense()
    feeds = random_inputs(model)
    compile_bundle(model, "cortex-a76", tmp_path / "bundle")
    run = run_bundle(tmp_path / "bundle", feeds)
    assert_matches(run.outputs, onnxruntime_outputs(model, feeds))


def test_concats_on_opencl() -> None:
    model = mixed()
    feeds = random_inputs(model)
    got = lamina.compile(model, device="opencl")(*feeds.values())
    assert_matches(got, onnxruntime_outputs(model, feeds))


def test_concats_on_hexagon() -> None:
    model = fire()
    feeds = random_inputs(model)
    device = load_device(DEVICE)
    compiled = HexagonModule(lower(import_model(model), device), device=device)
    assert_matches(compiled.kernel()(*feeds.values()), onnxruntime_outputs(model, feeds))
