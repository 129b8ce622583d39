"""The reference interpreter on imported ONNX models, against onnxruntime.

Tolerances: rtol 1e-4 / atol 1e-5 for the small models. Both sides compute in float32 but
sum in different orders (im2col + BLAS here, MLAS there), so a handful of float32 ulps
(~1e-7 relative each) per reduction is expected; 1e-4 leaves room for that and still
catches any wrong pad, stride or broadcast, which moves values by O(1).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import ModuleOp, i32

from lamina.errors import LaminaError, UnsupportedOpError
from lamina.parser.onnx import import_onnx
from lamina.runtime.reference import run_reference
from lamina.tools.models import LIGHT_MODELS, light_model, random_inputs, with_logits

RTOL, ATOL = 1e-4, 1e-5
_RNG = np.random.default_rng(0)


def _onnxruntime(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[Any]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return list(session.run(None, feeds))


def _check(model: onnx.ModelProto, feeds: dict[str, Any]) -> None:
    outputs = run_reference(import_onnx(model), feeds)
    expected = _onnxruntime(model, feeds)
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected, strict=True):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def _weight(name: str, *shape: int, scale: float = 0.1) -> onnx.TensorProto:
    return numpy_helper.from_array((_RNG.standard_normal(shape) * scale).astype(np.float32), name)


def _value(name: str, shape: list[int | None] | None, elem: int = TensorProto.FLOAT) -> Any:
    return helper.make_tensor_value_info(name, elem, shape)


def _model(nodes: list[Any], inputs: list[Any], outputs: list[Any], inits: list[Any]) -> Any:
    graph = helper.make_graph(nodes, "main", inputs, outputs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_conv_batchnorm_relu_maxpool_matches_onnxruntime() -> None:
    nodes = [
        helper.make_node(
            "Conv", ["x", "w", "b"], ["c"], pads=[1, 2, 1, 0], strides=[2, 1], name="conv1"
        ),
        helper.make_node(
            "BatchNormalization", ["c", "s", "bias", "mean", "var"], ["n"], name="bn1"
        ),
        helper.make_node("Relu", ["n"], ["r"], name="relu1"),
        helper.make_node(
            "MaxPool", ["r"], ["y"], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1, name="pool1"
        ),
    ]
    var = numpy_helper.from_array(_RNG.uniform(0.5, 1.5, 8).astype(np.float32), "var")
    inits = [_weight("w", 8, 3, 3, 3), _weight("b", 8), _weight("s", 8, scale=1.0)]
    inits += [_weight("bias", 8), _weight("mean", 8), var]
    model = _model(nodes, [_value("x", [2, 3, 16, 15])], [_value("y", [2, 8, 4, 7])], inits)
    _check(model, {"x": _RNG.standard_normal((2, 3, 16, 15)).astype(np.float32)})


def test_gemm_mlp_matches_onnxruntime() -> None:
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], transB=1, name="fc1"),
        helper.make_node("Relu", ["h"], ["r"]),
        helper.make_node("Gemm", ["r", "w2", "b2"], ["l"], alpha=0.5, beta=2.0, name="fc2"),
        helper.make_node("Softmax", ["l"], ["y"]),
    ]
    inits = [_weight("w1", 32, 20), _weight("b1", 32), _weight("w2", 32, 10), _weight("b2", 10)]
    model = _model(nodes, [_value("x", [4, 20])], [_value("y", [4, 10])], inits)
    _check(model, {"x": _RNG.standard_normal((4, 20)).astype(np.float32)})


@pytest.mark.parametrize("cond", [True, False])
def test_if_runs_the_chosen_branch_with_outer_values(cond: bool) -> None:
    then_graph = helper.make_graph(
        [helper.make_node("Add", ["x", "x"], ["t"])], "then", [], [_value("t", [3])]
    )
    else_graph = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["e"])], "else", [], [_value("e", [3])]
    )
    node = helper.make_node("If", ["c"], ["y"], then_branch=then_graph, else_branch=else_graph)
    inputs = [_value("c", [], TensorProto.BOOL), _value("x", [3])]
    model = _model([node], inputs, [_value("y", [3])], [])
    _check(model, {"c": np.array(cond), "x": np.array([1, -2, 3], np.float32)})


def test_loop_with_trip_count_condition_and_scan_outputs_matches_onnxruntime() -> None:
    # body: acc = acc * 2 + i; stop once acc > limit; scan out acc each iteration
    body = helper.make_graph(
        [
            helper.make_node("Cast", ["i"], ["fi"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["acc", "two"], ["doubled"]),
            helper.make_node("Add", ["doubled", "fi"], ["acc_out"]),
            helper.make_node("ReduceMax", ["acc_out"], ["top"], keepdims=0),
            helper.make_node("Less", ["top", "limit"], ["cond_out"]),
            helper.make_node("Identity", ["acc_out"], ["scan"]),
        ],
        "body",
        [
            _value("i", [], TensorProto.INT64),
            _value("cond_in", [], TensorProto.BOOL),
            _value("acc", [2]),
        ],
        [_value("cond_out", [], TensorProto.BOOL), _value("acc_out", [2]), _value("scan", [2])],
        [numpy_helper.from_array(np.array(2, np.float32), "two")],
    )
    node = helper.make_node("Loop", ["m", "c", "acc0"], ["acc_final", "scans"], body=body)
    inputs = [
        _value("m", [], TensorProto.INT64),
        _value("c", [], TensorProto.BOOL),
        _value("acc0", [2]),
        _value("limit", []),
    ]
    model = _model([node], inputs, [_value("acc_final", [2]), _value("scans", [None, 2])], [])
    for trip_count, limit in [(5, 1e9), (10, 50.0), (0, 1e9)]:
        feeds = {
            "m": np.array(trip_count, np.int64),
            "c": np.array(True),
            "acc0": np.array([1, -1], np.float32),
            "limit": np.array(limit, np.float32),
        }
        _check(model, feeds)


def test_scan_with_reverse_input_and_axis_matches_onnxruntime() -> None:
    body = helper.make_graph(
        [
            helper.make_node("Add", ["s", "x"], ["s_out"]),
            helper.make_node("Mul", ["s_out", "x"], ["y"]),
        ],
        "body",
        [_value("s", [3]), _value("x", [3])],
        [_value("s_out", [3]), _value("y", [3])],
    )
    node = helper.make_node(
        "Scan",
        ["s0", "xs"],
        ["s_final", "ys"],
        body=body,
        num_scan_inputs=1,
        scan_input_axes=[1],
        scan_input_directions=[1],
        scan_output_axes=[-1],
    )
    model = _model(
        [node],
        [_value("s0", [3]), _value("xs", [3, 4])],
        [_value("s_final", [3]), _value("ys", [3, 4])],
        [],
    )
    feeds = {"s0": np.zeros(3, np.float32), "xs": _RNG.standard_normal((3, 4)).astype(np.float32)}
    _check(model, feeds)


INTERPRETED_MODELS = [m for m in LIGHT_MODELS if m not in ("vgg19", "zfnet512")]
"""The light models but VGG-19 and ZFNet-512: their operators and attribute kinds are
AlexNet's (plain convs, LRN, max pools, Gemm), and interpreting them in numpy took a
minute of the suite."""


@pytest.mark.parametrize("name", INTERPRETED_MODELS)
def test_light_model_matches_onnxruntime(name: str) -> None:
    model = with_logits(light_model(name))
    feeds = random_inputs(model)
    outputs = run_reference(import_onnx(model), feeds)
    # float32 nets of 8-120 layers summed in another order than onnxruntime's kernels:
    # the 1e-3 / 1e-4 budget
    for got, want in zip(outputs, _onnxruntime(model, feeds), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)


def test_inputs_by_name_or_position_and_wrong_count() -> None:
    node = helper.make_node("Sub", ["a", "b"], ["y"])
    model = _model([node], [_value("a", [2]), _value("b", [2])], [_value("y", [2])], [])
    module = import_onnx(model)
    a, b = np.array([5, 7], np.float32), np.array([1, 2], np.float32)
    np.testing.assert_array_equal(run_reference(module, {"b": b, "a": a})[0], [4, 5])
    np.testing.assert_array_equal(run_reference(module, [a, b])[0], [4, 5])
    with pytest.raises(LaminaError, match="takes 2 inputs, 1 were given"):
        run_reference(module, [a])
    with pytest.raises(LaminaError, match="no value given for input"):
        run_reference(module, {"a": a})


def test_op_without_kernel_is_unsupported_naming_its_node() -> None:
    node = helper.make_node("MaxRoiPool", ["x", "rois"], ["y"], pooled_shape=[2, 2], name="roi1")
    inputs = [_value("x", [1, 1, 4, 4]), _value("rois", [1, 5])]
    model = _model([node], inputs, [_value("y", [1, 1, 2, 2])], [])
    feeds = {
        "x": np.ones((1, 1, 4, 4), np.float32),
        "rois": np.array([[0, 0, 0, 3, 3]], np.float32),
    }
    with pytest.raises(UnsupportedOpError, match="MaxRoiPool") as info:
        run_reference(import_onnx(model), feeds)
    assert info.value.where == "roi1"


def test_non_graph_op_is_unsupported_before_running() -> None:
    body = func.FuncOp("main", ((), (i32,)))
    constant = arith.ConstantOp.from_int_and_width(1, 32)
    body.body.block.add_ops([constant, func.ReturnOp(constant)])
    with pytest.raises(UnsupportedOpError, match="'arith.constant' in the reference interpreter"):
        run_reference(ModuleOp([body]), [])
