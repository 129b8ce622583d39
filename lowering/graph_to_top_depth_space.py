"""SpaceToDepth (opset 28, DCR / CRD modes) and DepthToSpace -> reshape, transpose, reshape:

    space_to_depth: [N, C, H, W] -> [N, C, H/b, b, W/b, b] -> permute -> [N, C b b, H/b, W/b]
    depth_to_space: [N, C, H, W] -> [N, b, b, C/bb, H, W] (CRD: [N, C/bb, b, b, H, W])
                    -> permute -> [N, C/bb, H b, W b]

The permutation of the 6-D view depends on the operator and its mode (DCR / CRD).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue

from lamina.dialects import graph, top
from lamina.lowering.graph_to_top_common import Emitter, GraphLowering, elt_of

_PERMUTATIONS = {
    ("SpaceToDepth", "DCR"): (0, 3, 5, 1, 2, 4),
    ("SpaceToDepth", "CRD"): (0, 1, 3, 5, 2, 4),
    ("DepthToSpace", "DCR"): (0, 3, 4, 1, 5, 2),
    ("DepthToSpace", "CRD"): (0, 1, 4, 2, 5, 3),
}
"""(operator, mode) -> the permutation of the 6-D blocked view."""


def _blocked_shape(op_type: str, mode: str, shape: Sequence[int], block: int) -> tuple[int, ...]:
    n, c, h, w = shape
    if op_type == "SpaceToDepth":
        return (n, c, h // block, block, w // block, block)
    if mode == "DCR":
        return (n, block, block, c // (block * block), h, w)
    return (n, c // (block * block), block, block, h, w)


class DepthSpaceLowering(GraphLowering):
    """space_to_depth / depth_to_space as in the module doc."""

    source = (graph.SpaceToDepthOp, graph.DepthToSpaceOp)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x = op.operands[0]
        xs, result = e.static_in_out(x)
        attrs = e.attrs()
        op_type: str = getattr(type(op), "onnx_op_type")  # noqa: B009
        mode, block = str(attrs.get("mode", "DCR")), int(cast(int, attrs["blocksize"]))
        if (op_type, mode) not in _PERMUTATIONS or len(xs) != 4 or block < 1:
            raise e.fail(f"mode {mode}, blocksize {block} on {x.type}")
        if op_type == "SpaceToDepth" and (xs[2] % block or xs[3] % block):
            raise e.fail(f"blocksize {block} on {x.type}")
        if op_type == "DepthToSpace" and xs[1] % (block * block):
            raise e.fail(f"blocksize {block} on {x.type}")
        blocked = e.reshape(x, _blocked_shape(op_type, mode, xs, block))
        permutation = _PERMUTATIONS[(op_type, mode)]
        moved_shape = tuple(e.static(blocked)[p] for p in permutation)
        moved = e.emit(
            top.TransposeOp(blocked, list(permutation), TensorType(elt_of(x), moved_shape))
        )
        return [e.reshape(moved, result.get_shape())]


DEPTH_SPACE_LOWERINGS: tuple[type[GraphLowering], ...] = (DepthSpaceLowering,)
