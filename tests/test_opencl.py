"""The OpenCL back end (convert-loop-to-ocl, codegen/opencl.py, runtime/opencl.py) on the
machine's OpenCL platform (PoCL's CPU device in CI), against onnxruntime and numpy.

Tolerances: kernels are built with -cl-fast-relaxed-math and sum in another order than
onnxruntime's MLAS, so single ops get rtol 1e-4 and whole models rtol 1e-3 / atol 1e-4.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

import lamina
from lamina.codegen.opencl import OpenCLRenderer
from lamina.context import make_context
from lamina.dialects.isa import ocl
from lamina.errors import DeviceError, UnsupportedOpError
from lamina.lowering.loop_to_ocl import ConvertLoopToOCLPass
from lamina.lowering.loop_to_ocl_dot import LoopToOCLDotPass
from lamina.runtime import opencl
from lamina.tools.models import light_model, random_inputs, with_logits

pytestmark = pytest.mark.skipif(
    not opencl.opencl_available(), reason="no OpenCL platform (install pocl-opencl-icd)"
)


def _model(
    node: onnx.NodeProto, inputs: dict[str, list[int]], output: list[int]
) -> onnx.ModelProto:
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(node.output[0], TensorProto.FLOAT, output)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _check(
    model: onnx.ModelProto, rtol: float = 1e-4, atol: float = 1e-5, device: str | Path = "opencl"
) -> None:
    feeds = random_inputs(model)
    (got,) = lamina.compile(model, device=str(device))(*feeds.values())
    want = np.asarray(ort.InferenceSession(model.SerializeToString()).run(None, feeds)[0])
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=rtol, atol=atol)


def test_elementwise_kernels_match_onnxruntime() -> None:
    node = helper.make_node("Add", ["a", "b"], ["y"])
    _check(_model(node, {"a": [2, 3, 17], "b": [3, 17]}, [2, 3, 17]))


def test_conv_with_pads_and_strides_matches_onnxruntime() -> None:
    node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1], strides=[2, 2])
    _check(_model(node, {"x": [1, 3, 11, 11], "w": [4, 3, 3, 3]}, [1, 4, 6, 6]))


def test_max_pool_matches_onnxruntime() -> None:
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2])
    _check(_model(node, {"x": [1, 4, 9, 9]}, [1, 4, 4, 4]))


def test_reduce_mean_matches_onnxruntime() -> None:
    node = helper.make_node("GlobalAveragePool", ["x"], ["y"])
    _check(_model(node, {"x": [1, 8, 7, 7]}, [1, 8, 1, 1]))


def test_softmax_matches_onnxruntime() -> None:
    node = helper.make_node("Softmax", ["x"], ["y"], axis=-1)
    _check(_model(node, {"x": [3, 50]}, [3, 50]))


# The matmul as convert-top-to-loop wrote it before packing: i-k-j, C accumulated in place.
MATMUL = """
func.func @mm(%weights: memref<0xi8>, %arena: memref<0xi8>, %a: memref<64x40xf32>,
              %b: memref<40x48xf32>, %c: memref<64x48xf32>)
    attributes {lamina.abi = "kernel-v1", lamina.num_outputs = 1 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c40 = arith.constant 40 : index
  %c48 = arith.constant 48 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.000000e+00 : f32
  loop.for %i = %c0 to %c64 step %c1 parallel {
    loop.for %j = %c0 to %c48 step %c1 parallel {
      loop.store %zero, %c[%i, %j] : memref<64x48xf32>
    }
  }
  loop.for %i = %c0 to %c64 step %c1 parallel {
    loop.for %k = %c0 to %c40 step %c1 {
      %x = loop.load %a[%i, %k] : memref<64x40xf32>
      loop.for %j = %c0 to %c48 step %c1 parallel vector 16 {
        %y = loop.load %b[%k, %j] : memref<40x48xf32>
        %p = arith.mulf %x, %y : f32
        %s = loop.load %c[%i, %j] : memref<64x48xf32>
        %t = arith.addf %s, %p : f32
        loop.store %t, %c[%i, %j] : memref<64x48xf32>
      }
    }
  }
  func.return
}
"""


def _lowered(text: str) -> ModuleOp:
    module = Parser(make_context(), text).parse_module()
    ConvertLoopToOCLPass().apply(make_context(), module)
    module.verify()
    return module


def test_matmul_becomes_tiled_local_memory_kernel_and_matches_numpy() -> None:
    module = _lowered(MATMUL)
    kernels = [op for op in module.ops if isinstance(op, ocl.KernelOp)]
    tiled = kernels[1]
    assert tiled.work_group_size == (16, 16, 1)
    assert sum(isinstance(op, ocl.LocalAllocOp) for op in tiled.walk()) == 2
    assert sum(isinstance(op, ocl.BarrierOp) for op in tiled.walk()) == 2
    rng = np.random.default_rng(0)
    a = rng.standard_normal((64, 40)).astype(np.float32)
    b = rng.standard_normal((40, 48)).astype(np.float32)
    (c,) = opencl.OpenCLFunction(module)(a, b)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


def test_kernels_differing_only_in_offsets_compile_once() -> None:
    module = _lowered(MATMUL)
    sources = {
        OpenCLRenderer().render_kernel(op, name="k")
        for op in module.ops
        if isinstance(op, ocl.KernelOp)
    }
    function = opencl.OpenCLFunction(module)
    before = len(opencl._PROGRAMS)  # noqa: SLF001
    opencl.OpenCLFunction(module)
    assert len(opencl._PROGRAMS) == before  # noqa: SLF001
    assert len(sources) == 2 and len(function.launches) == 2


def _dot_rows(extend: str, output: str) -> str:
    """`output[i, j]` = the dot product of rows x[i] and w[j] (40 bytes: two 16-byte steps and
    a rest of 8), the bytes read through `extend` (extsi: signed, extui: unsigned)."""
    return f"""
  loop.for %i = %c0 to %c3 step %c1 parallel {{
    loop.for %j = %c0 to %c5 step %c1 parallel {{
      %s = loop.for %k = %c0 to %c40 step %c1 iter_args(%acc = %zero) -> (i32) {{
        %a = loop.load %x[%i, %k] : memref<3x40xi8>
        %ea = arith.{extend} %a : i8 to i32
        %b = loop.load %w[%j, %k] : memref<5x40xi8>
        %eb = arith.{extend} %b : i8 to i32
        %p = arith.muli %ea, %eb : i32
        %n = arith.addi %acc, %p : i32
        loop.yield %n : i32
      }}
      loop.store %s, %{output}[%i, %j] : memref<3x5xi32>
    }}
  }}
"""


def test_char4_and_uchar4_dot_products_match_numpy(kernel_module) -> None:
    """loop-to-ocl-dot's kernels give the exact integer dot products of extreme and random
    bytes, signed and unsigned (on PoCL, whose compiler has no dot(char4, char4): the
    widened form)."""
    body = "  %zero = arith.constant 0 : i32\n" + _dot_rows("extsi", "y") + _dot_rows("extui", "u")
    buffers = "%x: memref<3x40xi8>, %w: memref<5x40xi8>, %y: memref<3x5xi32>, %u: memref<3x5xi32>"
    module = kernel_module(buffers, body, outputs=2)
    for compile_pass in (LoopToOCLDotPass(), ConvertLoopToOCLPass()):
        compile_pass.apply(make_context(), module)
    module.verify()
    dots = [op.name for op in module.walk() if isinstance(op, ocl.Dot4Op)]
    assert dots == ["ocl.dot_char4", "ocl.dot_uchar4"]
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (3, 40), np.int8)
    w = rng.integers(-128, 128, (5, 40), np.int8)
    x[0], w[0] = -128, -128  # the largest products, signed (16384) and unsigned (128 * 128)
    x[1], w[1] = -1, -1  # 255 * 255 unsigned
    function = opencl.OpenCLFunction(module)
    assert "convert_int16(as_uchar16(" in function.source
    y, u = function(x, w)
    np.testing.assert_array_equal(y, x.astype(np.int32) @ w.T.astype(np.int32))
    np.testing.assert_array_equal(
        u, x.view(np.uint8).astype(np.int32) @ w.view(np.uint8).T.astype(np.int32)
    )


@pytest.mark.parametrize("name", ["squeezenet", "shufflenet"])
def test_light_model_runs_entirely_on_opencl_and_matches_onnxruntime(name: str) -> None:
    model = with_logits(light_model(name))
    compiled = lamina.compile(model, device="opencl")
    assert isinstance(compiled.function, opencl.OpenCLFunction)
    feeds = random_inputs(model)
    got = compiled(*feeds.values())
    want = ort.InferenceSession(model.SerializeToString()).run(None, feeds)
    for g, w in zip(got, want, strict=True):
        w = np.asarray(w)
        np.testing.assert_allclose(g.reshape(w.shape), w, rtol=1e-3, atol=1e-4)


def test_an_opencl_device_given_as_a_file_compiles(tmp_path: Path) -> None:
    """convert-loop-to-ocl reads the device from the file it came from, not by its name."""
    device = tmp_path / "my-gpu.toml"
    device.write_text(
        (Path(lamina.__file__).parent / "targets" / "opencl.toml")
        .read_text()
        .replace('name = "opencl"', 'name = "my-gpu"')
    )
    _check(_model(helper.make_node("Relu", ["x"], ["y"]), {"x": [4, 8]}, [4, 8]), device=device)


def test_no_platform_is_a_clear_error_and_cpu_fallback_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pyopencl as cl

    monkeypatch.setattr(cl, "get_platforms", lambda: [])
    monkeypatch.setattr(opencl, "_CONTEXT", [])
    with pytest.raises(DeviceError, match="no OpenCL platform found: install pocl-opencl-icd"):
        opencl.opencl_context()
    node = helper.make_node("Relu", ["x"], ["y"])
    model = _model(node, {"x": [4, 8]}, [4, 8])
    with pytest.raises(DeviceError, match="no OpenCL platform found"):
        lamina.compile(model, device="opencl")
    compiled = lamina.compile(model, device="opencl", fallback="cpu")
    assert compiled.device.name == "host"
    x = np.linspace(-1, 1, 32, dtype=np.float32).reshape(4, 8)
    np.testing.assert_array_equal(compiled(x)[0], np.maximum(x, 0))


def test_op_without_opencl_rule_is_unsupported(kernel_ir) -> None:
    text = kernel_ir(
        "%x: memref<8xf32>, %y: memref<8xf32>",
        """
  loop.for %i = %c0 to %c8 step %c1 parallel {
    %v = loop.load %x[%i] : memref<8xf32>
    %r = math.atan2 %v, %v : f32
    loop.store %r, %y[%i] : memref<8xf32>
  }
""",
        weights=0,
        arena=0,
    )
    module = _lowered(text)
    kernel = next(op for op in module.ops if isinstance(op, ocl.KernelOp))
    with pytest.raises(UnsupportedOpError, match="not supported: math.atan2 in OpenCL codegen"):
        OpenCLRenderer().render_kernel(kernel)
