"""The ONNX importer: an ONNX model becomes a `builtin.module` of `graph` dialect ops.

    module = import_onnx("resnet50.onnx", input_shapes={"data": [1, 3, 224, 224]})

The model is read (external data from beside its file), checked with the onnx checker,
converted to opset 28 where its definitions differ (the graph dialect has each operator's
newest definition), shape-inferred after the
given input shapes are bound, and built into one `func.func` whose arguments are the graph
inputs and which returns the graph outputs. Weights become `graph.constant` ops whose
bytes are not copied element by element. See `docs/graph-dialect.md` for the IR contract.

Every problem with the model raises a `LaminaError`: `ModelImportError` for a model that
cannot be read or is invalid, `UnsupportedError` / `UnsupportedOpError` for a valid model
using what lamina lacks (an operator domain, an element type, an attribute kind). Node
problems read `node '<name>' (<OpType>): <reason>`, and `where` is the model's path,
`<bytes>` or `<model>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from xdsl.dialects.builtin import ModuleOp

from lamina.errors import ModelImportError
from lamina.parser.onnx_build import build_module
from lamina.parser.onnx_prepare import (
    TARGET_OPSET,
    ModelSource,
    load_model,
    prepare_model,
    where_of,
)

__all__ = [
    "TARGET_OPSET",
    "ModelSource",
    "import_onnx",
    "parse_input_shape",
    "parse_input_shapes",
]


def import_onnx(
    model: ModelSource, *, input_shapes: Mapping[str, Sequence[int]] | None = None
) -> ModuleOp:
    """Import an ONNX model into the graph dialect.

    `input_shapes` binds graph inputs to static shapes (`{"x": [1, 3, 224, 224]}`); a size
    of -1 leaves that dimension dynamic, and a symbolic dimension bound in one input is
    bound in every input that uses it.
    """
    where = where_of(model)
    try:
        prepared = prepare_model(load_model(model, where), where, input_shapes)
        return build_module(prepared)
    except UnicodeDecodeError as err:  # protobuf decodes string fields lazily
        raise ModelImportError(f"the model holds text that is not UTF-8: {err}", where) from err


def parse_input_shape(spec: str) -> tuple[str, list[int]]:
    """`name=1x3x224x224` (the `--input-shape` option) -> `("name", [1, 3, 224, 224])`.

    `?` leaves a dimension dynamic (-1); `name=` (nothing after `=`) is a scalar. The name
    is everything before the last `=`, so names may contain `=`, `:` or `/`.
    """
    name, equals, dims = spec.rpartition("=")
    if not equals or not name:
        raise ModelImportError(
            f"invalid input shape '{spec}': expected name=DIMxDIMx..., e.g. x=1x3x224x224"
        )
    shape: list[int] = []
    for dim in dims.split("x") if dims else []:
        dim = dim.strip()
        if dim == "?":
            shape.append(-1)
        elif dim.isdigit():
            shape.append(int(dim))
        else:
            raise ModelImportError(
                f"invalid input shape '{spec}': '{dim}' is not a size (a number or ?)"
            )
    return name, shape


def parse_input_shapes(specs: Iterable[str]) -> dict[str, list[int]]:
    """Several `--input-shape` options (each may also hold a comma-separated list)."""
    shapes: dict[str, list[int]] = {}
    for spec in specs:
        for part in spec.split(","):
            name, shape = parse_input_shape(part)
            if name in shapes:
                raise ModelImportError(f"input shape of '{name}' given twice")
            shapes[name] = shape
    return shapes
