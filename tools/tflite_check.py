"""Checking a builder-made TFLite model (tools/tflite_builder.py) compiled by lamina
against LiteRT (the `ai-edge-litert` test dependency), for tests.

    check_against_litert(m, [x])   # compiles m for the host, runs both, compares
"""

from __future__ import annotations

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from lamina.compiler import compile as lamina_compile
from lamina.tools.tflite_builder import TFLiteBuilder


def litert_outputs(data: bytes, feeds: list[np.ndarray]) -> list[np.ndarray]:
    """The model's outputs under LiteRT (1 thread), feeds in the model's input order."""
    interpreter = Interpreter(model_content=data, num_threads=1)
    interpreter.allocate_tensors()
    for detail, value in zip(interpreter.get_input_details(), feeds, strict=True):
        interpreter.set_tensor(detail["index"], value)
    interpreter.invoke()
    return [np.array(interpreter.get_tensor(d["index"])) for d in interpreter.get_output_details()]


def check_against_litert(m: TFLiteBuilder, feeds: list[np.ndarray]) -> None:
    """lamina's outputs have LiteRT's shapes and dtypes and match at the output's scale:
    max|err| <= 1e-3 * max|ref| + 1e-4."""
    data = m.finish()
    want = litert_outputs(data, feeds)
    got = lamina_compile(data)(*feeds)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, g.dtype, w.shape, w.dtype)
        scale = float(np.abs(w).max(initial=0))
        error = float(np.abs(g.astype(np.float64) - w).max(initial=0))
        assert error <= 1e-3 * scale + 1e-4, f"max|err| {error:.3g} at scale {scale:.3g}"
