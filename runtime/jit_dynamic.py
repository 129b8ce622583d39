"""Calling a kernel with dynamic dims (`?`) from the host: check the inputs against the
kernel's types, ask its shape function for the outputs' extents, then pass each dynamic
array as its pointer followed by its `?` extents (the kernel ABI, docs/pipeline.md).

    sig = DynamicSignature.of(kernel, shapes_function, names)
    extents = sig.input_extents(inputs)      # rank and static dims, else a LaminaError
    shapes = sig.output_shapes(extents)      # <entry>_shapes: 0, or the failed check's number

The shape function `<entry>_shapes(%in_dims: memref<Kxindex>, %out_dims: memref<Mxindex>)
-> i32` reads all inputs' `?` extents in order, writes all outputs' and returns 0, or the
1-based number of a failed check whose message is element N-1 of its `lamina.checks`.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, IndexType, MemRefType, StringAttr, i32
from xdsl.ir import Attribute
from xdsl.utils.hints import isa

from lamina.codegen.llvm_shape import dynamic_axes
from lamina.errors import LaminaError

SHAPES_SUFFIX = "_shapes"
"""`<entry>_shapes` is the shape function of the kernel `<entry>`."""

ShapeFunction = Callable[[int, int], int]
"""The raw shape function: (address of the input extents, of the output extents) -> code."""


def shape_text(shape: Sequence[int]) -> str:
    """A shape as Python prints a tuple, `?` for a dynamic dim: `(2, 5)`, `(?, 4)`, `(3,)`."""
    dims = ["?" if d < 0 else str(d) for d in shape]
    return f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"


def has_dynamic_dims(types: Sequence[MemRefType[Attribute]]) -> bool:
    return any(dynamic_axes(t) for t in types)


def shape_function_type_error(op: func.FuncOp, inputs: int, outputs: int) -> str | None:
    """What is wrong with `op` as a shape function for kernels with `inputs` / `outputs`
    dynamic dims, None if nothing."""
    expected = [MemRefType(IndexType(), [inputs]), MemRefType(IndexType(), [outputs])]
    if list(op.function_type.inputs) != expected or list(op.function_type.outputs) != [i32]:
        return (
            f"@{op.sym_name.data} has type {op.function_type}, but a shape function takes "
            f"({expected[0]}, {expected[1]}) -> i32"
        )
    return None


@dataclass
class DynamicSignature:
    """The inputs' and outputs' types of a kernel with dynamic dims, its inputs' names and
    its shape function (None if it has none: then every output must be static)."""

    name: str
    input_types: list[MemRefType[Attribute]]
    output_types: list[MemRefType[Attribute]]
    input_names: list[str]
    shapes: ShapeFunction | None
    checks: list[str]

    @classmethod
    def of(
        cls,
        name: str,
        types: tuple[list[MemRefType[Attribute]], list[MemRefType[Attribute]]],
        input_names: list[str],
        shape_function: tuple[func.FuncOp, int] | None,
    ) -> DynamicSignature:
        """From the kernel's input and output types and its shape function (the op and its
        address), checked against each other."""
        inputs, outputs = types
        wanted = [sum(len(dynamic_axes(t)) for t in ts) for ts in (inputs, outputs)]
        if shape_function is None:
            if wanted[1]:
                raise LaminaError(f"@{name} has outputs of dynamic shape but no @{name}_shapes")
            return cls(name, inputs, outputs, input_names, None, [])
        op, address = shape_function
        problem = shape_function_type_error(op, *wanted)
        if problem is not None:
            raise LaminaError(problem)
        checks = op.attributes.get("lamina.checks")
        messages = (
            [m.data for m in checks.data if isinstance(m, StringAttr)]
            if isa(checks, ArrayAttr[Attribute])
            else []
        )
        raw = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p)(address)
        return cls(name, inputs, outputs, input_names, raw, messages)

    def input_extents(self, arrays: Sequence[np.ndarray]) -> list[int]:
        """All inputs' `?` extents in order; a `LaminaError` for an input whose rank or
        static dims differ from its type."""
        extents: list[int] = []
        for name, array, t in zip(self.input_names, arrays, self.input_types, strict=True):
            shape = t.get_shape()
            if array.ndim != len(shape) or any(
                d >= 0 and d != n for d, n in zip(shape, array.shape, strict=True)
            ):
                raise LaminaError(
                    f"input '{name}' has shape {shape_text(array.shape)} but the model takes "
                    f"{shape_text(shape)}"
                )
            extents += [array.shape[axis] for axis in dynamic_axes(t)]
        return extents

    def output_shapes(self, input_extents: list[int]) -> list[tuple[int, ...]]:
        """The outputs' shapes for inputs of these extents, from the shape function."""
        count = sum(len(dynamic_axes(t)) for t in self.output_types)
        found = np.zeros(count, np.int64)
        if self.shapes is not None:
            given = np.array(input_extents, np.int64)
            code = self.shapes(given.ctypes.data, found.ctypes.data)
            if code != 0:
                raise LaminaError(f"@{self.name}: {self._check(code)}")
        if (found < 0).any():
            raise LaminaError(f"@{self.name}{SHAPES_SUFFIX} gave negative extents {found.tolist()}")
        values = iter(int(n) for n in found)
        return [
            tuple(d if d >= 0 else next(values) for d in t.get_shape()) for t in self.output_types
        ]

    def _check(self, code: int) -> str:
        if 0 < code <= len(self.checks):
            return self.checks[code - 1]
        return f"shape check {code} failed"

    def arguments(self, arrays: Sequence[np.ndarray]) -> list[int]:
        """Each array's address followed by its `?` extents (input and output order)."""
        values: list[int] = []
        for array, t in zip(arrays, [*self.input_types, *self.output_types], strict=True):
            values.append(array.ctypes.data)
            values += [array.shape[axis] for axis in dynamic_axes(t)]
        return values

    def argument_types(self) -> list[type]:
        """The ctypes of the kernel's parameters: weights, arena, then `arguments`."""
        types: list[type] = [ctypes.c_void_p, ctypes.c_void_p]
        for t in (*self.input_types, *self.output_types):
            types += [ctypes.c_void_p] + [ctypes.c_int64] * len(dynamic_axes(t))
        return types
