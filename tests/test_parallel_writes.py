"""The check that a `parallel` loop's iterations write disjoint elements
(lowering/parallel_writes.py, run by every compile): which writes it flags, the internal
error a compile reports for one, and the batched GEMM whose shared packing panels it
caught (threads packing the same panel at once gave Silero VAD wrong states)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

import lamina
from lamina.compiler import check_parallel_loops, lower_model
from lamina.context import make_context
from lamina.errors import LaminaError
from lamina.lowering.parallel_writes import shared_writes
from lamina.targets import load_device

LOOPS = """
func.func @{name}(%a: memref<8x8xf32>, %s: memref<8xf32>) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %x = arith.constant 1.0 : f32
  loop.for %i = %c0 to %c8 step %c1 parallel {{
    loop.for %j = %c0 to %c8 step %c1 {{
      {body}
    }}
  }}
  func.return
}}
"""
SHARED = {
    "same_row_every_iteration": "loop.store %x, %a[%c0, %j] : memref<8x8xf32>",
    "scratch_of_every_iteration": "loop.store %x, %s[%j] : memref<8xf32>",
}
DISJOINT = {
    "own_row": "loop.store %x, %a[%i, %j] : memref<8x8xf32>",
    "row_computed_from_the_iteration": """%r = arith.muli %i, %c1 : index
      %k = arith.addi %r, %c0 : index
      loop.store %x, %a[%k, %j] : memref<8x8xf32>""",
    "row_from_a_loop_bounded_by_the_iteration": """%e = arith.addi %i, %c1 : index
      loop.for %k = %i to %e step %c1 {
        loop.store %x, %a[%k, %j] : memref<8x8xf32>
      }""",
    "buffer_allocated_per_iteration": """%t = loop.alloc() : memref<8xf32>
      loop.store %x, %t[%j] : memref<8xf32>
      loop.dealloc %t : memref<8xf32>""",
}


def module_of(bodies: dict[str, str]) -> ModuleOp:
    text = "".join(LOOPS.format(name=name, body=body) for name, body in bodies.items())
    return Parser(make_context(), text).parse_module()


def flagged(module: ModuleOp) -> set[str]:
    return {
        str(write.parent_op().parent_op().parent_op().sym_name.data)  # pyright: ignore
        for _, write in shared_writes(module)
    }


def test_writes_to_the_same_elements_in_every_iteration_are_flagged():
    assert flagged(module_of(SHARED)) == set(SHARED)


def test_writes_indexed_by_the_iteration_or_to_its_own_buffer_are_not_flagged():
    assert flagged(module_of(DISJOINT)) == set()


def test_a_loop_of_one_iteration_is_not_flagged():
    text = LOOPS.format(name="once", body=SHARED["same_row_every_iteration"])
    text = text.replace("to %c8 step %c1 parallel", "to %c1 step %c1 parallel")
    assert shared_writes(Parser(make_context(), text).parse_module()) == []


def test_a_compile_reports_a_racy_loop_as_an_internal_error():
    with pytest.raises(LaminaError, match="internal error: a parallel loop writes .*race"):
        check_parallel_loops(module_of(SHARED))


def batched_matmul(batch: int, m: int, k: int, n: int) -> onnx.ModelProto:
    """Y = A · B with both operands inputs, so the GEMM packs both into run-time panels."""
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["y"])],
        "batched_matmul",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [batch, m, k]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [batch, k, n]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, m, n])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_batched_gemm_with_run_time_panels_runs_its_batches_in_turn_on_two_threads():
    model = batched_matmul(4, 128, 128, 128)
    lowered = lower_model(model, load_device("host"))
    assert shared_writes(lowered.module) == []
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((4, 128, 128)).astype(np.float32) for _ in range(2))
    compiled = lamina.compile(model, threads=2)
    want = a @ b
    for _ in range(10):
        (got,) = compiled(a, b)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
