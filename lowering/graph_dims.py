"""Symbolic shapes on the graph level, the data: for a function with dynamic input dims,
the dims of every value as `Size`s (lowering/symbolic_dims.py) over symbols that name the
inputs' dynamic dims, and the values of the small integer tensors that shape arithmetic
computes (`Shape -> Gather -> Concat -> Reshape`, `Range(0, seq)`), so that the lowering
of a `Reshape` or a `Slice` knows its result dims as expressions of the inputs. The rules
are in graph_dims_rules.py, running them over a function in graph_dims_infer.py.

A dynamic input dim named by an ONNX `dim_param` is that symbol wherever it appears (the
function attribute `lamina.dim_params` carries the names); an unnamed one is
`<input>.<axis>`. Where no rule gives a dim it stays unknown (None) and a lowering that
needs it says "not supported". Sizes that must agree at run time (a shared dim_param, a
broadcast, the parts of a Concat) are recorded as `checks`, which the shape function
(lowering/shape_function.py) tests on the inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import numpy as np
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    TensorType,
)
from xdsl.ir import Attribute, SSAValue

from lamina.dialects import graph
from lamina.lowering.symbolic_dims import Size

Dims = tuple[Size | None, ...]
"""A value's dims: a size per axis, None where no rule knows it."""


@dataclass
class SymbolicShapes:
    """The symbolic dims and shape values of one graph-level function."""

    args: list[SSAValue] = field(default_factory=list[SSAValue])
    """The function's inputs, which the symbols are dims of."""
    bindings: dict[str, tuple[int, int]] = field(default_factory=dict[str, tuple[int, int]])
    """Each symbol -> (input number, axis) of its first occurrence."""
    checks: list[tuple[Size, Size, str]] = field(default_factory=list[tuple[Size, Size, str]])
    """Sizes that must agree at run time (a shared dim_param, a broadcast), with the
    message of the error when they do not."""
    dims: dict[SSAValue, Dims] = field(default_factory=dict[SSAValue, Dims])
    values: dict[SSAValue, tuple[Size, ...]] = field(
        default_factory=dict[SSAValue, tuple[Size, ...]]
    )
    """Integer tensors of rank <= 1 whose elements are known sizes (flattened)."""

    def of(self, value: SSAValue) -> Dims:
        if value in self.dims:
            return self.dims[value]
        return static_dims(value)

    def value(self, value: SSAValue) -> tuple[Size, ...] | None:
        if value in self.values:
            return self.values[value]
        owner = value.owner
        if isinstance(owner, graph.ConstantOp) and not owner.is_elided():
            array = owner.to_array()
            if array.ndim <= 1 and np.issubdtype(array.dtype, np.integer):
                return tuple(int(v) for v in array.reshape(-1))
        return None

    def inherit(self, old: SSAValue, new: SSAValue) -> None:
        """`new` replaces `old`: it has the same dims and value."""
        if old in self.dims:
            self.dims[new] = self.dims[old]
        if old in self.values:
            self.values[new] = self.values[old]

    def require_equal(self, a: Size, b: Size, what: str) -> None:
        """Record that two sizes must agree at run time (`what` says where)."""
        if a != b and not (isinstance(a, int) and isinstance(b, int)):
            check = (a, b, f"{what}: dims {a} and {b} differ")
            if check not in self.checks:
                self.checks.append(check)


def static_dims(value: SSAValue) -> Dims:
    t = value.type
    if not isinstance(t, TensorType):
        return ()
    shape = cast(TensorType[Attribute], t).get_shape()
    return tuple(None if d == DYNAMIC_INDEX else d for d in shape)


def has_dynamic_dims(value: SSAValue) -> bool:
    t = value.type
    return isinstance(t, TensorType) and DYNAMIC_INDEX in cast(TensorType[Attribute], t).get_shape()
