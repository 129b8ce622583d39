"""Writes a small int8 model to argv[1]: CONV_2D (per-channel weights, RELU6) then
LOGISTIC, int8 tensors throughout."""

import sys

import numpy as np

from lamina.tools.tflite_builder import TFLiteBuilder

m = TFLiteBuilder()
x = m.input("x", [1, 4, 4, 2], np.int8, ([0.05], [-3], 0))
w = m.constant(
    "w", np.arange(-36, 36, 2, dtype=np.int8).reshape(2, 3, 3, 2), ([0.01, 0.02], [0, 0], 0)
)
b = m.constant("b", np.array([100, -100], np.int32), ([0.0005, 0.001], [0, 0], 0))
conv = m.tensor("conv", [1, 4, 4, 2], np.int8, ([6 / 255], [-128], 0))
m.op("CONV_2D", [x, w, b], [conv], "Conv2DOptions", Padding=0, StrideW=1, StrideH=1,
     FusedActivationFunction=3)  # fmt: skip
y = m.tensor("y", [1, 4, 4, 2], np.int8, ([1 / 256], [-128], 0))
m.op("LOGISTIC", [conv], [y])
m.output(y)
with open(sys.argv[1], "wb") as file:
    file.write(m.finish())
