"""plan-memory: no two buffers live at the same time share a byte, and the arena reaches
the liveness lower bound where it can (chains)."""

from __future__ import annotations

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, ModuleOp
from xdsl.parser import Parser

from lamina.context import make_context
from lamina.dialects import loop
from lamina.lowering.plan_memory import MemoryPlan, plan_function
from lamina.lowering.top_to_loop import ConvertTopToLoopPass
from lamina.runtime.reference.loop_interpreter import run_loop

_ID = "affine_map<(d0) -> (d0)>"


def _unary(name: str, x: str, n: int, body: str = "math.exp") -> str:
    """A one-input elementwise generic whose init is a fresh fill (so no in-place reuse)."""
    return f"""
      %{name}_z = top.fill %zero : f32 -> tensor<{n}xf32>
      %{name} = top.generic {{indexing_maps = [{_ID}, {_ID}], iterator_types = ["parallel"]}}
          ins(%{x} : tensor<{n}xf32>) outs(%{name}_z : tensor<{n}xf32>) {{
      ^bb0(%{name}_in: f32, %{name}_o: f32):
        %{name}_e = {body} %{name}_in : f32
        %{name}_s = arith.addf %{name}_e, %{name}_o : f32
        top.yield %{name}_s : f32
      }} -> tensor<{n}xf32>"""


def _lower(text: str) -> tuple[ModuleOp, func.FuncOp]:
    module = Parser(make_context(), text).parse_module()
    ConvertTopToLoopPass().apply(make_context(), module)
    module.verify()
    function = next(op for op in module.walk() if isinstance(op, func.FuncOp))
    return module, function


def _plan(function: func.FuncOp) -> MemoryPlan:
    (plan,) = plan_function(function)
    assert not plan.conflicts()
    assert not any(isinstance(op, loop.AllocOp | loop.DeallocOp) for op in function.walk())
    assert function.attributes["lamina.arena_size"] == IntegerAttr(plan.arena_size, 64)
    return plan


def test_chain_reaches_the_lower_bound() -> None:
    sizes = [64, 256, 32, 128, 16]
    ops, prev = [], "x"
    for i, n in enumerate(sizes):
        if i:  # a change of size between steps: a broadcast from the previous step's sum
            ops.append(
                f"%r{i} = top.reduce sum %{prev} axes [0] : tensor<{sizes[i - 1]}xf32> -> tensor<f32>"
            )
            ops.append(f"%b{i} = top.broadcast %r{i} : tensor<f32> -> tensor<{n}xf32>")
            prev = f"b{i}"
        ops.append(_unary(f"t{i}", prev, n))
        prev = f"t{i}"
    body = "\n      ".join(ops)
    text = f"""
    func.func @chain(%x: tensor<64xf32>) -> tensor<16xf32> {{
      %zero = arith.constant 0.0 : f32
      {body}
      func.return %{prev} : tensor<16xf32>
    }}"""
    module, function = _lower(text)
    x = np.linspace(-1, 1, 64, dtype=np.float32)
    before = run_loop(module, [x])
    plan = _plan(function)
    assert plan.arena_size == plan.lower_bound
    after = run_loop(module, [x])
    np.testing.assert_array_equal(before[0], after[0])


def test_diamond_keeps_both_branches_apart() -> None:
    text = f"""
    func.func @diamond(%x: tensor<64xf32>) -> tensor<64xf32> {{
      %zero = arith.constant 0.0 : f32
      {_unary("a", "x", 64)}
      {_unary("l", "a", 64, "math.tanh")}
      {_unary("r", "a", 64, "math.sin")}
      %s = top.generic {{indexing_maps = [{_ID}, {_ID}, {_ID}], iterator_types = ["parallel"]}}
          ins(%l, %r : tensor<64xf32>, tensor<64xf32>) outs(%l : tensor<64xf32>) {{
      ^bb0(%p: f32, %q: f32, %o: f32):
        %t = arith.mulf %p, %q : f32
        top.yield %t : f32
      }} -> tensor<64xf32>
      {_unary("out", "s", 64)}
      func.return %out : tensor<64xf32>
    }}"""
    module, function = _lower(text)
    x = np.linspace(-1, 1, 64, dtype=np.float32)
    (before,) = run_loop(module, [x])
    plan = _plan(function)
    # a, l and r are live together (r is computed while a and l are still needed)
    assert plan.lower_bound >= 3 * 256
    assert plan.arena_size <= plan.lower_bound + 256
    (after,) = run_loop(module, [x])
    np.testing.assert_array_equal(before, after)
    a = np.exp(x)
    np.testing.assert_allclose(after, np.exp(np.tanh(a) * np.sin(a)), rtol=1e-5)


def test_function_without_intermediates_gets_an_empty_arena() -> None:
    text = """
    func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
      %t = top.transpose %x permutation [0] : tensor<4xf32> -> tensor<4xf32>
      func.return %t : tensor<4xf32>
    }"""
    _, function = _lower(text)
    plan_function(function)
    assert function.attributes["lamina.arena_size"] == IntegerAttr(0, 64)
    assert str(function.args[1].type) == "memref<0xi8>"
