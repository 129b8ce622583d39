"""The neon back end: loop-to-neon kernels built for cortex-a76 and run under qemu-aarch64,
before and after the rewrite on the same inputs, against numpy; the device checks.

The harness links one loop-level kernel (kernel ABI: every argument a pointer) with a tiny C
main that reads each argument buffer from a file, calls the kernel and writes every buffer
back; the object comes from `codegen/aot.emit_object`, the cross compiler and emulator from
the device's `[toolchain]` (runtime/qemu.py).
"""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers_kernels import dot_kernel, index_constants
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

from lamina.codegen.aot import emit_object
from lamina.codegen.llvm import emit_llvm
from lamina.codegen.llvm_neon import check_neon_ops
from lamina.codegen.llvm_target import assembly
from lamina.compiler import pipeline
from lamina.context import make_context
from lamina.dialects.isa.neon import Neon
from lamina.errors import LaminaError, UnsupportedError, UnsupportedOpError
from lamina.lowering.loop_to_neon import loop_to_neon, neon_ops
from lamina.runtime.qemu import emulator_command, toolchain
from lamina.targets import load_device

DEVICE = "cortex-a76"


def neon_context() -> Context:
    ctx = make_context()
    if "neon" not in ctx.registered_dialect_names:
        ctx.load_dialect(Neon)
    return ctx


def parse(text: str) -> ModuleOp:
    module = Parser(neon_context(), text).parse_module()
    module.verify()
    return module


def driver_source(symbol: str, nargs: int) -> str:
    """A C main calling `symbol(buf0, ..., buf<nargs-1>)` on buffers read from argv files,
    then writing every buffer back to its file."""
    params = ", ".join(["void *"] * nargs)
    args = ", ".join(f"b[{i}]" for i in range(nargs))
    return f"""#include <stdio.h>
#include <stdlib.h>
void {symbol}({params});
int main(int argc, char **argv) {{
  void *b[{nargs}]; long n[{nargs}];
  if (argc != {nargs + 1}) return 2;
  for (int i = 0; i < {nargs}; ++i) {{
    FILE *f = fopen(argv[i + 1], "rb");
    if (!f) return 3;
    fseek(f, 0, SEEK_END); n[i] = ftell(f); fseek(f, 0, SEEK_SET);
    b[i] = aligned_alloc(64, (size_t)((n[i] + 63) / 64 * 64 + 64));
    if (n[i] && fread(b[i], 1, (size_t)n[i], f) != (size_t)n[i]) return 4;
    fclose(f);
  }}
  {symbol}({args});
  for (int i = 0; i < {nargs}; ++i) {{
    FILE *f = fopen(argv[i + 1], "wb");
    if (!f || fwrite(b[i], 1, (size_t)n[i], f) != (size_t)n[i]) return 5;
    fclose(f);
  }}
  return 0;
}}
"""


def run_on_device(
    module: ModuleOp, symbol: str, buffers: list[np.ndarray], tmp: Path
) -> list[np.ndarray]:
    """Build `module` for cortex-a76, call `symbol` on copies of `buffers` under qemu and
    return the buffers as the kernel left them."""
    device = load_device(DEVICE)
    (tmp / "kernel.o").write_bytes(emit_object(module, device))
    (tmp / "main.c").write_text(driver_source(symbol, len(buffers)))
    cc = str(toolchain(DEVICE).get("cc", "cc"))
    build = subprocess.run(
        [cc, "-O1", "-o", str(tmp / "run"), str(tmp / "main.c"), str(tmp / "kernel.o")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    paths = []
    for k, buffer in enumerate(buffers):
        path = tmp / f"arg{k}.bin"
        np.ascontiguousarray(buffer).tofile(path)
        paths.append(str(path))
    run = subprocess.run(
        [*emulator_command(DEVICE), str(tmp / "run"), *paths],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return [
        np.fromfile(path, dtype=b.dtype).reshape(b.shape)
        for path, b in zip(paths, buffers, strict=True)
    ]


def before_and_after(text: str, symbol: str, buffers: list[np.ndarray], tmp: Path):
    """Run the kernel as written and after loop-to-neon; also return the rewritten module."""
    (tmp / "before").mkdir()
    (tmp / "after").mkdir()
    before = run_on_device(parse(text), symbol, buffers, tmp / "before")
    rewritten = parse(text)
    loop_to_neon(rewritten, load_device(DEVICE))
    rewritten.verify()
    after = run_on_device(rewritten, symbol, buffers, tmp / "after")
    return before, after, rewritten


# An fp32 GEMM micro-kernel over a K loop: A packed [K][4] (one row of the 4x8 C block per
# lane), B [K][8], C 4x8 accumulated in eight vector<4xf32>; one C block per i (3 blocks).
FMLA_KERNEL = (
    """
func.func @gemm4x8(%w: memref<64xi8>, %arena: memref<64xi8>, %a: memref<3x37x4xf32>,
                   %b: memref<37x8xf32>, %c: memref<3x4x8xf32>)
    attributes {lamina.abi = "kernel-v1"} {
"""
    + index_constants(0, 1, 2, 3, 4, 37)
    + """  %z = arith.constant dense<0.0> : vector<4xf32>
  loop.for %i = %c0 to %c3 step %c1 parallel {
    %r:8 = loop.for %k = %c0 to %c37 step %c1 iter_args(%c00 = %z, %c01 = %z, %c10 = %z,
        %c11 = %z, %c20 = %z, %c21 = %z, %c30 = %z, %c31 = %z) -> (vector<4xf32>,
        vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>,
        vector<4xf32>, vector<4xf32>) {
      %a0 = loop.load %a[%i, %k, %c0] : memref<3x37x4xf32>
      %a1 = loop.load %a[%i, %k, %c1] : memref<3x37x4xf32>
      %a2 = loop.load %a[%i, %k, %c2] : memref<3x37x4xf32>
      %a3 = loop.load %a[%i, %k, %c3] : memref<3x37x4xf32>
      %b0 = loop.vload %b[%k, %c0] : memref<37x8xf32>, vector<4xf32>
      %b1 = loop.vload %b[%k, %c4] : memref<37x8xf32>, vector<4xf32>
      %s0 = vector.broadcast %a0 : f32 to vector<4xf32>
      %s1 = vector.broadcast %a1 : f32 to vector<4xf32>
      %s2 = vector.broadcast %a2 : f32 to vector<4xf32>
      %s3 = vector.broadcast %a3 : f32 to vector<4xf32>
      %n00 = vector.fma %s0, %b0, %c00 : vector<4xf32>
      %n01 = vector.fma %s0, %b1, %c01 : vector<4xf32>
      %n10 = vector.fma %s1, %b0, %c10 : vector<4xf32>
      %n11 = vector.fma %s1, %b1, %c11 : vector<4xf32>
      %n20 = vector.fma %s2, %b0, %c20 : vector<4xf32>
      %n21 = vector.fma %s2, %b1, %c21 : vector<4xf32>
      %n30 = vector.fma %s3, %b0, %c30 : vector<4xf32>
      %n31 = vector.fma %s3, %b1, %c31 : vector<4xf32>
      loop.yield %n00, %n01, %n10, %n11, %n20, %n21, %n30, %n31 : vector<4xf32>,
          vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>,
          vector<4xf32>, vector<4xf32>
    }
    loop.vstore %r#0, %c[%i, %c0, %c0] : memref<3x4x8xf32>, vector<4xf32>
    loop.vstore %r#1, %c[%i, %c0, %c4] : memref<3x4x8xf32>, vector<4xf32>
    loop.vstore %r#2, %c[%i, %c1, %c0] : memref<3x4x8xf32>, vector<4xf32>
    loop.vstore %r#3, %c[%i, %c1, %c4] : memref<3x4x8xf32>, vector<4xf32>
    loop.vstore %r#4, %c[%i, %c2, %c0] : memref<3x4x8xf32>, vector<4xf32>
    loop.vstore %r#5, %c[%i, %c2, %c4] : memref<3x4x8xf32>, vector<4xf32>
    loop.vstore %r#6, %c[%i, %c3, %c0] : memref<3x4x8xf32>, vector<4xf32>
    loop.vstore %r#7, %c[%i, %c3, %c4] : memref<3x4x8xf32>, vector<4xf32>
  }
  func.return
}
"""
)


def abi_buffers(*arrays: np.ndarray) -> list[np.ndarray]:
    """The weights and arena (unused here) followed by the kernel's own buffers."""
    return [np.zeros(64, np.int8), np.zeros(64, np.int8), *arrays]


def test_fp32_gemm_micro_kernel_with_fmla_lane_matches_numpy_under_qemu(tmp_path: Path):
    rng = np.random.default_rng(7)
    a = rng.standard_normal((3, 37, 4)).astype(np.float32)
    b = rng.standard_normal((37, 8)).astype(np.float32)
    c = np.full((3, 4, 8), np.nan, np.float32)
    before, after, rewritten = before_and_after(
        FMLA_KERNEL, "gemm4x8", abi_buffers(a, b, c), tmp_path
    )
    assert [op.name for op in neon_ops(rewritten)] == ["neon.fmla_lane"] * 8
    expected = np.einsum("ikr,kn->irn", a.astype(np.float64), b.astype(np.float64))
    # The same fused multiply-adds in the same order: identical bits before and after.
    np.testing.assert_array_equal(after[4], before[4])
    # f32 accumulation of 37 products vs a float64 reference.
    np.testing.assert_allclose(after[4], expected, rtol=1e-5, atol=1e-5)


def test_fmla_lane_kernel_assembles_to_fmla_by_element():
    module = parse(FMLA_KERNEL)
    loop_to_neon(module, load_device(DEVICE))
    device = load_device(DEVICE)
    asm = assembly(emit_llvm(module, device), device)
    assert "fmla\tv" in asm and ".s[3]" in asm


@pytest.mark.parametrize(("ext", "dtype"), [("extsi", np.int8), ("extui", np.uint8)])
def test_int8_dot_products_on_sdot_udot_are_bit_exact_under_qemu(
    ext: str, dtype: type[np.integer], tmp_path: Path
):
    k = 16 * 4 + 7  # four sdot steps and a scalar tail of 7
    rng = np.random.default_rng(3)
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max, (5, k), endpoint=True).astype(dtype)
    y = rng.integers(info.min, info.max, (3, k), endpoint=True).astype(dtype)
    x[0, :] = info.min  # extreme products: (-128)^2 or 255^2 summed k times
    y[0, :] = info.min if dtype == np.int8 else info.max
    out = np.full((5, 3), -1, np.int32)
    buffers = abi_buffers(x.view(np.int8), y.view(np.int8), out)
    before, after, rewritten = before_and_after(dot_kernel(ext, k), "dots", buffers, tmp_path)
    kind = "neon.sdot" if ext == "extsi" else "neon.udot"
    assert [op.name for op in neon_ops(rewritten)] == [kind]
    expected = x.astype(np.int64) @ y.astype(np.int64).T
    np.testing.assert_array_equal(after[4], expected.astype(np.int32))
    np.testing.assert_array_equal(before[4], after[4])


def test_sdot_needs_the_dotprod_feature():
    module = parse(dot_kernel("extsi", 32))
    plain = dataclasses.replace(load_device(DEVICE), name="a53", features=("+neon",))
    loop_to_neon(module, plain)
    assert not neon_ops(module)  # left to LLVM's generic vectorizer
    loop_to_neon(module, load_device(DEVICE))
    with pytest.raises(UnsupportedOpError, match="'neon.sdot' on device 'a53': it lacks"):
        check_neon_ops(module.walk(), plain)


def test_neon_ops_are_refused_on_x86_and_loop_to_neon_on_host():
    module = parse(FMLA_KERNEL)
    loop_to_neon(module, load_device(DEVICE))
    with pytest.raises(UnsupportedOpError, match="'neon.fmla_lane' on device 'x86-64-avx512'"):
        emit_llvm(module, load_device("x86-64-avx512"))
    with pytest.raises(UnsupportedError, match="loop-to-neon for device 'host'"):
        loop_to_neon(parse(FMLA_KERNEL), load_device("host"))


def test_device_passes_extend_the_pipeline():
    device = load_device(DEVICE)
    extended = dataclasses.replace(device, extra={"passes": ['loop-to-neon{device="cortex-a76"}']})
    spec = pipeline(extended)
    assert spec.startswith(pipeline(dataclasses.replace(device, extra={})))
    assert spec.endswith(',plan-memory,loop-expand-float-formats,loop-to-neon{device="cortex-a76"}')
    assert "vector_bits=128" in spec
    with pytest.raises(LaminaError, match="`passes` must be a list"):
        pipeline(dataclasses.replace(device, extra={"passes": "loop-to-neon"}))


def test_device_graph_rules_run_before_graph_default():
    spec = pipeline(load_device(DEVICE))
    assert spec.startswith(
        "apply-rules{set=graph-fuse-quantized-conv},apply-rules{set=graph-default},"
    )
    assert pipeline(load_device("cortex-a53")).startswith("apply-rules{set=graph-default},")
    with pytest.raises(LaminaError, match="`graph_rules` must be a list of strings"):
        pipeline(dataclasses.replace(load_device(DEVICE), extra={"graph_rules": "graph-fuse"}))


def test_only_devices_that_say_int8_gemm_take_the_byte_gemm():
    """`int8_gemm = true` (the x86 devices: loop-to-x86 forms loop.byte_dot) turns on
    convert-top-to-loop's int8 GEMM; cortex-a76 keeps the dot-product loops of sdot."""
    assert "int8_gemm=true" in pipeline(load_device("x86-64-avx512-vnni"))
    assert "int8_gemm" not in pipeline(load_device(DEVICE))
    with pytest.raises(LaminaError, match="`int8_gemm` must be true or false"):
        pipeline(dataclasses.replace(load_device(DEVICE), extra={"int8_gemm": "yes"}))
