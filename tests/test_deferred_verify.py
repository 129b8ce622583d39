"""`lamina.compile` verifies the lowered module while its nests compile (compiler.py
`jit_model(verified=False)`), with the verdicts of verifying it before codegen: a module that
does not verify is refused with the verifier's error, whether or not emitting it fails."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, i64
from xdsl.utils.exceptions import VerifyException

import lamina
from lamina.codegen.compile_stats import CompileStats
from lamina.compiler import LoweredModel, jit_model
from lamina.dialects import loop
from lamina.errors import LaminaError
from lamina.targets import load_device

COPY = dict(
    buffers="%x: memref<64xf32>, %y: memref<64xf32>",
    body="""
  loop.for %i = %c0 to %c64 step %c1 {
    %a = loop.load %x[%i] : memref<64xf32>
    loop.store %a, %y[%i] : memref<64xf32>
  }
""",
)


def _lowered(module: ModuleOp) -> LoweredModel:
    return LoweredModel(module, load_device("host"), ["x"], ["y"], CompileStats())


def _with_zero_unroll(module: ModuleOp) -> ModuleOp:
    """`module` with its first loop.for's unroll factor 0: the emitter takes it, the
    verifier does not."""
    nest = next(op for op in module.walk() if isinstance(op, loop.ForOp))
    nest.properties["unroll"] = IntegerAttr(0, i64)
    return module


def test_compile_verifies_within_codegen_and_computes_the_same() -> None:
    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph(
        [node],
        "relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 8])],
    )
    compiled = lamina.compile(helper.make_model(graph), threads=1)
    seconds = compiled.stats.seconds
    assert "verify" in seconds and seconds["verify"] <= seconds["llvm"]
    x = np.random.default_rng(3).standard_normal((2, 8), dtype=np.float32)
    np.testing.assert_array_equal(compiled(x)[0], np.maximum(x, 0))


def test_a_module_that_does_not_verify_is_refused_after_emission(kernel_module) -> None:
    lowered = _lowered(_with_zero_unroll(kernel_module(**COPY)))
    with pytest.raises(VerifyException, match="unroll factor must be positive"):
        jit_model(lowered, threads=1, verified=False)


def test_an_emitter_failure_on_a_module_that_does_not_verify_reports_the_verifier(
    kernel_module, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(*args: object, **kwargs: object) -> None:
        raise LaminaError("the emitter failed")

    monkeypatch.setattr("lamina.runtime.jit.split_llvm", failing)
    with pytest.raises(VerifyException, match="unroll factor must be positive"):
        jit_model(_lowered(_with_zero_unroll(kernel_module(**COPY))), verified=False)
    with pytest.raises(LaminaError, match="the emitter failed"):  # it verifies: the emitter's
        jit_model(_lowered(kernel_module(**COPY)), verified=False)
