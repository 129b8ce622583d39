"""The rewrite language and the graph-default rule set: every rewrite keeps the numbers the
model computes (reference interpreter before vs after), bad rule files fail with a position,
and the default set is fast enough to run on every import."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import SSAValue

from lamina.context import make_context
from lamina.errors import RewriteRuleError
from lamina.parser.onnx import import_onnx
from lamina.parser.rewrites import parse_rules
from lamina.rewrites.apply_rules import ApplyRulesPass, apply_rules, compile_rule_file
from lamina.rewrites.helpers import register_helper, shape
from lamina.runtime.reference import run_reference
from lamina.tools.models import light_model, random_inputs, with_logits

RESNET50 = Path(onnx.__file__).parent / "backend/test/data/light/light_resnet50.onnx"
RNG = np.random.default_rng(0)

# Folding BN into weights reorders float32 arithmetic: (x*w)*s vs x*(w*s). Values are O(1),
# so a few ulps of relative error per conv is all that can differ.
RTOL, ATOL = 1e-4, 1e-5


def _const(name: str, array: np.ndarray) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(array, name))


def _model(
    nodes: list[onnx.NodeProto], inputs: dict[str, list[int]], output: str
) -> onnx.ModelProto:
    """A float model; the output's shape comes from ONNX shape inference."""
    values = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()]
    probe = helper.make_graph(nodes, "g", values, [helper.make_empty_tensor_value_info(output)])
    inferred = onnx.shape_inference.infer_shapes(
        helper.make_model(probe, opset_imports=[helper.make_opsetid("", 17)])
    )
    out = next(v for v in inferred.graph.value_info if v.name == output)
    graph = helper.make_graph(nodes, "g", values, [out])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _ops(module: ModuleOp) -> Counter[str]:
    return Counter(op.name for op in module.walk() if op.name.startswith("graph."))


def _check_rewrite_keeps_numbers(model: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> ModuleOp:
    before = run_reference(import_onnx(model), inputs)
    module = import_onnx(model)
    ApplyRulesPass(set="graph-default").apply(make_context(), module)
    module.verify()
    after = run_reference(module, inputs)
    for b, a in zip(before, after, strict=True):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    return module


def _random(*dims: int) -> np.ndarray:
    return RNG.standard_normal(dims).astype(np.float32)


def _bn_nodes(x: str, y: str, channels: int) -> list[onnx.NodeProto]:
    return [
        _const("gamma", _random(channels)),
        _const("beta", _random(channels)),
        _const("mean", _random(channels)),
        _const("var", RNG.uniform(0.5, 2.0, channels).astype(np.float32)),
        helper.make_node(
            "BatchNormalization", [x, "gamma", "beta", "mean", "var"], [y], epsilon=1e-3
        ),
    ]


def test_conv_batchnorm_relu_folds_into_one_conv_with_the_same_numbers():
    nodes = [
        _const("w", _random(4, 3, 3, 3)),
        _const("b", _random(4)),
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        *_bn_nodes("c", "bn", 4),
        helper.make_node("Relu", ["bn"], ["y"]),
    ]
    model = _model(nodes, {"x": [1, 3, 8, 8]}, "y")
    module = _check_rewrite_keeps_numbers(model, {"x": _random(1, 3, 8, 8)})
    assert _ops(module)["graph.batch_normalization"] == 0
    assert _ops(module)["graph.fused_conv"] == 1  # the Relu fused too (fuse_activation.rw)
    assert _ops(module)["graph.conv"] == 0 and _ops(module)["graph.relu"] == 0


def test_gemm_batchnorm_folds_for_both_transb():
    for trans_b, b_shape in ((0, (5, 3)), (1, (3, 5))):
        nodes = [
            _const("b", _random(*b_shape)),
            _const("c", _random(3)),
            helper.make_node("Gemm", ["a", "b", "c"], ["g"], transB=trans_b, beta=0.5),
            *_bn_nodes("g", "y", 3),
        ]
        model = _model(nodes, {"a": [2, 5]}, "y")
        module = _check_rewrite_keeps_numbers(model, {"a": _random(2, 5)})
        assert _ops(module)["graph.batch_normalization"] == 0


def test_bias_add_folds_into_conv_and_gemm():
    conv = [
        _const("w", _random(4, 3, 1, 1)),
        helper.make_node("Conv", ["x", "w"], ["c"]),
        _const("k", _random(1, 4, 1, 1)),
        helper.make_node("Add", ["k", "c"], ["y"]),
    ]
    module = _check_rewrite_keeps_numbers(
        _model(conv, {"x": [2, 3, 5, 5]}, "y"), {"x": _random(2, 3, 5, 5)}
    )
    assert _ops(module)["graph.add"] == 0
    gemm = [
        _const("b", _random(4, 3)),
        helper.make_node("Gemm", ["a", "b"], ["g"]),
        _const("d", _random(3)),
        helper.make_node("Add", ["g", "d"], ["y"]),
    ]
    module = _check_rewrite_keeps_numbers(_model(gemm, {"a": [2, 4]}, "y"), {"a": _random(2, 4)})
    assert _ops(module)["graph.add"] == 0


def test_pad_folds_into_conv_and_average_pool():
    nodes = [
        _const("pads", np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64)),
        helper.make_node("Pad", ["x", "pads"], ["p"]),
        _const("w", _random(2, 3, 3, 3)),
        helper.make_node("Conv", ["p", "w"], ["c"], pads=[1, 0, 0, 1]),
        helper.make_node("Pad", ["c", "pads"], ["q"]),
        helper.make_node("AveragePool", ["q"], ["y"], kernel_shape=[2, 2], count_include_pad=1),
    ]
    model = _model(nodes, {"x": [1, 3, 6, 6]}, "y")
    module = _check_rewrite_keeps_numbers(model, {"x": _random(1, 3, 6, 6)})
    assert _ops(module)["graph.pad"] == 0


def test_transpose_pairs_identity_and_dropout_disappear():
    nodes = [
        helper.make_node("Identity", ["x"], ["i"]),
        helper.make_node("Dropout", ["i"], ["d"]),
        helper.make_node("Transpose", ["d"], ["t1"], perm=[0, 2, 3, 1]),
        helper.make_node("Transpose", ["t1"], ["t2"], perm=[0, 3, 1, 2]),
        helper.make_node("Transpose", ["t2"], ["t3"], perm=[1, 0, 2, 3]),
        helper.make_node("Transpose", ["t3"], ["y"], perm=[0, 1, 3, 2]),
    ]
    model = _model(nodes, {"x": [1, 2, 3, 4]}, "y")
    module = _check_rewrite_keeps_numbers(model, {"x": _random(1, 2, 3, 4)})
    assert _ops(module) == Counter({"graph.transpose": 1})


def test_shape_gather_concat_reshape_chain_folds_to_one_reshape():
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        _const("zero", np.array(0, np.int64)),
        helper.make_node("Gather", ["s", "zero"], ["n"]),
        _const("axes", np.array([0], np.int64)),
        helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
        _const("minus_one", np.array([-1], np.int64)),
        helper.make_node("Concat", ["n1", "minus_one"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["r"]),
        _const("flat", np.array([-1], np.int64)),
        helper.make_node("Reshape", ["r", "flat"], ["y"]),
    ]
    model = _model(nodes, {"x": [2, 3, 4]}, "y")
    module = _check_rewrite_keeps_numbers(model, {"x": _random(2, 3, 4)})
    assert _ops(module) == Counter({"graph.reshape": 1, "graph.constant": 1})


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
    model = _model([helper.make_node("Relu", ["x"], ["y"])], {"x": [4]}, "y")
    module = import_onnx(model)
    assert apply_rules(module, compile_rule_file(rules)) == {"drop_vector_relu": 1}
    assert _ops(module)["graph.relu"] == 0


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
    module = import_onnx(_model([helper.make_node("Relu", ["x"], ["y"])], {"x": [2, 3]}, "y"))
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
    module = import_onnx(_model([helper.make_node("Relu", ["x"], ["y"])], {"x": [2, 3]}, "y"))
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
    ops = _ops(module)
    assert ops["graph.batch_normalization"] == 0 and ops["graph.constant_of_shape"] == 0


@pytest.mark.parametrize("name", ["squeezenet", "shufflenet", "inception_v2", "resnet50"])
def test_graph_default_keeps_light_model_outputs(name: str):
    model = with_logits(light_model(name))
    feeds = random_inputs(model)
    module = import_onnx(model)
    before = run_reference(module, feeds)
    ApplyRulesPass(set="graph-default").apply(make_context(), module)
    after = run_reference(module, feeds)
    # folding BatchNorm into conv weights reorders float32 arithmetic: ~1e-6 relative
    for got, want in zip(after, before, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
