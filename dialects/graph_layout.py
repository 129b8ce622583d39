"""Layout-explicit graph ops: NHWC forms of Conv and the pools (not ONNX operators).

The ONNX ops of the `graph` dialect are NCHW. The `layout-nhwc` rule set
(`rewrites/graph/layout_nhwc.rw`) rewrites them into these ops between transposes, like
onnxruntime's com.microsoft NhwcConv / NhwcMaxPool. Each op has the attributes, defaults
and semantics of its ONNX counterpart (`nchw_op_type`) with its data operand and result
in N x H x W x C. The conv filter is KH x KW x C/group x F (HWCF, what `top.conv2d
nhwc_hwcf` reads), so the lowering needs no transpose; the rules transpose a constant
filter once, when they rewrite.

    %y = graph.nhwc_conv %x, %w, %b {pads = array<i64: 1, 1, 1, 1>}
       : (tensor<1x8x8x3xf32>, tensor<3x3x3x4xf32>, tensor<4xf32>) -> tensor<1x8x8x4xf32>
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
from xdsl.dialects.builtin import I64, IntegerAttr
from xdsl.ir import Operation, SSAValue
from xdsl.irdl import irdl_op_definition, operand_def, opt_prop_def, result_def
from xdsl.utils.exceptions import VerifyException

from lamina.dialects.graph_base import AnyTensor, OnnxOpWithoutRegions
from lamina.dialects.graph_conv_gemm import conv_result, window_out
from lamina.dialects.graph_ops import ConvFields, PoolWindowFields
from lamina.dialects.graph_verify import Shape, check_dims, shape_of

NHWC_TO_NCHW = (0, 3, 1, 2)
"""Transpose perm from N x H x W x C to N x C x H x W."""
NCHW_TO_NHWC = (0, 2, 3, 1)
"""Transpose perm from N x C x H x W to N x H x W x C."""
HWCF_TO_FCHW = (3, 2, 0, 1)
"""Transpose perm of a conv filter from KH x KW x C x F to the ONNX F x C x KH x KW."""

_WINDOW_DEFAULTS: dict[str, object] = {"auto_pad": "NOTSET", "ceil_mode": 0}


def _mark(op_type: str, defaults: dict[str, object]) -> Any:
    """Marks a layout op with its NCHW ONNX counterpart and that op's attribute defaults."""

    def mark(op_class: type[Operation]) -> type[Operation]:
        setattr(op_class, "nchw_op_type", op_type)  # noqa: B010
        setattr(op_class, "onnx_defaults", defaults)  # noqa: B010
        return op_class

    return mark


def _nhwc_input(x: SSAValue) -> Shape | None:
    shape = shape_of(x)
    if shape is not None and len(shape) != 4:
        raise VerifyException(f"x : {x.type} should be N x H x W x C (rank 4)")
    return shape


@_mark("Conv", {"auto_pad": "NOTSET", "group": 1})
@irdl_op_definition
class NhwcConvOp(ConvFields):
    """ONNX Conv on N x H x W x C data and a KH x KW x C/group x F filter; the result is
    N x OH x OW x F. Attributes as graph.conv (2-D only).

        %y = graph.nhwc_conv %x, %w, %n : (tensor<1x8x8x3xf32>, tensor<3x3x3x4xf32>, none)
           -> tensor<1x6x6x4xf32>
    """

    name = "graph.nhwc_conv"

    def verify_(self) -> None:
        x, w = _nhwc_input(self.x), shape_of(self.w)
        if x is None or w is None:
            return
        if len(w) != 4:
            raise VerifyException(f"w : {self.w.type} should be KH x KW x C/group x F (rank 4)")
        n, f, oh, ow = conv_result(self, (x[0], x[3], x[1], x[2]), (w[3], w[2], w[0], w[1]))
        check_dims(self, self.b, (w[3],), "b")
        check_dims(self, self.y, (n, oh, ow, f), "result")


class _NhwcPool(PoolWindowFields):
    """A pool on N x H x W x C: the result is N x OH x OW x C."""

    y = result_def(AnyTensor)

    def verify_(self) -> None:
        x = _nhwc_input(self.x)
        kernel = list(self.kernel_shape.get_values())
        if len(kernel) != 2:
            raise VerifyException(f"kernel_shape {kernel} should have 2 values")
        if x is not None:
            check_dims(self, self.y, (x[0], *window_out(self, x[1:3], kernel), x[3]), "result")


@_mark("MaxPool", {**_WINDOW_DEFAULTS, "storage_order": 0})
@irdl_op_definition
class NhwcMaxPoolOp(_NhwcPool):
    """ONNX MaxPool on N x H x W x C (no indices result; `storage_order` is kept, unused).

    %y = graph.nhwc_max_pool %x {kernel_shape = array<i64: 2, 2>,
       strides = array<i64: 2, 2>} : (tensor<1x8x8x4xf32>) -> tensor<1x4x4x4xf32>
    """

    name = "graph.nhwc_max_pool"

    storage_order = opt_prop_def(IntegerAttr[I64])


@_mark("AveragePool", {**_WINDOW_DEFAULTS, "count_include_pad": 0})
@irdl_op_definition
class NhwcAveragePoolOp(_NhwcPool):
    """ONNX AveragePool on N x H x W x C.

    %y = graph.nhwc_average_pool %x {kernel_shape = array<i64: 3, 3>}
       : (tensor<1x8x8x4xf32>) -> tensor<1x6x6x4xf32>
    """

    name = "graph.nhwc_average_pool"

    count_include_pad = opt_prop_def(IntegerAttr[I64])


@_mark("GlobalAveragePool", {})
@irdl_op_definition
class NhwcGlobalAveragePoolOp(OnnxOpWithoutRegions):
    """ONNX GlobalAveragePool on N x H x W x C: the mean over H and W, N x 1 x 1 x C.

    %y = graph.nhwc_global_average_pool %x : (tensor<1x8x8x4xf32>) -> tensor<1x1x1x4xf32>
    """

    name = "graph.nhwc_global_average_pool"

    x = operand_def(AnyTensor)
    y = result_def(AnyTensor)

    def verify_(self) -> None:
        x = _nhwc_input(self.x)
        if x is not None:
            check_dims(self, self.y, (x[0], 1, 1, x[3]), "result")


LAYOUT_OPS: tuple[type[OnnxOpWithoutRegions], ...] = (
    NhwcConvOp,
    NhwcMaxPoolOp,
    NhwcAveragePoolOp,
    NhwcGlobalAveragePoolOp,
)
"""The layout-explicit ops, registered in the `graph` dialect."""


def nchw_op_type(op: Operation) -> str:
    """The ONNX operator a layout op computes in NCHW."""
    return cast(str, getattr(type(op), "nchw_op_type"))  # noqa: B009


def nchw_arguments(op: Operation, args: Sequence[Any]) -> list[Any]:
    """The operands of a layout op's NCHW counterpart from its own (numpy arrays)."""
    x, *rest = args
    if isinstance(op, NhwcConvOp):
        rest[0] = np.transpose(rest[0], HWCF_TO_FCHW)
    return [np.transpose(x, NHWC_TO_NCHW), *rest]
