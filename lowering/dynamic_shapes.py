"""Back ends that do not take dynamic dims (`?`) yet (Hexagon, OpenCL) refuse them here,
before emitting anything:

    check_static_shapes(module, "opencl")
    ->  not supported: dynamic shapes on opencl        (located at the first such value)
"""

from __future__ import annotations

from xdsl.dialects import func
from xdsl.dialects.builtin import MemRefType, ModuleOp, TensorType
from xdsl.ir import Attribute, Operation

from lamina.errors import UnsupportedOpError


def has_dynamic_dims(t: Attribute) -> bool:
    return isinstance(t, MemRefType | TensorType) and any(d < 0 for d in t.get_shape())


def first_dynamic_op(module: ModuleOp) -> Operation | None:
    """The first function taking or op making a memref / tensor with a `?` dim."""
    for op in module.walk():
        types = op.function_type.inputs.data if isinstance(op, func.FuncOp) else ()
        if any(has_dynamic_dims(t) for t in (*types, *op.result_types)):
            return op
    return None


def check_static_shapes(module: ModuleOp, device: str) -> None:
    """`not supported: dynamic shapes on <device>` if any value of `module` has a `?` dim."""
    op = first_dynamic_op(module)
    if op is not None:
        raise UnsupportedOpError(f"dynamic shapes on {device}", op=op)
