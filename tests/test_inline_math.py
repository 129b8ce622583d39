"""f32 exp and erf as inline vector arithmetic (codegen/llvm_math.py), compiled for the host:
Exp and Erf over their whole f32 range against float64 references (numpy exp, math.erf):
exp within 2 ulp on normal results and 1 ulp of the smallest subnormal below them, erf within
1e-6 and 8 ulp on normal results and never beyond +-1; their edges exactly (+-inf, +-0,
subnormal inputs, NaN, under- and overflow). The ops built on them (Sigmoid, Softmax,
LogSoftmax, Gelu, Elu, Mish, Softplus) over the same edges and -inf-masked rows against
onnxruntime. The inputs are 16-lane vectors and a scalar tail (an odd element count)."""

from __future__ import annotations

import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper

import lamina
from lamina.tests.test_graph_to_top import F, model

EDGES = np.array(
    [np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-40, -1e-40, 88.72, 88.73, -87.3, -103.0, -104.5]
    + [100.0, -100.0, 3.8, -3.8, 1e30, -1e30],
    np.float32,
)
SMALLEST_SUBNORMAL = 2.0**-149
FLOAT32 = np.finfo(np.float32)


def _run(op: str, x: np.ndarray) -> np.ndarray:
    m = model([helper.make_node(op, ["x"], ["y"])], {"x": (list(x.shape), F)}, {"y": (None, F)})
    return np.asarray(lamina.compile(m)(x=x)[0])


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """|got - want| in units of the f32 spacing at the float64 reference."""
    return np.abs(got - want) / np.spacing(want.astype(np.float32)).astype(np.float64)


def test_exp_is_within_two_ulp_over_the_f32_range_and_exact_at_its_edges():
    x = np.concatenate([np.linspace(-104.5, 88.7, 40001), EDGES]).astype(np.float32)
    got = _run("Exp", x)
    with np.errstate(over="ignore"):
        want = np.exp(x.astype(np.float64))
    normal = (want >= FLOAT32.tiny) & (want <= FLOAT32.max)
    assert _ulps(got[normal], want[normal]).max() <= 2
    subnormal = want < FLOAT32.tiny
    assert np.abs(got[subnormal] - want[subnormal]).max() <= SMALLEST_SUBNORMAL
    at = dict(zip(EDGES.astype(np.float64).tolist(), got[-EDGES.size :].tolist(), strict=True))
    assert (at[math.inf], at[-math.inf]) == (math.inf, 0.0)
    assert math.isnan(got[-EDGES.size + 2])  # NaN is no usable dict key
    assert at[0.0] == at[float(np.float32(1e-40))] == at[float(np.float32(-1e-40))] == 1.0
    assert at[float(np.float32(88.73))] == at[100.0] == at[float(np.float32(1e30))] == math.inf
    assert at[-104.5] == at[float(np.float32(-1e30))] == 0.0
    assert 0 < at[-103.0] < at[-100.0] < FLOAT32.tiny


def test_erf_is_within_1e_6_and_eight_ulp_never_beyond_one_and_exact_at_its_edges():
    ranges = [np.linspace(-6.0, 6.0, 24001), np.logspace(-37, 0.6, 2001), EDGES]
    x = np.concatenate(ranges).astype(np.float32)
    got = _run("Erf", x)
    want = np.array([math.erf(v) for v in x.astype(np.float64)])
    finite = np.isfinite(x)
    assert np.abs(got[finite] - want[finite]).max() <= 1e-6
    normal = finite & (np.abs(want) >= FLOAT32.tiny)
    assert _ulps(got[normal], want[normal]).max() <= 8
    assert np.abs(got[finite]).max() == 1.0
    inf, minus_inf, nan, zero, minus_zero = got[-EDGES.size : -EDGES.size + 5]
    assert (inf, minus_inf) == (1.0, -1.0) and np.isnan(nan)
    assert zero == 0.0 and not np.signbit(zero) and minus_zero == 0.0 and np.signbit(minus_zero)


def _edge_rows() -> np.ndarray:
    """Random rows, a row of the edge values and a row masked by -inf every third entry."""
    x = (np.random.default_rng(0).standard_normal((4, 37)) * 6).astype(np.float32)
    x[2, : EDGES.size] = EDGES
    x[3, ::3] = -np.inf
    return x


@pytest.mark.parametrize(
    "node",
    [
        helper.make_node("Sigmoid", ["x"], ["y"]),
        helper.make_node("Softmax", ["x"], ["y"], axis=-1),
        helper.make_node("LogSoftmax", ["x"], ["y"], axis=-1),
        helper.make_node("Gelu", ["x"], ["y"]),
        helper.make_node("Elu", ["x"], ["y"]),
        helper.make_node("Mish", ["x"], ["y"]),
        helper.make_node("Softplus", ["x"], ["y"]),
    ],
    ids=["Sigmoid", "Softmax", "LogSoftmax", "Gelu", "Elu", "Mish", "Softplus"],
)
def test_ops_built_on_exp_and_erf_match_onnxruntime_at_the_edges(node: onnx.NodeProto):
    x = _edge_rows()
    m = model([node], {"x": ([4, 37], F)}, {"y": (None, F)}, opset=20)
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    (want,) = session.run(None, {"x": x})
    got = lamina.compile(m)(x=x)[0]
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-6, atol=1e-6, equal_nan=True)
