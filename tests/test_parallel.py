"""Threads for parallel loops (codegen/llvm_parallel.py): a test-only kernel records the
thread that ran each iteration (pthread_self, resolved from libc by the JIT), so the tests
see which loops really ran on more than one thread; models give identical results with
1 and 2 threads."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.parser import Parser

from lamina.codegen.llvm_parallel import PARALLEL_MIN_WORK
from lamina.compiler import compile as lamina_compile
from lamina.context import make_context
from lamina.errors import LaminaError
from lamina.runtime.jit import JitModule, thread_count

# out[i] = the id of the thread running iteration i, N iterations of a 2-op body
THREAD_IDS = """
func.func private @pthread_self() -> i64
func.func @tids(%out: memref<Nxi64>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant N : index
  loop.for %i = %c0 to %n step %c1 parallel {
    %t = func.call @pthread_self() : () -> i64
    loop.store %t, %out[%i] : memref<Nxi64>
  }
  func.return
}
"""


def thread_ids(iterations: int, threads: int) -> tuple[np.ndarray, str]:
    text = THREAD_IDS.replace("N", str(iterations))
    module = Parser(make_context(), text).parse_module()
    jit = JitModule(module, threads=threads)
    out = np.zeros(iterations, np.int64)
    jit.function("tids")(out)
    return out, str(jit.llvm_module)


def test_big_parallel_loop_runs_on_two_threads_in_two_contiguous_chunks() -> None:
    n = PARALLEL_MIN_WORK
    ids, _ = thread_ids(n, threads=2)
    first, second = ids[: n // 2], ids[n // 2 :]
    assert len(set(first)) == 1 and len(set(second)) == 1
    assert first[0] != second[0]


def test_one_thread_keeps_the_loop_serial() -> None:
    ids, llvm_ir = thread_ids(PARALLEL_MIN_WORK, threads=1)
    assert len(set(ids)) == 1
    assert "lamina.parallel_for" not in llvm_ir


def test_small_parallel_loop_stays_serial() -> None:
    ids, llvm_ir = thread_ids(64, threads=2)
    assert len(set(ids)) == 1
    assert "lamina.parallel_for" not in llvm_ir


def test_three_threads_split_the_iterations_in_three_chunks() -> None:
    n = PARALLEL_MIN_WORK
    ids, _ = thread_ids(n, threads=3)
    chunk = -(-n // 3)
    chunks = [ids[:chunk], ids[chunk : 2 * chunk], ids[2 * chunk :]]
    assert all(len(set(c)) == 1 for c in chunks)
    assert len({c[0] for c in chunks}) == 3


def conv_relu_add_model() -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((16, 8, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal(16).astype(np.float32), "b")
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Add", ["r", "c"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "conv_relu_add",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 40, 40])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16, 40, 40])],
        [w, b],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_model_results_are_identical_with_one_and_two_threads() -> None:
    model = conv_relu_add_model()
    x = np.random.default_rng(1).standard_normal((1, 8, 40, 40)).astype(np.float32)
    serial = lamina_compile(model, threads=1)
    threaded = lamina_compile(model, threads=2)
    assert ".par0" in str(threaded.function.jit.llvm_module)
    (expected,) = serial(x)
    (got,) = threaded(x)
    np.testing.assert_array_equal(got, expected)


def test_thread_count_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMINA_NUM_THREADS", "3")
    assert thread_count() == 3
    assert thread_count(threads=1) == 1
    monkeypatch.setenv("LAMINA_NUM_THREADS", "many")
    with pytest.raises(LaminaError, match="LAMINA_NUM_THREADS must be a positive integer"):
        thread_count()
    with pytest.raises(LaminaError, match="at least 1"):
        thread_count(threads=0)
