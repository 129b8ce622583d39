"""The run-time dims of `top` values during bufferization (MLIR's
`reifyResultShapes`): a dynamic result's buffer is allocated with sizes computed from its
producer's operands, before the producer is lowered.

    %y = top.matmul %a, %w : (tensor<?x32xf32>, tensor<32x8xf32>) -> tensor<?x8xf32>
 ->
    %m = loop.dim %a_buffer, 0 : memref<?x32xf32>
    %y_buffer = loop.alloc(%m) : memref<?x8xf32>

`top.fill` and `top.reshape` carry their dynamic sizes as operands; every other op's come
from its operands' dims by the op's shape rule.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

from xdsl.dialects import arith
from xdsl.dialects.builtin import DYNAMIC_INDEX, TensorType
from xdsl.ir import Attribute, OpResult, SSAValue

from lamina.dialects import top
from lamina.errors import UnsupportedOpError
from lamina.lowering.top_to_loop_build import Emitter, Extent

BufferOf = Callable[[SSAValue], SSAValue | None]
"""The buffer a value already has, None if it has none yet."""


def _static(value: SSAValue) -> tuple[int, ...]:
    return cast(TensorType[Attribute], value.type).get_shape()


def _unsupported(what: str, value: SSAValue) -> UnsupportedOpError:
    error = UnsupportedOpError(what)
    if isinstance(value, OpResult):
        vars(error)["op"] = value.op
    return error


def reify(value: SSAValue, buffer_of: BufferOf, em: Emitter) -> list[Extent]:
    """`value`'s dims at `em`'s point: static dims of its type as ints, dynamic ones as
    `index` values (the producer's shape rule over its operands' dims)."""
    shape = _static(value)
    if DYNAMIC_INDEX not in shape:
        return list(shape)
    buffer = buffer_of(value)
    if buffer is not None:
        return em.extents(buffer)
    if not isinstance(value, OpResult):
        raise _unsupported(f"the dims of {value.type}, a value without a buffer", value)
    dims = _rule(value, buffer_of, em)
    return [s if s != DYNAMIC_INDEX else d for s, d in zip(shape, dims, strict=True)]


def dynamic_sizes(value: SSAValue, buffer_of: BufferOf, em: Emitter) -> list[SSAValue]:
    """The `index` sizes of `value`'s dynamic dims, for its `loop.alloc`."""
    dims = reify(value, buffer_of, em)
    return [em.index(d) for d, s in zip(dims, _static(value), strict=True) if s == DYNAMIC_INDEX]


def _rule(value: OpResult, buffer_of: BufferOf, em: Emitter) -> Sequence[Extent]:
    op = value.op

    def dims(operand: SSAValue) -> list[Extent]:
        return reify(operand, buffer_of, em)

    if isinstance(op, top.FillOp | top.ReshapeOp):
        sizes = iter(op.dynamic_sizes)
        return [next(sizes) if s == DYNAMIC_INDEX else s for s in _static(value)]
    if isinstance(op, top.GenericOp):
        return dims(op.outputs[value.index])
    if isinstance(op, top.MatmulOp):
        lhs, rhs = dims(op.lhs), dims(op.rhs)
        m = lhs[-1] if op.transpose_lhs else lhs[-2]
        n = rhs[-2] if op.transpose_rhs else rhs[-1]
        return [*_broadcast(lhs[:-2], rhs[:-2]), m, n]
    if isinstance(op, top.ReduceOp):
        x = dims(op.input)
        axes = set(op.axes.get_values())
        if op.keepdims:
            return [1 if d in axes else s for d, s in enumerate(x)]
        return [s for d, s in enumerate(x) if d not in axes]
    if isinstance(op, top.TransposeOp):
        x = dims(op.input)
        return [x[p] for p in op.permutation.get_values()]
    if isinstance(op, top.GatherOp):
        data, indices = dims(op.data), dims(op.indices)
        axis = op.axis.value.data
        return [*data[:axis], *indices, *data[axis + 1 :]]
    if isinstance(op, top.ConcatOp):
        parts = [dims(v) for v in op.inputs]
        axis = op.axis.value.data
        out = list(parts[0])
        total: Extent = 0
        for part in parts:
            total = part[axis] if total == 0 else em.iadd(em.index(total), part[axis])
        out[axis] = total
        return out
    if isinstance(op, top.Conv2dOp) and op.layout.data != top.ConvLayout.NCHWC:
        x, w = dims(op.input), dims(op.filter)
        nhwc = op.layout.data == top.ConvLayout.NHWC_HWCF
        spatial = x[1:3] if nhwc else x[2:4]
        kernel = w[0:2] if nhwc else w[2:4]
        windows = zip(
            spatial, kernel, op.strides.get_values(), op.dilations.get_values(),
            op.pad_low.get_values(), op.pad_high.get_values(), strict=True,
        )  # fmt: skip
        out = [_window(em, size, k, *rest) for size, k, *rest in windows]
        return [x[0], *out, w[3]] if nhwc else [x[0], w[0], *out]
    raise _unsupported(f"the dynamic dims of a '{op.name}' result ({value.type})", value)


def _window(
    em: Emitter, size: Extent, kernel: Extent, stride: int, dilation: int, low: int, high: int
) -> Extent:
    """(size + low + high - dilation * (kernel - 1) - 1) floordiv stride + 1."""
    if not isinstance(kernel, int):
        raise UnsupportedOpError("a convolution whose filter has dynamic spatial dims")
    reach = low + high - dilation * (kernel - 1) - 1
    if isinstance(size, int):
        return (size + reach) // stride + 1
    shifted = em.iadd(size, reach)
    if stride != 1:
        shifted = em.value(arith.FloorDivSIOp(shifted, em.index(stride)))
    return em.iadd(shifted, 1)


def _broadcast(a: Sequence[Extent], b: Sequence[Extent]) -> list[Extent]:
    """numpy broadcasting of two dim lists (a dynamic dim is taken to be the broadcast one
    against a 1)."""
    rank = max(len(a), len(b))
    a = [1] * (rank - len(a)) + list(a)
    b = [1] * (rank - len(b)) + list(b)
    return [y if x == 1 else x for x, y in zip(a, b, strict=True)]
