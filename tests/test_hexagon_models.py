"""An fp32 model compiled through the normal pipeline for the Hexagon v66 device and run as
a freestanding program under qemu-hexagon (runtime/hexagon.py), against onnxruntime. HVX v66
has no float lanes, so the float code must stay on the scalar core. SqueezeNet the same way
takes minutes: it is in benchmarks/emulated_models.py (as an AOT bundle)."""

from __future__ import annotations

import re
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from lamina.codegen import hexagon_program
from lamina.compiler import import_model, lower
from lamina.errors import UnsupportedError
from lamina.runtime.hexagon import DEVICE, Buffer, HexagonModule, HexagonProgram
from lamina.targets import load_device
from lamina.tools.models import mlp, random_inputs

pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in hexagon_program.TOOLS),
    reason="needs qemu-hexagon, llvm-mc and ld.lld (Debian: qemu-user, llvm, lld)",
)

# fp32 sums of hundreds of products in another order than onnxruntime's, and expf from
# codegen/hexagon_library.ll (relative error < 1e-6): differences near 1e-5 relative on O(1) values.
RTOL, ATOL = 1e-3, 1e-4
FLOAT_HVX = re.compile(r"\bv\d+(:\d+)?\.(sf|qf32|hf|qf16)\b")


def compile_for_hexagon(model: onnx.ModelProto) -> HexagonModule:
    """The normal pipeline for the Hexagon device (its float loops at `float_vector_bits`)."""
    device = load_device(DEVICE)
    return HexagonModule(lower(import_model(model), device), device=device)


def check_against_onnxruntime(model: onnx.ModelProto, compiled: HexagonModule) -> None:
    feeds = random_inputs(model)
    got = compiled.kernel()(*feeds.values())
    expected = ort.InferenceSession(model.SerializeToString()).run(None, feeds)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, np.asarray(e), rtol=RTOL, atol=ATOL)


def test_mlp_on_hexagon_matches_onnxruntime() -> None:
    model = mlp()
    compiled = compile_for_hexagon(model)
    check_against_onnxruntime(model, compiled)
    assembly = compiled.assembly()
    assert "sfmpy" in assembly  # the products are scalar float multiplies ...
    assert FLOAT_HVX.search(assembly) is None  # ... and no float HVX lane appears


def test_a_missing_runtime_routine_is_not_supported() -> None:
    llvm_ir = "declare float @tanhf(float)\ndefine void @k(ptr %p) {\n"
    llvm_ir += "  %x = load float, ptr %p\n  %y = call float @tanhf(float %x)\n"
    llvm_ir += "  store float %y, ptr %p\n  ret void\n}\n"
    obj = hexagon_program.object_code(llvm_ir, load_device(DEVICE))
    with pytest.raises(UnsupportedError, match="not supported: calls to tanhf in a freestanding"):
        HexagonProgram(obj, "k", [Buffer(4, output=True)])
