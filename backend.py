"""lamina as an ONNX backend (`onnx.backend.base.Backend`), so ONNX tooling can drive it:

    import lamina.backend as backend
    rep = backend.prepare(model, device="CPU")        # a ModelProto or a path to a .onnx file
                                                       # compiles (lamina.compile, host JIT)
    outputs = rep.run([x])                             # a namedtuple of numpy arrays
    backend.run_node(node, [x, y])                     # one operator, wrapped in a model

`onnx.backend.test.BackendTest(LaminaBackend, __name__)` runs the ONNX node conformance
cases through it. The only ONNX device is `CPU`: this machine's CPU, through the host JIT.
Models lamina cannot compile raise lamina's `UnsupportedError` ("not supported: ...").
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
from onnx.backend.base import Backend, BackendRep, Device, DeviceType, namedtupledict

from lamina.compiler import compile as lamina_compile
from lamina.errors import DeviceError, LaminaError
from lamina.runtime.compiled_model import CompiledModel

_NODE_OPSET = 21
"""The default-domain opset of the model `run_node` wraps a node in, unless told."""


class LaminaRep(BackendRep):
    """A prepared (compiled) model: `run` takes the graph inputs by position or by name."""

    def __init__(self, compiled: CompiledModel[Any], output_names: list[str]) -> None:
        self.compiled = compiled
        self.output_names = output_names

    def run(self, inputs: Any, **kwargs: Any) -> tuple[Any, ...]:
        if isinstance(inputs, dict):
            outputs = self.compiled(**{k: np.asarray(v) for k, v in inputs.items()})
        else:
            if isinstance(inputs, np.ndarray):
                inputs = [inputs]
            outputs = self.compiled(*[np.asarray(x) for x in inputs])
        return namedtupledict("Outputs", self.output_names)(*outputs)


class LaminaBackend(Backend):
    """The ONNX backend API over `lamina.compile` (host JIT)."""

    @classmethod
    def prepare(
        cls, model: onnx.ModelProto | str | os.PathLike[str], device: str = "CPU", **kwargs: Any
    ) -> LaminaRep:
        """Compile `model` (a ModelProto or the path of a .onnx file) for this machine's
        CPU; `input_shapes` binds dynamic dims."""

        if not cls.supports_device(device):
            raise DeviceError(f"the lamina ONNX backend runs on CPU only, not '{device}'")
        compiled = lamina_compile(model, "host", input_shapes=kwargs.get("input_shapes"))
        return LaminaRep(compiled, compiled.output_names)

    @classmethod
    def run_model(
        cls,
        model: onnx.ModelProto | str | os.PathLike[str],
        inputs: Any,
        device: str = "CPU",
        **kwargs: Any,
    ) -> tuple[Any, ...]:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(
        cls,
        node: onnx.NodeProto,
        inputs: Any,
        device: str = "CPU",
        outputs_info: Sequence[tuple[np.dtype, tuple[int, ...]]] | None = None,
        **kwargs: Any,
    ) -> tuple[Any, ...]:
        """Run one node on `inputs` (one array per node input, in order). Output types
        come from `outputs_info` when given, else from ONNX shape inference."""
        arrays = [np.asarray(x) for x in (inputs.values() if isinstance(inputs, dict) else inputs)]
        names = [name for name in node.input if name]
        if len(arrays) != len(names):
            raise LaminaError(f"node '{node.op_type}' has {len(names)} inputs, got {len(arrays)}")
        opset = int(kwargs.get("opset_version", _NODE_OPSET))
        model = node_model(node, arrays, opset, outputs_info)
        return cls.prepare(model, device).run(arrays)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        try:
            return Device(device).type == DeviceType.CPU
        except (AttributeError, ValueError):
            return False


def node_model(
    node: onnx.NodeProto,
    inputs: Sequence[np.ndarray],
    opset: int,
    outputs_info: Sequence[tuple[np.dtype, tuple[int, ...]]] | None = None,
) -> onnx.ModelProto:
    """A one-node model whose graph inputs are the node's inputs with the arrays' types."""
    helper = onnx.helper
    graph_inputs = [
        helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)
        for name, x in zip([n for n in node.input if n], inputs, strict=True)
    ]
    if outputs_info is not None:
        graph_outputs = [
            helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(dtype), shape)
            for name, (dtype, shape) in zip(node.output, outputs_info, strict=True)
        ]
    else:
        graph_outputs = [helper.make_empty_tensor_value_info(name) for name in node.output]
    graph = helper.make_graph([node], f"{node.op_type}_node", graph_inputs, graph_outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(node.domain, opset)])
    if outputs_info is None:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    return model


prepare = LaminaBackend.prepare
run_model = LaminaBackend.run_model
run_node = LaminaBackend.run_node
supports_device = LaminaBackend.supports_device
