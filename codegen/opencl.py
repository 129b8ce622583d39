"""OpenCL C from the `ocl` level (after `convert-loop-to-ocl`).

`OpenCLRenderer(device).render_kernel(kernel)` prints one `ocl.kernel` as a `__kernel`
function; `render_module` prints every kernel of a module followed by the launch schedule
as comments. Target differences are data from the device description (`index_type`: the C
type of `index`, `int` unless a device needs 64-bit indices), not subclasses.

| ocl level | OpenCL C |
|---|---|
| `__global`/`__constant` buffer argument `%x: memref<4x8xf32>` | `__global uchar* x_base, ulong x_offset` + `__global float* x = (__global float*)(x_base + x_offset);` |
| `__local` buffer argument | `__local float* x` (sized by the runtime) |
| `loop.for` (+ iter_args, `unroll N`) | `for (int i = lb; i < ub; i += step)`, carried values as variables, `#pragma unroll N` |
| `loop.load/store %x[%i, %j]` | `x[i * 8 + j]` (row-major) |
| `loop.vload/vstore` of `vector<4xf32>` | `vload4(0, x + ...)` / `vstore4(v, 0, x + ...)` |
| `ocl.global_id 0` ... | `(int)get_global_id(0)` ... |
| `ocl.local_alloc` | `__local float t[256];` |
| `ocl.barrier` | `barrier(CLK_LOCAL_MEM_FENCE);` |
| `ocl.dot_char4 %acc, %a, %b` (`dot_uchar4`: through `as_uchar16`) | `acc + (int4)(dot(a.s0123, b.s0123), ...)` under `#ifdef __opencl_c_integer_dot_product_input_4x8bit`, else `acc + convert_int4(a.s048c) * convert_int4(b.s048c) + ...` |
| `vector.reduction <add>, %v, %acc` | `acc + v.s0 + v.s1 + ...` |
| `vector.shuffle %a, %b [0, 2, 4, 6]` of `vector<4xf32>` | `(float4)(a.s0, a.s2, b.s0, b.s2)` |
| `arith.*`, `math.*` | C operators and OpenCL built-ins (`fmax`, `exp`, `pow`, ...) |

Each SSA value is one `const` local; an op with no rule raises `UnsupportedOpError`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import IO, ClassVar

from xdsl.context import Context
from xdsl.dialects import arith, func, vector
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    MemRefType,
    ModuleOp,
    VectorType,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.utils.hints import isa
from xdsl.utils.target import Target

from lamina.dialects import loop
from lamina.dialects.isa import ocl
from lamina.errors import UnsupportedError, UnsupportedOpError
from lamina.names import unused_name
from lamina.rewrites.loop.float_formats import is_storage_float, storage_integer
from lamina.targets import Device, load_device

_BINARY = {
    "arith.addi": "+", "arith.subi": "-", "arith.muli": "*", "arith.divsi": "/",
    "arith.remsi": "%", "arith.andi": "&", "arith.ori": "|", "arith.xori": "^",
    "arith.shli": "<<", "arith.shrsi": ">>", "arith.addf": "+", "arith.subf": "-",
    "arith.mulf": "*", "arith.divf": "/",
}  # fmt: skip
_UNSIGNED_BINARY = {"arith.divui": "/", "arith.remui": "%", "arith.shrui": ">>"}
_CALLS = {
    "arith.maxsi": "max", "arith.minsi": "min", "arith.maxui": "max", "arith.minui": "min",
    "arith.maximumf": "fmax", "arith.minimumf": "fmin", "arith.maxnumf": "fmax",
    "arith.minnumf": "fmin", "math.absf": "fabs", "math.sqrt": "sqrt", "math.rsqrt": "rsqrt",
    "math.exp": "exp", "math.exp2": "exp2", "math.log": "log", "math.log2": "log2",
    "math.log10": "log10", "math.sin": "sin", "math.cos": "cos", "math.tan": "tan",
    "math.tanh": "tanh", "math.erf": "erf", "math.floor": "floor", "math.ceil": "ceil",
    "math.round": "round", "math.trunc": "trunc", "math.powf": "pow", "math.fma": "fma",
    "math.atan": "atan", "math.sinh": "sinh", "math.cosh": "cosh", "math.absi": "abs",
    "math.roundeven": "rint", "vector.fma": "fma",
}  # fmt: skip
_CASTS = (
    "arith.sitofp", "arith.fptosi", "arith.fptoui", "arith.extf", "arith.truncf",
    "arith.extsi", "arith.trunci", "arith.index_cast",
)  # fmt: skip
_DOT_FEATURE = "__opencl_c_integer_dot_product_input_4x8bit"
"""Defined by OpenCL C compilers whose device has `dot(char4, char4)` (cl_khr_integer_dot_product)."""
_LANE_BYTES = ("s0123", "s4567", "s89ab", "scdef")
"""The `char4` of each `int4` lane in a `char16` (for `dot`)."""
# cmpi predicates eq ne slt sle sgt sge ult ule ugt uge
_CMPI = ("==", "!=", "<", "<=", ">", ">=", "<", "<=", ">", ">=")
# cmpf ordered predicates 1-6 (oeq ogt oge olt ole one) and their unordered twins 8-13
_CMPF = {1: "==", 2: ">", 3: ">=", 4: "<", 5: "<=", 6: "!="}


class OpenCLRenderer:
    """Prints `ocl.kernel`s as OpenCL C for one device description."""

    def __init__(self, device: Device | None = None) -> None:
        extra = device.extra if device is not None else {}
        self.index_type = str(extra.get("index_type", "int"))

    def render_module(self, module: ModuleOp) -> str:
        """Every kernel of the module, then each function's launches as comments."""
        kernels = [op for op in module.ops if isinstance(op, ocl.KernelOp)]
        if not kernels:
            raise UnsupportedError("OpenCL output of a module without ocl.kernel ops")
        parts = [self.render_kernel(k) for k in kernels]
        for function in (op for op in module.ops if isinstance(op, func.FuncOp)):
            parts.append(f"// @{function.sym_name.data}:\n" + launch_schedule(function))
        return "\n".join(parts)

    def render_kernel(self, kernel: ocl.KernelOp, name: str | None = None) -> str:
        """The `__kernel` function of `kernel` (named `name` when given)."""
        state = _KernelState(self)
        params = [state.param(arg) for arg in kernel.body.block.args]
        sizes = kernel.work_group_size
        head = "__kernel "
        if sizes is not None:
            head += f"__attribute__((reqd_work_group_size({', '.join(map(str, sizes))}))) "
        head += f"void {name or kernel.sym_name.data}({', '.join(params)}) {{\n"
        state.block(kernel.body.block, 1)
        text = head + "".join(state.preamble) + "".join(state.lines) + "}\n"
        if "double" in text:
            text = "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n" + text
        return text

    def c_type(self, t: Attribute, op: Operation | None = None) -> str:
        """The OpenCL C type of a scalar or vector type."""
        if isinstance(t, IndexType):
            return self.index_type
        if is_storage_float(t):  # bf16 / float8 / float4: their bits (loop-expand-float-formats)
            return self.c_type(storage_integer(t), op)
        if isinstance(t, IntegerType):
            names = {1: "bool", 8: "char", 16: "short", 32: "int", 64: "long"}
            if t.width.data in names:
                return names[t.width.data]
        scalars = {Float16Type: "half", Float32Type: "float", Float64Type: "double"}
        if type(t) in scalars:
            return scalars[type(t)]
        if isa(t, VectorType[Attribute]) and t.get_num_dims() == 1:
            lanes = t.get_shape()[0]
            if lanes in ocl.VECTOR_LANES:
                return f"{self.c_type(t.element_type, op)}{lanes}"
        raise UnsupportedOpError(f"type {t} in OpenCL codegen", op=op)


def launch_schedule(function: func.FuncOp) -> str:
    """One comment line per `ocl.launch` of a host function, in order."""
    lines: list[str] = []
    for launch in function.body.block.ops:
        if isinstance(launch, ocl.LaunchOp):
            bindings = ", ".join(
                f"%{b.name_hint or 'arg'}+{o}"
                for b, o in zip(launch.buffers, launch.byte_offsets, strict=True)
            )
            local = f" local {list(launch.local_sizes)}" if launch.local_sizes else ""
            lines.append(
                f"// launch {launch.kernel.string_value()} global "
                f"{list(launch.global_sizes)}{local} ({bindings})\n"
            )
    return "".join(lines)


class _KernelState:
    """Names and emitted lines while printing one kernel."""

    def __init__(self, renderer: OpenCLRenderer) -> None:
        self.r = renderer
        self.names: dict[SSAValue, str] = {}
        self.taken: set[str] = set()
        self.preamble: list[str] = []
        self.lines: list[str] = []

    def fresh(self, value: SSAValue, prefix: str = "v") -> str:
        hint = re.sub(r"\W", "_", value.name_hint or "")
        name = self.unused(hint if hint and not hint[0].isdigit() else prefix)
        self.names[value] = name
        return name

    def unused(self, base: str) -> str:
        """`base`, or `base` with the first number that makes it a new name; now taken."""
        return unused_name(base, self.taken, separator="")

    def param(self, arg: SSAValue) -> str:
        name = self.fresh(arg, "p")
        if not isa(arg.type, MemRefType[Attribute]):
            return f"{self.r.c_type(arg.type)} {name}"
        element = self.r.c_type(arg.type.element_type)
        space = ocl.address_space_of(arg.type)
        if space == ocl.AddressSpace.LOCAL:
            return f"__local {element}* {name}"
        qualifier = f"__{space}"
        self.preamble.append(
            f"  {qualifier} {element}* {name} = ({qualifier} {element}*)"
            f"({name}_base + {name}_offset);\n"
        )
        return f"{qualifier} uchar* {name}_base, ulong {name}_offset"

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("  " * depth + text + "\n")

    def block(self, block: Block, depth: int) -> None:
        for op in block.ops:
            if not isinstance(op, ocl.ReturnOp | loop.YieldOp):
                self.op(op, depth)

    def __getitem__(self, value: SSAValue) -> str:
        return self.names[value]

    def define(self, op: Operation, depth: int, expr: str) -> None:
        result = op.results[0]
        name = self.fresh(result)
        self.emit(depth, f"const {self.r.c_type(result.type, op)} {name} = {expr};")

    def op(self, op: Operation, depth: int) -> None:
        o = [self.names.get(v, "?") for v in op.operands]
        if op.name in _BINARY:
            self.define(op, depth, f"{o[0]} {_BINARY[op.name]} {o[1]}")
        elif op.name in _UNSIGNED_BINARY:
            t = self.r.c_type(op.results[0].type, op)
            u = f"u{t}" if not t.startswith("u") else t
            sign = _UNSIGNED_BINARY[op.name]
            self.define(op, depth, f"({t})(({u}){o[0]} {sign} ({u}){o[1]})")
        elif op.name in _CALLS:
            self.define(op, depth, f"{_CALLS[op.name]}({', '.join(o)})")
        elif op.name in _CASTS:
            self.define(op, depth, f"({self.r.c_type(op.results[0].type, op)}){o[0]}")
        elif op.name == "arith.extui":
            source = self.r.c_type(op.operands[0].type, op)
            unsigned = source if source == "bool" else f"u{source}"
            self.define(op, depth, f"({self.r.c_type(op.results[0].type, op)})({unsigned}){o[0]}")
        elif op.name == "arith.bitcast":
            self.define(op, depth, self._bitcast(op, o[0]))
        elif op.name == "arith.uitofp":
            source = self.r.c_type(op.operands[0].type, op)
            self.define(op, depth, f"(float)(u{source}){o[0]}")
        elif op.name == "arith.ceildivsi":
            a, b = o
            self.define(op, depth, f"{a} / {b} + ({a} % {b} != 0 && ({a} < 0) == ({b} < 0))")
        elif op.name == "arith.floordivsi":
            a, b = o
            self.define(op, depth, f"{a} / {b} - ({a} % {b} != 0 && ({a} < 0) != ({b} < 0))")
        elif op.name == "arith.negf":
            self.define(op, depth, f"-{o[0]}")
        elif op.name == "arith.select":
            self.define(op, depth, f"{o[0]} ? {o[1]} : {o[2]}")
        elif op.name == "vector.broadcast":
            self.define(op, depth, f"({self.r.c_type(op.results[0].type, op)})({o[0]})")
        else:
            self._special(op, depth, o)

    def _bitcast(self, op: Operation, operand: str) -> str:
        """Same C type (a storage float and its bits): the value; else `as_<type>`."""
        source = self.r.c_type(op.operands[0].type, op)
        target = self.r.c_type(op.results[0].type, op)
        return operand if source == target else f"as_{target}({operand})"

    def _special(self, op: Operation, depth: int, o: list[str]) -> None:
        if isinstance(op, arith.ConstantOp):
            self.define(op, depth, self.literal(op.value, op))
        elif isinstance(op, arith.CmpiOp):
            predicate = op.predicate.value.data
            a, b = o
            if predicate >= 6:
                t = self.r.c_type(op.lhs.type, op)
                a, b = f"(u{t}){a}", f"(u{t}){b}"
            self.define(op, depth, f"{a} {_CMPI[predicate]} {b}")
        elif isinstance(op, arith.CmpfOp):
            self.define(op, depth, _cmpf(op.predicate.value.data, o[0], o[1], op))
        elif isinstance(op, loop.ForOp):
            self.for_loop(op, depth)
        elif isinstance(op, loop.LoadOp):
            self.define(op, depth, f"{o[0]}[{self.linear(op.buffer, op.indices)}]")
        elif isinstance(op, loop.StoreOp):
            self.emit(depth, f"{o[1]}[{self.linear(op.buffer, op.indices)}] = {o[0]};")
        elif isinstance(op, loop.VLoadOp):
            lanes = op.result.type.get_shape()[0]  # pyright: ignore[reportAttributeAccessIssue]
            at = self.linear(op.buffer, op.indices)
            self.define(op, depth, f"vload{lanes}(0, {o[0]} + {at})")
        elif isinstance(op, loop.VStoreOp):
            lanes = op.value.type.get_shape()[0]  # pyright: ignore[reportAttributeAccessIssue]
            at = self.linear(op.buffer, op.indices)
            self.emit(depth, f"vstore{lanes}({o[0]}, 0, {o[1]} + {at});")
        elif isinstance(op, ocl.WorkItemOp):
            self.define(op, depth, f"({self.r.index_type}){op.FUNCTION}({op.dim})")
        elif isinstance(op, ocl.LocalAllocOp):
            self.local_alloc(op, depth)
        elif isinstance(op, ocl.Dot4Op):
            self.dot4(op, depth, *o)
        elif isinstance(op, vector.ReductionOp) and op.kind.data == vector.CombiningKindFlag.ADD:
            lanes = op.vector.type.get_shape()[0]  # pyright: ignore[reportAttributeAccessIssue]
            terms = [f"{o[0]}.s{lane:x}" for lane in range(lanes)]
            self.define(op, depth, " + ".join(o[1:] + terms))
        elif isinstance(op, vector.ShuffleOp):
            lanes = op.v1.type.get_shape()[0]  # pyright: ignore[reportAttributeAccessIssue]
            picks = [int(m) for m in op.mask.get_values()]
            parts = [f"{o[0]}.s{m:x}" if m < lanes else f"{o[1]}.s{m - lanes:x}" for m in picks]
            vector_type = self.r.c_type(op.result.type, op)
            self.define(op, depth, f"({vector_type})({', '.join(parts)})")
        elif isinstance(op, ocl.BarrierOp):
            fence = "CLK_LOCAL_MEM_FENCE"
            if op.global_fence is not None:
                fence += " | CLK_GLOBAL_MEM_FENCE"
            self.emit(depth, f"barrier({fence});")
        else:
            raise UnsupportedOpError(f"{op.name} in OpenCL codegen", op=op)

    def dot4(self, op: ocl.Dot4Op, depth: int, acc: str, a: str, b: str) -> None:
        """`d = acc + <four char4 dot products>`: `dot` where the device's compiler defines
        `_DOT_FEATURE`, else widened to i32 and summed in pairs twice (even + odd lanes:
        x86's `pmaddwd` form, as fast on PoCL as the auto-vectorized scalar loop; per-lane
        `char4` swizzles were 11x slower there)."""
        if isinstance(op, ocl.DotUchar4Op):
            a, b = f"as_uchar16({a})", f"as_uchar16({b})"
        dots = ", ".join(f"dot({a}.{lane}, {b}.{lane})" for lane in _LANE_BYTES)
        dots = f"as_int4((uint4)({dots}))" if isinstance(op, ocl.DotUchar4Op) else f"(int4)({dots})"
        name = self.fresh(op.result)
        products, pairs = self.unused(f"{name}_products"), self.unused(f"{name}_pairs")
        self.lines.append(f"#ifdef {_DOT_FEATURE}\n")
        self.emit(depth, f"const int4 {name} = {acc} + {dots};")
        self.lines.append("#else\n")
        self.emit(depth, f"const int16 {products} = convert_int16({a}) * convert_int16({b});")
        self.emit(depth, f"const int8 {pairs} = {products}.even + {products}.odd;")
        self.emit(depth, f"const int4 {name} = {acc} + {pairs}.even + {pairs}.odd;")
        self.lines.append("#endif\n")

    def literal(self, value: Attribute, op: Operation) -> str:
        if isinstance(value, IntegerAttr):
            if isinstance(value.type, IntegerType) and value.type.width.data == 1:
                return "true" if value.value.data else "false"
            return str(value.value.data)
        if isinstance(value, FloatAttr):
            x = float(value.value.data)
            if math.isnan(x):
                return "NAN"
            if math.isinf(x):
                return "INFINITY" if x > 0 else "-INFINITY"
            suffix = "f" if isinstance(value.type, Float32Type) else ""
            return f"{x!r}{suffix}"
        if isinstance(value, DenseIntOrFPElementsAttr) and value.is_splat():
            splat, element = value.get_values()[0], value.get_element_type()
            scalar = (
                IntegerAttr(int(splat), element)
                if isinstance(element, IntegerType)
                else FloatAttr(float(splat), element)  # pyright: ignore
            )
            return f"({self.r.c_type(value.type, op)})({self.literal(scalar, op)})"
        raise UnsupportedOpError(f"constant {value} in OpenCL codegen", op=op)

    def linear(self, buffer: SSAValue, indices: tuple[SSAValue, ...] | list[SSAValue]) -> str:
        """The row-major element offset of `indices` in `buffer`."""
        shape = buffer.type.get_shape()  # pyright: ignore[reportAttributeAccessIssue]
        expr = ""
        for extent, index in zip(shape, indices, strict=True):
            expr = self[index] if not expr else f"({expr}) * {extent} + {self[index]}"
        return expr or "0"

    def for_loop(self, op: loop.ForOp, depth: int) -> None:
        index = self.fresh(op.induction_var, "i")
        carried = list(op.body.block.args[1:])
        for arg, init, result in zip(carried, op.iter_args, op.res, strict=True):
            name = self.fresh(arg, "acc")
            self.names[result] = name
            self.emit(depth, f"{self.r.c_type(arg.type, op)} {name} = {self[init]};")
        if op.unroll is not None:
            self.emit(depth, f"#pragma unroll {op.unroll.value.data}")
        t = self.r.index_type
        lb, ub, step = self[op.lb], self[op.ub], self[op.step]
        self.emit(depth, f"for ({t} {index} = {lb}; {index} < {ub}; {index} += {step}) {{")
        self.block(op.body.block, depth + 1)
        yielded = op.body.block.last_op
        if carried and isinstance(yielded, loop.YieldOp):
            values = [self[v] for v in yielded.arguments]
            temps = [f"{self[a]}_next" for a in carried]
            for arg, temp, value in zip(carried, temps, values, strict=True):
                self.emit(depth + 1, f"const {self.r.c_type(arg.type, op)} {temp} = {value};")
            for arg, temp in zip(carried, temps, strict=True):
                self.emit(depth + 1, f"{self[arg]} = {temp};")
        self.emit(depth, "}")

    def local_alloc(self, op: ocl.LocalAllocOp, depth: int) -> None:
        buffer_type = op.buffer.type
        assert isa(buffer_type, MemRefType[Attribute])
        name = self.fresh(op.buffer, "tile")
        count = math.prod(buffer_type.get_shape())
        element = self.r.c_type(buffer_type.element_type, op)
        self.emit(depth, f"__local {element} {name}[{count}];")


def _cmpf(predicate: int, a: str, b: str, op: Operation) -> str:
    if predicate in _CMPF:
        return f"{a} {_CMPF[predicate]} {b}"
    if predicate - 7 in _CMPF:  # unordered: also true when either is NaN
        return f"isnan({a}) || isnan({b}) || {a} {_CMPF[predicate - 7]} {b}"
    if predicate == 7:
        return f"!isnan({a}) && !isnan({b})"
    if predicate == 14:
        return f"isnan({a}) || isnan({b})"
    return "true" if predicate == 15 else "false"


@dataclass(frozen=True)
class OpenCLTarget(Target):
    """`-t opencl`: prints the OpenCL C of a module after `convert-loop-to-ocl`."""

    name: ClassVar[str] = "opencl"

    device: str = "opencl"

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        output.write(OpenCLRenderer(load_device(self.device)).render_module(module))
