"""Reference semantics of `top.if` and `top.loop` (dialects/top_control.py) for the top
interpreter: regions run on numpy arrays, scan elements stack along a new dim 0."""

from __future__ import annotations

import numpy as np
from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    PythonValues,
    impl,
    impl_terminator,
    register_impls,
)

from lamina.dialects.top_control import IfOp, LoopOp, RegionYieldOp
from lamina.dialects.weights import numpy_dtype
from lamina.runtime.reference.interpreter import return_yielded, run_loop_body, scalar


@register_impls
class TopControlFunctions(InterpreterFunctions):
    run_region_yield = impl_terminator(RegionYieldOp)(return_yielded)

    @impl(IfOp)
    def run_if(self, interpreter: Interpreter, op: IfOp, args: PythonValues) -> PythonValues:
        region = op.then_region if scalar(args[0]) else op.else_region
        return interpreter.run_ssacfg_region(region, (), "top.if")

    @impl(LoopOp)
    def run_loop(self, interpreter: Interpreter, op: LoopOp, args: PythonValues) -> PythonValues:
        max_trips, cond, *carried = args
        limit, going = int(scalar(max_trips)), bool(scalar(cond))
        carried, elements = run_loop_body(
            interpreter, op.body, limit, going, carried, len(op.stacked), "top.loop"
        )
        stacked = [
            np.stack(values)
            if values
            else np.zeros(result.type.get_shape(), numpy_dtype(result.type.get_element_type()))  # pyright: ignore
            for values, result in zip(elements, op.stacked, strict=True)
        ]
        return (*carried, *stacked)


TOP_CONTROL_OPS_RUN = (IfOp, LoopOp, RegionYieldOp)
"""The ops `TopControlFunctions` runs."""
