"""f32 exp and erf as inline vector arithmetic (codegen/llvm_math.py), compiled for the host:
Exp and Erf over their whole f32 range against float64 references (exp within 2 ulp on
normal results, erf within 1e-6), their special values exactly (inf, 0, NaN, under- and
overflow), and the ops built on them (Sigmoid, Softmax, Gelu) against onnxruntime. The
inputs are 16-lane vectors and a scalar tail (an odd element count)."""

from __future__ import annotations

import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper

import lamina
from lamina.tests.test_graph_to_top import F, model

SPECIAL = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 88.72, 88.73, -87.3, -103.0, -104.5])


def _run(op: str, x: np.ndarray) -> np.ndarray:
    m = model([helper.make_node(op, ["x"], ["y"])], {"x": (list(x.shape), F)}, {"y": (None, F)})
    return np.asarray(lamina.compile(m)(x=x)[0])


def test_exp_is_within_two_ulp_over_the_f32_range_and_exact_at_special_values():
    x = np.concatenate([np.linspace(-87.0, 88.7, 20001), SPECIAL]).astype(np.float32)
    got = _run("Exp", x)
    want = np.exp(x.astype(np.float64))
    f32 = np.finfo(np.float32)
    normal = (want >= f32.tiny) & (want <= f32.max)
    ulp = np.spacing(want[normal].astype(np.float32)).astype(np.float64)
    assert (np.abs(got[normal] - want[normal]) <= 2 * ulp).all()
    inf, minus_inf, nan, zero, minus_zero, _, overflow, _, subnormal, underflow = got[-10:]
    assert (inf, minus_inf, zero, minus_zero, overflow) == (np.inf, 0.0, 1.0, 1.0, np.inf)
    assert np.isnan(nan) and 0 < subnormal < f32.tiny and underflow == 0.0


def test_erf_is_within_1e_6_over_the_f32_range_and_saturates():
    x = np.concatenate([np.linspace(-6.0, 6.0, 12001), SPECIAL]).astype(np.float32)
    got = _run("Erf", x)
    want = np.array([math.erf(v) for v in x.astype(np.float64)])
    finite = np.isfinite(x)
    assert np.abs(got[finite] - want[finite]).max() <= 1e-6
    np.testing.assert_array_equal(got[:2], [-1.0, -1.0])
    inf, minus_inf, nan = got[-10:-7]
    assert (inf, minus_inf) == (1.0, -1.0) and np.isnan(nan)


@pytest.mark.parametrize(
    "node",
    [
        helper.make_node("Sigmoid", ["x"], ["y"]),
        helper.make_node("Softmax", ["x"], ["y"], axis=-1),
        helper.make_node("Gelu", ["x"], ["y"]),
    ],
    ids=["Sigmoid", "Softmax", "Gelu"],
)
def test_ops_built_on_exp_and_erf_match_onnxruntime(node: onnx.NodeProto):
    x = (np.random.default_rng(0).standard_normal((3, 37)) * 6).astype(np.float32)
    m = model([node], {"x": ([3, 37], F)}, {"y": (None, F)})
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = session.run(None, {"x": x})
    np.testing.assert_allclose(lamina.compile(m)(x=x)[0], np.asarray(want), rtol=1e-6, atol=1e-6)
