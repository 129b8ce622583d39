"""The numpy kernels of the ONNX operators, below both their users (docs/architecture.md):
constant folding (rewrites/helpers.py, lowering/graph_to_top*.py) runs them on model
constants at compile time, the reference interpreter (runtime/reference/) on every op.

    (y,) = run_onnx_op("Relu", [x], {}, 1)
"""

from lamina.kernels.operators import HANDWRITTEN, OPSET, OnnxKernel, run_onnx_op

__all__ = ["HANDWRITTEN", "OPSET", "OnnxKernel", "run_onnx_op"]
