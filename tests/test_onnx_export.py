"""`lamina-opt m.onnx -p <graph passes> --emit-onnx out.onnx`: the graph level written back
as ONNX passes `onnx.checker` (full check) and onnxruntime computes the same outputs from
it as from the original model (issue 17)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from lamina.tools.models import light_model, random_inputs, with_logits


def lamina_opt(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "lamina.tools.opt", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def ort_outputs(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return [np.asarray(output) for output in session.run(None, feeds)]


def assert_same_outputs(original: onnx.ModelProto, exported: onnx.ModelProto) -> None:
    """Same output names; each output within 1e-3 of its scale (+1e-4)."""
    onnx.checker.check_model(exported, full_check=True)
    assert [o.name for o in exported.graph.output] == [o.name for o in original.graph.output]
    feeds = random_inputs(original)
    for ref, got in zip(ort_outputs(original, feeds), ort_outputs(exported, feeds), strict=True):
        assert got.shape == ref.shape and got.dtype == ref.dtype
        assert np.abs(got - ref).max() <= 1e-3 * np.abs(ref).max() + 1e-4


def export(tmp_path: Path, model: onnx.ModelProto, passes: str) -> tuple[onnx.ModelProto, str]:
    source, target = tmp_path / "m.onnx", tmp_path / "out.onnx"
    onnx.save(model, source)
    result = lamina_opt(source, "-p", passes, "--emit-onnx", target)
    assert result.returncode == 0, result.stderr
    return onnx.load(str(target)), result.stdout


@pytest.fixture(scope="module")
def squeezenet() -> onnx.ModelProto:
    """SqueezeNet with seeded random weights, its logits exposed as a second output."""
    return with_logits(light_model("squeezenet"))


def test_squeezenet_after_graph_rules_exports_with_fused_ops_expanded(
    tmp_path: Path, squeezenet: onnx.ModelProto
):
    exported, ir = export(tmp_path, squeezenet, "apply-rules{set=graph-default}")
    assert "graph.fused_conv" in ir  # the rules fused Relu into Conv; export splits them again
    ops = Counter(node.op_type for node in exported.graph.node)
    assert ops["Conv"] == 26 and ops["Relu"] == 26
    # the oldest opset whose definitions of these operators are the dialect's (opset 28's)
    opset = exported.opset_import[0].version
    assert opset <= 28
    for op_type in ops:
        newest = onnx.defs.get_schema(op_type, 28).since_version
        assert onnx.defs.get_schema(op_type, opset).since_version == newest <= opset
    assert any(onnx.defs.get_schema(t, 28).since_version == opset for t in ops)
    assert_same_outputs(squeezenet, exported)


def test_squeezenet_in_nhwc_layout_exports_as_transposed_nchw_ops(
    tmp_path: Path, squeezenet: onnx.ModelProto
):
    exported, ir = export(tmp_path, squeezenet, "apply-rules{set=graph-layout-nhwc}")
    assert "graph.nhwc_conv" in ir
    assert Counter(node.op_type for node in exported.graph.node)["Transpose"] > 26
    assert_same_outputs(squeezenet, exported)


def _fused_activations_model() -> onnx.ModelProto:
    """Conv -> Clip(0, 6) -> Flatten -> Gemm -> LeakyRelu(0.2): two fused ops with params."""
    rng = np.random.default_rng(3)
    weights = [
        numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "b"),
        numpy_helper.from_array(np.array(0.0, np.float32), "lo"),
        numpy_helper.from_array(np.array(6.0, np.float32), "hi"),
        numpy_helper.from_array(rng.standard_normal((5, 64)).astype(np.float32), "g"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv"),
        helper.make_node("Clip", ["c", "lo", "hi"], ["r"], name="relu6"),
        helper.make_node("Flatten", ["r"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "g"], ["d"], name="dense", transB=1),
        helper.make_node("LeakyRelu", ["d"], ["y"], name="leaky", alpha=0.2),
    ]
    graph = helper.make_graph(
        nodes,
        "fused",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])],
        weights,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_fused_activations_with_parameters_export_as_their_onnx_ops(tmp_path: Path):
    model = _fused_activations_model()
    exported, ir = export(tmp_path, model, "apply-rules{set=graph-default}")
    assert 'activation = "clip"' in ir and 'activation = "leaky_relu"' in ir
    ops = [node.op_type for node in exported.graph.node]
    assert ops == ["Conv", "Clip", "Flatten", "Gemm", "LeakyRelu"]
    leaky = exported.graph.node[-1]
    assert helper.get_attribute_value(leaky.attribute[0]) == pytest.approx(0.2)
    assert_same_outputs(model, exported)


def _if_model() -> onnx.ModelProto:
    """y = x + 1 if sum(x) > 0 else x * 2: a run-time If with two subgraphs."""

    def branch(op: str, constant: float, name: str) -> onnx.GraphProto:
        value = numpy_helper.from_array(np.array(constant, np.float32), f"{name}_c")
        return helper.make_graph(
            [helper.make_node(op, ["x", f"{name}_c"], [f"{name}_y"])],
            name,
            [],
            [helper.make_tensor_value_info(f"{name}_y", TensorProto.FLOAT, [3])],
            [value],
        )

    nodes = [
        helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
        helper.make_node("Greater", ["s", "zero"], ["cond"]),
        helper.make_node(
            "If",
            ["cond"],
            ["y"],
            then_branch=branch("Add", 1.0, "then"),
            else_branch=branch("Mul", 2.0, "else"),
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "branchy",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])],
        [numpy_helper.from_array(np.array(0.0, np.float32), "zero")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_if_regions_export_as_subgraphs(tmp_path: Path):
    model = _if_model()
    exported, _ = export(tmp_path, model, "apply-rules{set=graph-default}")
    (if_node,) = [n for n in exported.graph.node if n.op_type == "If"]
    assert {a.name for a in if_node.attribute} == {"then_branch", "else_branch"}
    onnx.checker.check_model(exported, full_check=True)
    session = ort.InferenceSession(exported.SerializeToString())
    for x in (np.array([1, 2, 3], np.float32), np.array([-1, -2, 0.5], np.float32)):
        (expected,) = ort_outputs(model, {"x": x})
        got = np.asarray(session.run(None, {"x": x})[0])
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_elided_weights_cannot_be_exported_and_nothing_is_written(tmp_path: Path):
    source = tmp_path / "m.onnx"
    onnx.save(_fused_activations_model(), source)
    printed = lamina_opt(source)
    assert printed.returncode == 0, printed.stderr
    ir = tmp_path / "m.mlir"
    ir.write_text(printed.stdout)
    target = tmp_path / "out.onnx"
    result = lamina_opt(ir, "--emit-onnx", target)
    assert result.returncode == 1
    assert "--print-weights" in result.stderr and "Traceback" not in result.stderr
    assert not target.exists()
    kept = lamina_opt(source, "--print-weights")
    ir.write_text(kept.stdout)
    assert lamina_opt(ir, "--emit-onnx", target).returncode == 0
    assert_same_outputs(_fused_activations_model(), onnx.load(str(target)))


def test_ops_below_the_graph_level_are_refused_at_their_line(tmp_path: Path):
    source = tmp_path / "t.mlir"
    source.write_text(
        "func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {\n"
        "  %y = graph.relu %x : tensor<4xf32>\n"
        "  %z = arith.constant 1 : i32\n"
        "  func.return %y : tensor<4xf32>\n"
        "}\n"
    )
    target = tmp_path / "out.onnx"
    result = lamina_opt(source, "--emit-onnx", target)
    assert result.returncode == 1
    assert f"{source}:3:" in result.stderr
    assert "not supported: 'arith.constant' has no ONNX form" in result.stderr
    assert not target.exists()


def _optional_operands_model() -> onnx.ModelProto:
    """Squeeze without axes, BatchNormalization with one output, and an If whose branch
    returns a value of the enclosing graph: the absent optionals must stay absent and the
    outer value must be copied to become the branch's output."""
    rng = np.random.default_rng(9)
    stats = [numpy_helper.from_array(rng.random(3).astype(np.float32) + 0.5, n) for n in "sbmv"]
    then_copy = helper.make_node("Identity", ["sq"], ["copy"])  # removed by graph-default
    then_branch = helper.make_graph(
        [then_copy], "then", [], [helper.make_tensor_value_info("copy", TensorProto.FLOAT, [3, 4])]
    )
    else_neg = helper.make_node("Neg", ["sq"], ["neg"])
    else_branch = helper.make_graph(
        [else_neg], "else", [], [helper.make_tensor_value_info("neg", TensorProto.FLOAT, [3, 4])]
    )
    nodes = [
        helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["n"], epsilon=1e-3),
        helper.make_node("Squeeze", ["n"], ["sq"]),
        helper.make_node("ReduceSum", ["x"], ["total"], keepdims=0),
        helper.make_node("Greater", ["total", "zero"], ["positive"]),
        helper.make_node(
            "If", ["positive"], ["y"], then_branch=then_branch, else_branch=else_branch
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "optionals",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 4])],
        [*stats, numpy_helper.from_array(np.array(0.0, np.float32), "zero")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_absent_optional_operands_and_outer_values_in_branches(tmp_path: Path):
    model = _optional_operands_model()
    exported, ir = export(tmp_path, model, "apply-rules{set=graph-default}")
    assert "graph.identity" not in ir
    squeeze = next(n for n in exported.graph.node if n.op_type == "Squeeze")
    assert list(squeeze.input) == [squeeze.input[0]]  # no "" for the absent axes
    norm = next(n for n in exported.graph.node if n.op_type == "BatchNormalization")
    assert len(norm.output) == 1
    assert_same_outputs(model, exported)
