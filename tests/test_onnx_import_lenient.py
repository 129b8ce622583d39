"""The ONNX importer accepts what onnx.checker accepts and onnxruntime runs: stale type
annotations are dropped with a warning, -1 sizes are dynamic, and any value name becomes a
valid SSA name whose original stays in the location."""

from __future__ import annotations

import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from xdsl.dialects.builtin import NameLoc
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.printer import Printer

import lamina
from lamina.context import make_context
from lamina.errors import LaminaWarning
from lamina.parser.onnx import import_onnx


def relu_neg(
    annotation: onnx.ValueInfoProto | None,
    x_shape: list[int | str | None] | None = None,
    y_shape: list[int | str | None] | None = None,
) -> onnx.ModelProto:
    """y = -relu(x) on [1, 4], with `annotation` as the value_info of the middle value 'r'."""
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Neg", ["r"], ["y"])],
        "relu_neg",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape or [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape or [1, 4])],
        value_info=[annotation] if annotation is not None else [],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def assert_runs_like_onnxruntime(model: onnx.ModelProto, shape: list[int], **options: object):
    onnx.checker.check_model(model)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    (want,) = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})
    (got,) = lamina.compile(model, **options)(x)  # type: ignore[arg-type]
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-6, atol=1e-6)


STALE = {
    "dimension 0: (1) vs (2)": [2, 4],
    "rank: (2) vs (1)": [4],
    "rank: (2) vs (3)": [1, 1, 4],
}


@pytest.mark.parametrize("stale", STALE)
def test_stale_value_info_is_dropped_with_a_warning_naming_the_value(stale: str):
    model = relu_neg(helper.make_tensor_value_info("r", TensorProto.FLOAT, STALE[stale]))
    with pytest.warns(LaminaWarning, match="'r' disagrees with its inferred type"):
        assert_runs_like_onnxruntime(model, [1, 4])


def test_stale_output_annotation_is_dropped_and_the_inferred_type_returned():
    model = relu_neg(None, y_shape=[3, 4])
    with pytest.warns(LaminaWarning, match="'y'"):
        module = import_onnx(model)
    assert "-> tensor<1x4xf32>" in str(module)


def test_minus_one_size_is_dynamic_and_needs_no_warning(recwarn: pytest.WarningsRecorder):
    model = relu_neg(helper.make_tensor_value_info("r", TensorProto.FLOAT, [-1, 4]), [-1, 4])
    assert "tensor<?x4xf32>" in str(import_onnx(model))
    assert_runs_like_onnxruntime(model, [1, 4], input_shapes={"x": [1, 4]})
    assert not [w for w in recwarn if issubclass(w.category, LaminaWarning)]


def test_zero_size_as_unknown_yields_to_the_given_input_shape():
    model = relu_neg(None, [0, 4], ["n", 4])
    x = np.random.default_rng(0).standard_normal([3, 4]).astype(np.float32)
    (got,) = lamina.compile(model, input_shapes={"x": [3, 4]})(x)
    np.testing.assert_array_equal(got, -np.maximum(x, 0))  # onnxruntime insists on size 0


def test_agreeing_annotation_fills_in_what_inference_leaves_unknown():
    model = relu_neg(helper.make_tensor_value_info("r", TensorProto.FLOAT, [4]), ["n", 4])
    with pytest.warns(LaminaWarning, match="'r'"):
        module = import_onnx(model)
    assert "-> tensor<1x4xf32>" in str(module)  # the output's annotation [1, 4]


@pytest.mark.parametrize("tool", ["opt", "compile"])
def test_tools_print_the_warning_with_the_file_name(tool: str, tmp_path: Path):
    path = tmp_path / "stale.onnx"
    onnx.save(relu_neg(helper.make_tensor_value_info("r", TensorProto.FLOAT, [4])), path)
    command = [sys.executable, "-m", f"lamina.tools.{tool}", str(path)]
    command += ["-o", str(tmp_path / "out")] if tool == "compile" else []
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert f"{path}: warning: the annotated type tensor<4xf32> of 'r'" in result.stderr
    assert "Traceback" not in result.stderr


ODD_NAMES = ["a b", "x:0", "1abc", "%weird", "入力", "_0", "0", "a_b", "x_0", "1"]
"""Value names; "a b" and "a_b" (and "x:0", "x_0") sanitize alike. Nodes are named the
same, rotated, and the unnamed nodes ("") take their first output's name."""


def odd_names_chain() -> onnx.ModelProto:
    """A chain of Relus whose values (and nodes) have names xDSL would not take as hints."""
    nodes, previous = [], "in put"
    for index, name in enumerate(ODD_NAMES):
        node_name = ["", *ODD_NAMES][(index + 3) % len(ODD_NAMES)]
        nodes.append(helper.make_node("Relu", [previous], [name], name=node_name))
        previous = name
    graph = helper.make_graph(
        nodes,
        "odd graph",
        [helper.make_tensor_value_info("in put", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info(previous, TensorProto.FLOAT, [2])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def print_ir(op: Operation, generic: bool = False) -> str:
    out = StringIO()
    Printer(stream=out, print_generic_format=generic).print_op(op)
    return out.getvalue()


def parse_ir(text: str) -> Operation:
    return Parser(make_context(), text).parse_module()


@pytest.mark.parametrize("generic", [False, True])
def test_odd_value_names_print_and_parse_back(generic: bool):
    module = import_onnx(odd_names_chain())
    text = print_ir(module, generic)
    assert print_ir(parse_ir(text), generic) == text
    hints = [r.name_hint for op in module.walk() for r in op.results if r.name_hint]
    assert "x" in hints and "_1abc" in hints and "_weird" in hints


def test_odd_names_are_kept_in_the_locations():
    module = import_onnx(odd_names_chain())
    (function,) = module.ops
    (argument,) = function.regions[0].blocks[0].args  # type: ignore[attr-defined]
    assert isinstance(argument.location, NameLoc)
    assert argument.location.desc.data == "in put"
    names = [op.location.desc.data for op in module.walk() if isinstance(op.location, NameLoc)]
    assert {"x:0", "%weird", "入力", "a b"} <= set(names)


def test_odd_names_compile_and_match_onnxruntime():
    model = odd_names_chain()
    x = np.random.default_rng(0).standard_normal(2).astype(np.float32)
    (want,) = ort.InferenceSession(model.SerializeToString()).run(None, {"in put": x})
    (got,) = lamina.compile(model)(x)
    np.testing.assert_allclose(got, np.asarray(want))


def if_with_stale_branch_annotations() -> onnx.ModelProto:
    """y = If(c, -relu(x), -abs(x)); each branch annotates its middle value as [7]."""

    def branch(op_type: str, name: str) -> onnx.GraphProto:
        return helper.make_graph(
            [
                helper.make_node(op_type, ["x"], [f"{name}_r"]),
                helper.make_node("Neg", [f"{name}_r"], [f"{name}_y"]),
            ],
            name,
            [],
            [helper.make_tensor_value_info(f"{name}_y", TensorProto.FLOAT, [1, 4])],
            value_info=[helper.make_tensor_value_info(f"{name}_r", TensorProto.FLOAT, [7])],
        )

    node = helper.make_node(
        "If", ["c"], ["y"], then_branch=branch("Relu", "then"), else_branch=branch("Abs", "else")
    )
    graph = helper.make_graph(
        [node],
        "if_stale",
        [
            helper.make_tensor_value_info("c", TensorProto.BOOL, []),
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_stale_annotations_in_subgraphs_are_dropped_too():
    model = if_with_stale_branch_annotations()
    onnx.checker.check_model(model)
    with pytest.warns(LaminaWarning) as warned:
        module = import_onnx(model)
    assert {"'then_r'", "'else_r'"} <= {w for r in warned for w in str(r.message).split()}
    assert str(module).count("graph.relu %x : tensor<1x4xf32>") == 1
