"""Behaviour of the compile-time machinery (codegen/llvm_split.py, codegen/object_cache.py):
identical nests compile once, the cache hits on a recompile and keys on the device, and the
split, parallel and cached builds compute what the one-module build computes. Timing is in
benchmarks/compile_time.py, not here."""

from __future__ import annotations

import ctypes
import os
from dataclasses import replace
from pathlib import Path

import llvmlite.binding as llvm
import llvmlite.ir as ir
import numpy as np
import pytest
from xdsl.parser import Parser

from lamina.codegen.llvm import emit_llvm
from lamina.codegen.llvm_split import InlineNests, SplitNests, split_llvm
from lamina.codegen.llvm_target import optimize, target_machine
from lamina.codegen.object_cache import (
    ObjectCache,
    compile_objects,
    default_cache_dir,
    default_jobs,
)
from lamina.context import make_context
from lamina.errors import LaminaError
from lamina.runtime.jit import JitFunction, JitModule, aligned_copy, aligned_empty
from lamina.targets import load_device

# Kernels for kernel_ir / kernel_module (conftest.py).
# y = 4 * (x + w): `add`, `double` twice (identical nests on other carves), `copy`; the
# arena holds t0, t1, t2 one after another (3072 bytes)
FOUR_NESTS = dict(
    buffers="%x: memref<256xf32>, %y: memref<256xf32>",
    weight_views="%w: 256xf32",
    arena_views="%t0: 256xf32, %t1: 256xf32, %t2: 256xf32",
    body="""
  %two = arith.constant 2.0 : f32
  loop.for %i = %c0 to %c256 step %c1 {
    %a = loop.load %x[%i] : memref<256xf32>
    %b = loop.load %w[%i] : memref<256xf32>
    %s = arith.addf %a, %b : f32
    loop.store %s, %t0[%i] : memref<256xf32>
  }
  loop.for %i = %c0 to %c256 step %c1 {
    %a = loop.load %t0[%i] : memref<256xf32>
    %d = arith.mulf %a, %two : f32
    loop.store %d, %t1[%i] : memref<256xf32>
  }
  loop.for %i = %c0 to %c256 step %c1 {
    %a = loop.load %t1[%i] : memref<256xf32>
    %d = arith.mulf %a, %two : f32
    loop.store %d, %t2[%i] : memref<256xf32>
  }
  loop.for %i = %c0 to %c256 step %c1 {
    %a = loop.load %t2[%i] : memref<256xf32>
    loop.store %a, %y[%i] : memref<256xf32>
  }
""",
)

# a nest reading arena[0, 1024) and writing arena[512, 1536): the two overlap
OVERLAPPING = dict(
    buffers="%x: memref<256xf32>, %y: memref<256xf32>",
    body="""
  %a = loop.carve %arena[0] : memref<2048xi8> -> memref<256xf32>
  %b = loop.carve %arena[512] : memref<2048xi8> -> memref<256xf32>
  loop.for %i = %c0 to %c256 step %c1 {
    %v = loop.load %a[%i] : memref<256xf32>
    loop.store %v, %b[%i] : memref<256xf32>
  }
""",
)

HOST = replace(load_device("host"), cores=1)
RNG = np.random.default_rng(5)


def run_three_nests(jit: JitModule) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = RNG.standard_normal(256, dtype=np.float32)
    w = RNG.standard_normal(256, dtype=np.float32)
    (y,) = JitFunction(jit, w.view(np.uint8))(x)
    return x, w, y


def run_four_nests_in_one_engine(
    module: ir.Module | str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, w and y of FOUR_NESTS's `main` compiled from one LLVM module in an engine of its own."""
    engine = llvm.create_mcjit_compiler(optimize(module, HOST), target_machine(HOST, fresh=True))
    engine.finalize_object()
    x = RNG.standard_normal(256, dtype=np.float32)
    w = aligned_copy(RNG.standard_normal(256, dtype=np.float32))
    y = np.zeros(256, np.float32)
    arena = aligned_empty((3072,), np.uint8)  # the ABI's 64-byte alignment
    ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * 4)(engine.get_function_address("main"))(
        w.ctypes.data, arena.ctypes.data, x.ctypes.data, y.ctypes.data
    )
    return x, w, y


class CountedNests(SplitNests):
    """`SplitNests` that counts the nest functions emitted."""

    begun = 0

    def begin(self, e, signature):  # noqa: ANN001, ANN201
        CountedNests.begun += 1
        return super().begin(e, signature)


def test_a_nest_met_again_is_called_not_emitted_again(kernel_module) -> None:
    CountedNests.begun = 0
    split = split_llvm(kernel_module(**FOUR_NESTS), HOST, sink_type=CountedNests)
    assert (CountedNests.begun, split.calls) == (3, 4)  # the second `double` is called only
    assert split.main.count('call void @"lamina.nest.') == 4


def test_identical_nests_are_emitted_and_compiled_once(tmp_path: Path, kernel_module) -> None:
    split = split_llvm(kernel_module(**FOUR_NESTS), HOST)
    assert split.calls == 4 and len(split.nests) == 3
    assert split.main.count('call void @"lamina.nest.') == 4
    cache = ObjectCache(tmp_path)
    compile_objects(split.nests.values(), HOST, cache=cache, jobs=1)
    assert (cache.misses, cache.hits, cache.entries()) == (3, 0, 3)


def test_a_recompile_takes_every_object_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel_module
) -> None:
    monkeypatch.setenv("LAMINA_CACHE_DIR", str(tmp_path))
    first = run_three_nests(JitModule(kernel_module(**FOUR_NESTS), threads=1))
    cache = ObjectCache(default_cache_dir())
    compile_objects(split_llvm(kernel_module(**FOUR_NESTS), HOST).nests.values(), HOST, cache=cache)
    assert (cache.hits, cache.misses) == (3, 0)
    x, w, y = run_three_nests(JitModule(kernel_module(**FOUR_NESTS), threads=1))
    np.testing.assert_allclose(y, 4 * (x + w), rtol=1e-6)
    np.testing.assert_allclose(first[2], 4 * (first[0] + first[1]), rtol=1e-6)


def test_an_empty_cache_dir_variable_turns_the_disk_cache_off(
    monkeypatch: pytest.MonkeyPatch, kernel_module
) -> None:
    monkeypatch.setenv("LAMINA_CACHE_DIR", "")
    assert default_cache_dir() is None
    cache = ObjectCache(None)
    text = split_llvm(kernel_module(**FOUR_NESTS), HOST).nests
    compile_objects(text.values(), HOST, cache=cache, jobs=1)
    compile_objects(text.values(), HOST, cache=cache, jobs=1)
    assert (cache.hits, cache.misses, cache.entries()) == (0, 6, 0)


def test_the_cache_key_changes_with_the_device_the_opt_level_and_the_text(kernel_module) -> None:
    cache = ObjectCache(None)
    text = next(iter(split_llvm(kernel_module(**FOUR_NESTS), HOST).nests.values()))
    key = cache.key(text, HOST, 2, "static")
    assert key == cache.key(text, HOST, 2, "static")
    for other in (
        cache.key(text, load_device("cortex-a76"), 2, "static"),
        cache.key(text, replace(HOST, features=(*HOST.features, "-avx2")), 2, "static"),
        cache.key(text, HOST, 3, "static"),
        cache.key(text, HOST, 2, "pic"),
        cache.key(text + "\n", HOST, 2, "static"),
    ):
        assert other != key


def test_worker_processes_emit_the_same_objects_as_one_process(kernel_module) -> None:
    texts = list(split_llvm(kernel_module(**FOUR_NESTS), HOST).nests.values())
    serial = compile_objects(texts, HOST, cache=ObjectCache(None), jobs=1)
    parallel = compile_objects(texts, HOST, cache=ObjectCache(None), jobs=2)
    assert parallel == serial


def test_split_build_computes_what_the_one_module_build_computes(
    monkeypatch: pytest.MonkeyPatch, kernel_module
) -> None:
    monkeypatch.setenv("LAMINA_CACHE_DIR", "")
    x, w, y_whole = run_four_nests_in_one_engine(emit_llvm(kernel_module(**FOUR_NESTS), HOST))
    (y_split,) = JitFunction(kernel_module(**FOUR_NESTS), w.view(np.uint8), threads=1)(x)
    np.testing.assert_array_equal(y_split, y_whole)


def test_nest_arguments_are_noalias_only_when_their_bytes_are_disjoint(kernel_module) -> None:
    disjoint = next(iter(split_llvm(kernel_module(**FOUR_NESTS), HOST).nests.values()))
    assert "ptr noalias nofree align 64" in disjoint
    overlapping = split_llvm(kernel_module(**OVERLAPPING), HOST)
    (text,) = overlapping.nests.values()
    assert "noalias" not in text and "nofree" in text


def test_inline_nests_stay_in_one_module_as_noinline_functions(kernel_module) -> None:
    text = str(emit_llvm(kernel_module(**FOUR_NESTS), HOST, nests=InlineNests()))
    assert text.count('define internal void @"main.nest') == 4
    assert text.count("noinline") >= 4


def test_inline_nests_that_reuse_call_one_function_per_distinct_nest(kernel_module) -> None:
    module = kernel_module(**FOUR_NESTS)
    text = str(emit_llvm(module, HOST, nests=InlineNests(reuse=True)))
    assert text.count('define internal void @"main.nest') == 3
    assert text.count('call void @"main.nest') == 4
    x, w, y = run_four_nests_in_one_engine(text)
    np.testing.assert_allclose(y, 4 * (x + w), rtol=1e-6)


def test_a_bad_job_count_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAMINA_COMPILE_JOBS", "lots")
    with pytest.raises(LaminaError, match="LAMINA_COMPILE_JOBS must be a positive integer"):
        default_jobs()
    monkeypatch.setenv("LAMINA_COMPILE_JOBS", "3")
    assert default_jobs() == 3


# a full reduction: the nest's result is read after it, so it stays in the kernel function
SUM_THEN_STORE = dict(
    buffers="%x: memref<64xf32>, %y: memref<1xf32>",
    weights=0,
    arena=0,
    body="""
  %zero = arith.constant 0.0 : f32
  %sum = loop.for %i = %c0 to %c64 step %c1 iter_args(%acc = %zero) -> (f32) {
    %a = loop.load %x[%i] : memref<64xf32>
    %s = arith.addf %acc, %a : f32
    loop.yield %s : f32
  }
  loop.store %sum, %y[%c0] : memref<1xf32>
""",
)


def test_a_nest_whose_result_is_read_after_it_is_not_split(kernel_module) -> None:
    x = np.arange(64, dtype=np.float32)
    (y,) = JitFunction(kernel_module(**SUM_THEN_STORE), np.zeros(0, np.uint8), threads=1)(x)
    assert y[0] == x.sum()


def _compile_in_daemon(text: str) -> list[float]:
    os.environ["LAMINA_CACHE_DIR"] = ""  # no cache: the distinct nests really compile
    w = np.ones(256, np.float32)
    jit = JitModule(Parser(make_context(), text).parse_module(), threads=1, jobs=2)
    (y,) = JitFunction(jit, w.view(np.uint8))(np.ones(256, np.float32))
    return [float(v) for v in y[:2]]


def test_compiling_inside_a_daemonic_worker_compiles_in_process(kernel_ir) -> None:
    # a multiprocessing.Pool worker may not start processes of its own
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.map(_compile_in_daemon, [kernel_ir(**FOUR_NESTS)]) == [[8.0, 8.0]]
