"""Checking TFLite models compiled by lamina against LiteRT (the `ai-edge-litert` test
dependency), for tests and benchmarks.

    check_against_litert(m, [x])   # a builder-made model (tools/tflite_builder.py)
    names = logits_outputs(path)   # a real model: check what it computes before a
    want = litert_tensors(path, names, image_feeds(path))  # final LOGISTIC squashes it

Outputs match at their scale: max|err| <= 1e-3 * max|ref| + 1e-4 (`mismatch`).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from lamina.compiler import compile as lamina_compile
from lamina.parser.tflite_model import read_tflite
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
    """lamina's outputs have LiteRT's shapes and dtypes and match at the output's scale."""
    data = m.finish()
    want = litert_outputs(data, feeds)
    got = lamina_compile(data)(*feeds)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
    assert (wrong := mismatch(got, want, nonzero=False)) is None, wrong


def check_quantized_against_litert(
    m: TFLiteBuilder, feeds: list[np.ndarray], *, equal: float = 0.99
) -> None:
    """lamina's integer outputs have LiteRT's dtypes and are within one quantization step of
    LiteRT's fixed-point kernels, a share `equal` of them equal (`quantized_mismatch`)."""
    data = m.finish()
    want = litert_outputs(data, feeds)
    got = lamina_compile(data)(*feeds)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
    assert (wrong := quantized_mismatch(got, want, equal=equal)) is None, wrong


def quantized_mismatch(
    got: list[np.ndarray], want: list[np.ndarray], *, equal: float = 0.99, near: float = 1.0
) -> str | None:
    """None when every integer output has the reference's shape, a share `equal` of its
    elements equal and a share `near` within one quantization step (defaults: one
    operator's outputs); else what differs. Float outputs are held to `mismatch`."""
    if len(got) != len(want):
        return f"{len(got)} outputs, expected {len(want)}"
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        if g.shape != w.shape:
            return f"output {k}: shape {g.shape}, expected {w.shape}"
        if w.dtype.kind == "f":
            if (wrong := mismatch([g], [w], nonzero=False)) is not None:
                return f"output {k}: {wrong}"
            continue
        steps = np.abs(g.astype(np.int64) - w.astype(np.int64))
        same, within = float(np.mean(steps == 0)), float(np.mean(steps <= 1))
        if same < equal or within < near:
            return (
                f"output {k}: {same:.2%} equal, {within:.2%} within one step "
                f"(at most {int(steps.max(initial=0))} steps off)"
            )
    return None


def mismatch(got: list[np.ndarray], want: list[np.ndarray], *, nonzero: bool = True) -> str | None:
    """None when every output has the reference's shape and is within
    1e-3 * max|ref| + 1e-4 of it; else what differs. With `nonzero`, a reference that is
    ~0 everywhere is a mismatch too (it checks nothing: a model's outputs should not be)."""
    if len(got) != len(want):
        return f"{len(got)} outputs, expected {len(want)}"
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        if g.shape != w.shape:
            return f"output {k}: shape {g.shape}, expected {w.shape}"
        scale = float(np.abs(w).max(initial=0))
        if nonzero and scale <= 1e-3:
            return f"output {k}: the reference is ~0 everywhere (max|ref| {scale:.3g})"
        error = float(np.abs(g.astype(np.float64) - w).max(initial=0))
        if error > 1e-3 * scale + 1e-4:
            return f"output {k}: max|err| {error:.3g} at scale {scale:.3g}"
    return None


def logits_outputs(path: Path) -> list[str]:
    """The model's output tensors, each one a LOGISTIC computes replaced by its input."""
    model, _ = read_tflite(path)
    producers = {o: op for op in model.operators for o in op.outputs}
    names: list[str] = []
    for index in model.outputs:
        op = producers.get(index)
        source = op.inputs[0] if op is not None and op.name == "LOGISTIC" else index
        names.append(model.tensors[source].name)
    return names


def litert_tensors(path: Path, names: list[str], feeds: list[np.ndarray]) -> list[np.ndarray]:
    """The tensors `names` (outputs or intermediates) of the model under LiteRT."""
    with warnings.catch_warnings():  # that keeping every tensor costs memory
        warnings.filterwarnings("ignore", "Warning: Enabling `experimental_preserve_all_tensors")
        interpreter = Interpreter(model_path=str(path), experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    for detail, value in zip(interpreter.get_input_details(), feeds, strict=True):
        interpreter.set_tensor(detail["index"], value)
    interpreter.invoke()
    index = {d["name"]: d["index"] for d in interpreter.get_tensor_details()}
    return [np.array(interpreter.get_tensor(index[name])) for name in names]


def image_feeds(path: Path, seed: int = 5) -> list[np.ndarray]:
    """Images in [0, 1), the range MediaPipe's graphs feed these models."""
    model, _ = read_tflite(path)
    rng = np.random.default_rng(seed)
    return [rng.random(model.tensors[i].shape).astype(np.float32) for i in model.inputs]
