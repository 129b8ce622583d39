"""convert-loop-to-llvm: the pass, its diagnostics, the loop hints, the device descriptions.
(The numerical checks of the emitted code are in test_jit.py.)"""

from __future__ import annotations

import io

import llvmlite.binding as llvm
import numpy as np
import pytest
from helpers_cli import assert_contains
from xdsl.context import Context
from xdsl.dialects.builtin import StringAttr

from lamina.codegen.llvm_target import llvm_ir_text
from lamina.codegen.loop_to_llvm import ConvertLoopToLLVMPass, LLVMIRTarget, main
from lamina.errors import DeviceError, UnsupportedOpError
from lamina.runtime.jit import JitFunction
from lamina.targets import known_devices, load_device

# Kernels for kernel_ir / kernel_module (conftest.py).
SCALE = dict(
    buffers="%x: memref<4x256xf32>, %y: memref<4x256xf32>",
    body="""
  %two = arith.constant 2.0 : f32
  loop.for %i = %c0 to %c4 step %c1 parallel {
    loop.for %j = %c0 to %c256 step %c1 parallel unroll 2 vector 16 {
      %v = loop.load %x[%i, %j] : memref<4x256xf32>
      %r = arith.mulf %v, %two : f32
      loop.store %r, %y[%i, %j] : memref<4x256xf32>
    }
  }
""",
)


def test_pass_replaces_the_module_by_its_llvm_ir(kernel_module):
    module = kernel_module(**SCALE)
    ConvertLoopToLLVMPass(device="x86-64-avx512").apply(Context(), module)
    assert not list(module.ops)
    text = module.attributes["lamina.llvm_ir"]
    assert isinstance(text, StringAttr)
    assert "define void @main(ptr noalias nofree align 64 %w" in text.data
    assert module.attributes["lamina.device"] == StringAttr("x86-64-avx512")


def test_hints_become_loop_metadata(kernel_module):
    text = llvm_ir_text(kernel_module(**SCALE), "x86-64-avx512")
    assert_contains(
        text,
        '!"llvm.loop.unroll.count", i32 2',
        '!"llvm.loop.vectorize.width", i32 16',
        '!"llvm.loop.vectorize.enable", i1 true',
        '!"llvm.loop.parallel_accesses"',
        "!llvm.access.group",
        "getelementptr inbounds float, ptr %x",
    )


def test_o3_vectorizes_for_avx512(kernel_module):
    text = llvm_ir_text(kernel_module(**SCALE), "x86-64-avx512", opt_level=3)
    assert "<16 x float>" in text


def test_target_prints_the_pass_output(kernel_module):
    module = kernel_module(**SCALE)
    ConvertLoopToLLVMPass(device="x86-64-avx512").apply(Context(), module)
    out = io.StringIO()
    LLVMIRTarget().emit(Context(), module, out)
    assert out.getvalue().startswith("; ModuleID")
    assert 'target triple = "x86_64-unknown-linux-gnu"' in out.getvalue()


def test_cli_prints_llvm_ir_and_reports_errors(
    tmp_path, capsys: pytest.CaptureFixture[str], kernel_ir
):
    path = tmp_path / "scale.mlir"
    path.write_text(kernel_ir(**SCALE))
    assert main([str(path), "--device", "x86-64-avx512"]) == 0
    assert "define void @main(" in capsys.readouterr().out
    assert main([str(path), "--device", "cortex-z9"]) == 1
    assert "error: unknown device 'cortex-z9'" in capsys.readouterr().err


def test_unsupported_op_names_the_op_and_leaves_the_module_alone(parse_ir):
    module = parse_ir(
        """
        func.func @f(%a: i32, %b: i32) -> i32 {
          %p = math.ipowi %a, %b : i32
          func.return %p : i32
        }
        """
    )
    with pytest.raises(UnsupportedOpError, match="'math.ipowi'") as info:
        ConvertLoopToLLVMPass().apply(Context(), module)
    assert getattr(info.value.op, "name", None) == "math.ipowi"
    assert list(module.ops)


def test_large_unplanned_alloc_is_rejected(parse_ir):
    module = parse_ir(
        """
        func.func @f() {
          %b = loop.alloc() : memref<1024x1024xf32>
          func.return
        }
        """
    )
    with pytest.raises(UnsupportedOpError, match="run plan-memory first") as info:
        llvm_ir_text(module)
    assert getattr(info.value.op, "name", None) == "loop.alloc"


ARENA = dict(
    buffers="%x: memref<32xf32>, %y: memref<32xf32>",
    body="""
  %one = arith.constant 1.0 : f32
  %global = loop.arena align 64 : memref<4096xi8>
  %stack = loop.arena align 64 : memref<256xi8, #loop.space<stack>>
  %t = loop.carve %global[128] : memref<4096xi8> -> memref<32xf32>
  %u = loop.carve %stack[64] : memref<256xi8, #loop.space<stack>> -> memref<32xf32, #loop.space<stack>>
  loop.for %i = %c0 to %c32 step %c1 {
    %v = loop.load %x[%i] : memref<32xf32>
    %a = arith.addf %v, %one : f32
    loop.store %a, %t[%i] : memref<32xf32>
    %b = loop.load %t[%i] : memref<32xf32>
    %m = arith.mulf %b, %b : f32
    loop.store %m, %u[%i] : memref<32xf32, #loop.space<stack>>
    %n = loop.load %u[%i] : memref<32xf32, #loop.space<stack>>
    loop.store %n, %y[%i] : memref<32xf32>
  }
""",
)


def test_global_and_stack_arenas_run(kernel_module):
    text = llvm_ir_text(kernel_module(**ARENA))
    assert "@lamina.arena = internal global [4096 x i8] zeroinitializer, align 64" in text
    assert "alloca [256 x i8], align 64" in text
    x = np.arange(32, dtype=np.float32)
    (y,) = JitFunction(kernel_module(**ARENA))(x)
    np.testing.assert_allclose(y, (x + 1) ** 2)


def test_host_device_is_detected_through_llvm():
    host = load_device("host")
    assert host.cpu == llvm.get_host_cpu_name()
    assert host.cores >= 1 and host.l1d_bytes > 0 and host.vector_bits >= 128
    if "+avx512f" in host.features:
        assert host.vector_bits == 512


def test_fixed_device_and_unknown_device():
    avx512 = load_device("x86-64-avx512")
    assert (avx512.cpu, avx512.vector_bits, avx512.vector_lanes_f32) == ("x86-64-v4", 512, 16)
    assert {"host", "x86-64-avx512"} <= set(known_devices())
    with pytest.raises(DeviceError, match="unknown device 'cortex-z9'.*x86-64-avx512"):
        load_device("cortex-z9")
