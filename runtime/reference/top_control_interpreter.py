"""Reference semantics of `top.if` and `top.loop` (dialects/top_control.py) for the top
interpreter: regions run on numpy arrays, scan elements stack along a new dim 0."""

from __future__ import annotations

from typing import Any

import numpy as np
from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    PythonValues,
    ReturnedValues,
    TerminatorValue,
    impl,
    impl_terminator,
    register_impls,
)

from lamina.dialects.top_control import IfOp, LoopOp, RegionYieldOp
from lamina.dialects.weights import numpy_dtype


def _truth(value: Any) -> bool:
    return bool(np.asarray(value).reshape(-1)[0])


@register_impls
class TopControlFunctions(InterpreterFunctions):
    @impl_terminator(RegionYieldOp)
    def run_region_yield(
        self, interpreter: Interpreter, op: RegionYieldOp, args: PythonValues
    ) -> tuple[TerminatorValue, PythonValues]:
        return ReturnedValues(args), ()

    @impl(IfOp)
    def run_if(self, interpreter: Interpreter, op: IfOp, args: PythonValues) -> PythonValues:
        region = op.then_region if _truth(args[0]) else op.else_region
        return interpreter.run_ssacfg_region(region, (), "top.if")

    @impl(LoopOp)
    def run_loop(self, interpreter: Interpreter, op: LoopOp, args: PythonValues) -> PythonValues:
        max_trips, cond, *carried = args
        limit = int(np.asarray(max_trips).reshape(-1)[0])
        going = _truth(cond)
        elements: list[list[Any]] = [[] for _ in op.stacked]
        i = 0
        while i < limit and going:
            block_args = (np.array(i, np.int64), np.array(going), *carried)
            yielded = interpreter.run_ssacfg_region(op.body, block_args, "top.loop")
            going = _truth(yielded[0])
            carried = list(yielded[1 : 1 + len(carried)])
            for stack, value in zip(elements, yielded[1 + len(carried) :], strict=True):
                stack.append(np.asarray(value))
            i += 1
        stacked = [
            np.stack(values)
            if values
            else np.zeros(result.type.get_shape(), numpy_dtype(result.type.get_element_type()))  # pyright: ignore
            for values, result in zip(elements, op.stacked, strict=True)
        ]
        return (*carried, *stacked)


TOP_CONTROL_OPS_RUN = (IfOp, LoopOp, RegionYieldOp)
"""The ops `TopControlFunctions` runs."""
