"""Small explicit models for bugs that random graphs and engineers found in the lowerings,
each compiled for the host and compared with onnxruntime at the output's scale
(max|err| <= 1e-3 * max|ref| + 1e-4, `output_mismatch`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import NameLoc
from xdsl.parser import Parser
from xdsl.utils.exceptions import VerifyException

from lamina.compiler import compile as lamina_compile
from lamina.compiler import import_model
from lamina.context import make_context
from lamina.errors import LaminaError
from lamina.rewrites.apply_rules import ApplyRulesPass
from lamina.runtime.reference.interpreter import run_reference
from lamina.runtime.reference.top_interpreter import run_top
from lamina.tools.model_builders_rnn import recurrent_node
from lamina.tools.models import output_mismatch

RNG = np.random.default_rng(5)


def one_node_model(
    op: str,
    inputs: dict[str, list[int]],
    weights: dict[str, np.ndarray],
    output: list[int],
    **attrs: Any,
) -> onnx.ModelProto:
    """A graph of one `op` node reading the float inputs and then the weights, in order."""
    node = helper.make_node(op, [*inputs, *weights], ["y"], name=f"{op.lower()}0", **attrs)
    graph = helper.make_graph(
        [node],
        f"{op.lower()}_regression",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, output)],
        [numpy_helper.from_array(a, n) for n, a in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def assert_matches_onnxruntime(model: onnx.ModelProto) -> list[np.ndarray]:
    """Run `model` on seeded normal inputs through lamina and onnxruntime; return lamina's."""
    feeds = {
        i.name: RNG.standard_normal([d.dim_value for d in i.type.tensor_type.shape.dim]).astype(
            np.float32
        )
        for i in model.graph.input
    }
    options = ort.SessionOptions()
    # onnxruntime's NCHWc conv rewrite (an extended optimization) refuses empty outputs
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    want = [np.asarray(w) for w in session.run(None, feeds)]
    got = lamina_compile(model, device="host")(**feeds)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype
        assert output_mismatch(g, w) is None, output_mismatch(g, w)
    return got


def normal(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def test_conv_with_one_input_channel_large_enough_for_gemm_matches_onnxruntime():
    # random graph 234: the planner packed the filter for the GEMM, but the depthwise kernel
    # (which also takes C = 1, group 1) lowered the conv and found no plain filter buffer
    model = one_node_model(
        "Conv",
        {"x": [2, 1, 18, 20]},
        {"w": normal(12, 1, 5, 5), "b": normal(12)},
        [2, 12, 20, 20],
        pads=[3, 4, 3, 0],
    )
    assert_matches_onnxruntime(model)


def test_depthwise_conv_large_enough_for_gemm_matches_onnxruntime():
    model = one_node_model(
        "Conv",
        {"x": [1, 8, 24, 24]},
        {"w": normal(8, 1, 5, 5)},
        [1, 8, 24, 24],
        pads=[2, 2, 2, 2],
        group=8,
    )
    assert_matches_onnxruntime(model)


BROADCAST_BY_LOOP = """
func.func @f(%a: tensor<1x8xf32>, %b: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %z = arith.constant 0.0 : f32
  %init = top.fill %z : f32 -> tensor<4x8xf32>
  %r = top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>,
                                     affine_map<(d0, d1) -> (d0, d1)>,
                                     affine_map<(d0, d1) -> (d0, d1)>],
                    iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<1x8xf32>, tensor<4x8xf32>) outs(%init : tensor<4x8xf32>) {
  ^bb0(%x: f32, %y: f32, %o: f32):
    %s = arith.addf %x, %y : f32
    top.yield %s : f32
  } -> tensor<4x8xf32>
  func.return %r : tensor<4x8xf32>
}
"""


def test_generic_whose_operands_disagree_on_a_dim_is_rejected_not_broadcast():
    # loop d0 takes extent 1 from %a (the first operand reading it alone); %b and the
    # output have 4 rows: the verifier names both sizes, the top interpreter (which runs
    # unverified IR between passes) refuses instead of broadcasting %a
    module = Parser(make_context(), BROADCAST_BY_LOOP).parse_module()
    with pytest.raises(VerifyException, match=r"loop d0 has extent 1 from input #0"):
        module.verify()
    with pytest.raises(LaminaError, match=r"dim 0 is 4 but loop d0 runs 1 times"):
        run_top(module, [normal(1, 8), normal(4, 8)])


@pytest.mark.parametrize(
    "attrs",
    [
        {"clip": 0.3, "direction": "forward"},
        {"clip": 0.5, "direction": "bidirectional", "input_forget": 1},
        {"clip": 0.4, "direction": "reverse"},
        {"activations": ["HardSigmoid", "LeakyRelu", "Softsign"], "activation_alpha": [0.3, 0.2]},
    ],
    ids=["clip", "clip-bidirectional-input-forget", "clip-reverse", "activations"],
)
def test_reference_lstm_clips_gates_only_as_onnxruntime(attrs: dict[str, Any]):
    # onnx.reference ignores clip, activations, input_forget and sequence_lens; the graph
    # reference interpreter (constant folding runs it) now matches onnxruntime: clip bounds
    # the gate pre-activations, not the input of h(C). Initial states of 3 sigma make the
    # cell state exceed the clip, so clipping h(C)'s input too would show.
    uses = ("B", "sequence_lens", "initial_h", "initial_c", "P")
    model, feeds = recurrent_node(
        "LSTM", steps=4, batch=3, lens=[4, 2, 0], uses=uses,
        outputs=("Y", "Y_h", "Y_c"), **attrs,
    )  # fmt: skip
    feeds = {n: a * 3 if n in ("initial_h", "initial_c") else a for n, a in feeds.items()}
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = [np.asarray(w) for w in session.run(None, feeds)]
    got = run_reference(import_model(model), feeds)
    for g, w in zip(got, want, strict=True):
        assert output_mismatch(g, w) is None, output_mismatch(g, w)


EMPTY_CASES = {
    "matmul-n0": one_node_model("MatMul", {"a": [3, 5]}, {"b": normal(5, 0)}, [3, 0]),
    "matmul-k0": one_node_model("MatMul", {"a": [64, 0], "b": [0, 64]}, {}, [64, 64]),
    "gemm-m0": one_node_model("Gemm", {"a": [0, 5]}, {"b": normal(5, 4)}, [0, 4]),
    "gemm-k0-bias": one_node_model("Gemm", {"a": [3, 0], "b": [0, 4]}, {"c": normal(4)}, [3, 4]),
    "conv-batch0": one_node_model(
        "Conv", {"x": [0, 3, 6, 6]}, {"w": normal(32, 3, 3, 3)}, [0, 32, 4, 4]
    ),
    "add": one_node_model("Add", {"a": [2, 0, 3], "b": [2, 0, 3]}, {}, [2, 0, 3]),
    "concat-empty-operand": one_node_model(
        "Concat", {"a": [2, 0], "b": [2, 3]}, {}, [2, 3], axis=1
    ),
    "reduce-sum-empty-axis": one_node_model(
        "ReduceSum", {"a": [2, 0, 3]}, {"axes": np.array([1])}, [2, 1, 3], keepdims=1
    ),
}


@pytest.mark.parametrize("case", EMPTY_CASES)
def test_zero_element_values_compile_and_match_onnxruntime(case: str):
    # an op whose result has no element emits no loop nest (no vector op on an empty
    # buffer, no GEMM blocking of a 0 dim); ops reading empty operands still fill their
    # results (K = 0 matmul: zeros; sum over an empty axis: 0)
    assert_matches_onnxruntime(EMPTY_CASES[case])


def test_conv_whose_kernel_exceeds_the_padded_input_returns_an_empty_output():
    # onnxruntime refuses this case ("Invalid input shape"); ONNX's output size formula
    # gives (4 + 2 - 7) + 1 = 0 rows and columns
    model = one_node_model(
        "Conv", {"x": [1, 3, 4, 4]}, {"w": normal(32, 3, 7, 7), "b": normal(32)},
        [1, 32, 0, 0], pads=[1, 1, 1, 1],
    )  # fmt: skip
    relu = helper.make_node("Relu", ["y"], ["z"], name="relu0")
    model.graph.node.append(relu)
    model.graph.output[0].name = "z"
    (got,) = lamina_compile(model, device="host")(normal(1, 3, 4, 4))
    assert got.shape == (1, 32, 0, 0) and got.dtype == np.float32


def test_fused_conv_carries_the_conv_node_name_not_the_activation_name():
    # relu(conv) -> fused_conv: errors about the fused op must name the conv node
    model = one_node_model(
        "Conv", {"x": [1, 3, 8, 8]}, {"w": normal(4, 3, 3, 3)}, [1, 4, 8, 8], pads=[1, 1, 1, 1]
    )
    model.graph.node.append(helper.make_node("Relu", ["y"], ["z"], name="relu0"))
    model.graph.output[0].name = "z"
    module = import_model(model)
    ApplyRulesPass(set="graph-default").apply(make_context(), module)
    (fused,) = [op for op in module.walk() if op.name == "graph.fused_conv"]
    assert isinstance(fused.location, NameLoc) and fused.location.desc.data == "conv0"
