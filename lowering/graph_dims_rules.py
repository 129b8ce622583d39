"""The rules of symbolic shape inference (graph_dims.py): per ONNX op type, the dims of
its results from its operands' dims (`SHAPE_RULES`), and the values of the small integer
tensors that shape arithmetic computes (`VALUE_RULES`: Shape, Gather, Concat, ...)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
from xdsl.dialects.builtin import (
    NoneType,
    TensorType,
)
from xdsl.ir import Operation, SSAValue

from lamina.dialects import graph
from lamina.lowering import symbolic_dims as sd
from lamina.lowering.graph_dims import Dims, SymbolicShapes
from lamina.lowering.symbolic_dims import Size

# --- shape rules ---------------------------------------------------------------------------

Attrs = dict[str, object]
ShapeRule = Callable[[Operation, Attrs, SymbolicShapes], Sequence[Dims | None]]


def _where(op: Operation) -> str:
    """How a check names the op it comes from: its ONNX node, else its name."""
    location = op.location
    node = getattr(getattr(location, "desc", None), "data", None)
    return f"node '{node}' ({op.name})" if isinstance(node, str) else f"'{op.name}'"


def _broadcast(
    shapes: SymbolicShapes, operands: Sequence[SSAValue], op: Operation | None = None
) -> Dims:
    dims = [shapes.of(v) for v in operands if isinstance(v.type, TensorType)]
    rank = max(len(d) for d in dims)
    out: list[Size | None] = []
    for axis in range(rank):
        chosen: Size | None = 1
        for d in dims:
            offset = axis - (rank - len(d))
            if offset < 0:
                continue
            size = d[offset]
            if size == 1:
                continue
            if chosen == 1 or chosen is None:
                chosen = size
            elif size is not None and size != chosen:
                if isinstance(size, int) and isinstance(chosen, int):
                    raise ValueError("sizes do not broadcast")
                shapes.require_equal(chosen, size, _where(op) if op else "a broadcast")
                if isinstance(size, int):
                    chosen = size  # a static size tells more than a symbol
        out.append(chosen)
    return tuple(out)


def _same(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> Sequence[Dims | None]:
    return [shapes.of(op.operands[0])] * len(op.results)


def _elementwise(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> Sequence[Dims | None]:
    return [_broadcast(shapes, op.operands, op)]


def _matmul(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> Sequence[Dims | None]:
    a, b = (shapes.of(v) for v in op.operands[:2])
    squeeze_a, squeeze_b = len(a) == 1, len(b) == 1
    a = (1, *a) if squeeze_a else a
    b = (*b, 1) if squeeze_b else b
    batch = _broadcast_dims(a[:-2], b[:-2])
    out = (*batch, *(() if squeeze_a else (a[-2],)), *(() if squeeze_b else (b[-1],)))
    return [out]


def _broadcast_dims(a: Dims, b: Dims) -> Dims:
    rank = max(len(a), len(b))
    a = (1,) * (rank - len(a)) + a
    b = (1,) * (rank - len(b)) + b
    return tuple(y if x == 1 else x for x, y in zip(a, b, strict=True))


def _axis(attrs: Attrs, rank: int, name: str = "axis", default: int = 0) -> int:
    return int(cast(int, attrs.get(name, default))) % rank


def _gather(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> Sequence[Dims | None]:
    data, indices = shapes.of(op.operands[0]), shapes.of(op.operands[1])
    axis = _axis(attrs, len(data))
    return [(*data[:axis], *indices, *data[axis + 1 :])]


def _product(dims: Sequence[Size | None]) -> Size | None:
    if any(d is None for d in dims):
        return None
    return sd.mul(*cast(Sequence[Size], dims))


def _reshape(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> Sequence[Dims | None]:
    data = shapes.of(op.operands[0])
    target = shapes.value(op.operands[1])
    if target is None:
        return [None]
    allow_zero = bool(attrs.get("allowzero", 0))
    out: list[Size | None] = [
        data[i] if t == 0 and not allow_zero else (None if t == -1 else t)
        for i, t in enumerate(target)
    ]
    if -1 in target:
        known = _product([d for i, d in enumerate(out) if target[i] != -1])
        total = _product(data)
        if known is None or total is None:
            return [None]
        out[target.index(-1)] = sd.floordiv(total, known)
    return [tuple(out)]


def _axes_operand(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> list[int] | None:
    if "axes" in attrs and attrs["axes"] is not None:
        return [int(a) for a in cast(Sequence[int], attrs["axes"])]
    if len(op.operands) > 1 and isinstance(op.operands[1].type, TensorType):
        values = shapes.value(op.operands[1])
        return None if values is None else [int(cast(int, v)) for v in values]
    return None


def _unsqueeze(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> Sequence[Dims | None]:
    data = list(shapes.of(op.operands[0]))
    axes = _axes_operand(op, attrs, shapes)
    if axes is None:
        return [None]
    rank = len(data) + len(axes)
    for axis in sorted(a % rank for a in axes):
        data.insert(axis, 1)
    return [tuple(data)]


def _squeeze(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> Sequence[Dims | None]:
    data = shapes.of(op.operands[0])
    axes = _axes_operand(op, attrs, shapes)
    if axes is None:
        return [tuple(d for d in data if d != 1)]
    dropped = {a % len(data) for a in axes}
    return [tuple(d for i, d in enumerate(data) if i not in dropped)]


def _transpose(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> Sequence[Dims | None]:
    data = shapes.of(op.operands[0])
    perm = attrs.get("perm") or list(reversed(range(len(data))))
    return [tuple(data[int(p)] for p in cast(Sequence[int], perm))]


def _concat(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> Sequence[Dims | None]:
    parts = [shapes.of(v) for v in op.operands]
    axis = _axis(attrs, len(parts[0]))
    out = list(parts[0])
    sizes = [p[axis] for p in parts]
    out[axis] = None if any(s is None for s in sizes) else sd.add(*cast(list[Size], sizes))
    for p in parts[1:]:
        for i, d in enumerate(p):
            if i == axis or d is None:
                continue
            current = out[i]
            if current is None:
                out[i] = d
            else:
                shapes.require_equal(current, d, _where(op))
    return [tuple(out)]


def _slice_size(size: Size, start: Size, end: Size, step: int) -> Size:
    """Elements of range(start, end, step) over a dim of `size`, ONNX's clamping (the
    bounds are non-negative constants or sizes here)."""
    if step < 0:
        raise ValueError("negative steps are resolved on static dims only")
    start, end = sd.minimum(start, size), sd.minimum(end, size)
    return sd.maximum(sd.ceildiv(sd.sub(end, start), step), 0)


def _bound(value: Size, size: Size) -> Size:
    """A Slice bound: a negative constant counts from the end, a huge one is the end."""
    if isinstance(value, int):
        if value < 0:
            return sd.maximum(sd.add(size, value), 0)
        if value >= 1 << 31:
            return size
    return value


def slice_axes_steps(
    op: Operation, shapes: SymbolicShapes, rank: int, count: int
) -> tuple[list[int], list[int]]:
    """A Slice's axes (normalized) and steps for its `count` starts: its constant operands,
    or ONNX's defaults (the first dims, step 1) where they are absent."""
    axes_value = shapes.value(op.operands[3]) if len(op.operands) > 3 else None
    steps_value = shapes.value(op.operands[4]) if len(op.operands) > 4 else None
    axes = [int(cast(int, a)) % rank for a in axes_value] if axes_value else list(range(count))
    steps = [int(cast(int, s)) for s in steps_value] if steps_value else [1] * count
    return axes, steps


def _slice(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> Sequence[Dims | None]:
    data = list(shapes.of(op.operands[0]))
    starts, ends = (shapes.value(v) for v in op.operands[1:3])
    if starts is None or ends is None:
        return [None]
    axes, steps = slice_axes_steps(op, shapes, len(data), len(starts))
    for axis, start, end, step in zip(axes, starts, ends, steps, strict=True):
        size = data[axis]
        if size is None:
            return [None]
        data[axis] = _slice_size(size, _bound(start, size), _bound(end, size), step)
    return [tuple(data)]


def _window(size: Size, kernel: int, stride: int, dilation: int, pads: int, pad: str) -> Size:
    if pad in ("SAME_UPPER", "SAME_LOWER"):
        return sd.ceildiv(size, stride)
    extent = dilation * (kernel - 1) + 1
    return sd.add(sd.floordiv(sd.add(size, pads - extent), stride), 1)


def _conv_like(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> Sequence[Dims | None]:
    x = shapes.of(op.operands[0])
    spatial = len(x) - 2
    if getattr(type(op), "onnx_op_type") == "Conv":  # noqa: B009
        w = shapes.of(op.operands[1])
        kernel = [int(cast(int, k)) for k in w[2:]]
        channels: Size | None = w[0]
    else:
        kernel = [int(k) for k in cast(Sequence[int], attrs["kernel_shape"])]
        channels = x[1]
    if attrs.get("ceil_mode"):
        raise ValueError("ceil_mode is resolved on static dims only")
    strides = cast(Sequence[int], attrs.get("strides") or [1] * spatial)
    dilations = cast(Sequence[int], attrs.get("dilations") or [1] * spatial)
    pads = cast(Sequence[int], attrs.get("pads") or [0] * (2 * spatial))
    pad = str(attrs.get("auto_pad", "NOTSET"))
    out: list[Size | None] = [x[0], channels]
    for i in range(spatial):
        size = x[2 + i]
        if size is None:
            return [None]
        both = int(pads[i]) + int(pads[i + spatial])
        out.append(_window(size, kernel[i], int(strides[i]), int(dilations[i]), both, pad))
    return [tuple(out)] * len(op.results)


def _global_pool(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> Sequence[Dims | None]:
    x = shapes.of(op.operands[0])
    return [(x[0], x[1], *([1] * (len(x) - 2)))]


def _resize(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> Sequence[Dims | None]:
    x = shapes.of(op.operands[0])
    scales_value = op.operands[2] if len(op.operands) > 2 else None
    owner = scales_value.owner if scales_value is not None else None
    if not isinstance(owner, graph.ConstantOp) or owner.is_elided():
        return [None]
    scales = owner.to_array().reshape(-1)
    if len(scales) != len(x):
        return [None]
    out: list[Size | None] = []
    for size, scale in zip(x, scales, strict=True):
        if size is None or float(scale) != int(scale):
            return [None]  # fractional scales of dynamic dims: floor(size * scale)
        out.append(sd.mul(size, int(scale)))
    return [tuple(out)]


def _reduce(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> Sequence[Dims | None]:
    x = shapes.of(op.operands[0])
    axes = _axes_operand(op, attrs, shapes)
    keep = bool(attrs.get("keepdims", 1))
    reduced = set(range(len(x))) if not axes else {a % len(x) for a in axes}
    out = (
        [1 if i in reduced else d for i, d in enumerate(x)]
        if keep
        else [d for i, d in enumerate(x) if i not in reduced]
    )
    return [tuple(out)]


def _split(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> Sequence[Dims | None]:
    x = shapes.of(op.operands[0])
    axis = _axis(attrs, len(x))
    sizes = shapes.value(op.operands[1]) if len(op.operands) > 1 else None
    if sizes is None:
        if isinstance(x[axis], int) or x[axis] is None:
            return [None] * len(op.results)
        sizes = tuple(sd.floordiv(cast(Size, x[axis]), len(op.results)) for _ in op.results)
    return [(*x[:axis], s, *x[axis + 1 :]) for s in sizes]


def _expand(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> Sequence[Dims | None]:
    target = shapes.value(op.operands[1])
    if target is None:
        return [None]
    return [_broadcast_dims(shapes.of(op.operands[0]), target)]


def _from_value(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> Sequence[Dims | None]:
    target = shapes.value(op.operands[0])
    return [None if target is None else tuple(target)]


def _number(value: SSAValue, shapes: SymbolicShapes) -> tuple[Size, ...] | None:
    """A size value, or a constant with integral values (a float Range bound)."""
    known = shapes.value(value)
    owner = value.owner
    if known is None and isinstance(owner, graph.ConstantOp) and not owner.is_elided():
        array = owner.to_array().reshape(-1)
        if np.all(np.mod(array, 1) == 0):
            known = tuple(int(v) for v in array)
    return known


def _range(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> Sequence[Dims | None]:
    start, limit, delta = (_number(v, shapes) for v in op.operands)
    if start is None or limit is None or delta is None or not isinstance(delta[0], int):
        return [None]
    return [(sd.maximum(sd.ceildiv(sd.sub(limit[0], start[0]), delta[0]), 0),)]


def _flatten(op: Operation, attrs: Attrs, shapes: SymbolicShapes) -> Sequence[Dims | None]:
    x = shapes.of(op.operands[0])
    axis = _axis(attrs, len(x) + 1, default=1)
    return [(_product(x[:axis]), _product(x[axis:]))]


_UNARY = [
    "Abs",
    "Acos",
    "Asin",
    "Atan",
    "BatchNormalization",
    "Cast",
    "CastLike",
    "Ceil",
    "Celu",
    "Clip",
    "Cos",
    "Cosh",
    "Dropout",
    "Elu",
    "Erf",
    "Exp",
    "Floor",
    "Gelu",
    "HardSigmoid",
    "HardSwish",
    "Identity",
    "InstanceNormalization",
    "IsInf",
    "IsNaN",
    "LayerNormalization",
    "LeakyRelu",
    "Log",
    "LogSoftmax",
    "LpNormalization",
    "Mish",
    "Neg",
    "Not",
    "Reciprocal",
    "Relu",
    "Round",
    "Selu",
    "Sigmoid",
    "Sign",
    "Sin",
    "Sinh",
    "Softmax",
    "Softplus",
    "Softsign",
    "Sqrt",
    "Tan",
    "Tanh",
    "ThresholdedRelu",
    "Trilu",
    "CumSum",
    "RMSNormalization",
    "Hardmax",
]
_BROADCAST = [
    "Add",
    "And",
    "BitShift",
    "BitwiseAnd",
    "BitwiseOr",
    "BitwiseXor",
    "Div",
    "Equal",
    "Greater",
    "GreaterOrEqual",
    "Less",
    "LessOrEqual",
    "Max",
    "Mean",
    "Min",
    "Mod",
    "Mul",
    "Or",
    "PRelu",
    "Pow",
    "Sub",
    "Sum",
    "Where",
    "Xor",
]

SHAPE_RULES: dict[str, ShapeRule] = {
    **dict.fromkeys(_UNARY, _same),
    **dict.fromkeys(_BROADCAST, _elementwise),
    "MatMul": _matmul,
    "Gather": _gather,
    "Reshape": _reshape,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Transpose": _transpose,
    "Concat": _concat,
    "Slice": _slice,
    "Conv": _conv_like,
    "MaxPool": _conv_like,
    "AveragePool": _conv_like,
    "GlobalAveragePool": _global_pool,
    "GlobalMaxPool": _global_pool,
    "Resize": _resize,
    "Split": _split,
    "Expand": _expand,
    "ConstantOfShape": _from_value,
    "Range": _range,
    "Flatten": _flatten,
    **dict.fromkeys(
        ["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2"], _reduce
    ),
}


# --- value rules (shape arithmetic) --------------------------------------------------------

ValueRule = Callable[[Operation, SymbolicShapes], tuple[Size, ...] | None]


def _shape_value(op: Operation, shapes: SymbolicShapes) -> tuple[Size, ...] | None:
    dims = shapes.of(op.operands[0])
    attrs = graph.onnx_attributes(op)
    rank = len(dims)
    start = int(cast(int, attrs.get("start", 0)))
    end = attrs.get("end")
    stop = rank if end is None else int(cast(int, end))
    start, stop = (min(max(s + rank if s < 0 else s, 0), rank) for s in (start, stop))
    picked = dims[start:stop]
    return None if any(d is None for d in picked) else cast(tuple[Size, ...], picked)


def _gather_value(op: Operation, shapes: SymbolicShapes) -> tuple[Size, ...] | None:
    data, indices = shapes.value(op.operands[0]), shapes.value(op.operands[1])
    if data is None or indices is None:
        return None
    return tuple(data[int(cast(int, i))] for i in indices)


def _passthrough_value(op: Operation, shapes: SymbolicShapes) -> tuple[Size, ...] | None:
    """The value of the operand, unchanged (a Cast of a size to float is the same number,
    which a Range bound may be)."""
    return shapes.value(op.operands[0])


def _concat_value(op: Operation, shapes: SymbolicShapes) -> tuple[Size, ...] | None:
    parts = [shapes.value(v) for v in op.operands]
    if any(p is None for p in parts):
        return None
    return tuple(s for p in cast(list[tuple[Size, ...]], parts) for s in p)


def _arith_value(combine: Callable[[Size, Size], Size]) -> ValueRule:
    def rule(op: Operation, shapes: SymbolicShapes) -> tuple[Size, ...] | None:
        a, b = (shapes.value(v) for v in op.operands[:2])
        if a is None or b is None or (len(a) != len(b) and 1 not in (len(a), len(b))):
            return None
        n = max(len(a), len(b))
        a, b = (x * n if len(x) == 1 else x for x in (a, b))
        return tuple(combine(x, y) for x, y in zip(a, b, strict=True))

    return rule


def _slice_value(op: Operation, shapes: SymbolicShapes) -> tuple[Size, ...] | None:
    data = shapes.value(op.operands[0])
    starts, ends = (shapes.value(v) for v in op.operands[1:3])
    if data is None or starts is None or ends is None:
        return None
    steps = op.operands[4] if len(op.operands) > 4 else None
    if not all(isinstance(s, int) for s in (*starts, *ends)):
        return None
    if len(op.operands) > 3 and not isinstance(op.operands[3].type, NoneType):
        return None  # axes of a 1-D value: only 0 makes sense; left to the static path
    if steps is not None and not isinstance(steps.type, NoneType):
        return None
    return data[slice(int(cast(int, starts[0])), int(cast(int, ends[0])))]


VALUE_RULES: dict[str, ValueRule] = {
    "Shape": _shape_value,
    "Gather": _gather_value,
    "Unsqueeze": _passthrough_value,
    "Squeeze": _passthrough_value,
    "Reshape": _passthrough_value,
    "Identity": _passthrough_value,
    "Cast": _passthrough_value,
    "Concat": _concat_value,
    "Slice": _slice_value,
    "Add": _arith_value(sd.add),
    "Sub": _arith_value(sd.sub),
    "Mul": _arith_value(sd.mul),
    "Div": _arith_value(sd.floordiv),
}
