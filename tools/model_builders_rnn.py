"""Recurrent test models built with onnx.helper the way exporters emit them, with seeded
random weights (scaled ~1/sqrt(fan-in), so states neither saturate nor vanish):

- `recurrent_node`: one LSTM / GRU / RNN node over any attribute set, W, R, B, P as
  initializers or graph inputs, every optional input and output chosen.
- `crnn`: a CRNN text recognizer (PP-OCR rec / CRNN style): a small CNN over a [1, 3, 32, W]
  line image -> [T, 1, C] sequence (Squeeze of the height-1 map, Transpose) -> two
  bidirectional LSTM layers (torch's export: Transpose / Reshape of Y between layers) ->
  per-step MatMul to classes -> the CTC head's LogSoftmax. Outputs the logits and the
  log-probabilities.
- `gru_audio`: a GRU audio model (a Silero-VAD-like front end): Conv1d over frames + ReLU
  -> Transpose to [T, 1, C] -> GRU with an initial state (linear_before_reset, as torch
  exports) -> Gemm per step to a score; outputs the scores and the new state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
_INPUTS = {
    "LSTM": ("X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"),
    "GRU": ("X", "W", "R", "B", "sequence_lens", "initial_h"),
    "RNN": ("X", "W", "R", "B", "sequence_lens", "initial_h"),
}
_OUTPUTS = {"LSTM": ("Y", "Y_h", "Y_c"), "GRU": ("Y", "Y_h"), "RNN": ("Y", "Y_h")}
OPSET = 17


def _weight(rng: np.random.Generator, shape: Sequence[int], fan_in: int) -> np.ndarray:
    return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)


def _trimmed(names: list[str]) -> list[str]:
    """ONNX optional slots: trailing unused ones dropped, inner ones empty."""
    while names and not names[-1]:
        names.pop()
    return names


def recurrent_node(
    op: str, *, steps: int = 3, batch: int = 2, size: int = 4, hidden: int = 5,
    uses: Sequence[str] = (), outputs: Sequence[str] = ("Y", "Y_h"),
    lens: Sequence[int] | None = None, constants: bool = False, seed: int = 0,
    **attrs: Any,
) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:  # fmt: skip
    """One `op` node and its inputs. `uses` names the optional inputs given (B,
    sequence_lens, initial_h, initial_c, P); `lens` are the sequence lengths;
    `constants` makes W, R, B, P (and sequence_lens) initializers instead of inputs."""
    rng = np.random.default_rng(seed)
    directions = 2 if attrs.get("direction") == "bidirectional" else 1
    gates_h = GATES[op] * hidden
    batch_major = attrs.get("layout") == 1
    state = [batch, directions, hidden] if batch_major else [directions, batch, hidden]
    values = {
        "X": rng.standard_normal([batch, steps, size] if batch_major else [steps, batch, size]),
        "W": _weight(rng, [directions, gates_h, size], size),
        "R": _weight(rng, [directions, gates_h, hidden], hidden),
        "B": _weight(rng, [directions, 2 * gates_h], hidden),
        "sequence_lens": np.array(lens if lens is not None else [steps] * batch, np.int32),
        "initial_h": rng.standard_normal(state),
        "initial_c": rng.standard_normal(state),
        "P": _weight(rng, [directions, 3 * hidden], hidden),
    }
    given = {"X", "W", "R", *uses}
    names = _trimmed([n if n in given else "" for n in _INPUTS[op]])
    out_names = _trimmed([n if n in outputs else "" for n in _OUTPUTS[op]])
    node = helper.make_node(op, names, out_names, hidden_size=hidden, **attrs)
    weights = {"W", "R", "B", "P", "sequence_lens"} if constants else set[str]()
    arrays = {n: np.asarray(values[n]) for n in names if n}
    feeds = {n: a if a.dtype == np.int32 else a.astype(np.float32) for n, a in arrays.items()}
    inputs = [
        helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
        for n, a in feeds.items()
        if n not in weights
    ]
    graph = helper.make_graph(
        [node],
        op.lower(),
        inputs,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in out_names if n],
        [numpy_helper.from_array(a, n) for n, a in feeds.items() if n in weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    return onnx.shape_inference.infer_shapes(model), {
        n: a for n, a in feeds.items() if n not in weights
    }


class _Graph:
    """Nodes and initializers of a model being built."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.weights: list[onnx.TensorProto] = []

    def weight(self, name: str, shape: Sequence[int], fan_in: int) -> str:
        self.weights.append(numpy_helper.from_array(_weight(self.rng, shape, fan_in), name))
        return name

    def const(self, name: str, values: Sequence[int]) -> str:
        self.weights.append(numpy_helper.from_array(np.array(values, np.int64), name))
        return name

    def node(self, op: str, inputs: Sequence[str], output: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op, list(inputs), [output], name=output, **attrs))
        return output

    def model(
        self, name: str, inputs: list[onnx.ValueInfoProto], outputs: Sequence[str]
    ) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes, name, inputs,
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
            self.weights,
        )  # fmt: skip
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        return onnx.shape_inference.infer_shapes(model)


def _bilstm(g: _Graph, x: str, size: int, hidden: int, layer: int) -> str:
    """A bidirectional LSTM layer over [T, 1, size] -> [T, 1, 2·hidden] (Y's directions
    merged back into features, as torch exports it)."""
    w = g.weight(f"lstm{layer}.w", [2, 4 * hidden, size], size)
    r = g.weight(f"lstm{layer}.r", [2, 4 * hidden, hidden], hidden)
    b = g.weight(f"lstm{layer}.b", [2, 8 * hidden], hidden)
    g.nodes.append(helper.make_node("LSTM", [x, w, r, b], [f"lstm{layer}.y"], name=f"lstm{layer}",
                                    hidden_size=hidden, direction="bidirectional"))  # fmt: skip
    moved = g.node("Transpose", [f"lstm{layer}.y"], f"lstm{layer}.t", perm=[0, 2, 1, 3])
    return g.node("Reshape", [moved, g.const(f"lstm{layer}.shape", [0, 0, -1])], f"seq{layer}")


def crnn(width: int = 40, classes: int = 11, hidden: int = 16, seed: int = 0) -> onnx.ModelProto:
    """The CRNN text recognizer of the module doc over a [1, 3, 32, width] image; outputs
    `logits` [T, 1, classes] and `log_probs` (T = width / 4)."""
    g = _Graph(seed)
    x = "image"
    channels = [3, 8, 16]
    for i, (cin, cout) in enumerate(zip(channels, channels[1:], strict=False)):
        conv = g.node("Conv", [x, g.weight(f"conv{i}.w", [cout, cin, 3, 3], 9 * cin),
                               g.weight(f"conv{i}.b", [cout], 9 * cin)],
                      f"conv{i}", pads=[1, 1, 1, 1])  # fmt: skip
        relu = g.node("Relu", [conv], f"relu{i}")
        x = g.node("MaxPool", [relu], f"pool{i}", kernel_shape=[2, 2], strides=[2, 2])
    # height 8 -> 1 with a (8, 1) conv, then [1, C, 1, T] -> [T, 1, C]
    x = g.node("Conv", [x, g.weight("col.w", [32, 16, 8, 1], 128), g.weight("col.b", [32], 128)],
               "col")  # fmt: skip
    x = g.node("Relu", [x], "col.relu")
    x = g.node("Squeeze", [x, g.const("squeeze.axes", [2])], "squeezed")
    x = g.node("Transpose", [x], "seq", perm=[2, 0, 1])
    x = _bilstm(g, x, 32, hidden, 0)
    x = _bilstm(g, x, 2 * hidden, hidden, 1)
    logits = g.node("MatMul", [x, g.weight("fc.w", [2 * hidden, classes], 2 * hidden)], "fc")
    logits = g.node("Add", [logits, g.weight("fc.b", [classes], 2 * hidden)], "logits")
    g.node("LogSoftmax", [logits], "log_probs", axis=2)
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, width])
    return g.model("crnn", [image], ["logits", "log_probs"])


def gru_audio(
    frames: int = 24, frame: int = 16, channels: int = 12, hidden: int = 20, seed: int = 0
) -> onnx.ModelProto:
    """The GRU audio model of the module doc over `audio` [1, frames·frame] and `state`
    [1, 1, hidden]; outputs `score` [frames, 1, 1] (before the sigmoid) and `state_out`."""
    g = _Graph(seed)
    x = g.node("Reshape", ["audio", g.const("frames", [1, frames, frame])], "framed")
    x = g.node("Transpose", [x], "by_feature", perm=[0, 2, 1])
    for i, (cin, cout) in enumerate(((frame, channels), (channels, channels))):
        conv = g.node("Conv", [x, g.weight(f"conv{i}.w", [cout, cin, 3], 3 * cin),
                               g.weight(f"conv{i}.b", [cout], 3 * cin)],
                      f"conv{i}", pads=[1, 1])  # fmt: skip
        x = g.node("Relu", [conv], f"relu{i}")
    seq = g.node("Transpose", [x], "seq", perm=[2, 0, 1])
    gru_inputs = [seq, g.weight("gru.w", [1, 3 * hidden, channels], channels),
                  g.weight("gru.r", [1, 3 * hidden, hidden], hidden),
                  g.weight("gru.b", [1, 6 * hidden], hidden), "", "state"]  # fmt: skip
    g.nodes.append(helper.make_node("GRU", gru_inputs, ["gru.y", "state_out"], name="gru",
                                    hidden_size=hidden, linear_before_reset=1))  # fmt: skip
    y = g.node("Squeeze", ["gru.y", g.const("gru.axes", [1])], "gru.seq")
    g.node("MatMul", [y, g.weight("head.w", [hidden, 1], hidden)], "score")
    inputs = [
        helper.make_tensor_value_info("audio", TensorProto.FLOAT, [1, frames * frame]),
        helper.make_tensor_value_info("state", TensorProto.FLOAT, [1, 1, hidden]),
    ]
    return g.model("gru_audio", inputs, ["score", "state_out"])
