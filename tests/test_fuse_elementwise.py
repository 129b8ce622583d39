"""`top-fuse-elementwise`: the top reference interpreter gives the same results before and
after fusion, the fused module still lowers to loops and runs under the JIT, and chains
really became fewer generics."""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser
from xdsl.passes import PassPipeline

from lamina.context import make_context
from lamina.dialects import top
from lamina.lowering.plan_memory import PlanMemoryPass
from lamina.lowering.top_to_loop import ConvertTopToLoopPass
from lamina.rewrites.top.fuse_elementwise import TopFuseElementwisePass
from lamina.runtime.jit import JitFunction
from lamina.runtime.reference.top_interpreter import run_top
from lamina.tools.models import light_model, random_inputs
from lamina.universe import LAMINA_PASSES

RNG = np.random.default_rng(0)

# relu(x * sigmoid(x) + b) with a broadcast bias, then a transpose-by-map consumer and
# a clip: five generics in a chain (sigmoid's fill-free constant reads included)
SWISH_BIAS_RELU = """
func.func @f(%x: tensor<2x3x4xf32>, %b: tensor<4xf32>) -> tensor<2x3x4xf32> {
  %s = graph.sigmoid %x : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %m = graph.mul %x, %s : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %a = graph.add %m, %b : (tensor<2x3x4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  %r = graph.relu %a : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %e = graph.exp %r : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  func.return %e : tensor<2x3x4xf32>
}
"""

# the producer result is also returned: it must stay, and still be right
SHARED_PRODUCER = """
func.func @f(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %e = graph.exp %x : (tensor<8xf32>) -> tensor<8xf32>
  %n = graph.neg %e : (tensor<8xf32>) -> tensor<8xf32>
  func.return %e, %n : tensor<8xf32>, tensor<8xf32>
}
"""


def to_top(text: str) -> ModuleOp:
    module = Parser(make_context(), text).parse_module()
    spec = "convert-graph-to-top"
    for compile_pass in PassPipeline.parse_spec(LAMINA_PASSES, spec).passes:
        compile_pass.apply(make_context(), module)
    module.verify()
    return module


def fuse(module: ModuleOp) -> ModuleOp:
    fused = module.clone()
    TopFuseElementwisePass().apply(make_context(), fused)
    fused.verify()
    return fused


def generics(module: ModuleOp) -> int:
    return sum(isinstance(op, top.GenericOp) for op in module.walk())


def jit_run(module: ModuleOp, inputs: list[np.ndarray]) -> list[np.ndarray]:
    lowered = module.clone()
    ConvertTopToLoopPass().apply(make_context(), lowered)
    PlanMemoryPass().apply(make_context(), lowered)
    return JitFunction(lowered)(*inputs)


def test_elementwise_chain_becomes_one_generic_with_the_same_results() -> None:
    module = to_top(SWISH_BIAS_RELU)
    inputs = [RNG.standard_normal(s).astype(np.float32) for s in ((2, 3, 4), (4,))]
    fused = fuse(module)
    assert generics(module) == 5
    assert generics(fused) == 1
    (expected,) = run_top(module, inputs)
    (got,) = run_top(fused, inputs)
    np.testing.assert_array_equal(got, expected)
    # the lowered fused generic computes the same values (libm vs numpy exp: 1 ulp-ish)
    (jitted,) = jit_run(fused, inputs)
    np.testing.assert_allclose(jitted, expected, rtol=1e-5, atol=1e-6)


def test_producer_with_a_second_user_is_not_fused() -> None:
    module = to_top(SHARED_PRODUCER)
    fused = fuse(module)
    assert generics(fused) == 2
    x = RNG.standard_normal(8).astype(np.float32)
    for got, expected in zip(run_top(fused, [x]), run_top(module, [x]), strict=True):
        np.testing.assert_array_equal(got, expected)


def test_resnet50_residual_add_relu_fuses_and_matches_the_unfused_module() -> None:
    model = light_model("resnet50")
    from lamina.compiler import import_model

    module = import_model(model)
    spec = "apply-rules{set=graph-default},convert-graph-to-top"
    for compile_pass in PassPipeline.parse_spec(LAMINA_PASSES, spec).passes:
        compile_pass.apply(make_context(), module)
    fused = fuse(module)
    assert generics(fused) < generics(module)
    inputs = random_inputs(model)
    for got, expected in zip(run_top(fused, inputs), run_top(module, inputs), strict=True):
        np.testing.assert_array_equal(got, expected)
