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
