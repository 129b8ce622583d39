"""The real-architecture models that ship in the onnx wheel, with meaningful weights.

`onnx/backend/test/data/light/light_*.onnx` hold ResNet-50, SqueezeNet, ShuffleNet,
DenseNet-121, Inception v1/v2, AlexNet, VGG-19 and ZFNet-512, but every weight is a
constant 0.02 (mostly `ConstantOfShape` nodes). `light_model` replaces each weight by
seeded random values initialised for its role: conv and dense weights He-scaled normals (so
activations neither vanish nor explode over 100+ layers), biases 0.1 * normal,
BatchNormalization statistics near the identity (scale 0.5 + 0.1 * normal, variance in
[0.5, 1.5]; the half keeps ResNet's residual sums from growing 2x per block). `with_logits`
also exposes the input of the last Softmax, since near-one-hot probabilities hide errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

LIGHT_MODELS = (
    "squeezenet",
    "bvlc_alexnet",
    "zfnet512",
    "shufflenet",
    "inception_v1",
    "inception_v2",
    "vgg19",
    "resnet50",
    "densenet121",
)


def light_model_path(name: str) -> Path:
    """Path of `light_<name>.onnx` in the installed onnx package."""
    path = Path(onnx.__file__).parent / "backend/test/data/light" / f"light_{name}.onnx"
    if not path.exists():
        raise FileNotFoundError(f"no light model '{name}' (choose from {', '.join(LIGHT_MODELS)})")
    return path


def _consumers(graph: onnx.GraphProto) -> dict[str, tuple[onnx.NodeProto, int]]:
    uses: dict[str, tuple[onnx.NodeProto, int]] = {}
    for node in graph.node:
        for index, name in enumerate(node.input):
            uses.setdefault(name, (node, index))
    return uses


def _random_weight(
    shape: Sequence[int], use: tuple[onnx.NodeProto, int] | None, rng: np.random.Generator
) -> np.ndarray:
    normal = rng.standard_normal(shape, dtype=np.float32)
    node, index = use if use else (None, -1)
    op = node.op_type if node else ""
    if op == "BatchNormalization":
        if index == 1:
            return 0.5 + 0.1 * normal
        if index == 4:
            return rng.uniform(0.5, 1.5, shape).astype(np.float32)
        return 0.1 * normal
    if op == "Mul" and len(shape) <= 1:
        return 1 + 0.1 * normal
    if len(shape) >= 2:
        trans_b = node is not None and any(a.name == "transB" and a.i for a in node.attribute)
        fan_in = shape[0] if op in ("Gemm", "MatMul") and not trans_b else int(np.prod(shape[1:]))
        return normal * np.float32(np.sqrt(2.0 / fan_in))
    return 0.1 * normal


def with_random_weights(model: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """The model with every float weight (ConstantOfShape fill or initializer) random."""
    rng = np.random.default_rng(seed)
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    uses = _consumers(graph)
    initializers = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    weights: dict[str, np.ndarray] = {}
    kept_nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in initializers:
            shape = [int(d) for d in initializers[node.input[0]]]
            weights[node.output[0]] = _random_weight(shape, uses.get(node.output[0]), rng)
        else:
            kept_nodes.append(node)
    for name, value in initializers.items():
        if value.dtype == np.float32:
            weights[name] = _random_weight(value.shape, uses.get(name), rng)
        elif name in uses and uses[name][0] in kept_nodes:
            weights[name] = value
    del graph.node[:]
    graph.node.extend(kept_nodes)
    del graph.initializer[:]
    graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in weights.items())
    inputs = [i for i in graph.input if i.name not in weights and i.name not in initializers]
    del graph.input[:]
    graph.input.extend(inputs)
    model.ir_version = max(model.ir_version, 7)
    return model


def with_logits(model: onnx.ModelProto, rank: int | None = None) -> onnx.ModelProto:
    """The model with the input of its last Softmax as an extra output: near-one-hot
    probabilities would hide errors that the logits show (unchanged when they are an
    output already). Its type is what shape inference says, or, given `rank`, a float
    tensor of that many unknown dims (inference cannot follow shapes computed at run time)."""
    softmaxes = [n for n in model.graph.node if n.op_type == "Softmax"]
    if not softmaxes or softmaxes[-1].input[0] in {o.name for o in model.graph.output}:
        return model
    logits = softmaxes[-1].input[0]
    if rank is not None:
        info = helper.make_tensor_value_info(logits, TensorProto.FLOAT, [None] * rank)
    else:
        info = next(v for v in inferred_values(model) if v.name == logits)
    model.graph.output.append(info)
    return model


def inferred_values(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """The value types shape inference gives `model` (its intermediate values, then its
    outputs), inferred on its skeleton: large weights as typed inputs (inference copies the
    model it reads, and they are most of it), small ones (shapes, axes: values inference
    reads) kept."""
    graph = model.graph
    large = [t for t in graph.initializer if np.prod(t.dims) > 1024]
    small = [t for t in graph.initializer if np.prod(t.dims) <= 1024]
    typed = [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in large]
    skeleton = helper.make_graph(
        list(graph.node), graph.name, [*graph.input, *typed], list(graph.output), small
    )
    bare = helper.make_model(skeleton, opset_imports=list(model.opset_import))
    bare.ir_version = model.ir_version
    inferred = onnx.shape_inference.infer_shapes(bare).graph
    return [*inferred.value_info, *inferred.output]


def output_mismatch(
    got: np.ndarray, want: np.ndarray, rtol: float = 1e-3, atol: float = 1e-4
) -> str | None:
    """Why `got` does not match `want` at the output's scale (max|err| <= rtol * max|want|
    + atol, the check for whole models: logits, not probabilities), or None."""
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        return f"shape {got.shape}, expected {want.shape}"
    error = np.abs(got.astype(np.float64) - want.astype(np.float64))
    worst, scale = float(error.max(initial=0.0)), float(np.abs(want).max(initial=0.0))
    if not worst <= rtol * scale + atol:  # also catches NaN
        return f"max abs error {worst:.3g} at output scale {scale:.3g}"
    return None


def random_inputs(
    model: onnx.ModelProto, seed: int = 1, shapes: dict[str, list[int]] | None = None
) -> dict[str, np.ndarray]:
    """Seeded inputs of `model` at `shapes[name]`, else at the input's dims (an unknown dim
    is 1): standard normal floats; an int64 `attention_mask` [1, n] masks the last two
    positions, other int64 inputs are token ids below 50."""
    rng = np.random.default_rng(seed)
    feeds: dict[str, np.ndarray] = {}
    for value in model.graph.input:
        dims = [d.dim_value or 1 for d in value.type.tensor_type.shape.dim]
        shape = (shapes or {}).get(value.name, dims)
        if value.type.tensor_type.elem_type != TensorProto.INT64:
            feeds[value.name] = rng.standard_normal(shape).astype(np.float32)
        elif value.name == "attention_mask":
            feeds[value.name] = (np.arange(shape[-1]) < shape[-1] - 2).astype(np.int64)[None]
        else:
            feeds[value.name] = rng.integers(0, 50, shape, dtype=np.int64)
    return feeds


def with_input_shapes(model: onnx.ModelProto, shapes: dict[str, list[int]]) -> onnx.ModelProto:
    """The model with the graph inputs named in `shapes` given those static dims."""
    for value in model.graph.input:
        if value.name in shapes:
            dims = value.type.tensor_type.shape.dim
            for dim, size in zip(dims, shapes[value.name], strict=True):
                dim.Clear()
                dim.dim_value = size
    return model


def with_pre_sigmoid(model: onnx.ModelProto) -> onnx.ModelProto:
    """The model with the input of its last Sigmoid as an extra output, typed like the
    Sigmoid's result: a probability map saturates where the logits still differ."""
    sigmoids = [n for n in model.graph.node if n.op_type == "Sigmoid"]
    if not sigmoids:
        return model
    inferred = onnx.shape_inference.infer_shapes(model)
    known = [*inferred.graph.output, *inferred.graph.value_info]
    result = next(v for v in known if v.name == sigmoids[-1].output[0])
    logits = onnx.ValueInfoProto()
    logits.CopyFrom(result)
    logits.name = sigmoids[-1].input[0]
    model.graph.output.append(logits)
    return model


def light_model(name: str, seed: int = 0) -> onnx.ModelProto:
    """The light model `name` with seeded random weights."""
    return with_random_weights(onnx.load(str(light_model_path(name))), seed)


def mlp(
    sizes: tuple[int, ...] = (784, 512, 512, 10),
    *,
    batch: int = 1,
    seed: int = 0,
    form: str = "gemm",
) -> onnx.ModelProto:
    """The MNIST-style MLP 784-512-512-10 (or `sizes`): dense layers with Relu between,
    He-scaled seeded weights, input `x` [batch, sizes[0]], output `y` [batch, sizes[-1]].

    `form` is how exporters write a dense layer: "gemm" (Gemm with transB, as PyTorch
    exports Linear) or "matmul" (MatMul + Add, as TensorFlow converters do).
    """
    if form not in ("gemm", "matmul"):
        raise ValueError(f"form must be 'gemm' or 'matmul', not {form!r}")
    rng = np.random.default_rng(seed)
    nodes, weights, x = [], [], "x"
    for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:], strict=False)):
        w = (rng.standard_normal((n_in, n_out)) * np.sqrt(2 / n_in)).astype(np.float32)
        b = (0.1 * rng.standard_normal(n_out)).astype(np.float32)
        if form == "gemm":
            weights.append(numpy_helper.from_array(np.ascontiguousarray(w.T), f"w{k}"))
            nodes.append(helper.make_node("Gemm", [x, f"w{k}", f"b{k}"], [f"d{k}"], transB=1))
        else:
            weights.append(numpy_helper.from_array(w, f"w{k}"))
            nodes.append(helper.make_node("MatMul", [x, f"w{k}"], [f"m{k}"]))
            nodes.append(helper.make_node("Add", [f"m{k}", f"b{k}"], [f"d{k}"]))
        weights.append(numpy_helper.from_array(b, f"b{k}"))
        x = f"d{k}"
        if k < len(sizes) - 2:
            nodes.append(helper.make_node("Relu", [x], [f"r{k}"]))
            x = f"r{k}"
    nodes[-1].output[0] = "y"
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, sizes[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, sizes[-1]])],
        weights,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
