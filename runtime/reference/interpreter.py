"""The reference interpreter: a graph-dialect module run on numpy arrays.

This is the oracle every lowering is checked against. It uses xDSL's interpreter framework:
`GraphFunctions` implements every op of the `graph` dialect, `FuncFunctions` (from xDSL)
the functions. Each ONNX op runs through one `OnnxKernel` (hand-written numpy or
`onnx.reference`, see `kernels.py`), built once per op; `graph.if`, `graph.loop` and
`graph.scan` interpret their regions with the ONNX semantics of If, Loop and Scan.

    outputs = run_reference(import_onnx(model), {"x": x})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from xdsl.dialects import func
from xdsl.dialects.builtin import FileLineColLoc, ModuleOp, NoneType, TensorType
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
from xdsl.interpreters.func import FuncFunctions
from xdsl.ir import Operation, Region

from lamina.dialects.graph import (
    ONNX_OPS,
    ConstantOp,
    IfOp,
    LoopOp,
    NoneOp,
    ScanOp,
    YieldOp,
    onnx_attributes,
)
from lamina.dialects.graph_fused import ACTIVATIONS, FUSED_OPS, FusedConvOp, FusedGemmOp, FusedOp
from lamina.dialects.graph_layout import (
    LAYOUT_OPS,
    NCHW_TO_NHWC,
    nchw_arguments,
    nchw_op_type,
)
from lamina.dialects.weights import numpy_dtype
from lamina.errors import LaminaError, UnsupportedOpError
from lamina.kernels import OnnxKernel
from lamina.parser.graph_names import location_name


def op_where(op: Operation) -> str | None:
    """Where an op came from: its ONNX node name (`loc("conv1")`) or file position."""
    loc = op.location
    if isinstance(loc, FileLineColLoc):
        return f"{loc.filename.data}:{loc.line.data}:{loc.column.data}"
    return location_name(loc)


def scalar(value: Any) -> Any:
    """The element of a one-element tensor (a condition, a trip count)."""
    return np.asarray(value).reshape(()).item()


def return_yielded(
    functions: InterpreterFunctions, interpreter: Interpreter, op: Operation, args: PythonValues
) -> tuple[TerminatorValue, PythonValues]:
    """The terminator of a control-flow region (`graph.yield`, `top.region_yield`): the
    region returns the yielded values."""
    return ReturnedValues(args), ()


def run_loop_body(
    interpreter: Interpreter, body: Region, limit: int | None, keep_going: bool,
    carried: Sequence[Any], n_scans: int, name: str,
) -> tuple[list[Any], list[list[Any]]]:  # fmt: skip
    """The iterations of an ONNX Loop (`graph.loop`, `top.loop`): while `i < limit` (no
    limit when None) and the condition holds, `body` takes (i, cond, carried...) and yields
    (cond, carried..., one element per scan output); `name` names the region's scope.
    Returns the carried values after the last iteration and the elements of each of the
    `n_scans` scan outputs."""
    carried = list(carried)
    scans: list[list[Any]] = [[] for _ in range(n_scans)]
    i = 0
    while (limit is None or i < limit) and keep_going:
        block_args = (np.array(i, np.int64), np.array(keep_going), *carried)
        yielded = interpreter.run_ssacfg_region(body, block_args, name)
        keep_going = bool(scalar(yielded[0]))
        carried = list(yielded[1 : 1 + len(carried)])
        for scan, value in zip(scans, yielded[1 + len(carried) :], strict=True):
            scan.append(np.asarray(value))
        i += 1
    return carried, scans


def _describe(op: Operation) -> str:
    where = op_where(op)
    return f"'{op.name}'" + (f" (node '{where}')" if where else "")


class _GenericOps(InterpreterFunctions):
    """Runs any generated ONNX op through its kernel (registered for every op class below)."""

    def run_onnx_op(
        self, interpreter: Interpreter, op: Operation, args: PythonValues
    ) -> PythonValues:
        kernels: dict[Operation, OnnxKernel] = interpreter.get_data(GraphFunctions, "kernels", dict)
        kernel = kernels.get(op)
        if kernel is None:
            used = [not isinstance(r.type, NoneType) for r in op.results]
            n_outputs = max((i + 1 for i, u in enumerate(used) if u), default=0)
            op_type: str = getattr(type(op), "onnx_op_type")  # noqa: B009
            kernel = OnnxKernel(op_type, onnx_attributes(op), n_outputs, name=op_where(op))
            kernels[op] = kernel
        try:
            outputs = kernel(args)
        except LaminaError:
            raise
        except NotImplementedError as e:
            raise UnsupportedOpError(f"{_describe(op)} in the reference interpreter ({e})") from e
        except Exception as e:
            raise LaminaError(f"{_describe(op)} failed: {type(e).__name__}: {e}") from e
        outputs += [None] * (len(op.results) - len(outputs))
        return tuple(
            None if isinstance(r.type, NoneType) else v
            for r, v in zip(op.results, outputs, strict=True)
        )

    def run_layout_op(
        self, interpreter: Interpreter, op: Operation, args: PythonValues
    ) -> PythonValues:
        """An NHWC layout op: its NCHW ONNX counterpart between transposes."""
        kernels: dict[Operation, OnnxKernel] = interpreter.get_data(GraphFunctions, "kernels", dict)
        if op not in kernels:
            attrs = onnx_attributes(op)
            kernels[op] = OnnxKernel(nchw_op_type(op), attrs, 1, name=op_where(op))
        (y,) = kernels[op](nchw_arguments(op, args))[:1]
        return (np.transpose(y, NCHW_TO_NHWC),)


_STRUCTURED = (ConstantOp, IfOp, LoopOp, ScanOp)
for _op_class in ONNX_OPS.values():
    if _op_class not in _STRUCTURED:
        # xDSL finds implementations by the `impl` marker on class attributes, so one
        # function registered under a name per op class serves all of them.
        setattr(_GenericOps, f"run_{_op_class.name}", impl(_op_class)(_GenericOps.run_onnx_op))
for _op_class in LAYOUT_OPS:
    setattr(_GenericOps, f"run_{_op_class.name}", impl(_op_class)(_GenericOps.run_layout_op))


@register_impls
class GraphFunctions(_GenericOps):
    """Implementations of the `graph` dialect's ops on numpy arrays."""

    def run_fused(self, interpreter: Interpreter, op: FusedOp, args: PythonValues) -> PythonValues:
        """The producer's kernel (Conv / Gemm), then the activation's ONNX kernel."""
        kernels: dict[Operation, Any] = interpreter.get_data(GraphFunctions, "kernels", dict)
        if op not in kernels:
            kernels[op] = _fused_kernels(op)
        producer, (activation, bounds) = kernels[op]
        try:
            (y,) = producer(args)
            return tuple(activation([y, *(np.asarray(v, y.dtype) for v in bounds)]))
        except Exception as e:
            raise LaminaError(f"{_describe(op)} failed: {type(e).__name__}: {e}") from e

    run_fused_conv = impl(FusedConvOp)(run_fused)
    run_fused_gemm = impl(FusedGemmOp)(run_fused)

    @impl(ConstantOp)
    def run_constant(
        self, interpreter: Interpreter, op: ConstantOp, args: PythonValues
    ) -> PythonValues:
        return (op.to_array(),)

    @impl(NoneOp)
    def run_none(self, interpreter: Interpreter, op: NoneOp, args: PythonValues) -> PythonValues:
        return (None,)

    run_yield = impl_terminator(YieldOp)(return_yielded)

    @impl(IfOp)
    def run_if(self, interpreter: Interpreter, op: IfOp, args: PythonValues) -> PythonValues:
        (cond,) = args
        region = op.then_branch if scalar(cond) else op.else_branch
        return interpreter.run_ssacfg_region(region, (), "if")

    @impl(LoopOp)
    def run_loop(self, interpreter: Interpreter, op: LoopOp, args: PythonValues) -> PythonValues:
        """ONNX Loop: run the body while `i < M` (if M is given) and `cond` (if given);
        the body yields (cond, carried values..., scan outputs...)."""
        trip_count, cond, *carried = args
        n_carried = len(carried)
        limit = None if trip_count is None else int(scalar(trip_count))
        keep_going = True if cond is None else bool(scalar(cond))
        n_scans = len(op.results) - n_carried
        carried, scans = run_loop_body(
            interpreter, op.body, limit, keep_going, carried, n_scans, "loop"
        )
        stacked = [
            _stack(values, result.type, 0)
            for values, result in zip(scans, op.results[n_carried:], strict=True)
        ]
        return (*carried, *stacked)

    @impl(ScanOp)
    def run_scan(self, interpreter: Interpreter, op: ScanOp, args: PythonValues) -> PythonValues:
        """ONNX Scan (opset 9+): the body maps (states..., input slices...) to
        (states..., output slices...) once per position along each scan input's axis."""
        attrs = onnx_attributes(op)
        n_inputs = int(attrs["num_scan_inputs"])  # type: ignore[arg-type]
        n_states = len(args) - n_inputs
        states, inputs = list(args[:n_states]), list(args[n_states:])
        n_outputs = len(op.results) - n_states
        in_axes = _axes(attrs, "scan_input_axes", n_inputs, [x.ndim for x in inputs])
        in_dirs = _list(attrs, "scan_input_directions", n_inputs)
        out_dirs = _list(attrs, "scan_output_directions", n_outputs)
        length = inputs[0].shape[in_axes[0]] if inputs else 0
        scans: list[list[Any]] = [[] for _ in range(n_outputs)]
        for t in range(length):
            slices = [
                np.take(x, length - 1 - t if reverse else t, axis=axis)
                for x, axis, reverse in zip(inputs, in_axes, in_dirs, strict=True)
            ]
            yielded = interpreter.run_ssacfg_region(op.body, (*states, *slices), "scan")
            states = list(yielded[:n_states])
            for scan, value in zip(scans, yielded[n_states:], strict=True):
                scan.append(value)
        ranks = [np.ndim(values[0]) + 1 if values else 1 for values in scans]
        out_axes = _axes(attrs, "scan_output_axes", n_outputs, ranks)
        outputs = [
            _stack(values[::-1] if reverse else values, result.type, axis)
            for values, result, axis, reverse in zip(
                scans, op.results[n_states:], out_axes, out_dirs, strict=True
            )
        ]
        return (*states, *outputs)


def _fused_kernels(op: FusedOp) -> tuple[OnnxKernel, tuple[OnnxKernel, list[float]]]:
    """The kernels of a fused op, and Clip's bounds (its inputs; other params are attrs)."""
    attrs = {k: v for k, v in onnx_attributes(op).items() if not k.startswith("activation")}
    where = op_where(op)
    producer = OnnxKernel(FUSED_OPS[type(op)].onnx_op_type, attrs, 1, name=where)
    op_type, names = ACTIVATIONS[op.activation_name()]
    params = op.activation_values()
    if op_type == "Clip":
        return producer, (OnnxKernel(op_type, {}, 1, name=where), params)
    return producer, (OnnxKernel(op_type, dict(zip(names, params, strict=True)), 1, name=where), [])


def _list(attrs: Mapping[str, object], name: str, n: int) -> list[int]:
    value = attrs.get(name)
    return [int(v) for v in value] if isinstance(value, list) and value else [0] * n


def _axes(attrs: Mapping[str, object], name: str, n: int, ranks: Sequence[int]) -> list[int]:
    return [a + r if a < 0 else a for a, r in zip(_list(attrs, name, n), ranks, strict=True)]


def _stack(values: Sequence[Any], result_type: object, axis: int) -> np.ndarray:
    """Scan outputs stacked along `axis`; no iterations give an empty tensor of the result's
    element type (and its static inner dims, when known)."""
    if values:
        return np.stack(values, axis=axis)
    if isinstance(result_type, TensorType):
        shape = [0 if d < 0 else d for d in result_type.get_shape()]
        shape[axis if shape else 0 : axis + 1] = [0]
        return np.zeros(shape, numpy_dtype(result_type.element_type))
    return np.zeros((0,), np.float32)


def _function(module: ModuleOp, name: str | None) -> func.FuncOp:
    functions = [op for op in module.ops if isinstance(op, func.FuncOp)]
    for function in functions:
        if function.sym_name.data == name or (name is None and len(functions) == 1):
            return function
    if name is None:
        main = [f for f in functions if f.sym_name.data == "main"]
        if main:
            return main[0]
    names = ", ".join(f.sym_name.data for f in functions) or "none"
    raise LaminaError(f"no function '{name or 'main'}' to run (the module has: {names})")


def _arguments(
    function: func.FuncOp, inputs: Sequence[npt.ArrayLike] | Mapping[str, npt.ArrayLike]
) -> list[np.ndarray]:
    args = function.body.block.args
    if isinstance(inputs, Mapping):
        names = [location_name(a.location) or "" for a in args]
        missing = [n for n in names if n not in inputs]
        if missing:
            raise LaminaError(f"no value given for input(s) {', '.join(map(repr, missing))}")
        values = [inputs[n] for n in names]
    else:
        values = list(inputs)
    if len(values) != len(args):
        raise LaminaError(
            f"@{function.sym_name.data} takes {len(args)} inputs, {len(values)} were given"
        )
    return [np.asarray(v) for v in values]


SUPPORTED: frozenset[type[Operation]] = frozenset(
    {*ONNX_OPS.values(), *FUSED_OPS, *LAYOUT_OPS, NoneOp, YieldOp, func.ReturnOp, func.CallOp}
)
"""The op classes `run_reference` can run."""


def _check_supported(region: Region) -> None:
    """Fails before running anything, so an unsupported op deep in a model costs nothing."""
    for op in region.walk():
        if type(op) not in SUPPORTED:
            raise UnsupportedOpError(f"{_describe(op)} in the reference interpreter", op_where(op))


def run_reference(
    module: ModuleOp,
    inputs: Sequence[npt.ArrayLike] | Mapping[str, npt.ArrayLike],
    function: str | None = None,
) -> list[np.ndarray]:
    """Runs `function` (default: the module's only function, or @main) on numpy inputs,
    given in argument order or by ONNX input name, and returns its results.

    Raises UnsupportedOpError naming the op and its ONNX node when an op cannot run.
    """
    interpreter = Interpreter(module)
    interpreter.register_implementations(FuncFunctions())
    interpreter.register_implementations(GraphFunctions())
    callee = _function(module, function)
    _check_supported(callee.body)
    results = interpreter.call_op(callee, tuple(_arguments(callee, inputs)))
    return [np.asarray(r) for r in results]
