"""What an AOT bundle adds for a kernel with dynamic dims (`?`, -1 in a `TensorSpec`'s
shape): the extents parameters in the entry's prototype, the shape function
`<entry>_shapes` and how to call both (the header), and the driver's dynamic mode
(`LAMINA_DYNAMIC`: input shapes from the .npy files, outputs sized by the shape function
and written as .npy).

    int32_t model_shapes(const int64_t *in_dims, int64_t *out_dims);
    void model(const void *weights, void *arena, const float *in0, int64_t in0_dim0,
               float *out0, int64_t out0_dim0);

Invariant: a static bundle's header and driver are those of a bundle without this module
(the same prototype, macros and tables).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, ModuleOp, StringAttr
from xdsl.ir import Attribute
from xdsl.utils.hints import isa

from lamina.errors import UnsupportedError

SHAPES_SUFFIX = "_shapes"
MAX_RANK = 8
"""The largest tensor rank a dynamic bundle's driver reads from a .npy file."""
NPY_DTYPES = (
    *("float32", "float64", "float16", "bool"),
    *(f"{sign}int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64)),
)
"""The dtypes the driver reads and writes as .npy (the others have no .npy descr)."""


class TensorSpec(Protocol):
    """What this module reads of codegen/aot.py's `TensorSpec`."""

    @property
    def name(self) -> str: ...
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def dtype(self) -> str: ...
    def describe(self) -> str: ...


class Bundle(Protocol):
    """What this module reads of codegen/aot.py's `Bundle`."""

    @property
    def name(self) -> str: ...
    @property
    def inputs(self) -> Sequence[TensorSpec]: ...
    @property
    def outputs(self) -> Sequence[TensorSpec]: ...
    @property
    def shape_checks(self) -> list[str] | None: ...


def dynamic_axes(spec: TensorSpec) -> list[int]:
    return [axis for axis, size in enumerate(spec.shape) if size < 0]


def is_dynamic(bundle: Bundle) -> bool:
    return any(dynamic_axes(s) for s in (*bundle.inputs, *bundle.outputs))


def shape_function(module: ModuleOp, kernel: func.FuncOp) -> func.FuncOp | None:
    """The module's `<kernel>_shapes`, if it has one."""
    name = kernel.sym_name.data + SHAPES_SUFFIX
    return next(
        (op for op in module.ops if isinstance(op, func.FuncOp) and op.sym_name.data == name),
        None,
    )


def shape_checks(shapes: func.FuncOp) -> list[str]:
    """The messages of the shape function's checks (`lamina.checks`), check 1 first."""
    checks = shapes.attributes.get("lamina.checks")
    if not isa(checks, ArrayAttr[Attribute]):
        return []
    return [m.data for m in checks.data if isinstance(m, StringAttr)]


def check_dynamic_bundle(bundle: Bundle, has_shapes: bool, kernel: func.FuncOp) -> None:
    """A dynamic bundle's outputs need a shape function; its tensors need .npy dtypes."""
    if any(dynamic_axes(s) for s in bundle.outputs) and not has_shapes:
        raise UnsupportedError(
            f"outputs of dynamic shape without @{bundle.name}{SHAPES_SUFFIX}", op=kernel
        )
    for spec in (*bundle.inputs, *bundle.outputs):
        if spec.dtype not in NPY_DTYPES or len(spec.shape) > MAX_RANK:
            raise UnsupportedError(
                f"tensor '{spec.name}' ({spec.describe()}) in a bundle with dynamic shapes",
                op=kernel,
            )


def tensor_parameters(bundle: Bundle, c_types: dict[str, str]) -> list[str]:
    """The entry's tensor parameters: each pointer, then an int64_t per `?` dim."""
    params: list[str] = []
    for kind, specs, const in (("in", bundle.inputs, "const "), ("out", bundle.outputs, "")):
        for k, spec in enumerate(specs):
            params.append(f"{const}{c_types[spec.dtype]} *{kind}{k}")
            params += [f"int64_t {kind}{k}_dim{axis}" for axis in dynamic_axes(spec)]
    return params


def header_lines(bundle: Bundle, prefix: str) -> list[str]:
    """The dynamic bundle's part of `model.h`: how to call it, the extents counts, the
    checks' messages and the shape function's prototype (inside the extern "C" block)."""
    in_dims = sum(len(dynamic_axes(s)) for s in bundle.inputs)
    out_dims = sum(len(dynamic_axes(s)) for s in bundle.outputs)
    checks = bundle.shape_checks or []
    lines = [
        "",
        "/* Dynamic shapes (a -1 in a _SHAPE is a `?` dim; those tensors have no _ELEMENTS",
        " * or _BYTES). To run the model:",
    ]
    if bundle.shape_checks is not None:
        lines += [
            f" * 1. {bundle.name}{SHAPES_SUFFIX}(in_dims, out_dims): in_dims holds the inputs'",
            f" *    -1 dims ({prefix}NUM_IN_DIMS: in0's in axis order, then in1's, ...); it",
            f" *    writes the outputs' ({prefix}NUM_OUT_DIMS) to out_dims and returns 0, or",
            f" *    N > 0: check N failed, its message is element N-1 of {prefix}CHECKS.",
            " * 2. allocate the outputs of those shapes (LAMINA_ALIGNMENT-byte aligned);",
            f" * 3. {bundle.name}(...): each tensor's pointer followed by its -1 dims' extents.",
        ]
    else:
        lines += [f" * {bundle.name}(...): each tensor's pointer followed by its -1 dims' extents."]
    lines += [
        " */",
        f"#define {prefix}DYNAMIC 1",
        f"#define {prefix}NUM_IN_DIMS {in_dims}",
        f"#define {prefix}NUM_OUT_DIMS {out_dims}",
        f"#define {prefix}HAS_SHAPES {int(bundle.shape_checks is not None)}",
        f"#define {prefix}NUM_CHECKS {len(checks)}",
        f"#define {prefix}CHECKS {{{', '.join([*map(_c_string, checks), '0'])}}}",
    ]
    return lines


def shapes_prototype(bundle: Bundle) -> str | None:
    if bundle.shape_checks is None:
        return None
    return f"int32_t {bundle.name}{SHAPES_SUFFIX}(const int64_t *in_dims, int64_t *out_dims)"


def driver_parts(bundle: Bundle) -> dict[str, str]:
    """The driver template's dynamic placeholders: the dims tables, the call."""
    arguments = ["weights", "arena"]
    for kind, specs in (("input", bundle.inputs), ("output", bundle.outputs)):
        for k, spec in enumerate(specs):
            arguments.append(f"{kind}s[{k}].data")
            arguments += [f"{kind}_dims[{k}].size[{axis}]" for axis in dynamic_axes(spec)]
    call = f"{bundle.name}({', '.join(arguments)})"
    shapes = f"{bundle.name}{SHAPES_SUFFIX}" if bundle.shape_checks is not None else "NULL"
    return {
        "@INPUT_DIMS@": _dims_table(bundle.inputs),
        "@OUTPUT_DIMS@": _dims_table(bundle.outputs),
        "@SHAPES@": shapes,
        "@CALL@": call,
    }


def _dims_table(specs: Sequence[TensorSpec]) -> str:
    rows = [
        f"{{{len(s.shape)}, {_itemsize(s.dtype)}, {{{', '.join(map(str, s.shape)) or '0'}}}, {{0}}}}"
        for s in specs
    ]
    return "{" + ", ".join([*rows, "{0}"]) + "}"


def _itemsize(dtype: str) -> int:
    return np.dtype(dtype).itemsize


def _c_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=True).replace("?", "\\?")
