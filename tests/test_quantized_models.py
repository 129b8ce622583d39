"""Models quantized by onnxruntime's own quantizer (per-channel int8 weights, uint8
activations; the QDQ form: QuantizeLinear / DequantizeLinear around float ops, and the
QOperator form: QLinearConv and onnxruntime's com.microsoft QLinear* / QGemm) compiled by
lamina and checked against onnxruntime's int8 run of the same file on the same inputs:
the top-1 class equal and at least 99% of the output elements within one quantization step
(tools/quantized.py). Dynamically quantized models (DynamicQuantizeLinear into
ConvInteger / MatMulInteger, float outputs) match onnxruntime's run to float rounding. lamina computes them with the exact integer semantics of
QuantizeLinear / DequantizeLinear (lowering/graph_to_top_quant.py) around float ops; the
QOperator form is rewritten into the QDQ form (parser/onnx_contrib.py,
rewrites/graph/expand_quantized.rw)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import lamina
from lamina.compiler import compile_bundle, device_strings, import_model
from lamina.context import make_context
from lamina.errors import ModelImportError, UnsupportedError
from lamina.rewrites.apply_rules import ApplyRulesPass
from lamina.runtime.opencl import OpenCLFunction, opencl_available
from lamina.runtime.qemu import run_bundle
from lamina.targets import Device, has_avx2, has_vnni, load_device
from lamina.tools.models import light_model, mlp, random_inputs, with_logits
from lamina.tools.quantized import (
    calibrated,
    output_steps,
    quantize_dynamic,
    quantized_mismatch,
)


def every_contrib_op() -> onnx.ModelProto:
    """A small float net whose QOperator form has each expanded com.microsoft operator."""
    rng = np.random.default_rng(0)
    weights = {
        "w": rng.standard_normal((4, 3, 3, 3)) * 0.3,
        "b": rng.standard_normal(4) * 0.1,
        "gw": rng.standard_normal((5, 4)),
        "gb": rng.standard_normal(5),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("LeakyRelu", ["c"], ["l"], alpha=0.1),
        helper.make_node("Add", ["l", "c"], ["a"]),
        helper.make_node("Mul", ["a", "l"], ["m"]),
        helper.make_node("Sigmoid", ["m"], ["s"]),
        helper.make_node("AveragePool", ["s"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Concat", ["p", "p"], ["pp"], axis=1),
        helper.make_node("GlobalAveragePool", ["m"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "gw", "gb"], ["y"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "contrib",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [
            helper.make_tensor_value_info("pp", TensorProto.FLOAT, [1, 8, 4, 4]),
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5]),
        ],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def onnxruntime_outputs(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return [np.asarray(o) for o in session.run(None, feeds)]


def assert_matches_int8_run(model: onnx.ModelProto, got: list[np.ndarray]) -> None:
    """The outputs match onnxruntime's run of `model` on the same inputs (tools/quantized.py:
    within one quantization step, or float rounding for a dynamic quantization)."""
    want = onnxruntime_outputs(model, random_inputs(model))
    assert quantized_mismatch(model, got, want) is None
    if all(n.op_type != "DynamicQuantizeLinear" for n in model.graph.node):
        for w, step in zip(want, output_steps(model), strict=True):
            assert np.abs(w).max() > 10 * step, "an output of a few steps checks little"


def disassembly(path: Path, *options: str) -> str:
    """The disassembly of an object, `options` naming the extensions to decode."""
    command = ["llvm-objdump", "-d", *options, str(path)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def aarch64_disassembly(path: Path) -> str:
    return disassembly(path, "--mattr=+neon,+dotprod")


@pytest.fixture(scope="module")
def squeezenet() -> onnx.ModelProto:
    return calibrated(with_logits(light_model("squeezenet")))


@pytest.fixture(scope="module")
def quantized_mlp() -> onnx.ModelProto:
    return calibrated(mlp())


def test_qdq_squeezenet_on_host_matches_onnxruntime_int8(squeezenet: onnx.ModelProto):
    ops = {node.op_type for node in squeezenet.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops
    assert_matches_int8_run(squeezenet, lamina.compile(squeezenet)(**random_inputs(squeezenet)))


def test_qdq_mlp_on_host_matches_onnxruntime_int8(quantized_mlp: onnx.ModelProto):
    got = lamina.compile(quantized_mlp)(**random_inputs(quantized_mlp))
    assert_matches_int8_run(quantized_mlp, got)


def test_qdq_mlp_in_the_matmul_form_on_host_matches_onnxruntime_int8():
    model = calibrated(mlp(form="matmul"))
    assert_matches_int8_run(model, lamina.compile(model)(**random_inputs(model)))


def test_qdq_mlp_on_cortex_a76_under_qemu_matches_onnxruntime_int8_on_sdot(
    quantized_mlp: onnx.ModelProto, tmp_path: Path
):
    compile_bundle(quantized_mlp, "cortex-a76", tmp_path / "bundle", name="mlp_int8")
    run = run_bundle(tmp_path / "bundle", random_inputs(quantized_mlp))
    assert_matches_int8_run(quantized_mlp, run.outputs)
    assert "sdot\t" in aarch64_disassembly(tmp_path / "bundle" / "model.o")


@pytest.mark.parametrize(
    ("device", "instruction", "host_runs_it"),
    [("x86-64-avx512-vnni", "vpdpbusd", has_vnni), ("x86-64-avx2", "vpmaddubsw", has_avx2)],
)
def test_qdq_mlp_for_x86_matches_onnxruntime_int8_on_its_int8_instructions(
    device: str,
    instruction: str,
    host_runs_it: Callable[[Device], bool],
    quantized_mlp: onnx.ModelProto,
    tmp_path: Path,
):
    """loop-to-x86 (the device's passes) puts the int8 matmul on AVX-512 VNNI, or without
    it on AVX2 vpmaddubsw + vpmaddwd."""
    compile_bundle(quantized_mlp, device, tmp_path / "bundle", name="mlp_int8")
    assert f"{instruction}\t" in disassembly(tmp_path / "bundle" / "model.o")
    if not host_runs_it(load_device("host")):
        pytest.skip(f"this host cannot run the {device} bundle")
    run = run_bundle(tmp_path / "bundle", random_inputs(quantized_mlp))
    assert_matches_int8_run(quantized_mlp, run.outputs)


@pytest.fixture
def opencl_platform() -> None:
    """Skips the test where no OpenCL platform can be opened (asked only by tests that need it)."""
    if not opencl_available():
        pytest.skip("no OpenCL platform (install pocl-opencl-icd)")


def assert_int8_on_char4_dot_products(model: onnx.ModelProto, dot_products: int) -> None:
    """`model` compiled for opencl matches onnxruntime's int8 run, and its OpenCL C has
    `dot_products` `ocl.dot_char4`s, each printed as `dot(char4, char4)`s and as the
    widened form."""
    compiled = lamina.compile(model, "opencl")
    assert_matches_int8_run(model, compiled(**random_inputs(model)))
    assert isinstance(compiled.function, OpenCLFunction)
    source = compiled.function.source
    assert source.count("(int4)(dot(") == dot_products
    assert source.count("_products.even + ") == dot_products


def test_qdq_mlp_on_opencl_matches_onnxruntime_int8_on_char4_dot_products(
    quantized_mlp: onnx.ModelProto, opencl_platform: None
):
    """loop-to-ocl-dot (opencl's passes) puts the int8 matmuls on char4 dot products."""
    assert_int8_on_char4_dot_products(quantized_mlp, 3)


@pytest.mark.parametrize("qdq", [True, False], ids=["qdq", "qoperator"])
def test_quantized_conv_on_opencl_matches_onnxruntime_int8_on_char4_dot_products(
    qdq: bool, opencl_platform: None
):
    """opencl's graph rules (graph-fuse-quantized-conv) put the conv on the dot products of
    its patches: char4 dot products (45 bytes a patch: two steps of 16, the rest scalar)."""
    model = calibrated(one_conv(True, pads=[1, 1, 1, 1]), qdq=qdq)
    assert_int8_on_char4_dot_products(model, 1)


@pytest.mark.parametrize("qdq", [True, False], ids=["qdq", "qoperator"])
def test_quantized_squeezenet_on_cortex_a76_under_qemu_matches_onnxruntime_int8_on_sdot(
    qdq: bool, tmp_path: Path
):
    """cortex-a76's graph rules (graph-fuse-quantized-conv) put the convs on the int8
    dot-product matmul of their patches: sdot."""
    model = calibrated(with_logits(light_model("squeezenet")), qdq=qdq)
    compile_bundle(model, "cortex-a76", tmp_path / "bundle", name="squeezenet_int8")
    assert_matches_int8_run(model, run_bundle(tmp_path / "bundle", random_inputs(model)).outputs)
    assert "sdot\t" in aarch64_disassembly(tmp_path / "bundle" / "model.o")


def hexagon_disassembly(path: Path) -> str:
    return disassembly(path, "--mcpu=hexagonv66", "--mattr=+hvxv66,+hvx-length128b")


def test_qdq_squeezenet_on_hexagon_under_qemu_matches_onnxruntime_int8_on_vrmpy(
    squeezenet: onnx.ModelProto, tmp_path: Path
):
    """hexagon-v66-hvx128's graph rules and loop-to-hvx put the convs on HVX vrmpy."""
    compile_bundle(squeezenet, "hexagon-v66-hvx128", tmp_path / "bundle", name="squeezenet_int8")
    outputs = run_bundle(tmp_path / "bundle", random_inputs(squeezenet)).outputs
    assert_matches_int8_run(squeezenet, outputs)
    assert "+= vrmpy(" in hexagon_disassembly(tmp_path / "bundle" / "model.o")


def test_quantize_linear_on_hexagon_rounds_ties_to_even(tmp_path: Path):
    """roundevenf of the freestanding Hexagon library (codegen/hexagon_library.ll)."""
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.49, -3.51, 100.5, 2.0**23 + 1], np.float32)
    graph = helper.make_graph(
        [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"])],
        "quantize",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.INT16, x.shape)],
        [
            numpy_helper.from_array(np.array(1, np.float32), "s"),
            numpy_helper.from_array(np.array(0, np.int16), "z"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    compile_bundle(model, "hexagon-v66-hvx128", tmp_path / "bundle", name="quantize")
    (got,) = run_bundle(tmp_path / "bundle", {"x": x}).outputs
    assert np.array_equal(got, onnxruntime_outputs(model, {"x": x})[0])


def one_conv(bias: bool, **attributes: Any) -> onnx.ModelProto:
    """x [1, 5, 11, 9] -> Conv by seeded random 3x3 weights [7, 5, 3, 3] (and bias)."""
    rng = np.random.default_rng(5)
    weights = {"w": rng.standard_normal((7, 5, 3, 3)), "b": rng.standard_normal(7)}
    inputs = ["x", "w", "b"] if bias else ["x", "w"]
    graph = helper.make_graph(
        [helper.make_node("Conv", inputs, ["y"], **attributes)],
        "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 5, 11, 9])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(weights[k].astype(np.float32), k) for k in inputs[1:]],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    return onnx.shape_inference.infer_shapes(model)


@pytest.mark.parametrize(
    ("bias", "attributes"),
    [
        (True, {"pads": [1, 1, 1, 1]}),
        (True, {"pads": [2, 0, 1, 1], "strides": [2, 1], "dilations": [1, 2]}),
        (False, {}),
    ],
    ids=["padded", "strided-dilated", "without-bias"],
)
@pytest.mark.parametrize("qdq", [True, False], ids=["qdq", "qoperator"])
def test_quantized_conv_as_conv_integer_matches_onnxruntime_int8(
    bias: bool, attributes: dict[str, Any], qdq: bool
):
    """The host's graph rules (graph-fuse-quantized-conv, as cortex-a76's) make the QDQ
    conv a conv_integer."""
    model = calibrated(one_conv(bias, **attributes), qdq=qdq)
    module = import_model(model)
    for name in device_strings(load_device("host"), "graph_rules") + ["graph-default"]:
        ApplyRulesPass(set=name).apply(make_context(), module)
    ops = {op.name for op in module.walk()}
    assert "graph.conv_integer" in ops and "graph.conv" not in ops
    assert_matches_int8_run(model, lamina.compile(model)(**random_inputs(model)))


def test_qoperator_squeezenet_on_host_matches_onnxruntime_int8():
    model = calibrated(with_logits(light_model("squeezenet")), qdq=False)
    ops = {node.op_type for node in model.graph.node}
    assert {"QLinearConv", "QLinearConcat", "QLinearGlobalAveragePool"} <= ops
    assert_matches_int8_run(model, lamina.compile(model)(**random_inputs(model)))


def test_every_expanded_com_microsoft_operator_matches_onnxruntime_int8():
    model = calibrated(every_contrib_op(), qdq=False)
    contrib = {n.op_type for n in model.graph.node if n.domain == "com.microsoft"}
    assert contrib == {
        "QLinearLeakyRelu", "QLinearAdd", "QLinearMul", "QLinearSigmoid", "QLinearAveragePool",
        "QLinearConcat", "QLinearGlobalAveragePool", "QGemm",
    }  # fmt: skip
    assert_matches_int8_run(model, lamina.compile(model)(**random_inputs(model)))


def test_a_com_microsoft_form_that_is_not_expanded_is_named_as_unsupported():
    model = calibrated(every_contrib_op(), qdq=False)
    pool = next(n for n in model.graph.node if n.op_type == "QLinearAveragePool")
    pool.attribute.append(helper.make_attribute("channels_last", 1))
    with pytest.raises(UnsupportedError, match="QLinearAveragePool.*com.microsoft"):
        lamina.compile(model)


@pytest.fixture(scope="module")
def dynamic_mlp() -> onnx.ModelProto:
    return quantize_dynamic(mlp(form="matmul"))


def test_dynamic_mlp_on_host_matches_onnxruntime(dynamic_mlp: onnx.ModelProto):
    ops = {node.op_type for node in dynamic_mlp.graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} <= ops
    assert_matches_int8_run(dynamic_mlp, lamina.compile(dynamic_mlp)(**random_inputs(dynamic_mlp)))


def test_dynamic_mlp_on_cortex_a76_under_qemu_matches_onnxruntime(
    dynamic_mlp: onnx.ModelProto, tmp_path: Path
):
    compile_bundle(dynamic_mlp, "cortex-a76", tmp_path / "bundle", name="mlp_dynamic")
    assert_matches_int8_run(
        dynamic_mlp, run_bundle(tmp_path / "bundle", random_inputs(dynamic_mlp)).outputs
    )
    assert "sdot\t" in aarch64_disassembly(tmp_path / "bundle" / "model.o")


def test_dynamic_squeezenet_with_uint8_weights_on_host_matches_onnxruntime():
    model = quantize_dynamic(with_logits(light_model("squeezenet")), unsigned_weights=True)
    assert "ConvInteger" in {node.op_type for node in model.graph.node}
    assert_matches_int8_run(model, lamina.compile(model)(**random_inputs(model)))


def integer_op(
    op_type: str, x: np.ndarray, w: np.ndarray, x_zero: np.ndarray, w_zero: np.ndarray
) -> onnx.ModelProto:
    """A one-node ConvInteger (3x3, padded) / MatMulInteger model with constant weights and
    zero points."""
    if op_type == "ConvInteger":
        shape = [x.shape[0], w.shape[0], *x.shape[2:]]
    else:
        shape = [*x.shape[:-1], w.shape[-1]]
    initializers = [
        numpy_helper.from_array(v, k) for k, v in {"w": w, "xz": x_zero, "wz": w_zero}.items()
    ]
    node = helper.make_node(op_type, ["x", "w", "xz", "wz"], ["y"])
    if op_type == "ConvInteger":
        node.attribute.append(helper.make_attribute("pads", [1, 1, 1, 1]))
    graph = helper.make_graph(
        [node],
        op_type,
        [helper.make_tensor_value_info("x", helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.INT32, shape)],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


@pytest.mark.parametrize("op_type", ["ConvInteger", "MatMulInteger"])
def test_integer_op_with_a_zero_point_per_channel_matches_the_onnx_reference(op_type: str):
    rng = np.random.default_rng(3)
    if op_type == "ConvInteger":
        x, w = (
            rng.integers(0, 256, (1, 3, 6, 6), np.uint8),
            rng.integers(-128, 128, (4, 3, 3, 3), np.int8),
        )
    else:
        x, w = rng.integers(0, 256, (5, 7), np.uint8), rng.integers(-128, 128, (7, 4), np.int8)
    x_zero, w_zero = np.array(131, np.uint8), rng.integers(-128, 128, 4, np.int8)
    model = integer_op(op_type, x, w, x_zero, w_zero)
    (want,) = ReferenceEvaluator(model).run(None, {"x": x})
    (got,) = lamina.compile(model)(x=x)
    assert got.dtype == np.int32
    assert np.array_equal(got, want)
    assert len(np.unique(w_zero)) > 1, "a zero point that is one value checks little"


@pytest.mark.parametrize(
    ("dtype", "attributes", "w_zero"),
    [
        (np.int8, {"strides": [2, 1], "dilations": [1, 2], "pads": [2, 0, 1, 1]}, None),
        (np.uint8, {"group": 2, "pads": [1, 1, 1, 1]}, None),
        (np.uint8, {"group": 3, "pads": [1, 1, 1, 1]}, "per channel"),
        (np.int8, {"group": 6, "pads": [1, 0, 1, 2], "strides": [2, 1]}, "per channel"),
    ],
    ids=["int8-strided-dilated", "grouped", "grouped-per-channel-zero", "depthwise"],
)
def test_conv_integer_by_constant_weights_matches_the_onnx_reference(
    dtype: type[np.integer], attributes: dict[str, Any], w_zero: str | None
):
    """The patches' dot-product matmul (signed x, strides, dilations, uneven pads), one per
    group of a grouped conv (each group's slice of per-channel weight zero points), and the
    i32 depthwise conv."""
    rng = np.random.default_rng(4)
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max + 1, (2, 6, 9, 8), dtype)
    w = rng.integers(-128, 128, (12, 6 // int(attributes.get("group", 1)), 3, 3), np.int8)
    initializers = [
        numpy_helper.from_array(w, "w"),
        numpy_helper.from_array(np.array(7, dtype), "xz"),
    ]
    if w_zero is not None:
        initializers.append(numpy_helper.from_array(rng.integers(-9, 9, 12, np.int8), "wz"))
    inputs = ["x", "w", "xz", "wz"][: len(initializers) + 1]
    node = helper.make_node("ConvInteger", inputs, ["y"], **attributes)
    graph = helper.make_graph(
        [node],
        "conv_integer",
        [helper.make_tensor_value_info("x", helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.INT32, None)],
        initializers,
    )
    model = onnx.shape_inference.infer_shapes(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    )
    (want,) = ReferenceEvaluator(model).run(None, {"x": x})
    (got,) = lamina.compile(model)(x=x)
    assert np.array_equal(got, want)


def quantize_dequantize(scale: np.ndarray, zero_point: np.ndarray) -> onnx.ModelProto:
    """x [1, 3, 4, 4] -> QuantizeLinear (node 'quant', axis 1) -> DequantizeLinear."""
    initializers = [numpy_helper.from_array(scale, "s"), numpy_helper.from_array(zero_point, "z")]
    nodes = [
        helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="quant", axis=1),
        helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], name="dequant", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "qdq",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


@pytest.mark.parametrize(
    ("scale", "zero_point", "message"),
    [
        (
            np.array(0, np.float32),
            np.array(0, np.uint8),
            "y_scale .* holds 0.0: a scale must be nonzero",
        ),
        (np.array(np.nan, np.float32), np.array(0, np.uint8), "holds nan"),
        (
            np.ones(2, np.float32),
            np.zeros(2, np.uint8),
            r"y_scale .* should have shape 3 \(one per index of dim 1",
        ),
        (np.ones(3, np.float32), np.zeros(2, np.uint8), r"y_zero_point .* should have shape 3"),
        (
            np.ones(3, np.float32),
            np.zeros(1, np.uint8),
            r"y_zero_point .* should have the shape of y_scale",
        ),
    ],
    ids=["zero scale", "nan scale", "per-axis length", "zero point length", "zero point shape"],
)
def test_broken_quantization_parameters_are_an_import_diagnostic_naming_the_node(
    scale: np.ndarray, zero_point: np.ndarray, message: str
):
    with pytest.raises(ModelImportError, match=f"node 'quant'.*{message}"):
        lamina.compile(quantize_dequantize(scale, zero_point))
