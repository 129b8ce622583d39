"""The real-architecture models that ship in the onnx wheel, with meaningful weights.

`onnx/backend/test/data/light/light_*.onnx` hold ResNet-50, SqueezeNet, ShuffleNet,
DenseNet-121, Inception v1/v2, AlexNet, VGG-19 and ZFNet-512, but every weight is a
constant 0.02 (mostly `ConstantOfShape` nodes). `light_model` replaces each weight by
seeded random values initialised for its role, so that activations stay in range through
deep networks and a wrong kernel shows up as a wrong output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

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


def _random_weight(shape: list[int], role: tuple[str, int] | None, rng: np.random.Generator):
    """Values for one weight tensor, by (consumer op type, input index)."""
    op, index = role or ("", -1)
    if op == "BatchNormalization":
        if index in (1, 4):  # scale, variance: positive, near 1
            return rng.uniform(0.5, 1.5, shape)
        return rng.normal(0.0, 0.1, shape)  # bias, mean
    if len(shape) >= 2:  # conv / gemm weights: He initialisation keeps activations bounded
        fan_in = int(np.prod(shape[1:])) if op != "Gemm" else shape[-1]
        return rng.normal(0.0, np.sqrt(2.0 / max(fan_in, 1)), shape)
    return rng.normal(0.0, 0.05, shape)


def with_random_weights(model: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """A copy of `model` whose float weights (initializers and `ConstantOfShape` of an
    initializer shape) are seeded random initializers."""
    model = onnx.ModelProto.FromString(model.SerializeToString())
    graph = model.graph
    rng = np.random.default_rng(seed)
    initializers = {init.name: init for init in graph.initializer}
    roles: dict[str, tuple[str, int]] = {}
    for node in graph.node:
        for index, name in enumerate(node.input):
            roles.setdefault(name, (node.op_type, index))

    weights: dict[str, list[int]] = {}
    kept_nodes = []
    for node in graph.node:
        if node.op_type == "ConstantOfShape" and node.input and node.input[0] in initializers:
            weights[node.output[0]] = [
                int(d) for d in numpy_helper.to_array(initializers[node.input[0]])
            ]
        else:
            kept_nodes.append(node)
    for init in graph.initializer:
        if init.data_type == onnx.TensorProto.FLOAT:
            weights[init.name] = list(init.dims)

    used = {name for node in kept_nodes for name in node.input}
    new_initializers = [
        init for init in graph.initializer if init.name not in weights and init.name in used
    ]
    for name, shape in weights.items():
        values = _random_weight(shape, roles.get(name), rng).astype(np.float32)
        new_initializers.append(numpy_helper.from_array(values, name))
    del graph.node[:]
    graph.node.extend(kept_nodes)
    del graph.initializer[:]
    graph.initializer.extend(new_initializers)
    kept_names = {init.name for init in new_initializers}
    kept_inputs = [i for i in graph.input if i.name in kept_names or i.name not in initializers]
    if model.ir_version < 4:  # before IR 4 every initializer must also be a graph input
        listed = {i.name for i in kept_inputs}
        kept_inputs += [
            onnx.helper.make_tensor_value_info(init.name, init.data_type, list(init.dims))
            for init in new_initializers
            if init.name not in listed
        ]
    del graph.input[:]
    graph.input.extend(kept_inputs)
    return model


def light_model(name: str, seed: int = 0) -> onnx.ModelProto:
    """The light model `name` with seeded random weights."""
    return with_random_weights(onnx.load(str(light_model_path(name))), seed)
