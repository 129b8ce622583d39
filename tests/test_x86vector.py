"""The x86vector back end: the int8 dot-product loops of loop-to-x86, JIT-compiled for each
x86-64 device this host can run, before and after the rewrite on the same inputs, against
numpy; the rows of extreme bytes are those a saturating i16 step gets wrong (127 . 127 read
through a xor with 0x80: 255 * 127 * 2 > 32767; -128 . -128 through a sign flip)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_kernels import dot_kernel, parse
from xdsl.dialects.builtin import ModuleOp

from lamina.codegen.llvm import emit_llvm
from lamina.codegen.llvm_target import assembly
from lamina.lowering.loop_to_x86 import loop_to_x86
from lamina.runtime.jit import JitFunction
from lamina.targets import Device, load_device

K = 6 * 32 + 7
"""Six ymm steps (three zmm steps) and a scalar tail of 7."""


def runs_here(device: Device) -> bool:
    """Whether this host has every feature the device enables."""
    host = set(load_device("host").features)
    return all(f in host for f in device.features if f.startswith("+"))


def dots(module: ModuleOp, device: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    (out,) = JitFunction(module, device=device, threads=1)(x, y)
    return out


@pytest.mark.parametrize(
    ("device", "op_name", "instruction"),
    [
        ("x86-64-avx2", "x86vector.vpmaddubsw", "vpmaddubsw\t%ymm"),
        ("x86-64-avx512", "x86vector.vpmaddubsw", "vpmaddubsw\t%zmm"),
        ("x86-64-avx512-vnni", "x86vector.vpdpbusd", "vpdpbusd\t%zmm"),
    ],
)
def test_signed_int8_dot_loops_are_bit_exact_on_x86(device: str, op_name: str, instruction: str):
    target = load_device(device)
    if not runs_here(target):
        pytest.skip(f"this host cannot run code for {device}")
    rng = np.random.default_rng(5)
    x = rng.integers(-128, 127, (5, K), np.int8, endpoint=True)
    y = rng.integers(-128, 127, (3, K), np.int8, endpoint=True)
    x[0], y[0], x[1], y[1] = 127, 127, -128, -128
    expected = (x.astype(np.int64) @ y.astype(np.int64).T).astype(np.int32)
    rewritten = parse(dot_kernel("extsi", K))
    assert loop_to_x86(rewritten, target) == 1
    assert op_name in {op.name for op in rewritten.walk()}
    np.testing.assert_array_equal(dots(rewritten, device, x, y), expected)
    np.testing.assert_array_equal(dots(parse(dot_kernel("extsi", K)), device, x, y), expected)
    assert instruction in assembly(emit_llvm(rewritten, target), target)


def byte_dot_kernel(lanes: int) -> str:
    """out[r] = loop.byte_dot(acc[r], u[r], s[r]) on rows of `lanes` i32 (4 * lanes bytes)."""
    b = 4 * lanes
    return f"""
func.func @byte_dots(%w: memref<64xi8>, %arena: memref<64xi8>, %u: memref<4x{b}xi8>,
                     %s: memref<4x{b}xi8>, %acc: memref<4x{lanes}xi32>,
                     %out: memref<4x{lanes}xi32>) attributes {{lamina.abi = "kernel-v1"}} {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  loop.for %r = %c0 to %c4 step %c1 {{
    %x = loop.vload %u[%r, %c0] : memref<4x{b}xi8>, vector<{b}xi8>
    %y = loop.vload %s[%r, %c0] : memref<4x{b}xi8>, vector<{b}xi8>
    %a = loop.vload %acc[%r, %c0] : memref<4x{lanes}xi32>, vector<{lanes}xi32>
    %d = loop.byte_dot %a, %x, %y : vector<{lanes}xi32>, vector<{b}xi8>
    loop.vstore %d, %out[%r, %c0] : memref<4x{lanes}xi32>, vector<{lanes}xi32>
  }}
  func.return
}}
"""


@pytest.mark.parametrize(
    ("device", "lanes", "op_name"),
    [
        ("x86-64-avx2", 8, "x86vector.vpmaddubsw"),
        ("x86-64-avx2", 16, "loop.byte_dot"),
        ("x86-64-avx512", 16, "x86vector.vpmaddubsw"),
        ("x86-64-avx512-vnni", 16, "x86vector.vpdpbusd"),
        ("x86-64-avx512-vnni", 4, "x86vector.vpdpbusd"),
    ],
)
def test_byte_dot_is_bit_exact_on_x86(device: str, lanes: int, op_name: str):
    """loop.byte_dot (u8 x s8) after loop-to-x86 (vpdpbusd, the split vpmaddubsw, or kept for
    LLVM's generic lowering where the device's registers are narrower) and before it, on
    rows of 255 x -128 and 255 x 127, whose pair sums do not fit an i16."""
    target = load_device(device)
    if not runs_here(target):
        pytest.skip(f"this host cannot run code for {device}")
    rng = np.random.default_rng(6)
    u = rng.integers(0, 255, (4, 4 * lanes), np.uint8, endpoint=True)
    s = rng.integers(-128, 127, (4, 4 * lanes), np.int8, endpoint=True)
    u[0], s[0], u[1], s[1] = 255, -128, 255, 127
    acc = rng.integers(-(2**31), 2**31 - 1, (4, lanes), np.int32, endpoint=True)
    sums = (u.astype(np.int64) * s).reshape(4, lanes, 4).sum(axis=2) + acc
    expected = sums.astype(np.int32)  # wraps, as the i32 lanes do
    for rewrite in (True, False):
        module = parse(byte_dot_kernel(lanes))
        if rewrite:
            loop_to_x86(module, target)
            assert op_name in {op.name for op in module.walk()}
        (out,) = JitFunction(module, device=device, threads=1)(u.view(np.int8), s, acc)
        np.testing.assert_array_equal(out, expected)
