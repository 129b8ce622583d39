"""The fused ops of the `graph` dialect: a Conv or Gemm with its activation applied.

They are the only graph ops that are not ONNX operators (besides `graph.constant`,
`graph.none` and `graph.yield`), like onnxruntime's `com.microsoft` FusedConv / FusedGemm.
The rules of `rewrites/graph/fuse_activation.rw` make them; nothing imports them.

    y = activation(conv(x, w, b), *activation_params)

Operands, attributes and shape checks are those of `graph.conv` / `graph.gemm` (the
generated fields classes of graph_ops.py, the verifiers of graph_conv_gemm.py);
`activation` names the function and `activation_params` holds its numbers (absent when it
takes none).
"""

from __future__ import annotations

from typing import cast

from xdsl.dialects.builtin import DenseArrayBase, Float32Type, StringAttr
from xdsl.irdl import irdl_op_definition, opt_prop_def, prop_def
from xdsl.utils.exceptions import VerifyException

from lamina.dialects.graph_base import OnnxOpWithoutRegions
from lamina.dialects.graph_conv_gemm import verify_conv, verify_gemm
from lamina.dialects.graph_ops import ConvFields, ConvOp, GemmFields, GemmOp

ACTIVATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "relu": ("Relu", ()),
    "clip": ("Clip", ("min", "max")),
    "sigmoid": ("Sigmoid", ()),
    "leaky_relu": ("LeakyRelu", ("alpha",)),
    "hard_sigmoid": ("HardSigmoid", ("alpha", "beta")),
    "tanh": ("Tanh", ()),
}
"""activation -> (its ONNX operator, the names of its `activation_params`, in order).

Clip's min/max are ONNX inputs (a missing bound is -inf / inf); the others' are attributes.
"""


class FusedOp(OnnxOpWithoutRegions):
    """A producer op with an activation: checks the activation, then the producer's shapes."""

    activation = prop_def(StringAttr)
    activation_params = opt_prop_def(DenseArrayBase[Float32Type])

    def activation_name(self) -> str:
        return cast(StringAttr, self.properties["activation"]).data

    def activation_values(self) -> list[float]:
        params = self.properties.get("activation_params")
        if params is None:
            return []
        return list(cast(DenseArrayBase[Float32Type], params).get_values())

    def verify_(self) -> None:
        name = self.activation_name()
        if name not in ACTIVATIONS:
            raise VerifyException(
                f"unknown activation '{name}' (expected one of {', '.join(ACTIVATIONS)})"
            )
        wanted = ACTIVATIONS[name][1]
        got = len(self.activation_values())
        if got != len(wanted):
            listed = ", ".join(wanted) or "none"
            raise VerifyException(
                f"activation '{name}' takes {len(wanted)} activation_params ({listed}), got {got}"
            )
        self.verify_producer()

    def verify_producer(self) -> None:
        raise NotImplementedError


@irdl_op_definition
class FusedConvOp(FusedOp, ConvFields):
    """`activation(conv(x, w, b))`: graph.conv's operands and attributes, plus the activation.

    Example:

        %y = graph.fused_conv %x, %w, %b {activation = "clip", activation_params = array<f32: 0.0, 6.0>, kernel_shape = array<i64: 3, 3>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
    """

    name = "graph.fused_conv"

    def verify_producer(self) -> None:
        verify_conv(self)


@irdl_op_definition
class FusedGemmOp(FusedOp, GemmFields):
    """`activation(gemm(a, b, c))`: graph.gemm's operands and attributes, plus the activation.

    Example:

        %y = graph.fused_gemm %a, %b, %c {activation = "relu", transB = 1 : i64} : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<2x4xf32>
    """

    name = "graph.fused_gemm"

    def verify_producer(self) -> None:
        verify_gemm(self)


FUSED_OPS: dict[type[FusedOp], type[OnnxOpWithoutRegions]] = {
    FusedConvOp: ConvOp,
    FusedGemmOp: GemmOp,
}
"""fused op class -> the graph op it applies before the activation."""

for _fused, _producer in FUSED_OPS.items():
    # `onnx_attributes` and the rewrite language fill absent attributes from these
    setattr(_fused, "onnx_defaults", dict(_producer.onnx_defaults))  # noqa: B010
