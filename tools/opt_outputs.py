"""What lamina-opt writes besides the IR: a Graphviz picture of the result
(`--view-op-graph=out.dot`, tools/op_graph.py) and the graph level as an ONNX model
(`--emit-onnx out.onnx`, tools/onnx_export.py).

Both are made from the module after the pipeline ran, one per `// -----` chunk (the .dot
file then holds one `digraph` per chunk; an ONNX file takes one module), and written only
when every chunk succeeded, like `-o`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from xdsl.dialects.builtin import ModuleOp

from lamina.errors import LaminaError

if TYPE_CHECKING:
    import onnx


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of this module, with their help."""
    parser.add_argument(
        "--view-op-graph",
        metavar="FILE.dot",
        help="also write a Graphviz picture of the resulting IR at any level: a node per op "
        "(name, op type, result types), the inputs and outputs, a cluster per region / segment",
    )
    parser.add_argument(
        "--emit-onnx",
        metavar="FILE.onnx",
        help="also write the resulting graph-level IR as an ONNX model (fused and layout "
        "ops expanded into ONNX nodes; needs the weights' bytes)",
    )


@dataclass
class SideOutputs:
    """The pictures and models made so far, and where they go."""

    dot_path: str | None
    onnx_path: str | None
    output_names: Sequence[str] | None = None
    """The ONNX graph's output names to keep (those of an .onnx input)."""
    dots: list[str] = field(default_factory=list[str])
    models: list[onnx.ModelProto] = field(default_factory=lambda: [])

    @staticmethod
    def from_args(args: argparse.Namespace) -> SideOutputs:
        return SideOutputs(args.view_op_graph, args.emit_onnx)

    def add(self, module: ModuleOp) -> None:
        """Make the outputs asked for from `module` (errors point at the op at fault)."""
        if self.dot_path is not None:
            from lamina.tools.op_graph import op_graph_dot  # loads only when asked (start-up)

            self.dots.append(op_graph_dot(module, f"chunk {len(self.dots) + 1}"))
        if self.onnx_path is not None:
            if self.models:
                raise LaminaError("--emit-onnx writes one model: give one chunk, not several")
            from lamina.tools.onnx_export import export_onnx  # onnx loads only when asked

            self.models.append(export_onnx(module, self.output_names))

    def write(self) -> None:
        if self.dot_path is not None:
            _write_file(self.dot_path, "".join(self.dots).encode())
        if self.onnx_path is not None and self.models:
            _write_file(self.onnx_path, self.models[0].SerializeToString())


def _write_file(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as e:
        raise LaminaError(f"cannot write: {e.strerror}", where=path) from None
