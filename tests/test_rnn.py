"""LSTM, GRU and RNN on the compiled path (host JIT) against onnxruntime, over the attribute
space: directions, initial states, sequence_lens (run-time and constant), every ONNX RNN
activation with alpha / beta, clip, input_forget, peepholes, linear_before_reset, both
layouts, each output used or not; and the lowering's structure at the top level.

Tolerance: the output's scale, max|err| <= 1e-3 max|ref| + 1e-4. Every state is an f32
sum of H + I products per step, summed in another order than onnxruntime's, over a few
steps of saturating activations: differences stay near 1e-6.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from xdsl.context import Context

import lamina
from lamina.codegen.llvm_split import split_llvm
from lamina.compiler import import_model, lower
from lamina.lowering.graph_to_top import ConvertGraphToTopPass
from lamina.parser.onnx import import_onnx
from lamina.targets import load_device
from lamina.tools.model_builders_rnn import recurrent_node

ALL_OUTPUTS = {"LSTM": ("Y", "Y_h", "Y_c"), "GRU": ("Y", "Y_h"), "RNN": ("Y", "Y_h")}
STATES = {"LSTM": ("initial_h", "initial_c"), "GRU": ("initial_h",), "RNN": ("initial_h",)}


def onnxruntime_outputs(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return [np.asarray(x) for x in session.run(None, feeds)]


def lamina_outputs(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    got = lamina.compile(model, device="host")(*feeds.values())
    return list(got) if isinstance(got, list | tuple) else [got]


def assert_matches_onnxruntime(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> None:
    assert_close(lamina_outputs(model, feeds), onnxruntime_outputs(model, feeds))


def assert_close(got: list[np.ndarray], want: list[np.ndarray]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype
        assert np.abs(g - w).max() <= 1e-3 * np.abs(w).max() + 1e-4


def check(op: str, **kwargs: Any) -> None:
    assert_matches_onnxruntime(*recurrent_node(op, **kwargs))


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_direction_with_initial_states_matches_onnxruntime(op: str, direction: str):
    check(op, direction=direction, uses=("B", *STATES[op]), outputs=ALL_OUTPUTS[op])


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_sequence_lens_input_stops_each_batch_matches_onnxruntime(op: str, direction: str):
    check(op, direction=direction, steps=4, batch=3, lens=[4, 1, 2],
          uses=("B", "sequence_lens", *STATES[op]), outputs=ALL_OUTPUTS[op])  # fmt: skip


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
def test_empty_sequence_ends_with_zero_states_as_in_onnxruntime(op: str):
    check(op, direction="bidirectional", steps=3, batch=3, lens=[3, 0, 2],
          uses=("B", "sequence_lens", *STATES[op]), outputs=ALL_OUTPUTS[op])  # fmt: skip


def test_constant_sequence_lens_and_weights_match_onnxruntime():
    check("LSTM", direction="bidirectional", steps=4, batch=3, lens=[2, 4, 0], constants=True,
          uses=("B", "sequence_lens", "P"), outputs=ALL_OUTPUTS["LSTM"])  # fmt: skip


@pytest.mark.parametrize(
    ("activation", "alpha", "beta"),
    [
        ("Relu", None, None),
        ("Tanh", None, None),
        ("Sigmoid", None, None),
        ("Affine", 0.7, 0.1),
        ("LeakyRelu", 0.2, None),
        ("ThresholdedRelu", 0.3, None),
        ("ScaledTanh", 1.5, 0.6),
        ("HardSigmoid", 0.3, 0.4),
        ("Elu", 0.8, None),
        ("Softsign", None, None),
        ("Softplus", None, None),
    ],
)
def test_rnn_activation_matches_onnxruntime(
    activation: str, alpha: float | None, beta: float | None
):
    attrs: dict[str, Any] = {"activations": [activation]}
    if alpha is not None:
        attrs["activation_alpha"] = [alpha]
    if beta is not None:
        attrs["activation_beta"] = [beta]
    check("RNN", uses=("B", "initial_h"), **attrs)


def test_lstm_with_different_activations_per_direction_matches_onnxruntime():
    # alphas / betas go to the activations that take them, in order
    check("LSTM", direction="bidirectional", uses=("B",), outputs=ALL_OUTPUTS["LSTM"],
          activations=["HardSigmoid", "LeakyRelu", "ScaledTanh", "Sigmoid", "Softsign", "Elu"],
          activation_alpha=[0.3, 0.1, 1.2, 0.9], activation_beta=[0.45, 0.8])  # fmt: skip


def test_gru_with_default_alphas_matches_onnxruntime():
    check("GRU", activations=["HardSigmoid", "Elu"], uses=("B", "initial_h"))


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
def test_clip_matches_onnxruntime(op: str):
    check(op, clip=0.4, direction="bidirectional", uses=("B", *STATES[op]))


@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_lstm_peepholes_and_input_forget_match_onnxruntime(direction: str):
    check("LSTM", direction=direction, input_forget=1, uses=("B", "P", *STATES["LSTM"]),
          outputs=ALL_OUTPUTS["LSTM"])  # fmt: skip


def test_lstm_peepholes_with_sequence_lens_match_onnxruntime():
    check("LSTM", steps=4, batch=3, lens=[3, 4, 1], uses=("B", "sequence_lens", "P"),
          outputs=ALL_OUTPUTS["LSTM"])  # fmt: skip


@pytest.mark.parametrize("linear_before_reset", [0, 1])
@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_gru_linear_before_reset_matches_onnxruntime(linear_before_reset: int, direction: str):
    check("GRU", direction=direction, linear_before_reset=linear_before_reset,
          uses=("B", "initial_h"))  # fmt: skip


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
def test_batch_major_layout_matches_onnxruntime_on_the_transposed_model(op: str):
    # onnxruntime runs layout 0 only: the same weights (same seed) there, X and the states
    # transposed in, Y [T, D, B, H] -> [B, T, D, H] and the states [D, B, H] -> [B, D, H] out
    kwargs: dict[str, Any] = dict(direction="bidirectional", steps=4, batch=3, lens=[1, 4, 3],
                                  uses=("B", "sequence_lens", *STATES[op]),
                                  outputs=ALL_OUTPUTS[op])  # fmt: skip
    time_major, feeds = recurrent_node(op, **kwargs)
    batch_major, _ = recurrent_node(op, layout=1, **kwargs)
    moved = {"X": (1, 0, 2), "initial_h": (1, 0, 2), "initial_c": (1, 0, 2)}
    batch_feeds = {n: a.transpose(moved[n]) if n in moved else a for n, a in feeds.items()}
    want = onnxruntime_outputs(time_major, feeds)
    want = [w.transpose((2, 0, 1, 3) if w.ndim == 4 else (1, 0, 2)) for w in want]
    assert_close(lamina_outputs(batch_major, batch_feeds), want)


@pytest.mark.parametrize("outputs", [("Y",), ("Y_h",), ("Y_c",), ("Y", "Y_c")])
def test_lstm_with_some_outputs_unused_matches_onnxruntime(outputs: tuple[str, ...]):
    check("LSTM", direction="reverse", outputs=outputs)


def test_lstm_lowers_to_one_projection_and_two_ops_per_step():
    model, _ = recurrent_node("LSTM", steps=5, uses=("B",), constants=True)
    module = import_onnx(model)
    ConvertGraphToTopPass().apply(Context(), module)
    names = [op.name for op in module.walk()]
    # the projection X·Wᵀ, then per step: Hₛ₋₁·Rᵀ and the fused gates (plus its slice)
    assert names.count("top.matmul") == 1 + 5
    assert names.count("top.generic") == 5
    assert names.count("top.slice") == 5


@pytest.mark.parametrize("op", ["LSTM", "GRU", "RNN"])
def test_steps_share_their_matmul_and_gate_nests(op: str):
    # 4 more steps add no nest: each step's H·Rᵀ matmul(s) and gate generic(s) are the same
    # text at every step, its projection slice and its copy into Y differ only in offsets
    # (arguments of one nest function, codegen/llvm_slots.py)
    host = load_device("host")

    def nests(steps: int) -> tuple[int, int]:
        model, _ = recurrent_node(op, steps=steps, direction="bidirectional", constants=True,
                                  uses=("B", "initial_h"))  # fmt: skip
        split = split_llvm(lower(import_model(model), host), host)
        return split.calls, len(split.nests)

    (calls4, distinct4), (calls8, distinct8) = nests(4), nests(8)
    assert distinct8 == distinct4
    assert calls8 - calls4 >= 4 * 4
