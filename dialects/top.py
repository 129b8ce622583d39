"""The `top` (tensor-op) dialect: structured compute on tensors, like linalg.

`top.generic` is the one structured op: inputs, outputs (inits), one indexing map per
operand, one iterator kind per loop, and a scalar body. Elementwise ops, bias adds and
activations are `top.generic` with a body of `arith` / `math` ops. The named ops (`matmul`,
`conv2d`, `pool`, `reduce`, `transpose`, `pad`, `gather`, `broadcast`, `fill`, `reshape`,
`concat`, `slice`) stay named because a lowering or a micro-kernel needs to recognise them; they are
pure value ops whose result type is given, and each verifier checks that result shape
exactly.

All shapes may hold dynamic (`?`) dims; a verifier checks only what is known statically.
Negative axes and other framework conveniences are resolved before the `top` level.

The ops live in one module per family, and this module gathers them into the `Top`
dialect object: top_generic.py (generic, yield), top_nn.py (matmul, conv2d, pool),
top_tensor.py (reduce, transpose, pad, gather, broadcast, fill, reshape, concat, slice),
top_index.py, top_control.py and top_shape.py; top_base.py holds the enum attributes and
the shape helpers the verifiers share.
"""

from __future__ import annotations

from xdsl.ir import Dialect

from lamina.dialects.top_base import (
    TOP_ENUM_ATTRS,
    ConvLayout,
    ConvLayoutAttr,
    IteratorType,
    IteratorTypeAttr,
    PadMode,
    PadModeAttr,
    PoolKind,
    PoolKindAttr,
    ReduceKind,
    ReduceKindAttr,
    ScatterKind,
    ScatterKindAttr,
    TensorLayout,
    TensorLayoutAttr,
    broadcast_map,
    broadcast_shapes,
)
from lamina.dialects.top_control import TOP_CONTROL_OPS
from lamina.dialects.top_generic import GenericOp, YieldOp
from lamina.dialects.top_index import INDEX_OPS
from lamina.dialects.top_nn import Conv2dOp, MatmulOp, PoolOp
from lamina.dialects.top_shape import TOP_SHAPE_OPS
from lamina.dialects.top_tensor import (
    BroadcastOp,
    ConcatOp,
    FillOp,
    GatherOp,
    PadOp,
    ReduceOp,
    ReshapeOp,
    SliceOp,
    TransposeOp,
)

Top = Dialect(
    "top",
    [
        GenericOp,
        YieldOp,
        MatmulOp,
        Conv2dOp,
        PoolOp,
        ReduceOp,
        TransposeOp,
        PadOp,
        GatherOp,
        BroadcastOp,
        FillOp,
        ReshapeOp,
        ConcatOp,
        SliceOp,
        *TOP_CONTROL_OPS,
        *INDEX_OPS,
        *TOP_SHAPE_OPS,
    ],
    list(TOP_ENUM_ATTRS),
)

__all__ = [
    "BroadcastOp",
    "ConcatOp",
    "Conv2dOp",
    "ConvLayout",
    "ConvLayoutAttr",
    "FillOp",
    "GatherOp",
    "GenericOp",
    "IteratorType",
    "IteratorTypeAttr",
    "MatmulOp",
    "PadMode",
    "PadModeAttr",
    "PadOp",
    "PoolKind",
    "PoolKindAttr",
    "PoolOp",
    "ReduceKind",
    "ReduceKindAttr",
    "ReduceOp",
    "ReshapeOp",
    "ScatterKind",
    "ScatterKindAttr",
    "SliceOp",
    "TensorLayout",
    "TensorLayoutAttr",
    "Top",
    "TransposeOp",
    "YieldOp",
    "broadcast_map",
    "broadcast_shapes",
]
