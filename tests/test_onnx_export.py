"""`lamina-opt m.onnx -p <graph passes> --emit-onnx out.onnx`: the graph level written back
as ONNX passes `onnx.checker` (full check) and onnxruntime computes the same outputs from
it as from the original model (issue 17)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from helpers_cli import assert_close_at_scale, onnx_model, onnxruntime_outputs, run_tool
from onnx import TensorProto, helper, numpy_helper

from lamina.tools.models import light_model, random_inputs, with_logits


def assert_same_outputs(original: onnx.ModelProto, exported: onnx.ModelProto) -> None:
    """Same output names; each output within 1e-3 of its scale (+1e-4)."""
    onnx.checker.check_model(exported, full_check=True)
    assert [o.name for o in exported.graph.output] == [o.name for o in original.graph.output]
    feeds = random_inputs(original)
    assert_close_at_scale(
        onnxruntime_outputs(exported, feeds), onnxruntime_outputs(original, feeds)
    )


def export(tmp_path: Path, model: onnx.ModelProto, passes: str) -> tuple[onnx.ModelProto, str]:
    source, target = tmp_path / "m.onnx", tmp_path / "out.onnx"
    onnx.save(model, source)
    result = run_tool("opt", source, "-p", passes, "--emit-onnx", target)
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
    weights = {
        "w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
        "b": rng.standard_normal(4).astype(np.float32),
        "lo": np.array(0.0, np.float32),
        "hi": np.array(6.0, np.float32),
        "g": rng.standard_normal((5, 64)).astype(np.float32),
    }
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv"),
        helper.make_node("Clip", ["c", "lo", "hi"], ["r"], name="relu6"),
        helper.make_node("Flatten", ["r"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "g"], ["d"], name="dense", transB=1),
        helper.make_node("LeakyRelu", ["d"], ["y"], name="leaky", alpha=0.2),
    ]
    return onnx_model(nodes, {"x": [1, 3, 6, 6]}, {"y": [1, 5]}, weights, name="fused")


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
    zero = {"zero": np.array(0.0, np.float32)}
    return onnx_model(nodes, {"x": [3]}, {"y": [3]}, zero, name="branchy")


def test_if_regions_export_as_subgraphs(tmp_path: Path):
    model = _if_model()
    exported, _ = export(tmp_path, model, "apply-rules{set=graph-default}")
    (if_node,) = [n for n in exported.graph.node if n.op_type == "If"]
    assert {a.name for a in if_node.attribute} == {"then_branch", "else_branch"}
    onnx.checker.check_model(exported, full_check=True)
    session = ort.InferenceSession(exported.SerializeToString())
    for x in (np.array([1, 2, 3], np.float32), np.array([-1, -2, 0.5], np.float32)):
        (expected,) = onnxruntime_outputs(model, {"x": x})
        got = np.asarray(session.run(None, {"x": x})[0])
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_elided_weights_cannot_be_exported_and_nothing_is_written(tmp_path: Path):
    source = tmp_path / "m.onnx"
    onnx.save(_fused_activations_model(), source)
    printed = run_tool("opt", source)
    assert printed.returncode == 0, printed.stderr
    ir = tmp_path / "m.mlir"
    ir.write_text(printed.stdout)
    target = tmp_path / "out.onnx"
    result = run_tool("opt", ir, "--emit-onnx", target)
    assert result.returncode == 1
    assert "--print-weights" in result.stderr and "Traceback" not in result.stderr
    assert not target.exists()
    kept = run_tool("opt", source, "--print-weights")
    ir.write_text(kept.stdout)
    assert run_tool("opt", ir, "--emit-onnx", target).returncode == 0
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
    result = run_tool("opt", source, "--emit-onnx", target)
    assert result.returncode == 1
    assert f"{source}:3:" in result.stderr
    assert "not supported: 'arith.constant' has no ONNX form" in result.stderr
    assert not target.exists()


def _optional_operands_model() -> onnx.ModelProto:
    """Squeeze without axes, BatchNormalization with one output, and an If whose branch
    returns a value of the enclosing graph: the absent optionals must stay absent and the
    outer value must be copied to become the branch's output."""
    rng = np.random.default_rng(9)
    stats = {n: rng.random(3).astype(np.float32) + 0.5 for n in "sbmv"}
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
    weights = {**stats, "zero": np.array(0.0, np.float32)}
    return onnx_model(nodes, {"x": [1, 3, 4]}, {"y": [3, 4]}, weights, name="optionals")


def test_absent_optional_operands_and_outer_values_in_branches(tmp_path: Path):
    model = _optional_operands_model()
    exported, ir = export(tmp_path, model, "apply-rules{set=graph-default}")
    assert "graph.identity" not in ir
    squeeze = next(n for n in exported.graph.node if n.op_type == "Squeeze")
    assert list(squeeze.input) == [squeeze.input[0]]  # no "" for the absent axes
    norm = next(n for n in exported.graph.node if n.op_type == "BatchNormalization")
    assert len(norm.output) == 1
    assert_same_outputs(model, exported)
