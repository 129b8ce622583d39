"""Small models built node by node the way exporters emit them, with seeded random weights.

    yolo_detector()        # SiLU, Focus stem, Split, nearest Resize + Concat, DFL head, anchors
    transformer_encoder()  # Gather embedding, LayerNorm, masked attention, Gelu, residuals

Each is an `onnx.ModelProto` at static shapes that onnx.checker accepts; its outputs are
what the model computes before any final Softmax / Sigmoid (box distances, class logits,
hidden states), so a check at the output's scale sees every layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from numpy.typing import ArrayLike
from onnx import TensorProto, helper, numpy_helper


@dataclass
class GraphBuilder:
    """Appends nodes with fresh output names; weights become initializers."""

    rng: np.random.Generator
    nodes: list[onnx.NodeProto] = field(default_factory=list[onnx.NodeProto])
    weights: list[onnx.TensorProto] = field(default_factory=list[onnx.TensorProto])
    count: int = 0

    def op(self, op_type: str, *inputs: str, **attributes: object) -> str:
        """The output of a new `op_type` node."""
        (output,) = self.ops(op_type, *inputs, outputs=1, **attributes)
        return output

    def ops(self, op_type: str, *inputs: str, outputs: int, **attributes: object) -> list[str]:
        """The `outputs` outputs of a new `op_type` node."""
        self.count += 1
        first = f"{op_type.lower()}_{self.count}"
        names = [first, *(f"{first}_{i}" for i in range(1, outputs))]
        node = helper.make_node(op_type, list(inputs), names, name=f"{op_type}_{self.count}")
        node.attribute.extend(helper.make_attribute(k, v) for k, v in attributes.items())
        self.nodes.append(node)
        return names

    def const(self, value: ArrayLike, dtype: type = np.int64) -> str:
        self.count += 1
        name = f"const_{self.count}"
        self.weights.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def weight(self, *shape: int, scale: float | None = None) -> str:
        """He-scaled normal weights (fan-in: all dims but the first), or `scale` * normal."""
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        factor = scale if scale is not None else float(np.sqrt(2.0 / fan_in))
        return self.const(self.rng.standard_normal(shape) * factor, np.float32)

    def model(
        self,
        name: str,
        inputs: list[onnx.ValueInfoProto],
        outputs: dict[str, str],
        opset: int,
    ) -> onnx.ModelProto:
        """The model returning `outputs` (model output name -> value), shapes inferred."""
        nodes = [*self.nodes]
        nodes += [helper.make_node("Identity", [v], [k], name=k) for k, v in outputs.items()]
        untyped = [helper.make_empty_tensor_value_info(k) for k in outputs]
        graph = helper.make_graph(nodes, name, inputs, untyped, self.weights)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        typed = {v.name: v for v in inferred.graph.value_info}
        del model.graph.output[:]
        model.graph.output.extend(typed[k] for k in outputs)
        onnx.checker.check_model(model, full_check=True)
        return model


# --- YOLO ----------------------------------------------------------------------------------

YOLO_BINS = 16
"""Distribution Focal Loss bins per box side (YOLOv8's reg_max)."""


def _conv_silu(b: GraphBuilder, x: str, cin: int, cout: int, k: int = 3, stride: int = 1) -> str:
    """Conv (bias) + SiLU spelled x * Sigmoid(x), as exporters write it before opset 24."""
    pad = k // 2
    conv = b.op(
        "Conv",
        x,
        b.weight(cout, cin, k, k),
        b.weight(cout, scale=0.1),
        kernel_shape=[k, k],
        strides=[stride, stride],
        pads=[pad] * 4,
    )
    return b.op("Mul", conv, b.op("Sigmoid", conv))


def _focus(b: GraphBuilder, x: str) -> str:
    """Space-to-depth with four strided Slices and a Concat (YOLOv5's Focus stem)."""
    parts = []
    for row, col in [(0, 0), (1, 0), (0, 1), (1, 1)]:
        starts, ends = b.const([row, col]), b.const([2**62, 2**62])
        parts.append(b.op("Slice", x, starts, ends, b.const([2, 3]), b.const([2, 2])))
    return b.op("Concat", *parts, axis=1)


def _c2f(b: GraphBuilder, x: str, channels: int) -> str:
    """Split in two halves, a bottleneck on the second, Concat all three, fuse with 1x1."""
    half = channels // 2
    first, second = b.ops("Split", x, b.const([half, half]), outputs=2, axis=1)
    inner = _conv_silu(b, _conv_silu(b, second, half, half), half, half)
    bottleneck = b.op("Add", second, inner)
    return _conv_silu(b, b.op("Concat", first, second, bottleneck, axis=1), 3 * half, channels, 1)


def _dfl(b: GraphBuilder, box: str, cells: int) -> str:
    """[1, 4*bins, cells] -> expected distance per side [1, 4, cells]: Softmax over the bins,
    then a 1x1 conv whose weights are 0..bins-1 (`cells` -1: inferred, as with dynamic dims)."""
    bins = b.op("Reshape", box, b.const([1, 4, YOLO_BINS, cells]))
    probabilities = b.op("Softmax", b.op("Transpose", bins, perm=[0, 2, 1, 3]), axis=1)
    arange = b.const(np.arange(YOLO_BINS).reshape(1, YOLO_BINS, 1, 1), np.float32)
    return b.op("Reshape", b.op("Conv", probabilities, arange), b.const([1, 4, cells]))


def _anchors(b: GraphBuilder, height: str, width: str, grid: str, cells: int) -> str:
    """Cell centres [1, 2, height*width] from Range, Unsqueeze and Expand; `height` and
    `width` are float scalars, `grid` the [height, width] shape to expand to."""
    zero, half, one = b.const(0.0, np.float32), b.const(0.5, np.float32), b.const(1.0, np.float32)
    xs = b.op("Add", b.op("Range", zero, width, one), half)
    ys = b.op("Add", b.op("Range", zero, height, one), half)
    grid_x = b.op("Expand", b.op("Unsqueeze", xs, b.const([0])), grid)
    grid_y = b.op("Expand", b.op("Unsqueeze", ys, b.const([1])), grid)
    flat = b.const([1, 1, cells])
    return b.op("Concat", b.op("Reshape", grid_x, flat), b.op("Reshape", grid_y, flat), axis=1)


def _grid_of(b: GraphBuilder, x: str) -> tuple[str, str, str]:
    """(height, width) of feature map `x` as float scalars, and its [height, width], the
    way exporters compute them from Shape."""
    shape = b.op("Shape", x)
    height, width = (b.op("Gather", shape, b.const(axis)) for axis in (2, 3))
    grid = b.op("Slice", shape, b.const([2]), b.const([4]))
    floats = [b.op("Cast", v, to=TensorProto.FLOAT) for v in (height, width)]
    return floats[0], floats[1], grid


def yolo_detector(size: int | None = 64, classes: int = 3, seed: int = 0) -> onnx.ModelProto:
    """A YOLOv8-style detector on `images` [1, 3, size, size]: Focus stem, SiLU convs, C2f,
    a top-down neck (nearest Resize x2 + Concat), one head at stride 8 with a DFL box
    branch. Outputs `boxes` [1, 4, cells] (x1 y1 x2 y2 in pixels) and `scores` [1, classes,
    cells] (logits). With `size=None` the image is [1, 3, height, width] (dynamic, each a
    multiple of 32): cells and the anchor grid follow from Shape, reshapes use -1."""
    b = GraphBuilder(np.random.default_rng(seed))
    stem = _conv_silu(b, _focus(b, "images"), 12, 16)  # size / 2
    p3 = _c2f(b, _conv_silu(b, stem, 16, 32, stride=2), 32)  # size / 4
    p4 = _c2f(b, _conv_silu(b, p3, 32, 32, stride=2), 32)  # size / 8
    p5 = _conv_silu(b, p4, 32, 64, stride=2)  # size / 16
    scales = b.const([1.0, 1.0, 2.0, 2.0], np.float32)
    up = b.op(
        "Resize",
        p5,
        "",
        scales,
        mode="nearest",
        nearest_mode="floor",
        coordinate_transformation_mode="asymmetric",
    )  # fmt: skip  (what torch.onnx writes for nn.Upsample(scale_factor=2))
    neck = _conv_silu(b, b.op("Concat", up, p4, axis=1), 96, 32, 1)
    cells = -1 if size is None else (size // 8) ** 2
    box = b.op("Conv", _conv_silu(b, neck, 32, 32), b.weight(4 * YOLO_BINS, 32, 1, 1))
    cls = b.op("Conv", _conv_silu(b, neck, 32, 32), b.weight(classes, 32, 1, 1))
    box = b.op("Reshape", box, b.const([1, 4 * YOLO_BINS, cells]))
    distances = _dfl(b, box, cells)
    near, far = b.ops("Split", distances, b.const([2, 2]), outputs=2, axis=1)
    if size is None:
        height, width, grid = _grid_of(b, neck)
    else:
        side = size // 8
        height = width = b.const(float(side), np.float32)
        grid = b.const([side, side])
    anchors = _anchors(b, height, width, grid, cells)
    corners = b.op("Concat", b.op("Sub", anchors, near), b.op("Add", anchors, far), axis=1)
    boxes = b.op("Mul", corners, b.const(8.0, np.float32))
    scores = b.op("Reshape", cls, b.const([1, classes, cells]))
    dims = [1, 3, "height", "width"] if size is None else [1, 3, size, size]
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, dims)
    return b.model("yolo", [image], {"boxes": boxes, "scores": scores}, opset=17)


# --- transformer ---------------------------------------------------------------------------


def _layer_norm(b: GraphBuilder, x: str, width: int) -> str:
    scale = b.const(1 + 0.1 * b.rng.standard_normal(width), np.float32)
    return b.op("LayerNormalization", x, scale, b.weight(width, scale=0.1), axis=-1)


def _dense(b: GraphBuilder, x: str, cin: int, cout: int) -> str:
    w = b.const(b.rng.standard_normal((cin, cout)) / np.sqrt(cin), np.float32)
    return b.op("Add", b.op("MatMul", x, w), b.weight(cout, scale=0.1))


def _gelu_erf(b: GraphBuilder, x: str) -> str:
    """0.5 * x * (1 + Erf(x / sqrt(2))), the form exported before opset 20."""
    erf = b.op("Erf", b.op("Div", x, b.const(np.sqrt(2.0), np.float32)))
    one_plus = b.op("Add", erf, b.const(1.0, np.float32))
    return b.op("Mul", b.op("Mul", x, one_plus), b.const(0.5, np.float32))


def _seq_len(b: GraphBuilder, x: str) -> str:
    """[seq] of `x` [1, seq, ...] the way exporters compute it: Shape -> Gather -> Unsqueeze."""
    return b.op("Unsqueeze", b.op("Gather", b.op("Shape", x), b.const(1)), b.const([0]))


def _attention(b: GraphBuilder, x: str, mask: str, seq: int | None, width: int, heads: int) -> str:
    """Multi-head self-attention: scores Q Kᵀ / sqrt(d) + mask, Softmax, times V. With a
    dynamic `seq` (None) the reshape targets are computed from x's shape (Shape, Gather,
    Concat), and the merge uses Reshape's 0 (copy) and -1 (infer)."""
    depth = width // heads
    if seq is None:
        split = b.op("Concat", b.const([1]), _seq_len(b, x), b.const([heads, depth]), axis=0)
        merge = b.const([0, -1, width])
    else:
        split, merge = b.const([1, seq, heads, depth]), b.const([1, seq, width])

    def project(perm: list[int]) -> str:
        return b.op("Transpose", b.op("Reshape", _dense(b, x, width, width), split), perm=perm)

    q, k, v = project([0, 2, 1, 3]), project([0, 2, 3, 1]), project([0, 2, 1, 3])
    scores = b.op("Mul", b.op("MatMul", q, k), b.const(1 / np.sqrt(depth), np.float32))
    weights = b.op("Softmax", b.op("Add", scores, mask), axis=-1)
    context = b.op("Transpose", b.op("MatMul", weights, v), perm=[0, 2, 1, 3])
    merged = b.op("Reshape", context, merge)
    return _dense(b, merged, width, width)


def transformer_encoder(
    vocab: int = 50, seq: int | None = 8, width: int = 32, heads: int = 4, seed: int = 0
) -> onnx.ModelProto:
    """A two-layer post-norm BERT-style encoder on `input_ids` [1, seq] (int64) and
    `attention_mask` [1, seq] (int64, 0 = padding): token + position embeddings (Gather),
    LayerNormalization, masked attention, a Gelu MLP (the opset-20 op in layer 1, the Erf
    form in layer 2), residuals. Output `hidden` [1, seq, width]. With `seq=None` the
    sequence length is the dynamic dim "seq" (positions sliced from a 64-row table by the
    input's length, as exporters do)."""
    b = GraphBuilder(np.random.default_rng(seed))
    tokens = b.op("Gather", b.weight(vocab, width, scale=1.0), "input_ids", axis=0)
    if seq is None:
        table = b.weight(64, width, scale=0.1)
        length = b.op("Gather", b.op("Shape", "input_ids"), b.const([1]))
        positions = b.op("Slice", table, b.const([0]), length, b.const([0]))
    else:
        positions = b.weight(seq, width, scale=0.1)
    x = _layer_norm(b, b.op("Add", tokens, positions), width)
    keep = b.op("Cast", "attention_mask", to=TensorProto.FLOAT)
    dropped = b.op("Sub", b.const(1.0, np.float32), keep)
    bias = b.op("Mul", dropped, b.const(-10000.0, np.float32))
    mask = b.op("Unsqueeze", bias, b.const([1, 2]))  # [1, 1, 1, seq]
    for layer in range(2):
        x = _layer_norm(b, b.op("Add", x, _attention(b, x, mask, seq, width, heads)), width)
        hidden = _dense(b, x, width, 2 * width)
        active = b.op("Gelu", hidden) if layer == 0 else _gelu_erf(b, hidden)
        x = _layer_norm(b, b.op("Add", x, _dense(b, active, 2 * width, width)), width)
    dims = [1, "seq" if seq is None else seq]
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, dims),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, dims),
    ]
    return b.model("encoder", inputs, {"hidden": x}, opset=20)
