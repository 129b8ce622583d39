"""The ONNX backend API (`lamina.backend`): a few ONNX node conformance cases through the
onnx package's own `BackendTest` runner, and the API's entry points called directly."""

from __future__ import annotations

import importlib
import unittest
from collections.abc import Callable
from typing import Any
from unittest import mock

import numpy as np
import onnx.backend.test
import onnx.backend.test.runner as onnx_runner
import pytest
from onnx import TensorProto, helper
from onnx.backend.test.case import node as node_cases

import lamina.backend as backend
from lamina.backend import LaminaBackend
from lamina.errors import DeviceError, UnsupportedError

# The onnx runner compiles each case's model.onnx through `prepare` and compares with the
# case's expected outputs (its tolerances: rtol 1e-3, atol 1e-7). Only the chosen cases are
# exposed, so pytest does not list the other ~4000 as skipped.
_CASES = (
    "relu",
    "add_bcast",
    "matmul_2d",
    "gemm_default_matrix_bias",
    "conv_with_strides_padding",
    "maxpool_2d_pads",
    "softmax_axis_1",
)
_CASE_MODULES = ("relu", "add", "matmul", "gemm", "conv", "maxpool", "softmax")
"""The modules of onnx.backend.test.case.node that define the chosen cases."""


def _chosen_node_cases(kind: str | None = None, **_: object) -> list[Any]:
    """The runner's loader of model tests, limited to the chosen node cases: onnx builds
    a node case's model and expected outputs when its module is imported, and the whole
    package (every case of every operator, 3-D poolings in Python) costs ~5 s CPU at every
    collection, for the 7 cases kept here."""
    if kind != "node":
        return []
    for module in _CASE_MODULES:
        importlib.import_module(f"onnx.backend.test.case.node.{module}")
    chosen = {f"test_{case}" for case in _CASES}
    return [case for case in node_cases._NodeTestCases if case.name in chosen]


def _node_case_tests() -> dict[str, Callable[..., None]]:
    with mock.patch.object(onnx_runner, "load_model_tests", _chosen_node_cases):
        runner = onnx.backend.test.BackendTest(LaminaBackend, __name__)
    for case in _CASES:
        runner.include(rf"^test_{case}_cpu$")
    node_tests = runner.test_cases["OnnxBackendNodeModelTest"]
    return {f"test_{case}": getattr(node_tests, f"test_{case}_cpu") for case in _CASES}


TestOnnxNodeCases = type(
    "TestOnnxNodeCases",
    (unittest.TestCase,),
    {"__doc__": "ONNX node conformance cases, run by onnx's own runner.", **_node_case_tests()},
)


def test_run_node_broadcasts_like_numpy():
    node = helper.make_node("Add", ["a", "b"], ["c"])
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.array([10, 20, 30], np.float32)
    (c,) = backend.run_node(node, [a, b])
    np.testing.assert_array_equal(c, a + b)


def test_run_node_uses_outputs_info_for_the_output_type():
    node = helper.make_node("Relu", ["x"], ["y"])
    x = np.array([[-1.0, 2.0]], np.float32)
    result: Any = backend.run_node(node, [x], outputs_info=[(np.dtype(np.float32), (1, 2))])
    np.testing.assert_array_equal(result["y"], [[0.0, 2.0]])


def test_prepare_then_run_by_name_and_by_position():
    graph = helper.make_graph(
        [helper.make_node("Sub", ["x", "y"], ["d"])],
        "sub",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [3]) for n in ("x", "y")],
        [helper.make_tensor_value_info("d", TensorProto.FLOAT, [3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    rep = backend.prepare(model, "CPU")
    x, y = np.array([5, 6, 7], np.float32), np.array([1, 1, 2], np.float32)
    outputs: Any = rep.run([x, y])  # a namedtuple of the graph's output names
    np.testing.assert_array_equal(outputs.d, x - y)
    np.testing.assert_array_equal(rep.run({"y": x, "x": y})[0], y - x)
    np.testing.assert_array_equal(backend.run_model(model, [x, y])[0], x - y)


def test_only_the_cpu_device_is_supported():
    assert backend.supports_device("CPU")
    assert not backend.supports_device("CUDA")
    assert not backend.supports_device("TPU:0")
    node = helper.make_node("Relu", ["x"], ["y"])
    with pytest.raises(DeviceError, match="CPU only, not 'CUDA'"):
        backend.run_node(node, [np.zeros(2, np.float32)], device="CUDA")


def test_unsupported_node_says_not_supported():
    node = helper.make_node("NonZero", ["x"], ["y"])  # a data-dependent output shape
    with pytest.raises(UnsupportedError, match="not supported: 'graph.non_zero'"):
        backend.run_node(node, [np.zeros((3, 2), np.float32)])
