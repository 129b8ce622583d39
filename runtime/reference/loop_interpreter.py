"""Reference semantics of loop-level IR: runs a kernel-ABI function on numpy arrays.

    outputs = run_loop(module, [x])          # weights from the blob, arena from the plan

The function is translated once into Python source (one line per op, `for` per `loop.for`)
and executed, which is far faster than walking the IR per op and keeps the semantics in a
readable table. Floats keep their width (numpy scalars), integers are Python ints wrapped
to their width, `index` is unbounded. Slow compared to native code: for small shapes.

Handled: `func.func` / `func.return`, every `loop` op (`loop.if` / `loop.while` as Python
`if` / `while`), `arith`, `math`, `vector.broadcast`, `vector.reduction <add>`.
The arena and the output buffers start filled with 0xFF bytes (NaN for floats), so a read
of memory nobody wrote shows up in the results.
"""

from __future__ import annotations

import math as pymath
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    AnyFloat,
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    StringAttr,
    VectorType,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue

from lamina.dialects import loop_control, loop_shape
from lamina.dialects.weights import WEIGHTS, numpy_dtype
from lamina.errors import LaminaError, UnsupportedOpError


def _width(t: Attribute) -> int | None:
    """Bit width of an integer (or vector of integers) type; None for index and floats."""
    if isinstance(t, VectorType):
        t = cast(VectorType[Attribute], t).element_type
    return t.bitwidth if isinstance(t, IntegerType) else None


def _wrap(value: Any, bits: int | None) -> Any:
    if bits is None or isinstance(value, np.ndarray):
        return value
    value = int(value) & ((1 << bits) - 1)
    return value - (1 << bits) if bits > 1 and value >> (bits - 1) else value


def _unsigned(value: Any, bits: int | None) -> Any:
    return int(value) & ((1 << (bits or 64)) - 1)


def _divsi(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _carve(arena: np.ndarray, offset: int, dtype: np.dtype, shape: tuple[int, ...]):
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    return arena[offset : offset + size].view(dtype).reshape(shape)


def _bytes(buffer: np.ndarray) -> np.ndarray:
    """The bytes of a dense buffer, aliasing it."""
    return buffer.reshape(-1).view(np.uint8)


def _poisoned(dtype: np.dtype, shape: Sequence[int]) -> np.ndarray:
    count = int(np.prod(shape, dtype=np.int64))
    return np.full(count * dtype.itemsize, 0xFF, np.uint8).view(dtype).reshape(shape)


def _round(x: Any) -> Any:
    """math.round: halves away from zero."""
    return np.copysign(np.floor(np.abs(x) + 0.5), x).astype(np.asarray(x).dtype)[()]


def _erf(x: Any) -> Any:
    dtype = np.asarray(x).dtype
    return np.vectorize(pymath.erf, otypes=[dtype])(x)[()]


def _cmpf(predicate: int, a: Any, b: Any) -> Any:
    unordered = np.isnan(a) | np.isnan(b)
    ordered = [
        False, a == b, a > b, a >= b, a < b, a <= b, a != b, True,
    ]  # fmt: skip
    if predicate < 8:
        return ordered[predicate] & ~unordered if predicate else ordered[0]
    if predicate == 15:
        return True
    if predicate == 14:
        return unordered
    return unordered | [a == b, a > b, a >= b, a < b, a <= b, a != b][predicate - 8]


_CMPI = ["==", "!=", "<", "<=", ">", ">=", "<", "<=", ">", ">="]

# op name -> Python expression over the operand names (a, b, c) and helpers
_FLOAT_BINARY = {
    "arith.addf": "{a} + {b}",
    "arith.subf": "{a} - {b}",
    "arith.mulf": "{a} * {b}",
    "arith.divf": "{a} / {b}",
    "arith.maximumf": "np.maximum({a}, {b})",
    "arith.minimumf": "np.minimum({a}, {b})",
    "arith.maxnumf": "np.fmax({a}, {b})",
    "arith.minnumf": "np.fmin({a}, {b})",
    "math.powf": "np.power({a}, {b})",
    "math.atan2": "np.arctan2({a}, {b})",
    "math.copysign": "np.copysign({a}, {b})",
}
_INT_BINARY = {
    "arith.addi": "_wrap({a} + {b}, {w})",
    "arith.subi": "_wrap({a} - {b}, {w})",
    "arith.muli": "_wrap({a} * {b}, {w})",
    "arith.divsi": "_wrap(_divsi({a}, {b}), {w})",
    "arith.remsi": "({a} - {b} * _divsi({a}, {b}))",
    "arith.divui": "(_unsigned({a}, {w}) // _unsigned({b}, {w}))",
    "arith.remui": "(_unsigned({a}, {w}) % _unsigned({b}, {w}))",
    "arith.floordivsi": "({a} // {b})",
    "arith.ceildivsi": "(-(-{a} // {b}))",
    "arith.maxsi": "max({a}, {b})",
    "arith.minsi": "min({a}, {b})",
    "arith.maxui": "_wrap(max(_unsigned({a}, {w}), _unsigned({b}, {w})), {w})",
    "arith.minui": "_wrap(min(_unsigned({a}, {w}), _unsigned({b}, {w})), {w})",
    "arith.andi": "({a} & {b})",
    "arith.ori": "({a} | {b})",
    "arith.xori": "({a} ^ {b})",
    "arith.shli": "_wrap({a} << {b}, {w})",
    "arith.shrsi": "({a} >> {b})",
    "arith.shrui": "_wrap(_unsigned({a}, {w}) >> {b}, {w})",
}
_UNARY = {
    "arith.negf": "-{a}",
    "math.absf": "np.abs({a})",
    "math.absi": "abs({a})",
    "math.exp": "np.exp({a})",
    "math.exp2": "np.exp2({a})",
    "math.expm1": "np.expm1({a})",
    "math.log": "np.log({a})",
    "math.log2": "np.log2({a})",
    "math.log10": "np.log10({a})",
    "math.log1p": "np.log1p({a})",
    "math.sqrt": "np.sqrt({a})",
    "math.rsqrt": "(1 / np.sqrt({a}))",
    "math.tanh": "np.tanh({a})",
    "math.sin": "np.sin({a})",
    "math.cos": "np.cos({a})",
    "math.tan": "np.tan({a})",
    "math.asin": "np.arcsin({a})",
    "math.acos": "np.arccos({a})",
    "math.atan": "np.arctan({a})",
    "math.sinh": "np.sinh({a})",
    "math.cosh": "np.cosh({a})",
    "math.asinh": "np.arcsinh({a})",
    "math.acosh": "np.arccosh({a})",
    "math.atanh": "np.arctanh({a})",
    "math.floor": "np.floor({a})",
    "math.ceil": "np.ceil({a})",
    "math.trunc": "np.trunc({a})",
    "math.round": "_round({a})",
    "math.roundeven": "np.round({a})",
    "math.erf": "_erf({a})",
}


class _Translator:
    """Python source for one function; SSA values become local variables."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[SSAValue, str] = {}
        self.env: dict[str, object] = {
            "np": np,
            "_wrap": _wrap,
            "_unsigned": _unsigned,
            "_divsi": _divsi,
            "_carve": _carve,
            "_poisoned": _poisoned,
            "_bytes": _bytes,
            "_round": _round,
            "_erf": _erf,
            "_cmpf": _cmpf,
        }

    def name(self, value: SSAValue) -> str:
        if value not in self.names:
            self.names[value] = f"v{len(self.names)}"
        return self.names[value]

    def const(self, value: object) -> str:
        key = f"k{len(self.env)}"
        self.env[key] = value
        return key

    def line(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)

    def function(self, function: func.FuncOp) -> str:
        args = ", ".join(self.name(a) for a in function.args)
        self.line(0, f"def kernel({args}):")
        self.block(function.body.block, 1)
        return "\n".join(self.lines) + "\n"

    def block(self, block: Block, depth: int) -> None:
        start = len(self.lines)
        for op in block.ops:
            self.op(op, depth)
        if len(self.lines) == start:
            self.line(depth, "pass")

    def op(self, op: Operation, depth: int) -> None:
        from lamina.dialects import loop

        n = self.name
        operands = [n(v) for v in op.operands]
        result = n(op.results[0]) if op.results else ""
        if isinstance(op, loop.DeallocOp | loop_control.EndOp):
            return
        if isinstance(op, loop_control.IfOp):
            self.line(depth, f"if {operands[0]}:")
            self.block(op.then_region.block, depth + 1)
            self.line(depth, "else:")
            self.block(op.else_region.block, depth + 1)
        elif isinstance(op, loop_control.WhileOp):
            self.line(depth, "while True:")
            self.block(op.before.block, depth + 1)
            self.block(op.body.block, depth + 1)
        elif isinstance(op, loop_control.ConditionOp):
            self.line(depth, f"if not {operands[0]}:")
            self.line(depth + 1, "break")
        elif isinstance(op, func.ReturnOp):
            self.line(depth, "return")
        elif isinstance(op, loop.ForOp):
            self.for_loop(op, depth)
        elif isinstance(op, loop.YieldOp):
            parent = op.parent_block()
            assert parent is not None
            if op.arguments:
                targets = ", ".join(n(a) for a in parent.args[1:])
                self.line(depth, f"{targets}, = {', '.join(operands)},")
        elif isinstance(op, loop.LoadOp | loop.StoreOp):
            value, buffer, *indices = ([""] if isinstance(op, loop.LoadOp) else []) + operands
            at = f"{buffer}[{', '.join(indices)}{',' if len(indices) == 1 else ''}]"
            if not indices:
                at = f"{buffer}[()]"
            if isinstance(op, loop.LoadOp):
                load = at if isinstance(op.result.type, AnyFloat) else f"int({at})"
                self.line(depth, f"{result} = {load}")
            else:
                self.line(depth, f"{at} = {value}")
        elif isinstance(op, loop.VLoadOp | loop.VStoreOp):
            is_load = isinstance(op, loop.VLoadOp)
            vector = op.result if is_load else op.value
            lanes = cast(VectorType[Attribute], vector.type).get_shape()[0]
            buffer, *indices = operands if is_load else operands[1:]
            last = f"{indices[-1]}:{indices[-1]} + {lanes}"
            at = f"{buffer}[{', '.join([*indices[:-1], last])}]"
            if is_load:
                self.line(depth, f"{result} = {at}.copy()")
            else:
                self.line(depth, f"{at} = {operands[0]}")
        else:
            self.line(depth, f"{result} = {self.expression(op, operands)}")

    def for_loop(self, op: Operation, depth: int) -> None:
        from lamina.dialects import loop

        assert isinstance(op, loop.ForOp)
        n = self.name
        carried = op.body.block.args[1:]
        for arg, init in zip(carried, op.iter_args, strict=True):
            self.line(depth, f"{n(arg)} = {n(init)}")
        iv = n(op.induction_var)
        self.line(depth, f"for {iv} in range({n(op.lb)}, {n(op.ub)}, {n(op.step)}):")
        self.block(op.body.block, depth + 1)
        for result, arg in zip(op.res, carried, strict=True):
            self.line(depth, f"{n(result)} = {n(arg)}")

    def expression(self, op: Operation, operands: list[str]) -> str:
        from lamina.dialects import loop

        name = op.name
        rtype = op.results[0].type if op.results else None
        a, b, c = ([*operands, "", "", ""])[:3]
        if isinstance(op, loop.CarveOp | loop.AllocOp | loop.ArenaOp | loop.ViewOp):
            buffer_type = cast(MemRefType[Attribute], op.results[0].type)
            dtype = self.const(numpy_dtype(buffer_type.element_type))
            shape = buffer_type.get_shape()
            if isinstance(op, loop.CarveOp):
                return f"_carve({a}, {op.offset.value.data}, {dtype}, {shape})"
            if isinstance(op, loop.ViewOp):
                return f"_carve(_bytes({a}), {op.offset.value.data}, {dtype}, {shape})"
            sizes = iter(operands)
            dims = [next(sizes) if d == DYNAMIC_INDEX else str(d) for d in shape]
            return f"_poisoned({dtype}, ({', '.join(dims)}{',' if len(dims) == 1 else ''}))"
        if isinstance(op, loop_shape.DimOp):
            return f"{a}.shape[{op.axis.value.data}]"
        if name == "arith.constant":
            return self.const(self.constant(op))
        if name in _FLOAT_BINARY:
            return _FLOAT_BINARY[name].format(a=a, b=b)
        if name in _INT_BINARY:
            return _INT_BINARY[name].format(a=a, b=b, w=_width(op.operands[0].type))
        if name in _UNARY:
            return _UNARY[name].format(a=a)
        if name == "math.fma":
            return f"({a} * {b} + {c})"
        if name == "arith.select":
            if isinstance(op.operands[0].type, VectorType):
                return f"np.where({a}, {b}, {c})"
            return f"({b} if {a} else {c})"
        if name == "arith.cmpi":
            predicate = cast(IntegerAttr, op.properties["predicate"]).value.data
            width = _width(op.operands[0].type)
            if predicate >= 6:
                a, b = f"_unsigned({a}, {width})", f"_unsigned({b}, {width})"
            return f"({a} {_CMPI[predicate]} {b})"
        if name == "arith.cmpf":
            predicate = cast(IntegerAttr, op.properties["predicate"]).value.data
            return f"_cmpf({predicate}, {a}, {b})"
        if name == "vector.broadcast":
            vector = cast(VectorType[Attribute], rtype)
            dtype = self.const(numpy_dtype(vector.element_type))
            return f"np.full({vector.get_shape()}, {a}, {dtype})"
        if name == "vector.reduction" and str(op.properties["kind"]) == "#vector.kind<add>":
            return f"({a}.sum() + {b})" if b else f"{a}.sum()"
        assert rtype is not None
        return self.cast(op, a, rtype)

    def constant(self, op: Operation) -> object:
        value = op.properties["value"]
        t = op.results[0].type
        if isinstance(value, FloatAttr):
            return numpy_dtype(t).type(cast(FloatAttr, value).value.data)
        if isinstance(value, IntegerAttr):
            return _wrap(cast(IntegerAttr, value).value.data, _width(t))
        if isinstance(value, DenseIntOrFPElementsAttr) and isinstance(t, VectorType):
            vector = cast(VectorType[Attribute], t)
            dense = cast(DenseIntOrFPElementsAttr, value)
            array = np.frombuffer(dense.data.data, numpy_dtype(vector.element_type))
            return np.broadcast_to(array, vector.get_shape()).copy()
        raise UnsupportedOpError(f"arith.constant {value} in the loop interpreter")

    def cast(self, op: Operation, a: str, rtype: Attribute) -> str:
        name = op.name
        element = rtype.element_type if isinstance(rtype, VectorType) else rtype
        source = op.operands[0].type if op.operands else None
        if name in ("arith.extf", "arith.truncf", "arith.sitofp"):
            dtype = self.const(numpy_dtype(cast(Attribute, element)))
            return f"{dtype}.type({a})"
        if name == "arith.uitofp":
            dtype = self.const(numpy_dtype(cast(Attribute, element)))
            return f"{dtype}.type(_unsigned({a}, {_width(cast(Attribute, source))}))"
        if name in ("arith.fptosi", "arith.fptoui"):
            return f"_wrap(int({a}), {_width(rtype)})"
        if name in ("arith.extsi", "arith.trunci", "arith.index_cast"):
            return f"_wrap({a}, {_width(rtype)})"
        if name == "arith.extui":
            return f"_unsigned({a}, {_width(cast(Attribute, source))})"
        raise UnsupportedOpError(f"'{name}' in the loop interpreter")


def compile_function(function: func.FuncOp) -> Callable[..., None]:
    """A Python function that runs `function` on numpy buffers (one per argument)."""
    translator = _Translator()
    source = translator.function(function)
    namespace = dict(translator.env)
    exec(compile(source, f"<loop @{function.sym_name.data}>", "exec"), namespace)
    return cast(Callable[..., None], namespace["kernel"])


def _kernel_function(module: ModuleOp, name: str | None) -> func.FuncOp:
    functions = [op for op in module.walk() if isinstance(op, func.FuncOp)]
    for function in functions:
        if name is None and "lamina.abi" in function.attributes:
            return function
        if function.sym_name.data == name:
            return function
    raise LaminaError(f"no kernel-ABI function {'@' + name if name else ''} in the module")


def run_loop(
    module: ModuleOp,
    inputs: Sequence[np.ndarray],
    function: str | None = None,
    output_shapes: Sequence[Sequence[int]] | None = None,
) -> list[np.ndarray]:
    """Run a kernel-ABI function `(weights, arena, inputs..., outputs...)` on `inputs`;
    returns its outputs. Weights come from the function's `lamina.weights` blob, the arena
    size from `lamina.arena_size` (0 before planning: buffers are `loop.alloc`s). Outputs
    with dynamic dims need their `output_shapes`."""
    kernel = _kernel_function(module, function)
    types = [cast(MemRefType[Attribute], t) for t in kernel.function_type.inputs.data]
    if len(types) < 2 + len(inputs):
        raise LaminaError(f"@{kernel.sym_name.data} takes {len(types) - 2} buffers")
    key = kernel.attributes.get("lamina.weights")
    size = types[0].get_shape()[0]
    weights = WEIGHTS.kernel_blob(key.data if isinstance(key, StringAttr) else None, size)
    arena = _poisoned(np.dtype(np.uint8), types[1].get_shape())
    buffers: list[np.ndarray] = []
    for value, t in zip(inputs, types[2:], strict=False):
        dtype = numpy_dtype(t.element_type)
        array = np.array(value, dtype)  # C order; ascontiguousarray would make 0-d 1-d
        if not _fits(array.shape, t.get_shape()):
            raise LaminaError(f"input of shape {array.shape} for a buffer of type {t}")
        buffers.append(array.copy())
    output_types = types[2 + len(inputs) :]
    shapes = output_shapes or [t.get_shape() for t in output_types]
    outputs: list[np.ndarray] = []
    for t, shape in zip(output_types, shapes, strict=True):
        if not _fits(tuple(shape), t.get_shape()):
            raise LaminaError(f"output shape {tuple(shape)} for a buffer of type {t}")
        outputs.append(_poisoned(numpy_dtype(t.element_type), shape))
    with np.errstate(all="ignore"):
        compile_function(kernel)(weights, arena, *buffers, *outputs)
    return outputs


def _fits(shape: tuple[int, ...], buffer: tuple[int, ...]) -> bool:
    """Whether an array of `shape` fits a buffer type's shape (`?` takes any size)."""
    return len(shape) == len(buffer) and all(
        b in (DYNAMIC_INDEX, n) for n, b in zip(shape, buffer, strict=True)
    )


__all__ = ["compile_function", "run_loop"]
