"""The top-level reference interpreter: a top-dialect module run on numpy arrays.

Every lowering out of or into `top` is checked by running the IR before and after on the
same inputs. Named ops run as whole-array numpy (conv2d as im2col + tensordot); a
`top.generic` evaluates its scalar body once on whole arrays: each input is gathered over
the iteration space through its indexing map (numpy fancy indexing on broadcast index
grids), so an all-parallel generic is one vectorised evaluation. A reduction whose body is
`acc = combine(acc, f(inputs))` reduces f over the reduction axes with numpy; any other
reduction body runs once per point of the reduction space, vectorised over the rest.

    outputs = run_top(module, {"x": x})

`graph.constant` and `graph.none` run too (weights stay graph constants at this level).
The ops run in one module per family: top_interpreter_scalar.py (generic bodies),
top_interpreter_generic.py, top_interpreter_nn.py, top_interpreter_tensor.py,
top_interpreter_index.py and top_control_interpreter.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.interpreter import Interpreter, InterpreterFunctions, PythonValues, impl, register_impls
from xdsl.interpreters.func import FuncFunctions
from xdsl.ir import Operation

from lamina.dialects.graph import ConstantOp, NoneOp
from lamina.dialects.top_generic import GenericOp
from lamina.dialects.weights import numpy_dtype
from lamina.errors import UnsupportedOpError
from lamina.runtime.reference.interpreter import _arguments, _function, op_where
from lamina.runtime.reference.top_control_interpreter import (
    TOP_CONTROL_OPS_RUN,
    TopControlFunctions,
)
from lamina.runtime.reference.top_interpreter_generic import run_generic
from lamina.runtime.reference.top_interpreter_index import INDEX_OP_TYPES, TopIndexFunctions
from lamina.runtime.reference.top_interpreter_nn import NN_OPS_RUN, TopNNFunctions
from lamina.runtime.reference.top_interpreter_scalar import SCALAR_OPS, run_block
from lamina.runtime.reference.top_interpreter_tensor import TENSOR_OPS_RUN, TopTensorFunctions

Array = np.ndarray


class TopFunctions(InterpreterFunctions):
    """Implementations of `top.generic`, the function-level scalar ops and graph constants on
    numpy arrays (the named ops are in TopNNFunctions and TopTensorFunctions)."""

    @impl(GenericOp)
    def run_generic(
        self, interpreter: Interpreter, op: GenericOp, args: PythonValues
    ) -> PythonValues:
        return tuple(run_generic(op, [np.asarray(a) for a in args]))

    @impl(ConstantOp)
    def run_constant(self, interpreter: Interpreter, op: ConstantOp, args: PythonValues):
        return (op.to_array(),)

    @impl(NoneOp)
    def run_none(self, interpreter: Interpreter, op: NoneOp, args: PythonValues):
        return (None,)


def _run_scalar(
    self: TopFunctions, interpreter: Interpreter, op: Operation, args: PythonValues
) -> PythonValues:
    """Function-level arith / math ops (the constants of fills and pads)."""
    with np.errstate(all="ignore"):
        value = SCALAR_OPS[type(op)](op, *(np.asarray(a) for a in args))
    return (np.asarray(value, numpy_dtype(op.results[0].type))[()],)


for _op_class in SCALAR_OPS:
    # xDSL finds implementations by the `impl` marker on class attributes
    setattr(TopFunctions, f"run_{_op_class.name}", impl(_op_class)(_run_scalar))
TopFunctions = register_impls(TopFunctions)


def _check_supported(module_op: Operation) -> None:
    known = {GenericOp, ConstantOp, NoneOp, *SCALAR_OPS, *NN_OPS_RUN, *TENSOR_OPS_RUN,
             *TOP_CONTROL_OPS_RUN, *INDEX_OP_TYPES}  # fmt: skip
    for op in module_op.walk():
        parent = op.parent_op()
        if isinstance(parent, GenericOp) or op.name.startswith(("func.", "builtin.")):
            continue
        if type(op) not in known:
            where = op_where(op)
            raise UnsupportedOpError(
                f"'{op.name}'"
                + (f" (node '{where}')" if where else "")
                + " in the top interpreter",
                where,
            )


def run_top(
    module: ModuleOp,
    inputs: Sequence[Array] | Mapping[str, Array],
    function: str | None = None,
) -> list[Array]:
    """Runs `function` (default: the only function, or @main) of a top-level module on
    numpy inputs, given in argument order or by ONNX input name; returns its results."""
    interpreter = Interpreter(module)
    interpreter.register_implementations(FuncFunctions())
    interpreter.register_implementations(TopFunctions())
    interpreter.register_implementations(TopNNFunctions())
    interpreter.register_implementations(TopTensorFunctions())
    interpreter.register_implementations(TopControlFunctions())
    interpreter.register_implementations(TopIndexFunctions())
    callee = _function(module, function)
    _check_supported(callee)
    results = interpreter.call_op(callee, tuple(_arguments(callee, inputs)))
    return [np.asarray(r) for r in results]


__all__ = ["TopFunctions", "run_block", "run_generic", "run_top"]
