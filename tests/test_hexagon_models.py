"""fp32 models compiled through the normal pipeline for the Hexagon v66 device and run as
freestanding programs under qemu-hexagon (runtime/hexagon.py), against onnxruntime. HVX v66
has no float lanes, so the float code must stay on the scalar core."""

from __future__ import annotations

import dataclasses
import re
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from lamina.compiler import import_model, lower
from lamina.errors import UnsupportedError
from lamina.runtime import hexagon
from lamina.runtime.hexagon import DEVICE, Buffer, HexagonModule, HexagonProgram
from lamina.targets import load_device
from lamina.tools.models import light_model, random_inputs, with_logits

pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in hexagon.TOOLS),
    reason="needs qemu-hexagon, llvm-mc and ld.lld (Debian: qemu-user, llvm, lld)",
)

# fp32 sums of hundreds of products in another order than onnxruntime's, and expf from
# runtime/hexagon.py (relative error < 1e-6): differences near 1e-5 relative on O(1) values.
RTOL, ATOL = 1e-3, 1e-4
FLOAT_HVX = re.compile(r"\bv\d+(:\d+)?\.(sf|qf32|hf|qf16)\b")


def mlp(sizes: tuple[int, ...] = (784, 512, 512, 10), seed: int = 0) -> onnx.ModelProto:
    """Gemm (+ Relu between layers) with He-scaled random weights."""
    rng = np.random.default_rng(seed)
    nodes, inits, x = [], [], "x"
    for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:], strict=False)):
        w = (rng.standard_normal((n_in, n_out)) * np.sqrt(2 / n_in)).astype(np.float32)
        b = (0.1 * rng.standard_normal(n_out)).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{k}"), numpy_helper.from_array(b, f"b{k}")]
        nodes.append(helper.make_node("Gemm", [x, f"w{k}", f"b{k}"], [f"g{k}"]))
        x = f"g{k}"
        if k < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [x], [f"r{k}"]))
            x = f"r{k}"
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, sizes[0]])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, sizes[-1]])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def compile_for_hexagon(model: onnx.ModelProto, *, scalar_floats: bool) -> HexagonModule:
    """The normal pipeline for the Hexagon device; with `scalar_floats` its float loops are
    lowered at the device's `float_vector_bits` (32: HVX v66 has no float lanes, and
    compiler.pipeline does not read that key yet: `<32 x float>` loops scalarised by LLVM
    run ~20x slower under qemu, too slow for SqueezeNet in the test suite)."""
    device = load_device(DEVICE)
    lowered = device
    if scalar_floats:
        lowered = dataclasses.replace(device, vector_bits=device.extra["float_vector_bits"])
    return HexagonModule(lower(import_model(model), lowered), device=device)


def check_against_onnxruntime(model: onnx.ModelProto, compiled: HexagonModule) -> None:
    feeds = random_inputs(model)
    got = compiled.kernel()(*feeds.values())
    expected = ort.InferenceSession(model.SerializeToString()).run(None, feeds)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, np.asarray(e), rtol=RTOL, atol=ATOL)


def test_mlp_on_hexagon_matches_onnxruntime() -> None:
    model = mlp()
    compiled = compile_for_hexagon(model, scalar_floats=False)  # exactly the device's pipeline
    check_against_onnxruntime(model, compiled)
    assembly = compiled.assembly()
    assert "sfmpy" in assembly  # the products are scalar float multiplies ...
    assert FLOAT_HVX.search(assembly) is None  # ... and no float HVX lane appears


def test_squeezenet_on_hexagon_matches_onnxruntime() -> None:
    model = with_logits(light_model("squeezenet"))
    check_against_onnxruntime(model, compile_for_hexagon(model, scalar_floats=True))


def test_a_missing_runtime_routine_is_not_supported() -> None:
    llvm_ir = "declare float @tanhf(float)\ndefine void @k(ptr %p) {\n"
    llvm_ir += "  %x = load float, ptr %p\n  %y = call float @tanhf(float %x)\n"
    llvm_ir += "  store float %y, ptr %p\n  ret void\n}\n"
    obj = hexagon.object_code(llvm_ir, load_device(DEVICE))
    with pytest.raises(UnsupportedError, match="not supported: calls to tanhf in a freestanding"):
        HexagonProgram(obj, "k", [Buffer(4, output=True)])
