"""Numerical tests of convert-loop-to-llvm + the host JIT: hand-written loop IR, run on
random inputs, compared with numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers_kernels import index_constants

from lamina.errors import LaminaError
from lamina.runtime.jit import JitFunction, JitModule

RNG = np.random.default_rng(7)

# Kernels for kernel_ir / kernel_module (conftest.py).
MATMUL_64 = dict(
    buffers="%a: memref<64x64xf32>, %c: memref<64x64xf32>",
    weight_views="%b: 64x64xf32",
    arena_views="%t: 64x64xf32",
    body="""
  %zero = arith.constant 0.0 : f32
  loop.for %i = %c0 to %c64 step %c1 parallel {
    loop.for %j = %c0 to %c64 step %c1 parallel vector 16 {
      %s = loop.for %k = %c0 to %c64 step %c1 iter_args(%acc = %zero) -> (f32) {
        %x = loop.load %a[%i, %k] : memref<64x64xf32>
        %y = loop.load %b[%k, %j] : memref<64x64xf32>
        %p = arith.mulf %x, %y : f32
        %n = arith.addf %acc, %p : f32
        loop.yield %n : f32
      }
      loop.store %s, %t[%i, %j] : memref<64x64xf32>
    }
  }
  loop.for %i2 = %c0 to %c64 step %c1 {
    loop.for %j2 = %c0 to %c64 step %c1 unroll 4 {
      %v = loop.load %t[%i2, %j2] : memref<64x64xf32>
      loop.store %v, %c[%i2, %j2] : memref<64x64xf32>
    }
  }
""",
)


def test_matmul_64_with_weights_and_arena_carves_matches_numpy(kernel_module):
    a = RNG.standard_normal((64, 64), dtype=np.float32)
    b = RNG.standard_normal((64, 64), dtype=np.float32)
    fn = JitFunction(kernel_module(**MATMUL_64), b.view(np.uint8).reshape(-1))
    (c,) = fn(a)
    # f32 sums of 64 products in another order than numpy's: a few ulps of the row norm
    np.testing.assert_allclose(c, a @ b, rtol=1e-5, atol=1e-4)
    assert fn.arena.ctypes.data % 64 == 0 and fn.weights.ctypes.data % 64 == 0


RELU = dict(
    buffers="%x: memref<8x100xf32>, %y: memref<8x100xf32>",
    body="""
  %zero = arith.constant 0.0 : f32
  loop.for %i = %c0 to %c8 step %c1 parallel {
    loop.for %j = %c0 to %c100 step %c1 parallel vector 16 {
      %v = loop.load %x[%i, %j] : memref<8x100xf32>
      %r = arith.maximumf %v, %zero : f32
      loop.store %r, %y[%i, %j] : memref<8x100xf32>
    }
  }
""",
)


def test_elementwise_relu_matches_numpy(kernel_module):
    x = RNG.standard_normal((8, 100), dtype=np.float32)
    (y,) = JitFunction(kernel_module(**RELU))(x)
    np.testing.assert_array_equal(y, np.maximum(x, 0))


REDUCE = dict(
    buffers="%x: memref<4x1000xf32>, %y: memref<4xf32>, %m: memref<4xi32>",
    outputs=2,
    body="""
  %zero = arith.constant 0.0 : f32
  %lowest = arith.constant -1000000 : i32
  loop.for %i = %c0 to %c4 step %c1 parallel {
    %s, %mx = loop.for %j = %c0 to %c1000 step %c1 iter_args(%acc = %zero, %best = %lowest) -> (f32, i32) {
      %v = loop.load %x[%i, %j] : memref<4x1000xf32>
      %n = arith.addf %acc, %v : f32
      %scaled = arith.mulf %v, %v : f32
      %q = arith.fptosi %scaled : f32 to i32
      %gt = arith.cmpi sgt, %q, %best : i32
      %b2 = arith.select %gt, %q, %best : i32
      loop.yield %n, %b2 : f32, i32
    }
    loop.store %s, %y[%i] : memref<4xf32>
    loop.store %mx, %m[%i] : memref<4xi32>
  }
""",
)


def test_reduction_with_two_iter_args_matches_numpy(kernel_module):
    x = RNG.standard_normal((4, 1000), dtype=np.float32) * 3
    y, m = JitFunction(kernel_module(**REDUCE))(x)
    # a sequential f32 sum of 1000 values vs numpy's pairwise f64-free sum: ~1e-4 relative
    np.testing.assert_allclose(y, x.sum(axis=1), rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(m, (x * x).astype(np.int32).max(axis=1))


VECTOR = dict(
    buffers="%x: memref<3x64xf32>, %s: memref<3xf32>, %y: memref<3x64xf32>",
    outputs=2,
    body="""
  %two = arith.constant 2.0 : f32
  %half = arith.constant dense<0.5> : vector<16xf32>
  %zv = arith.constant dense<0.0> : vector<16xf32>
  %tmp = loop.carve %arena[1024] align 64 : memref<4096xi8> -> memref<3x64xf32>
  loop.for %i = %c0 to %c3 step %c1 {
    %sum = loop.for %j = %c0 to %c64 step %c16 iter_args(%acc = %zv) -> (vector<16xf32>) {
      %v = loop.vload %x[%i, %j] : memref<3x64xf32>, vector<16xf32>
      %t = vector.broadcast %two : f32 to vector<16xf32>
      %f = vector.fma %v, %t, %half : vector<16xf32>
      loop.vstore %f, %tmp[%i, %j] : memref<3x64xf32>, vector<16xf32>
      %n = arith.addf %acc, %v : vector<16xf32>
      loop.yield %n : vector<16xf32>
    }
    %r = vector.reduction <add>, %sum : vector<16xf32> into f32
    loop.store %r, %s[%i] : memref<3xf32>
    loop.for %j = %c0 to %c64 step %c16 {
      %v = loop.vload %tmp[%i, %j] : memref<3x64xf32>, vector<16xf32>
      loop.vstore %v, %y[%i, %j] : memref<3x64xf32>, vector<16xf32>
    }
  }
""",
)


def test_vload_vstore_fma_broadcast_and_reduction_match_numpy(kernel_module):
    x = RNG.standard_normal((3, 64), dtype=np.float32)
    s, y = JitFunction(kernel_module(**VECTOR))(x)
    np.testing.assert_allclose(s, x.sum(axis=1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y, x * 2 + 0.5, rtol=1e-6)


# rows 0-5 of MATH's y: a unary math op of %v = x or %a = |x|
UNARY_ROWS = [
    ("exp", "%v"),
    ("log", "%a"),
    ("tanh", "%v"),
    ("sqrt", "%a"),
    ("rsqrt", "%a"),
    ("erf", "%v"),
]
MATH = dict(
    buffers="%x: memref<64xf32>, %y: memref<10x64xf32>",
    body="""
  %three = arith.constant 3.0 : f32
  loop.for %j = %c0 to %c64 step %c1 {
    %v = loop.load %x[%j] : memref<64xf32>
    %a = math.absf %v : f32
"""
    + "".join(
        f"    %{op} = math.{op} {operand} : f32\n"
        f"    loop.store %{op}, %y[%c{row}, %j] : memref<10x64xf32>\n"
        for row, (op, operand) in enumerate(UNARY_ROWS)
    )
    + """    %p = math.powf %a, %three : f32
    loop.store %p, %y[%c6, %j] : memref<10x64xf32>
    %f = math.fma %v, %v, %three : f32
    loop.store %f, %y[%c7, %j] : memref<10x64xf32>
    %d = arith.extf %v : f32 to f64
    %dd = arith.divf %d, %d : f64
    %back = arith.truncf %dd : f64 to f32
    %n = arith.negf %back : f32
    loop.store %n, %y[%c8, %j] : memref<10x64xf32>
    %i = arith.fptosi %v : f32 to i32
    %i64 = arith.extsi %i : i32 to i64
    %ix = arith.index_cast %i64 : i64 to index
    %iy = arith.index_cast %ix : index to i32
    %fl = arith.sitofp %iy : i32 to f32
    %mn = arith.minimumf %fl, %three : f32
    loop.store %mn, %y[%c9, %j] : memref<10x64xf32>
  }
  %unused = arith.constant 1 : index
  loop.for %k = %c0 to %c64 step %c16 {
    %v = loop.vload %x[%k] : memref<64xf32>, vector<16xf32>
    %ev = math.erf %v : vector<16xf32>
    %tv = math.tanh %v : vector<16xf32>
    %z = arith.subf %ev, %tv : vector<16xf32>
    %zero = arith.constant dense<0.0> : vector<16xf32>
    %m = arith.mulf %z, %zero : vector<16xf32>
    %o = loop.vload %y[%c5, %k] : memref<10x64xf32>, vector<16xf32>
    %s = arith.addf %o, %m : vector<16xf32>
    loop.vstore %s, %y[%c5, %k] : memref<10x64xf32>, vector<16xf32>
  }
""",
)


def test_math_and_cast_ops_match_numpy(kernel_module):
    x = RNG.standard_normal(64).astype(np.float32) * 2
    (y,) = JitFunction(kernel_module(**MATH))(x)
    a = np.abs(x)
    erf = np.array([math.erf(v) for v in x], np.float32)
    expected = [
        np.exp(x),
        np.log(a),
        np.tanh(x),
        np.sqrt(a),
        1 / np.sqrt(a),
        erf,
        a**3,
        x * x + 3,
        -np.ones_like(x),
        np.minimum(np.trunc(x), 3),
    ]
    for row, want in enumerate(expected):
        np.testing.assert_allclose(y[row], want, rtol=2e-6, atol=1e-6, err_msg=f"row {row}")


INTEGER = (
    """
func.func @ints(%x: memref<32xi32>, %y: memref<6x32xi32>, %d: i32) {
"""
    + index_constants(0, 1, 2, 3, 4, 5, 32)
    + """  %three = arith.constant 3 : i32
  loop.for %j = %c0 to %c32 step %c1 {
    %v = loop.load %x[%j] : memref<32xi32>
    %a = arith.floordivsi %v, %d : i32
    loop.store %a, %y[%c0, %j] : memref<6x32xi32>
    %b = arith.ceildivsi %v, %d : i32
    loop.store %b, %y[%c1, %j] : memref<6x32xi32>
    %c = arith.remsi %v, %d : i32
    loop.store %c, %y[%c2, %j] : memref<6x32xi32>
    %s = arith.shli %v, %three : i32
    %x2 = arith.xori %s, %v : i32
    loop.store %x2, %y[%c3, %j] : memref<6x32xi32>
    %mx = arith.maxsi %v, %d : i32
    loop.store %mx, %y[%c4, %j] : memref<6x32xi32>
    %lt = arith.cmpi slt, %v, %three : i32
    %z = arith.extui %lt : i1 to i32
    loop.store %z, %y[%c5, %j] : memref<6x32xi32>
  }
  func.return
}
"""
)


def test_integer_ops_on_a_plain_function_match_numpy(parse_ir):
    x = RNG.integers(-100, 100, 32).astype(np.int32)
    y = np.zeros((6, 32), np.int32)
    JitModule(parse_ir(INTEGER)).function("ints")(x, y, -7)
    d = np.int32(-7)
    np.testing.assert_array_equal(y[0], np.floor_divide(x, d))
    np.testing.assert_array_equal(y[1], -np.floor_divide(-x, d))
    np.testing.assert_array_equal(y[2], np.fmod(x, d))
    np.testing.assert_array_equal(y[3], (x << 3) ^ x)
    np.testing.assert_array_equal(y[4], np.maximum(x, d))
    np.testing.assert_array_equal(y[5], (x < 3).astype(np.int32))


CALL = dict(
    buffers="%x: memref<16xf32>, %y: memref<16xf32>",
    arena=256,
    prelude="""
func.func private @square(%v: f32) -> f32 {
  %s = arith.mulf %v, %v : f32
  func.return %s : f32
}
""",
    body="""
  %buf = loop.alloc() align 64 : memref<16xf32, #loop.space<stack>>
  loop.for %i = %c0 to %c16 step %c1 {
    %v = loop.load %x[%i] : memref<16xf32>
    %s = func.call @square(%v) : (f32) -> f32
    loop.store %s, %buf[%i] : memref<16xf32, #loop.space<stack>>
  }
  loop.for %i = %c0 to %c16 step %c1 {
    %v = loop.load %buf[%i] : memref<16xf32, #loop.space<stack>>
    loop.store %v, %y[%i] : memref<16xf32>
  }
  loop.dealloc %buf : memref<16xf32, #loop.space<stack>>
""",
)


def test_call_and_small_stack_alloc_match_numpy(kernel_module):
    x = RNG.standard_normal(16, dtype=np.float32)
    (y,) = JitFunction(kernel_module(**CALL), function="main")(x)
    np.testing.assert_allclose(y, x * x, rtol=1e-6)


def test_wrong_inputs_are_errors_not_crashes(kernel_module):
    fn = JitFunction(kernel_module(**RELU))
    good = np.zeros((8, 100), np.float32)
    with pytest.raises(LaminaError, match="expected float32 of shape"):
        fn(good.astype(np.float64))
    with pytest.raises(LaminaError, match="expected float32 of shape"):
        fn(np.zeros((100, 8), np.float32))
    with pytest.raises(LaminaError, match="takes 1 inputs, got 2"):
        fn(good, good)
    with pytest.raises(LaminaError, match="numpy array"):
        fn([0.0] * 800)  # pyright: ignore[reportArgumentType]
    (y,) = fn(np.asfortranarray(good))  # not contiguous: copied, not rejected
    assert y.shape == (8, 100)


def test_wrong_weights_blob_is_an_error(kernel_module):
    with pytest.raises(LaminaError, match="weights blob of 16384 bytes"):
        JitFunction(kernel_module(**MATMUL_64), np.zeros(10, np.uint8))
