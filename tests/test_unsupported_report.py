"""A model with several unsupported nodes fails with ONE error listing each of them (node,
op type, why), at import and in convert-graph-to-top, through lamina.compile, lamina-opt and
lamina-compile: exit 1, no traceback, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import lamina
from lamina.errors import UnsupportedOpError
from lamina.parser.onnx import import_onnx


def unlowerable_model() -> onnx.ModelProto:
    """Three ops that import but have no lowering (Bernoulli: random, MaxRoiPool) or an
    unsupported variant (3-D Conv), and a Neg that lowers after the Conv it reads."""
    nodes = [
        helper.make_node("Bernoulli", ["x"], ["d"], name="coin"),
        helper.make_node("Conv", ["v", "w"], ["c"], name="conv3d"),
        helper.make_node("Neg", ["c"], ["r"], name="neg"),
        helper.make_node("MaxRoiPool", ["x4", "rois"], ["p"], name="roipool", pooled_shape=[1, 1]),
    ]
    inputs = {"x": [3, 3], "v": [1, 1, 3, 3, 3], "x4": [1, 1, 4, 4], "rois": [1, 5]}
    outputs = {"d": [3, 3], "r": [1, 1, 1, 1, 1], "p": [1, 1, 1, 1]}
    weight = numpy_helper.from_array(np.ones((1, 1, 3, 3, 3), np.float32), "w")
    graph = helper.make_graph(
        nodes,
        "three",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs.items()],
        [weight],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def unimportable_model() -> onnx.ModelProto:
    """Nodes of another domain, of no ONNX operator, and of a deprecated one."""
    nodes = [
        helper.make_node("FusedMatMul", ["x", "x"], ["a"], name="fused", domain="com.microsoft"),
        helper.make_node("NoSuchOp", ["a"], ["b"], name="mystery"),
        helper.make_node("Upsample", ["b", "scales"], ["y"], name="upsample"),
    ]
    graph = helper.make_graph(
        nodes,
        "unimportable",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])],
        [numpy_helper.from_array(np.array([2, 2], np.float32), "scales")],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=opsets)


LOWERING_LINES = [
    "'graph.bernoulli' (node 'coin'): no lowering to the top dialect",
    "(node 'conv3d'): 3-D convolution",
    "'graph.max_roi_pool' (node 'roipool'): no lowering to the top dialect",
]
IMPORT_LINES = [
    "node 'fused' (FusedMatMul): operators of domain 'com.microsoft'",
    "node 'mystery' (NoSuchOp): 'NoSuchOp' is not an operator of ONNX",
    "node 'upsample' (Upsample): 'Upsample' is deprecated in opset 17",
]


def assert_lists(message: str, lines: list[str]) -> None:
    first, *rest = message.splitlines()
    assert first.startswith("not supported: 3 nodes"), message
    assert len(rest) == 3, message
    for line, expected in zip(rest, lines, strict=True):
        assert expected in line, message


@pytest.mark.parametrize(
    ("build", "lines"), [(unlowerable_model, LOWERING_LINES), (unimportable_model, IMPORT_LINES)]
)
def test_lamina_compile_raises_one_error_listing_every_unsupported_node(build, lines):
    with pytest.raises(UnsupportedOpError) as raised:
        lamina.compile(build())
    assert_lists(raised.value.message, lines)


def test_import_lists_nodes_whose_element_types_have_no_mlir_type():
    nodes = [
        helper.make_node("Cast", ["x"], ["s"], name="to_string", to=TensorProto.STRING),
        helper.make_node("Cast", ["s"], ["y"], name="from_string", to=TensorProto.FLOAT),
        helper.make_node("Cast", ["x"], ["t"], name="to_string_too", to=TensorProto.STRING),
        helper.make_node("Cast", ["t"], ["z"], name="from_string_too", to=TensorProto.FLOAT),
    ]
    graph = helper.make_graph(
        nodes,
        "strings",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [2]) for n in "yz"],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(UnsupportedOpError) as raised:
        import_onnx(model)
    message = raised.value.message
    assert message.startswith("not supported: 2 nodes:\n"), message
    assert "node 'to_string' (Cast): tensor 's' has element type STRING" in message
    assert "node 'to_string_too' (Cast): tensor 't' has element type STRING" in message


def run_tool(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", f"lamina.tools.{module}", *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def assert_one_error(result: subprocess.CompletedProcess[str], path: Path, lines: list[str]):
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith(f"{path}: error: not supported: 3 nodes"), result.stderr
    for line in lines:
        assert line in result.stderr


@pytest.mark.parametrize(
    ("build", "lines"), [(unlowerable_model, LOWERING_LINES), (unimportable_model, IMPORT_LINES)]
)
def test_lamina_opt_and_lamina_compile_report_one_error_and_write_nothing(
    build, lines, tmp_path: Path
):
    path = tmp_path / "model.onnx"
    onnx.save(build(), path)
    output = tmp_path / "lowered.mlir"
    opt = run_tool("opt", str(path), "-p", "convert-graph-to-top", "-o", str(output))
    assert_one_error(opt, path, lines)
    assert not output.exists()
    bundle = tmp_path / "bundle"
    assert_one_error(run_tool("compile", str(path), "-o", str(bundle)), path, lines)
    assert not bundle.exists()
