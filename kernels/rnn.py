"""A hand-written numpy LSTM kernel: `onnx.reference` ignores `clip`, `activations`,
`input_forget` and `sequence_lens`. Follows onnxruntime: `clip` bounds the gate
pre-activations, peepholes included (not the input of h(Cₜ)); activation_alpha /
activation_beta are consumed in order, one per activation that takes one (defaults LeakyRelu
0.01, HardSigmoid 0.2 / 0.5, Elu 1.0); a batch whose sequence has ended keeps its state and
outputs 0, one of length 0 ends with zero states.
Gate order in W, R, B: i o f c; peepholes P: i o f.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lamina.kernels.nn import Kernel, is_float

Activation = Callable[[np.ndarray], np.ndarray]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


_ACTIVATIONS: dict[str, tuple[int, int, float, float, Callable[..., np.ndarray]]] = {
    # name: (alphas taken, betas taken, default alpha, default beta, f(x, alpha, beta))
    "relu": (0, 0, 0, 0, lambda x, a, b: np.maximum(x, 0)),
    "tanh": (0, 0, 0, 0, lambda x, a, b: np.tanh(x)),
    "sigmoid": (0, 0, 0, 0, lambda x, a, b: _sigmoid(x)),
    "affine": (1, 1, 0, 0, lambda x, a, b: a * x + b),
    "leakyrelu": (1, 0, 0.01, 0, lambda x, a, b: np.where(x < 0, a * x, x)),
    "thresholdedrelu": (1, 0, 0, 0, lambda x, a, b: np.where(x > a, x, 0)),
    "scaledtanh": (1, 1, 0, 0, lambda x, a, b: a * np.tanh(b * x)),
    "hardsigmoid": (1, 1, 0.2, 0.5, lambda x, a, b: np.clip(a * x + b, 0, 1)),
    "elu": (1, 0, 1.0, 0, lambda x, a, b: np.where(x < 0, a * (np.exp(x) - 1), x)),
    "softsign": (0, 0, 0, 0, lambda x, a, b: x / (1 + np.abs(x))),
    "softplus": (0, 0, 0, 0, lambda x, a, b: np.log(np.exp(x) + 1)),
}


def _activations(attrs: dict[str, object], directions: int) -> list[list[Activation]] | None:
    """Three activations (f, g, h) per direction, or None for an unknown name."""
    names = [str(n).lower() for n in attrs.get("activations") or []]  # type: ignore[union-attr]
    names = names or ["sigmoid", "tanh", "tanh"] * directions
    if len(names) == 3 and directions == 2:
        names *= 2
    alphas = iter(float(a) for a in attrs.get("activation_alpha") or [])  # type: ignore[union-attr]
    betas = iter(float(b) for b in attrs.get("activation_beta") or [])  # type: ignore[union-attr]
    parsed: list[Activation] = []
    for name in names:
        if name not in _ACTIVATIONS:
            return None
        takes_alpha, takes_beta, alpha, beta, fn = _ACTIVATIONS[name]
        alpha = next(alphas, alpha) if takes_alpha else alpha
        beta = next(betas, beta) if takes_beta else beta
        parsed.append(lambda x, fn=fn, a=alpha, b=beta: fn(x, a, b))
    return [parsed[3 * d : 3 * d + 3] for d in range(directions)]


def _direction(
    x: np.ndarray,
    weights: Sequence[np.ndarray],
    state: tuple[np.ndarray, np.ndarray],
    acts: Sequence[Activation],
    lengths: np.ndarray,
    options: tuple[float | None, bool, bool],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One direction over x [S, B, I]: Y [S, B, H] and the final (h, c)."""
    w, r, bias, peep = weights
    clip, input_forget, reverse = options
    f_act, g_act, h_act = acts

    def f(z: np.ndarray) -> np.ndarray:
        return f_act(z if clip is None else np.clip(z, -clip, clip))

    def g(z: np.ndarray) -> np.ndarray:
        return g_act(z if clip is None else np.clip(z, -clip, clip))

    h, c = state
    p_i, p_o, p_f = np.split(peep, 3)
    steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    y = np.zeros((x.shape[0], *h.shape), x.dtype)
    for t in steps:
        gates = x[t] @ w.T + h @ r.T + bias
        i, o, fg, cand = np.split(gates, 4, axis=-1)
        i = f(i + p_i * c)
        fg = 1 - i if input_forget else f(fg + p_f * c)
        c_new = fg * c + i * g(cand)
        h_new = f(o + p_o * c_new) * h_act(c_new)
        live = (t < lengths)[:, None]
        h, c = np.where(live, h_new, h), np.where(live, c_new, c)
        y[t] = np.where(live, h_new, 0)
    empty = (lengths == 0)[:, None]
    return y, np.where(empty, 0, h), np.where(empty, 0, c)


def lstm(inputs: list[Any], attrs: dict[str, object], n_outputs: int) -> list[Any] | None:
    """LSTM (see the module doc); declines integer types and unknown activations."""
    x, w, r, *rest = [*inputs, *[None] * (8 - len(inputs))]
    bias, lengths, h0, c0, peep = rest[:5]
    if not is_float(x, w, r, bias, h0, c0, peep):
        return None
    directions, hidden = w.shape[0], r.shape[-1]
    acts = _activations(attrs, directions)
    if acts is None:
        return None
    layout = int(attrs.get("layout", 0))  # type: ignore[arg-type]
    x = np.swapaxes(x, 0, 1) if layout else x
    batch = x.shape[1]
    zeros = np.zeros((directions, batch, hidden), x.dtype)
    h0 = zeros if h0 is None else (np.swapaxes(h0, 0, 1) if layout else h0)
    c0 = zeros if c0 is None else (np.swapaxes(c0, 0, 1) if layout else c0)
    bias = np.zeros((directions, 8 * hidden), x.dtype) if bias is None else bias
    peep = np.zeros((directions, 3 * hidden), x.dtype) if peep is None else peep
    lengths = np.full(batch, x.shape[0]) if lengths is None else np.asarray(lengths)
    clip = attrs.get("clip")
    reverse = [attrs.get("direction", "forward") == "reverse", True]
    outs = [
        _direction(
            x,
            (w[d], r[d], bias[d, : 4 * hidden] + bias[d, 4 * hidden :], peep[d]),
            (h0[d], c0[d]),
            acts[d],
            lengths,
            (None if clip is None else float(clip), bool(attrs.get("input_forget", 0)), reverse[d]),  # type: ignore[arg-type]
        )
        for d in range(directions)
    ]
    y = np.stack([o[0] for o in outs], axis=1)
    y_h, y_c = np.stack([o[1] for o in outs]), np.stack([o[2] for o in outs])
    if layout:
        y, y_h, y_c = np.transpose(y, (2, 0, 1, 3)), np.swapaxes(y_h, 0, 1), np.swapaxes(y_c, 0, 1)
    return [y, y_h, y_c][:n_outputs]


RNN_KERNELS: dict[str, Kernel] = {"LSTM": lstm}
