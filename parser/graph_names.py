"""What both importers (ONNX: parser/onnx_build.py, TFLite: parser/tflite*.py) name and
place graph IR with, without importing onnx (whose import, with ml_dtypes, costs about
0.5 s of CPU that a TFLite import does not need): locations from framework names (and the
names back, for lowerings and runtimes to report), SSA name hints, function symbols, and
the `graph.none` of omitted optional operands."""

from __future__ import annotations

import re

from xdsl.dialects.builtin import LocationAttr, NameLoc, NoneAttr, StringAttr
from xdsl.ir import Block, SSAValue

from lamina.dialects.graph import NoneOp

_INVALID_NAME_CHAR = re.compile(r"[^A-Za-z0-9_$.-]")
_NUMBERED_SUFFIX = re.compile(r"_\d+$")


def location(name: str) -> NameLoc:
    """`loc("name")`: how the model's names of nodes, inputs and weights are kept."""
    return NameLoc(StringAttr(name), NoneAttr())


def location_name(loc: LocationAttr) -> str | None:
    """The model's name that a `location` keeps (`loc("conv1")` -> `conv1`), None for any
    other location."""
    return loc.desc.data if isinstance(loc, NameLoc) else None


def value_name_hint(name: str) -> str | None:
    """An SSA name hint from a model's value name (`gpu_0/conv1` -> `gpu_0_conv1`).

    Only ASCII `[A-Za-z0-9_$.-]` survives (xDSL's name syntax); a hint never starts with a
    digit and is never a bare `_<digits>`, which xDSL would shorten to nothing. None (a
    numbered `%0`) when no character is left; the printer numbers duplicate hints.
    """
    hint = _INVALID_NAME_CHAR.sub("_", name)
    if not hint:
        return None
    if hint[0].isdigit():
        hint = f"_{hint}"
    return hint if _NUMBERED_SUFFIX.sub("", hint) else f"v{hint}"


def sanitize_symbol(name: str) -> str:
    """A `func.func` symbol from a graph name; `main` when nothing usable is left."""
    symbol = value_name_hint(name) or "main"
    return symbol.lstrip("$.-") or "main"


def none_at_top(block: Block) -> SSAValue:
    """A new `graph.none` as the first op of `block`: the value every omitted optional
    operand of the function reads."""
    op = NoneOp()
    if block.first_op is None:
        block.add_op(op)
    else:
        block.insert_op_before(op, block.first_op)
    return op.results[0]
