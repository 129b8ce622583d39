"""Which ONNX operator definitions the graph dialect's ops read the same as.

The graph dialect has each operator's newest definition up to `GRAPH_OPSET`. A node of a
model of another opset imports unchanged when its definition is the dialect's, or when
every definition between the two only extends the older one (more element types, an
optional input or an attribute whose default keeps the older meaning). Any other node
needs the onnx version converter's adapters.
"""

from __future__ import annotations

from functools import cache

import onnx
from onnx import NodeProto

from lamina.dialects.graph_ops import GRAPH_OPSET

EXTENDING_DEFINITIONS: dict[str, frozenset[int]] = {
    name: frozenset(versions)
    for name, versions in {
        "Attention": (24, 25),  # nonpad_kv_seqlen input; left/right_window_size default -1
        "BitShift": (28,),  # signed element types
        "Cast": (24, 25, 28),  # round_mode (float8e8m0 only, default "up"); new types
        "CastLike": (24, 25),  # as Cast
        "Celu": (28,),
        "Compress": (28,),
        "Constant": (24, 25),
        "ConstantOfShape": (24, 25),
        "DepthToSpace": (28,),
        "DequantizeLinear": (24, 25, 28),
        "Einsum": (28,),
        "Flatten": (24, 25),
        "Identity": (24, 25),
        "If": (24, 25),
        "Loop": (24, 25),
        "Mod": (28,),  # fmod=0 on floats
        "OneHot": (28,),
        "Pad": (24, 25),
        "QuantizeLinear": (24, 25, 28),
        "Range": (27,),  # stash_type: float16/bfloat16 only
        "ReduceLogSum": (28,),
        "ReduceLogSumExp": (28,),
        "Reshape": (24, 25),
        "ReverseSequence": (28,),
        "Scan": (24, 25),
        "Shape": (24, 25),
        "Size": (24, 25),
        "SpaceToDepth": (28,),  # mode, default "DCR" (the older order)
        "Squeeze": (24, 25),
        "TopK": (24,),
        "Transpose": (24, 25),
        "Unique": (28,),
        "Unsqueeze": (24, 25),
    }.items()
}
"""Definitions (operator -> since versions) that only extend the one before them."""


def definition_version(op_type: str, opset: int) -> int:
    """The since-version of the definition of `op_type` that a model of `opset` uses."""
    return onnx.defs.get_schema(op_type, opset).since_version


def reads_as_dialect_op(node: NodeProto, opset: int) -> bool:
    """Whether the node means at `opset` what the dialect's op of its type means."""
    own = definition_version(node.op_type, opset)
    dialect = definition_version(node.op_type, GRAPH_OPSET)
    if own == dialect:
        return True
    if own > dialect:
        return False
    extending = EXTENDING_DEFINITIONS.get(node.op_type, frozenset())
    newer = [v for v in _definition_versions().get(node.op_type, []) if own < v <= dialect]
    return all(version in extending for version in newer)


@cache
def _definition_versions() -> dict[str, list[int]]:
    """Operator -> the since-versions of its definitions in the default domain."""
    versions: dict[str, list[int]] = {}
    for schema in onnx.defs.get_all_schemas_with_history():
        if schema.domain in ("", "ai.onnx"):
            versions.setdefault(schema.name, []).append(schema.since_version)
    return versions
