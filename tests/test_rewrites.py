"""The rewrite language and the graph-default rule set: every rewrite keeps the numbers the
model computes (reference interpreter before vs after), bad rule files fail with a position,
and the default set is fast enough to run on every import."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
from helpers_cli import constant_node, graph_op_counts, inferred_model, rewritten_by_graph_default
from onnx import helper
from xdsl.ir import SSAValue

from lamina.context import make_context
from lamina.errors import RewriteRuleError
from lamina.parser.onnx import import_onnx
from lamina.parser.rewrites import parse_rules
from lamina.rewrites.apply_rules import ApplyRulesPass, apply_rules, compile_rule_file
from lamina.rewrites.helpers import register_helper, shape
from lamina.tools.models import light_model, random_inputs, with_logits

RESNET50 = Path(onnx.__file__).parent / "backend/test/data/light/light_resnet50.onnx"
RNG = np.random.default_rng(0)


def _random(*dims: int) -> np.ndarray:
    return RNG.standard_normal(dims).astype(np.float32)


def _bn_nodes(x: str, y: str, channels: int) -> list[onnx.NodeProto]:
    return [
        constant_node("gamma", _random(channels)),
        constant_node("beta", _random(channels)),
        constant_node("mean", _random(channels)),
        constant_node("var", RNG.uniform(0.5, 2.0, channels).astype(np.float32)),
        helper.make_node(
            "BatchNormalization", [x, "gamma", "beta", "mean", "var"], [y], epsilon=1e-3
        ),
    ]


def test_conv_batchnorm_relu_folds_into_one_conv_with_the_same_numbers():
    nodes = [
        constant_node("w", _random(4, 3, 3, 3)),
        constant_node("b", _random(4)),
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        *_bn_nodes("c", "bn", 4),
        helper.make_node("Relu", ["bn"], ["y"]),
    ]
    model = inferred_model(nodes, {"x": [1, 3, 8, 8]}, "y")
    module = rewritten_by_graph_default(model, {"x": _random(1, 3, 8, 8)})
    ops = graph_op_counts(module)
    assert ops["graph.batch_normalization"] == 0
    assert ops["graph.fused_conv"] == 1  # the Relu fused too (fuse_activation.rw)
    assert ops["graph.conv"] == 0 and ops["graph.relu"] == 0


def test_gemm_batchnorm_folds_for_both_transb():
    for trans_b, b_shape in ((0, (5, 3)), (1, (3, 5))):
        nodes = [
            constant_node("b", _random(*b_shape)),
            constant_node("c", _random(3)),
            helper.make_node("Gemm", ["a", "b", "c"], ["g"], transB=trans_b, beta=0.5),
            *_bn_nodes("g", "y", 3),
        ]
        model = inferred_model(nodes, {"a": [2, 5]}, "y")
        module = rewritten_by_graph_default(model, {"a": _random(2, 5)})
        assert graph_op_counts(module)["graph.batch_normalization"] == 0


def test_bias_add_folds_into_conv_and_gemm():
    conv = [
        constant_node("w", _random(4, 3, 1, 1)),
        helper.make_node("Conv", ["x", "w"], ["c"]),
        constant_node("k", _random(1, 4, 1, 1)),
        helper.make_node("Add", ["k", "c"], ["y"]),
    ]
    module = rewritten_by_graph_default(
        inferred_model(conv, {"x": [2, 3, 5, 5]}, "y"), {"x": _random(2, 3, 5, 5)}
    )
    assert graph_op_counts(module)["graph.add"] == 0
    gemm = [
        constant_node("b", _random(4, 3)),
        helper.make_node("Gemm", ["a", "b"], ["g"]),
        constant_node("d", _random(3)),
        helper.make_node("Add", ["g", "d"], ["y"]),
    ]
    module = rewritten_by_graph_default(
        inferred_model(gemm, {"a": [2, 4]}, "y"), {"a": _random(2, 4)}
    )
    assert graph_op_counts(module)["graph.add"] == 0


def test_pad_folds_into_conv_and_average_pool():
    nodes = [
        constant_node("pads", np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64)),
        helper.make_node("Pad", ["x", "pads"], ["p"]),
        constant_node("w", _random(2, 3, 3, 3)),
        helper.make_node("Conv", ["p", "w"], ["c"], pads=[1, 0, 0, 1]),
        helper.make_node("Pad", ["c", "pads"], ["q"]),
        helper.make_node("AveragePool", ["q"], ["y"], kernel_shape=[2, 2], count_include_pad=1),
    ]
    model = inferred_model(nodes, {"x": [1, 3, 6, 6]}, "y")
    module = rewritten_by_graph_default(model, {"x": _random(1, 3, 6, 6)})
    assert graph_op_counts(module)["graph.pad"] == 0


def test_transpose_pairs_identity_and_dropout_disappear():
    nodes = [
        helper.make_node("Identity", ["x"], ["i"]),
        helper.make_node("Dropout", ["i"], ["d"]),
        helper.make_node("Transpose", ["d"], ["t1"], perm=[0, 2, 3, 1]),
        helper.make_node("Transpose", ["t1"], ["t2"], perm=[0, 3, 1, 2]),
        helper.make_node("Transpose", ["t2"], ["t3"], perm=[1, 0, 2, 3]),
        helper.make_node("Transpose", ["t3"], ["y"], perm=[0, 1, 3, 2]),
    ]
    model = inferred_model(nodes, {"x": [1, 2, 3, 4]}, "y")
    module = rewritten_by_graph_default(model, {"x": _random(1, 2, 3, 4)})
    assert graph_op_counts(module) == Counter({"graph.transpose": 1})


def test_shape_gather_concat_reshape_chain_folds_to_one_reshape():
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        constant_node("zero", np.array(0, np.int64)),
        helper.make_node("Gather", ["s", "zero"], ["n"]),
        constant_node("axes", np.array([0], np.int64)),
        helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
        constant_node("minus_one", np.array([-1], np.int64)),
        helper.make_node("Concat", ["n1", "minus_one"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["r"]),
        constant_node("flat", np.array([-1], np.int64)),
        helper.make_node("Reshape", ["r", "flat"], ["y"]),
    ]
    model = inferred_model(nodes, {"x": [2, 3, 4]}, "y")
    module = rewritten_by_graph_default(model, {"x": _random(2, 3, 4)})
    assert graph_op_counts(module) == Counter({"graph.reshape": 1, "graph.constant": 1})


def test_a_native_helper_registered_from_python_is_callable_from_a_rule(tmp_path: Path):
    def is_vector(v: SSAValue) -> bool:
        dims = shape(v)
        return dims is not None and len(dims) == 1

    register_helper("is_vector", is_vector)
    rules = tmp_path / "vector_relu.rw"
    rules.write_text(
        "// relu(x) -> x on vectors (a silly rule, to test helpers)\n"
        "rule drop_vector_relu {\n"
        "  match %y = graph.relu(%x)\n"
        "  where is_vector(%x)\n"
        "  rewrite %y = %x\n"
        "}\n"
    )
    model = inferred_model([helper.make_node("Relu", ["x"], ["y"])], {"x": [4]}, "y")
    module = import_onnx(model)
    assert apply_rules(module, compile_rule_file(rules)) == {"drop_vector_relu": 1}
    assert graph_op_counts(module)["graph.relu"] == 0


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("rule r {\n  match %y = graph.relu(%x %z)\n", "r.rw:2:28", "unexpected '%z'"),
        (
            "rule r { match %y = graph.rellu(%x) rewrite %y = %x }",
            "r.rw:1:16",
            "unknown op 'graph.rellu'",
        ),
        (
            "rule r { match %y = graph.conv(%x, %w, %b) {pad = 1} rewrite %y = %x }",
            "r.rw:1:45",
            "has no attribute 'pad'",
        ),
        ("rule r { match %y = graph.relu(%x) rewrite %y = %q }", "r.rw:1:49", "unknown binding %q"),
        (
            "rule r { match %y = graph.relu(%x) where $n > 1 rewrite %y = %x }",
            "r.rw:1:42",
            "unknown binding $n",
        ),
        (
            "rule r { match %y = graph.relu(%x) where rank(%x, 1) rewrite %y = %x }",
            "r.rw:1:42",
            "rank()",
        ),
        ("rule r { match %y = graph.relu(%x) rewrite %z = %x }", "r.rw:1:6", "does not define %y"),
        (
            "rule r { match %y = graph.relu(%x) rewrite %y = graph.sigmoid(%x) : %y }",
            "r.rw:1:69",
            "a result type must be a type, not the value %y: write `type(%y)`",
        ),
    ],
)
def test_bad_rules_report_file_line_and_column(tmp_path: Path, text: str, where: str, message: str):
    path = tmp_path / "r.rw"
    path.write_text(text)
    with pytest.raises(RewriteRuleError) as caught:
        compile_rule_file(path)
    assert str(caught.value).startswith(f"{tmp_path / where}: error: ")
    assert message in str(caught.value)


def test_a_result_type_that_is_no_type_is_named_in_the_error(tmp_path: Path):
    path = tmp_path / "bad.rw"
    path.write_text(
        "rule ranked {\n  match %y = graph.relu(%x)\n"
        "  rewrite %y = graph.sigmoid(%x) : rank(%x)\n}\n"
    )
    module = import_onnx(
        inferred_model([helper.make_node("Relu", ["x"], ["y"])], {"x": [2, 3]}, "y")
    )
    with pytest.raises(
        RewriteRuleError,
        match=r"rule 'ranked' at .*bad.rw:3:11: a result type of 'graph.sigmoid' must be a type",
    ):
        apply_rules(module, compile_rule_file(path))


def test_a_rule_building_ill_typed_ir_is_named_in_the_error(tmp_path: Path):
    path = tmp_path / "bad.rw"
    path.write_text(
        "rule flip {\n  match %y = graph.relu(%x)\n  rewrite %y = graph.transpose(%x)\n}\n"
    )
    module = import_onnx(
        inferred_model([helper.make_node("Relu", ["x"], ["y"])], {"x": [2, 3]}, "y")
    )
    with pytest.raises(RewriteRuleError, match=r"rule 'flip' at .*bad.rw:1:6 built invalid IR"):
        apply_rules(module, compile_rule_file(path))


def test_the_grammar_reads_every_construct():
    rules = parse_rules(
        'include "other.rw"\n'
        "rule all benefit 3 {\n"
        "  match %a : tensor<?x4xf32> = graph.relu | graph.abs(%x : f32, ...) one_use\n"
        "        %y, %m = graph.dropout(%a, _, %t) {seed = $s}\n"
        "  where $s in [1, 2] and not (-1 >= 2 % 3) or shape(%x)[1:] == [4]\n"
        "  let $z = 1.5e3 if true else none\n"
        "  rewrite %k = graph.abs(%x) {attrs of %a, seed = $z} : type(%a)\n"
        "          %y = %k\n"
        "          %m = none\n"
        "}\n"
    )
    assert rules.includes[0][0] == "other.rw"
    (rule,) = rules.rules
    assert (rule.name, rule.benefit, len(rule.patterns), len(rule.guards)) == ("all", 3, 2, 2)


def test_graph_default_folds_every_batchnorm_and_weight_fill_of_resnet50():
    # (its speed, < 1 s, is measured by benchmarks/rewrites.py)
    module = import_onnx(RESNET50)
    ApplyRulesPass(set="graph-default").apply(make_context(), module)
    ops = graph_op_counts(module)
    assert ops["graph.batch_normalization"] == 0 and ops["graph.constant_of_shape"] == 0


@pytest.mark.parametrize("name", ["squeezenet", "shufflenet", "inception_v2", "resnet50"])
def test_graph_default_keeps_light_model_outputs(name: str):
    model = with_logits(light_model(name))
    rewritten_by_graph_default(model, random_inputs(model))
