"""Dynamic dims (`?`) through LLVM codegen and the host JIT (codegen/llvm_shape.py,
runtime/jit_dynamic.py): hand-written loop-level kernels run at several sizes, 0 rows
included, compared with numpy on the same inputs."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from dynamic_kernels import BAD_SHAPES, COLUMN_SUMS, MATMUL, ROWS, SCALE, parse, rows_reference

from lamina.codegen.llvm_split import split_llvm
from lamina.compiler import CompiledModel, CompileStats
from lamina.errors import LaminaError
from lamina.runtime.jit import JitFunction, JitModule
from lamina.targets import load_device

RNG = np.random.default_rng(12)


@pytest.fixture(scope="module")
def rows() -> JitFunction:
    return JitFunction(parse(ROWS), threads=2)


@pytest.mark.parametrize("n", [0, 1, 37, 10_000])
def test_rows_kernel_with_heap_buffer_matches_numpy(rows: JitFunction, n: int):
    # the largest size is enough work for the thread pool (codegen/llvm_parallel_cost.py
    # `min_parallel_trips`: ~5,300 rows for the first loop): a run-time trip count split
    # into chunks; 0 rows runs no iteration and still allocates and frees its buffer
    x = RNG.standard_normal((n, 16), dtype=np.float32)
    (y,) = rows(x)
    assert y.shape == (n, 16)
    np.testing.assert_array_equal(y, rows_reference(x))


def test_one_thread_and_two_threads_agree_on_a_run_time_trip_count():
    x = RNG.standard_normal((3001, 16), dtype=np.float32)
    (serial,) = JitFunction(parse(ROWS), threads=1)(x)
    (threaded,) = JitFunction(parse(ROWS), threads=2)(x)
    np.testing.assert_array_equal(serial, threaded)
    np.testing.assert_array_equal(serial, rows_reference(x))


@pytest.mark.parametrize(("m", "k"), [(0, 5), (1, 1), (37, 19), (64, 0)])
def test_matmul_with_two_dynamic_dims_matches_numpy(m: int, k: int):
    fn = JitFunction(parse(MATMUL), threads=2)
    a = RNG.standard_normal((m, k), dtype=np.float32)
    b = RNG.standard_normal((k, 12), dtype=np.float32)
    (c,) = fn(a, b)
    assert c.shape == (m, 12)
    # f32 sums of k products in another order than numpy's
    ref = a @ b
    assert np.abs(c - ref).max(initial=0) <= 1e-5 * max(k, 1) * np.abs(ref).max(initial=1)


def test_failed_shape_check_raises_its_message():
    fn = JitFunction(parse(MATMUL))
    a = np.zeros((3, 4), np.float32)
    b = np.zeros((5, 12), np.float32)
    with pytest.raises(LaminaError, match="the columns of 'a' and the rows of 'b' differ"):
        fn(a, b)


def test_rows_over_the_shape_functions_limit_raise_its_message(rows: JitFunction):
    with pytest.raises(LaminaError, match="more than 100000 rows"):
        rows(np.zeros((100001, 16), np.float32))


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((2, 5), r"input 'x' has shape \(2, 5\) but the model takes \(\?, 16\)"),
        ((16,), r"input 'x' has shape \(16,\) but the model takes \(\?, 16\)"),
        ((1, 2, 16), r"input 'x' has shape \(1, 2, 16\) but the model takes \(\?, 16\)"),
    ],
)
def test_wrong_rank_or_static_dim_is_a_clear_error(rows: JitFunction, shape, message):
    with pytest.raises(LaminaError, match=message):
        rows(np.zeros(shape, np.float32))


def test_wrong_dtype_of_a_dynamic_input_is_a_clear_error(rows: JitFunction):
    with pytest.raises(LaminaError, match="expected float32"):
        rows(np.zeros((2, 16), np.float64))


def test_input_names_given_by_the_caller_name_the_input():
    fn = JitFunction(parse(ROWS), input_names=["pixels"])
    with pytest.raises(LaminaError, match="input 'pixels' has shape"):
        fn(np.zeros((2, 3), np.float32))


def test_dynamic_input_with_static_output_needs_no_shape_function():
    fn = JitFunction(parse(COLUMN_SUMS))
    for n in (0, 1, 37):
        x = RNG.standard_normal((n, 8), dtype=np.float32)
        (y,) = fn(x)
        np.testing.assert_allclose(y, x.sum(0), rtol=1e-5, atol=1e-5)


def test_dynamic_output_without_shape_function_is_an_error():
    text = ROWS[: ROWS.index("func.func @rows_shapes")]
    with pytest.raises(LaminaError, match="no @rows_shapes"):
        JitFunction(parse(text))


def test_shape_function_is_an_exported_c_function():
    jit = JitModule(parse(MATMUL))
    shapes = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p)(
        jit.address("matmul_shapes")
    )
    given, found = np.array([7, 3, 3], np.int64), np.zeros(1, np.int64)
    assert shapes(given.ctypes.data, found.ctypes.data) == 0
    assert found.tolist() == [7]
    assert shapes(np.array([7, 3, 4], np.int64).ctypes.data, found.ctypes.data) == 1


def test_static_kernels_keep_their_bare_pointer_signature():
    text = COLUMN_SUMS.replace("?x8", "5x8")
    fn = JitFunction(parse(text))
    assert fn.dynamic is None
    x = RNG.standard_normal((5, 8), dtype=np.float32)
    np.testing.assert_allclose(fn(x)[0], x.sum(0), rtol=1e-5, atol=1e-5)


def test_compiled_model_call_path_checks_shapes_by_graph_input_name():
    function = JitFunction(parse(ROWS), input_names=["pixels"])
    model = CompiledModel(function, load_device("host"), CompileStats(), ["pixels"])
    x = RNG.standard_normal((9, 16), dtype=np.float32)
    (y,) = model(pixels=x)
    np.testing.assert_array_equal(y, rows_reference(x))
    with pytest.raises(LaminaError, match=r"input 'pixels' has shape \(3, 4\)"):
        model(np.zeros((3, 4), np.float32))


def test_outlined_nests_take_extents_and_keep_noalias_on_dynamic_buffers():
    # nest 1 of ROWS reads x and writes the heap buffer t; nest 2 reads t (and its extent,
    # for loop.dim) and writes y: distinct kernel arguments and a fresh 64-byte aligned block
    split = split_llvm(parse(ROWS), load_device("host"))
    signatures = sorted(
        line
        for text in split.nests.values()
        for line in text.splitlines()
        if line.startswith("define void")
    )
    assert len(signatures) == 2
    for signature in signatures:
        assert signature.count("ptr noalias nofree") == 2
        assert signature.count("ptr noalias nofree align 64") == 1  # the heap buffer
    # nest 1: n (also the extent of x and t); nest 2: n and the extent of y
    assert sorted(s.count("i64") for s in signatures) == [1, 2]


@pytest.mark.parametrize("threads", [1, 2])
def test_vector_and_unroll_hints_on_a_run_time_trip_count_match_numpy(threads: int):
    # sizes around the vector width (8) and the unroll (2), and enough for the pool
    fn = JitFunction(parse(SCALE), threads=threads)
    for n in (0, 1, 7, 8, 15, 16, 17, 37, 100_003):
        x = RNG.standard_normal(n, dtype=np.float32)
        (y,) = fn(x)
        np.testing.assert_array_equal(y, 3 * x)


def test_run_time_trip_count_with_a_vector_hint_is_vectorized():
    assembly = JitModule(parse(SCALE), threads=1).assembly()
    assert "mulps" in assembly  # packed: the hinted loop runs on vectors (plus a remainder)


def test_negative_extents_from_the_shape_function_are_an_error():
    fn = JitFunction(parse(ROWS[: ROWS.index("func.func @rows_shapes")] + BAD_SHAPES))
    with pytest.raises(LaminaError, match=r"@rows_shapes gave negative extents \[-3\]"):
        fn(np.zeros((2, 16), np.float32))
