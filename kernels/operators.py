"""ONNX operators on numpy arrays: what the reference interpreter runs per op and constant
folding runs on model constants.

`run_onnx_op` runs one operator of the default domain with its exact ONNX semantics at
`OPSET`. The hot operators of real CNNs have hand-written numpy kernels
(`HANDWRITTEN`: kernels/nn.py, tensor.py, rnn.py); everything else runs through `onnx.reference`, the numpy
implementations that ship with the onnx package, so the long tail needs no code here.

A hand-written kernel may decline a call (an integer Conv, a BatchNormalization in training
mode) by returning None; that call then runs through `onnx.reference` too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lamina.dialects.graph_ops import GRAPH_OPSET
from lamina.errors import UnsupportedOpError
from lamina.kernels.nn import NN_KERNELS, Kernel
from lamina.kernels.rnn import RNN_KERNELS
from lamina.kernels.tensor import TENSOR_KERNELS

if TYPE_CHECKING:
    from onnx.reference import ReferenceEvaluator

HANDWRITTEN: dict[str, Kernel] = {**NN_KERNELS, **TENSOR_KERNELS, **RNN_KERNELS}
"""The operators with a hand-written numpy kernel; all others run through onnx.reference."""

OPSET = GRAPH_OPSET
"""The opset whose semantics the kernels implement (the graph dialect's opset)."""

Value = Any
"""A runtime value: an np.ndarray, None for a missing optional value, or a list for
ONNX sequences."""


def run_onnx_op(
    op_type: str,
    inputs: Sequence[Value],
    attrs: Mapping[str, object],
    n_outputs: int,
    *,
    opset: int = OPSET,
    scope: Mapping[str, Value] | None = None,
) -> list[Value]:
    """Runs the ONNX operator `op_type` on `inputs` and returns its first `n_outputs`
    outputs (None where the operator leaves an optional output unset).

    `inputs` holds None for a missing optional input. `attrs` maps ONNX attribute names to
    Python values (int, float, str, lists of them, np.ndarray for TENSOR, onnx.GraphProto
    for GRAPH); an absent attribute takes its schema default. `scope` holds the values of
    the enclosing graph that GRAPH attributes refer to by name.
    """
    return OnnxKernel(op_type, attrs, n_outputs, opset=opset)(inputs, scope)


class OnnxKernel:
    """One operator with fixed attributes, ready to run many times (the interpreter keeps
    one per op, so attribute conversion and `onnx.reference` set-up happen once)."""

    def __init__(
        self,
        op_type: str,
        attrs: Mapping[str, object],
        n_outputs: int,
        *,
        opset: int = OPSET,
        name: str | None = None,
    ) -> None:
        self.op_type = op_type
        self.attrs = {k: v for k, v in attrs.items() if v is not None}
        self.n_outputs = n_outputs
        self.opset = opset
        self.name = name
        self._handwritten = HANDWRITTEN.get(op_type) if opset >= OPSET else None
        self._evaluators: dict[tuple[object, ...], ReferenceEvaluator] = {}

    def __call__(
        self, inputs: Sequence[Value], scope: Mapping[str, Value] | None = None
    ) -> list[Value]:
        if self._handwritten is not None:
            outputs = self._handwritten(list(inputs), self.attrs, self.n_outputs)
            if outputs is not None:
                return _fit(outputs, self.n_outputs)
        return _fit(self._run_onnx_reference(inputs, scope or {}), self.n_outputs)

    def _run_onnx_reference(
        self, inputs: Sequence[Value], scope: Mapping[str, Value]
    ) -> list[Value]:
        present = len(inputs)
        while present and inputs[present - 1] is None:
            present -= 1
        inputs = list(inputs[:present])
        signature = (
            *(_signature(v) for v in inputs),
            *((name, *_signature(v)) for name, v in sorted(scope.items())),
        )
        evaluator = self._evaluators.get(signature)
        if evaluator is None:
            evaluator = self._build_evaluator(inputs, scope)
            self._evaluators[signature] = evaluator
        feeds = {f"x{i}": v for i, v in enumerate(inputs) if v is not None}
        feeds.update(scope)
        return list(evaluator.run(None, feeds))

    def _build_evaluator(
        self, inputs: Sequence[Value], scope: Mapping[str, Value]
    ) -> ReferenceEvaluator:
        # onnx loads only for an operator without a hand-written kernel: its import (with
        # ml_dtypes) costs about 0.5 s of CPU, more than a small lamina-opt run
        from lamina.kernels.onnx_reference import reference_evaluator

        try:
            return reference_evaluator(
                self.op_type, self.attrs, self.n_outputs, inputs, scope, self.opset
            )
        except Exception as e:
            raise UnsupportedOpError(
                f"operator '{self.op_type}' in the reference kernels ({e})", self.name
            ) from e


def _fit(outputs: Sequence[Value], n_outputs: int) -> list[Value]:
    outputs = [np.asarray(v) if isinstance(v, np.generic) else v for v in outputs]
    return (list(outputs) + [None] * n_outputs)[:n_outputs]


def _signature(value: Value) -> tuple[object, ...]:
    if value is None:
        return ("none",)
    if not isinstance(value, np.ndarray | list):
        return (type(value).__name__,)
    if isinstance(value, list):
        return ("seq", *(_signature(v) for v in value[:1]))
    return (str(value.dtype), value.ndim)
