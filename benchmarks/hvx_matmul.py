"""Instructions per MAC of the HVX int8 matmul (vrmpy) against a scalar Hexagon baseline.

    .venv/bin/python -m lamina.benchmarks.hvx_matmul [--m 8 --k 128 --n 64]

Both kernels are loop-level IR compiled by lamina for Hexagon v66 and run under
qemu-hexagon with lamina's instruction-counting plugin (runtime/qemu_count.py: a duplex
word is two instructions, `immext` and `nop` none); only instructions inside the kernel
function are counted. The baseline is
the same product as a plain loop nest (i8 loads, sign/zero extension, i32 multiply-add)
compiled with HVX disabled, so LLVM cannot vectorise it. Both results are checked against
numpy before counting. The bar: the HVX kernel needs >= 20x fewer instructions per MAC.
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
from xdsl.dialects import arith
from xdsl.dialects.builtin import MemRefType, ModuleOp, i8, i32

from lamina.lowering import hvx_kernels as k
from lamina.runtime.hexagon import DEVICE, HexagonModule
from lamina.targets import load_device


def scalar_matmul(m: int, kk: int, n: int) -> ModuleOp:
    """`@scalar_matmul(a: i8[m, k] (u8), b: i8[k, n] (s8), c: i32[m, n])`, scalar loops."""

    def build(em: k.HVXEmitter, a, b, c) -> None:  # noqa: ANN001
        def cell(i, j) -> None:  # noqa: ANN001
            def step(ivs, acc):  # noqa: ANN001, ANN202
                x = em.value(arith.ExtUIOp(em.load(a, [i, ivs[0]]), i32))
                y = em.value(arith.ExtSIOp(em.load(b, [ivs[0], j]), i32))
                return [em.value(arith.AddiOp(acc[0], em.value(arith.MuliOp(x, y))))]

            em.store(em.reduce([kk], [em.const(0, i32)], step)[0], c, [i, j])

        em.for_range(m, 1, lambda i: em.for_range(n, 1, lambda j: cell(i, j)))

    types = [MemRefType(i8, [m, kk]), MemRefType(i8, [kk, n]), MemRefType(i32, [m, n])]
    return k._module("scalar_matmul", types, build)  # noqa: SLF001


def main() -> None:
    parser = argparse.ArgumentParser(description="HVX int8 matmul: instructions per MAC")
    parser.add_argument("--m", type=int, default=8)
    parser.add_argument("--k", type=int, default=128)
    parser.add_argument("--n", type=int, default=64)
    args = parser.parse_args()
    m, kk, n = args.m, args.k, args.n
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (m, kk)).astype(np.uint8)
    b = rng.integers(-128, 128, (kk, n)).astype(np.int8)
    expected = a.astype(np.int64) @ b.astype(np.int64)

    hvx = HexagonModule(k.matmul(m, kk, n))
    out = np.empty((m, n), np.int32)
    (got,) = hvx.function("matmul")(a.view(np.int32), k.pack_rhs(b), out)
    np.testing.assert_array_equal(got, expected)
    no_hvx = dataclasses.replace(load_device(DEVICE), features=("-hvx",), vector_bits=32)
    scalar = HexagonModule(scalar_matmul(m, kk, n), device=no_hvx)
    (got,) = scalar.function("scalar_matmul")(a, b, out)
    np.testing.assert_array_equal(got, expected)

    macs = m * kk * n
    hvx_count = hvx.program("matmul").count([a.tobytes(), k.pack_rhs(b).tobytes()])
    scalar_count = scalar.program("scalar_matmul").count([a.tobytes(), b.tobytes()])
    counts = {
        "hvx vrmpy": hvx_count.functions["matmul"].instructions,
        "scalar": scalar_count.functions["scalar_matmul"].instructions,
    }
    print(f"int8 matmul {m}x{kk}x{n} ({macs} MACs) under qemu-hexagon (v66, HVX 128B)")
    for name, count in counts.items():
        print(f"  {name:10s} {count:10d} instructions  {count / macs:8.4f} per MAC")
    ratio = counts["scalar"] / counts["hvx vrmpy"]
    print(f"  scalar / hvx = {ratio:.1f}x fewer instructions per MAC (bar: >= 20x)")


if __name__ == "__main__":
    main()
