"""The graph-level reference semantics: ONNX operators on numpy arrays.

`run_onnx_op` runs one operator (the kernel layer); `run_reference` runs a graph-dialect
module with xDSL's interpreter, one kernel per op. Every lowering is checked against it.
"""

from lamina.kernels import HANDWRITTEN, OPSET, OnnxKernel, run_onnx_op
from lamina.runtime.reference.interpreter import GraphFunctions, run_reference

__all__ = ["HANDWRITTEN", "OPSET", "GraphFunctions", "OnnxKernel", "run_onnx_op", "run_reference"]
