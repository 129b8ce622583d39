"""Writes a small int8 model to argv[1] of the operators LiteRT computes in fixed point:
ADD of two inputs at different scales, QUANTIZE to another int8 scale, RESIZE_BILINEAR
(half-pixel centers) from 2 x 2 to 3 x 3."""

import sys

import numpy as np

from lamina.tools.tflite_builder import TFLiteBuilder

m = TFLiteBuilder()
a = m.input("a", [1, 2, 2, 1], np.int8, ([0.05], [-3], 0))
b = m.input("b", [1, 2, 2, 1], np.int8, ([0.025], [7], 0))
total = m.tensor("sum", [1, 2, 2, 1], np.int8, ([0.1], [-1], 0))
m.op("ADD", [a, b], [total], "AddOptions")
requantized = m.tensor("requantized", [1, 2, 2, 1], np.int8, ([0.04], [2], 0))
m.op("QUANTIZE", [total], [requantized])
size = m.constant("size", np.array([3, 3], np.int32))
y = m.tensor("y", [1, 3, 3, 1], np.int8, ([0.04], [2], 0))
m.op("RESIZE_BILINEAR", [requantized, size], [y], "ResizeBilinearOptions", HalfPixelCenters=True)
m.output(y)
with open(sys.argv[1], "wb") as file:
    file.write(m.finish())
