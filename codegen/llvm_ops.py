"""LLVM IR for the compute ops of loop-level IR: `arith`, `math`, `vector` and `loop.byte_dot`.

Each table maps an op name to the LLVM instruction or intrinsic it becomes; the fast-math
flags of an op (`fastmath<contract>`) carry over to its instruction. Math functions LLVM
has no intrinsic for (erf, expm1, log1p, ...) become libm calls, lane by lane on vectors
(f32 exp and erf are inline arithmetic instead: codegen/llvm_math.py);
`codegen/llvm_target.py` makes sure the JIT resolves them.

    arith.addf %a, %b fastmath<contract> : f32   ->  fadd contract float %a, %b
    math.sqrt %x : vector<16xf32>                 ->  call <16 x float> @llvm.sqrt.v16f32(...)
    vector.reduction <add>, %v : ... into f32     ->  call reassoc @llvm.vector.reduce.fadd...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import llvmlite.ir as ir
from xdsl.dialects import arith, vector
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    IntegerType,
    VectorType,
)
from xdsl.ir import Attribute, Operation
from xdsl.utils.hints import isa

from lamina.codegen.llvm_core import LLValue, i1, i64, llvm_type, type_suffix
from lamina.codegen.llvm_math import emit_inline_math
from lamina.errors import UnsupportedOpError
from lamina.rewrites.loop.float_formats import is_storage_float

if TYPE_CHECKING:
    from lamina.codegen.llvm_core import FunctionEmitter

_ALL_FAST = {"reassoc", "nnan", "ninf", "nsz", "arcp", "contract", "afn"}


def fast_flags(op: Operation) -> list[str]:
    """LLVM fast-math flags of an op's `fastmath` property (none when it has none)."""
    attr = op.properties.get("fastmath")
    if not isinstance(attr, arith.FastMathFlagsAttr):
        return []
    flags = {str(f.value) for f in attr.data}
    return ["fast"] if flags >= _ALL_FAST else sorted(flags)


def emit_compute_op(e: FunctionEmitter, op: Operation) -> bool:
    """Emit an arith/math/vector op; False when the op is none of those this file knows."""
    name = op.name
    if name in _STORAGE_FLOAT_CHECKED and _computes_on_storage_float(op):
        raise UnsupportedOpError(
            f"{name} on bf16 / float8 / float4 values (run loop-expand-float-formats first)",
            op=op,
        )
    if emit_inline_math(e, op):
        return True
    if name in _INT_BINARY:
        a, b = (e.get(v) for v in op.operands)
        flags = _overflow_flags(op)
        e.set(op.results[0], getattr(e.builder, _INT_BINARY[name])(a, b, flags=flags))
    elif name in _FLOAT_BINARY:
        a, b = (e.get(v) for v in op.operands)
        e.set(op.results[0], getattr(e.builder, _FLOAT_BINARY[name])(a, b, flags=fast_flags(op)))
    elif name in _INTRINSIC:
        args = [e.get(v) for v in op.operands]
        e.set(op.results[0], call_intrinsic(e, _INTRINSIC[name], args, fast_flags(op)))
    elif name in _CASTS:
        source = e.get(op.operands[0])
        target = llvm_type(op.results[0].type, op)
        if source.type == target:  # a storage float and its bits: one LLVM integer type
            e.set(op.results[0], source)
            return True
        if name == "arith.truncf" and _is_f64_to_f16(source.type, target):
            # via f32: LLVM lowers f64 -> f16 to a libcall (__truncdfhf2) a JIT cannot resolve
            source = e.builder.fptrunc(source, _with_scalar(target, ir.FloatType()))
        e.set(op.results[0], getattr(e.builder, _CASTS[name])(source, target))
    elif name in _LIBM:
        args = [e.get(v) for v in op.operands]
        e.set(op.results[0], _call_libm(e, _LIBM[name], args, fast_flags(op)))
    elif name in _SPECIAL:
        _SPECIAL[name](e, op)
    else:
        return False
    return True


def _computes_on_storage_float(op: Operation) -> bool:
    return any(is_storage_float(v.type) for v in (*op.operands, *op.results))


def _scalar(t: ir.Type) -> ir.Type:
    return t.element if isinstance(t, ir.VectorType) else t


def _with_scalar(t: ir.Type, scalar: ir.Type) -> ir.Type:
    return ir.VectorType(scalar, t.count) if isinstance(t, ir.VectorType) else scalar


def _is_f64_to_f16(source: ir.Type, target: ir.Type) -> bool:
    return isinstance(_scalar(source), ir.DoubleType) and isinstance(_scalar(target), ir.HalfType)


def _overflow_flags(op: Operation) -> list[str]:
    attr = op.properties.get("overflowFlags")
    if attr is None:
        return []
    return sorted(str(getattr(f, "value", f)) for f in getattr(attr, "data", ()))


_INT_BINARY = {
    "arith.addi": "add",
    "arith.subi": "sub",
    "arith.muli": "mul",
    "arith.divsi": "sdiv",
    "arith.divui": "udiv",
    "arith.remsi": "srem",
    "arith.remui": "urem",
    "arith.andi": "and_",
    "arith.ori": "or_",
    "arith.xori": "xor",
    "arith.shli": "shl",
    "arith.shrsi": "ashr",
    "arith.shrui": "lshr",
}

_FLOAT_BINARY = {
    "arith.addf": "fadd",
    "arith.subf": "fsub",
    "arith.mulf": "fmul",
    "arith.divf": "fdiv",
    "arith.remf": "frem",
}

# op -> overloaded LLVM intrinsic (`llvm.<name>.<type suffix>`)
_INTRINSIC = {
    "arith.maxsi": "smax",
    "arith.minsi": "smin",
    "arith.maxui": "umax",
    "arith.minui": "umin",
    "arith.maximumf": "maximum",
    "arith.minimumf": "minimum",
    "arith.maxnumf": "maxnum",
    "arith.minnumf": "minnum",
    "math.absf": "fabs",
    "math.sqrt": "sqrt",
    "math.exp": "exp",
    "math.exp2": "exp2",
    "math.log": "log",
    "math.log2": "log2",
    "math.log10": "log10",
    "math.sin": "sin",
    "math.cos": "cos",
    "math.tan": "tan",
    "math.asin": "asin",
    "math.acos": "acos",
    "math.atan": "atan",
    "math.atan2": "atan2",
    "math.sinh": "sinh",
    "math.cosh": "cosh",
    "math.tanh": "tanh",
    "math.floor": "floor",
    "math.ceil": "ceil",
    "math.trunc": "trunc",
    "math.round": "round",
    "math.roundeven": "roundeven",
    "math.fma": "fma",
    "math.powf": "pow",
    "math.copysign": "copysign",
    "math.ctpop": "ctpop",
    "vector.fma": "fma",
}

# op -> libm function (the f32 name gets an `f` suffix)
_LIBM = {
    "math.erf": "erf",
    "math.expm1": "expm1",
    "math.log1p": "log1p",
    "math.cbrt": "cbrt",
    "math.asinh": "asinh",
    "math.acosh": "acosh",
    "math.atanh": "atanh",
}

_CASTS = {
    "arith.sitofp": "sitofp",
    "arith.uitofp": "uitofp",
    "arith.fptosi": "fptosi",
    "arith.fptoui": "fptoui",
    "arith.extf": "fpext",
    "arith.truncf": "fptrunc",
    "arith.extsi": "sext",
    "arith.extui": "zext",
    "arith.trunci": "trunc",
    "arith.bitcast": "bitcast",
    "vector.bitcast": "bitcast",
}

_STORAGE_FLOAT_CHECKED = frozenset(
    {*_CASTS, *_FLOAT_BINARY, *_LIBM, "arith.cmpf", "arith.negf", "math.fma"} - {"arith.bitcast"}
)
"""Ops whose LLVM form would compute on a storage float's bits as if they were a number."""


def call_intrinsic(
    e: FunctionEmitter,
    name: str,
    args: list[LLValue],
    flags: list[str],
    result: ir.Type | None = None,
) -> LLValue:
    """`llvm.<name>.<suffix of the first argument>`, declared on first use."""
    t = args[0].type
    fn = e.declare(f"llvm.{name}.{type_suffix(t)}", result or t, [a.type for a in args])
    return e.builder.call(fn, args, fastmath=flags)


def _call_libm(e: FunctionEmitter, name: str, args: list[LLValue], flags: list[str]) -> LLValue:
    """A libm call; on vectors one call per lane (LLVM has no vector libm here)."""
    t = args[0].type
    scalar = t.element if isinstance(t, ir.VectorType) else t
    symbol = name + ("f" if isinstance(scalar, ir.FloatType) else "")
    fn = e.declare(symbol, scalar, [scalar] * len(args))
    if not isinstance(t, ir.VectorType):
        return e.builder.call(fn, args, fastmath=flags)
    out: LLValue = ir.Constant(t, ir.Undefined)
    for lane in range(t.count):
        index = ir.Constant(ir.IntType(32), lane)
        lanes = [e.builder.extract_element(a, index) for a in args]
        out = e.builder.insert_element(out, e.builder.call(fn, lanes, fastmath=flags), index)
    return out


# ---------------------------------------------------------------------------------------------
# Ops that need more than one instruction


def _constant(e: FunctionEmitter, op: Operation) -> None:
    assert isinstance(op, arith.ConstantOp)
    value = op.value
    t = llvm_type(op.result.type, op)
    e.set(op.result, constant(value, t, op))


def constant(value: Attribute, t: ir.Type, op: Operation) -> ir.Constant:
    if isinstance(value, IntegerAttr):
        raw = value.value.data
        return ir.Constant(t, raw & ((1 << t.width) - 1) if isinstance(t, ir.IntType) else raw)
    if isinstance(value, FloatAttr):
        return ir.Constant(t, value.value.data)
    if isinstance(value, DenseIntOrFPElementsAttr) and isinstance(t, ir.VectorType):
        values = list(value.get_values())
        if len(values) == 1:
            values *= t.count
        element = t.element
        if isinstance(element, ir.IntType):
            mask = (1 << element.width) - 1
            return ir.Constant(t, [ir.Constant(element, int(v) & mask) for v in values])
        return ir.Constant(t, [ir.Constant(element, float(v)) for v in values])
    raise UnsupportedOpError(f"constant {value} in LLVM codegen", op=op)


def _negf(e: FunctionEmitter, op: Operation) -> None:
    e.set(op.results[0], e.builder.fneg(e.get(op.operands[0]), flags=fast_flags(op)))


def _rsqrt(e: FunctionEmitter, op: Operation) -> None:
    x = e.get(op.operands[0])
    flags = fast_flags(op)
    root = call_intrinsic(e, "sqrt", [x], flags)
    e.set(op.results[0], e.builder.fdiv(_splat_constant(x.type, 1.0), root, flags=flags))


def _absi(e: FunctionEmitter, op: Operation) -> None:
    x = e.get(op.operands[0])
    e.set(op.results[0], call_intrinsic(e, "abs", [x, ir.Constant(i1, 0)], []))


def _count_zeros(e: FunctionEmitter, op: Operation) -> None:
    x = e.get(op.operands[0])
    name = "ctlz" if op.name == "math.ctlz" else "cttz"
    e.set(op.results[0], call_intrinsic(e, name, [x, ir.Constant(i1, 0)], []))


def _splat_constant(t: ir.Type, value: float) -> ir.Constant:
    if isinstance(t, ir.VectorType):
        return ir.Constant(t, [ir.Constant(t.element, value)] * t.count)
    return ir.Constant(t, value)


_CMPI = {0: "==", 1: "!=", 2: "<", 3: "<=", 4: ">", 5: ">=", 6: "<", 7: "<=", 8: ">", 9: ">="}
_CMPF = {
    1: ("ordered", "=="),
    2: ("ordered", ">"),
    3: ("ordered", ">="),
    4: ("ordered", "<"),
    5: ("ordered", "<="),
    6: ("ordered", "!="),
    7: ("ordered", "ord"),
    8: ("unordered", "=="),
    9: ("unordered", ">"),
    10: ("unordered", ">="),
    11: ("unordered", "<"),
    12: ("unordered", "<="),
    13: ("unordered", "!="),
    14: ("unordered", "uno"),
}


def _cmpi(e: FunctionEmitter, op: Operation) -> None:
    assert isinstance(op, arith.CmpiOp)
    predicate = op.predicate.value.data
    a, b = e.get(op.lhs), e.get(op.rhs)
    compare = e.builder.icmp_unsigned if predicate >= 6 else e.builder.icmp_signed
    e.set(op.result, compare(_CMPI[predicate], a, b))


def _cmpf(e: FunctionEmitter, op: Operation) -> None:
    assert isinstance(op, arith.CmpfOp)
    predicate = op.predicate.value.data
    a, b = e.get(op.lhs), e.get(op.rhs)
    if predicate in (0, 15):  # false, true
        t = llvm_type(op.result.type, op)
        e.set(
            op.result,
            _splat_constant(t, predicate == 15)
            if isinstance(t, ir.VectorType)
            else ir.Constant(i1, predicate == 15),
        )
        return
    kind, cmpop = _CMPF[predicate]
    compare = e.builder.fcmp_ordered if kind == "ordered" else e.builder.fcmp_unordered
    e.set(op.result, compare(cmpop, a, b, flags=fast_flags(op)))


def _select(e: FunctionEmitter, op: Operation) -> None:
    cond, a, b = (e.get(v) for v in op.operands)
    e.set(op.results[0], e.builder.select(cond, a, b))


def _index_cast(e: FunctionEmitter, op: Operation) -> None:
    source = e.get(op.operands[0])
    target = llvm_type(op.results[0].type, op)
    width_of = lambda t: (t.element if isinstance(t, ir.VectorType) else t).width  # noqa: E731
    src, dst = width_of(source.type), width_of(target)
    if src == dst:
        e.values[op.results[0]] = source
    elif src > dst:
        e.set(op.results[0], e.builder.trunc(source, target))
    elif op.name == "arith.index_castui" or _is_unsigned_index_source(op):
        e.set(op.results[0], e.builder.zext(source, target))
    else:
        e.set(op.results[0], e.builder.sext(source, target))


def _is_unsigned_index_source(op: Operation) -> bool:
    source = op.operands[0].type
    return isinstance(source, IntegerType) and source.width.data == 1


def _int_division(e: FunctionEmitter, op: Operation) -> None:
    """floordivsi / ceildivsi / ceildivui: the truncating quotient, corrected by one when
    the remainder is non-zero and the exact quotient lies on the other side."""
    b = e.builder
    x, y = e.get(op.operands[0]), e.get(op.operands[1])
    t = x.type
    zero = ir.Constant(t, 0)
    if op.name == "arith.ceildivui":
        q = b.udiv(x, y)
        bump = b.icmp_unsigned("!=", b.urem(x, y), zero)
        e.set(op.results[0], b.add(q, b.zext(bump, t)))
        return
    q, r = b.sdiv(x, y), b.srem(x, y)
    inexact = b.icmp_signed("!=", r, zero)
    same_sign = b.icmp_signed("==", b.icmp_signed("<", r, zero), b.icmp_signed("<", y, zero))
    if op.name == "arith.floordivsi":
        e.set(op.results[0], b.sub(q, b.zext(b.and_(inexact, b.not_(same_sign)), t)))
    else:
        e.set(op.results[0], b.add(q, b.zext(b.and_(inexact, same_sign), t)))


def _broadcast(e: FunctionEmitter, op: Operation) -> None:
    assert isinstance(op, vector.BroadcastOp)
    source = e.get(op.source)
    t = llvm_type(op.vector.type, op)
    if source.type == t:
        e.values[op.vector] = source
        return
    if isinstance(source.type, ir.VectorType) or not isinstance(t, ir.VectorType):
        raise UnsupportedOpError("vector.broadcast of a vector to a different shape", op=op)
    undef = ir.Constant(t, ir.Undefined)
    single = e.builder.insert_element(undef, source, ir.Constant(ir.IntType(32), 0))
    mask = ir.Constant(ir.VectorType(ir.IntType(32), t.count), [0] * t.count)
    e.set(op.vector, e.builder.shuffle_vector(single, undef, mask))


def _position(e: FunctionEmitter, op: Operation, static: Any, dynamic: Any) -> LLValue:
    positions = static.get_values()
    if len(positions) != 1:
        raise UnsupportedOpError(f"'{op.name}' on a vector of rank other than 1", op=op)
    if positions[0] < 0:  # the dynamic marker
        return e.get(dynamic[0])
    return ir.Constant(i64, positions[0])


def _extract(e: FunctionEmitter, op: Operation) -> None:
    assert isinstance(op, vector.ExtractOp)
    index = _position(e, op, op.static_position, op.dynamic_position)
    e.set(op.result, e.builder.extract_element(e.get(op.vector), index))


def _insert(e: FunctionEmitter, op: Operation) -> None:
    assert isinstance(op, vector.InsertOp)
    index = _position(e, op, op.static_position, op.dynamic_position)
    e.set(op.result, e.builder.insert_element(e.get(op.dest), e.get(op.source), index))


def _vector_memory(e: FunctionEmitter, op: Operation) -> None:
    if isinstance(op, vector.LoadOp):
        address, _, align = e.element_pointer(op.base, op.indices, op)
        e.set(op.result, e.load(address, llvm_type(op.result.type, op), align))
    else:
        assert isinstance(op, vector.StoreOp)
        address, _, align = e.element_pointer(op.base, op.indices, op)
        e.store(e.get(op.vector), address, align)


# kind -> (int intrinsic, float intrinsic); add/mul on floats take a start value
_REDUCTIONS = {
    "add": ("add", "fadd"),
    "mul": ("mul", "fmul"),
    "minsi": ("smin", None),
    "maxsi": ("smax", None),
    "minui": ("umin", None),
    "maxui": ("umax", None),
    "and": ("and", None),
    "or": ("or", None),
    "xor": ("xor", None),
    "minnumf": (None, "fmin"),
    "maxnumf": (None, "fmax"),
    "minimumf": (None, "fminimum"),
    "maximumf": (None, "fmaximum"),
}
_SCALAR_OF_REDUCTION: dict[str, str] = {
    "fmin": "minnum",
    "fmax": "maxnum",
    "fminimum": "minimum",
    "fmaximum": "maximum",
}
_COMBINE = {"add": ("add", "fadd"), "mul": ("mul", "fmul")}


def _reduction(e: FunctionEmitter, op: Operation) -> None:
    """`vector.reduction`: float add/mul reassociate (a tree, not a chain): ML reductions
    do not depend on the order and a chain would serialise on the FP adder latency."""
    assert isinstance(op, vector.ReductionOp)
    kind = str(op.kind.data)
    v = e.get(op.vector)
    t = v.type
    assert isinstance(t, ir.VectorType)
    is_float = not isinstance(t.element, ir.IntType)
    name = _REDUCTIONS[kind][1 if is_float else 0]
    if name is None:
        raise UnsupportedOpError(f"vector.reduction <{kind}> on {t}", op=op)
    flags = sorted(set(fast_flags(op)) | {"reassoc"}) if is_float else []
    if flags and "fast" in flags:
        flags = ["fast"]
    fn_name = f"llvm.vector.reduce.{name}.{type_suffix(t)}"
    acc = e.get(op.acc) if op.acc is not None else None
    if name in ("fadd", "fmul"):
        start = acc if acc is not None else ir.Constant(t.element, -0.0 if name == "fadd" else 1.0)
        fn = e.declare(fn_name, t.element, [t.element, t])
        e.set(op.dest, e.builder.call(fn, [start, v], fastmath=flags))
        return
    fn = e.declare(fn_name, t.element, [t])
    result = e.builder.call(fn, [v], fastmath=flags)
    if acc is not None:
        if kind in _COMBINE:
            result = getattr(e.builder, _COMBINE[kind][0])(result, acc)
        elif kind in ("and", "or", "xor"):
            result = getattr(e.builder, kind + "_" if kind != "xor" else kind)(result, acc)
        else:
            scalar_name = _SCALAR_OF_REDUCTION.get(str(name), str(name))
            result = call_intrinsic(e, scalar_name, [result, acc], flags)
    e.set(op.dest, result)


def _shuffle(e: FunctionEmitter, op: Operation) -> None:
    assert isinstance(op, vector.ShuffleOp)
    mask = [int(m) for m in op.mask.get_values()]
    t = ir.VectorType(ir.IntType(32), len(mask))
    e.set(op.result, e.builder.shuffle_vector(e.get(op.v1), e.get(op.v2), ir.Constant(t, mask)))


def _byte_dot(e: FunctionEmitter, op: Operation) -> None:
    """`loop.byte_dot` without a dot-product instruction: the bytes widened to i32 (lhs
    unsigned, rhs signed), multiplied, and each lane's four products added to acc."""
    acc = e.get(op.operands[0])
    wide = ir.VectorType(ir.IntType(32), acc.type.count * 4)
    lhs, rhs = (e.get(v) for v in op.operands[1:])
    products = e.builder.mul(e.builder.zext(lhs, wide), e.builder.sext(rhs, wide))
    lanes = range(0, wide.count, 4)
    for t in range(4):
        mask = ir.Constant(ir.VectorType(ir.IntType(32), len(lanes)), [i + t for i in lanes])
        acc = e.builder.add(acc, e.builder.shuffle_vector(products, products, mask))
    e.set(op.results[0], acc)


_SPECIAL: dict[str, Callable[[FunctionEmitter, Any], None]] = {
    "arith.constant": _constant,
    "arith.negf": _negf,
    "arith.cmpi": _cmpi,
    "arith.cmpf": _cmpf,
    "arith.select": _select,
    "arith.index_cast": _index_cast,
    "arith.index_castui": _index_cast,
    "arith.floordivsi": _int_division,
    "arith.ceildivsi": _int_division,
    "arith.ceildivui": _int_division,
    "math.rsqrt": _rsqrt,
    "math.absi": _absi,
    "math.ctlz": _count_zeros,
    "math.cttz": _count_zeros,
    "vector.broadcast": _broadcast,
    "vector.extract": _extract,
    "vector.insert": _insert,
    "vector.load": _vector_memory,
    "vector.store": _vector_memory,
    "vector.reduction": _reduction,
    "vector.shuffle": _shuffle,
    "loop.byte_dot": _byte_dot,
}

__all__ = ["IndexType", "VectorType", "emit_compute_op", "fast_flags", "isa"]
