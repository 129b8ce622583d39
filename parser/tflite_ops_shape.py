"""TFLite data-movement operators -> graph ops: reshapes, concatenation, pads, slices,
splits, transposes, gathers, reductions, resizes, depth/space and dequantization.

Shapes are static (each TFLite tensor carries its shape), so shape-like inputs (new
shapes, paddings, begins, axes, sizes) must be constants and become int64 constants of the
ONNX form; a computed one is "not supported".
"""

from __future__ import annotations

import numpy as np
from xdsl.dialects.builtin import TensorType, i64

from lamina.dialects.graph_layout import NCHW_TO_NHWC, NHWC_TO_NCHW
from lamina.dialects.weights import numpy_dtype
from lamina.parser.tflite_graph import Converter, GraphBuilder
from lamina.parser.tflite_model import Operator

FLOAT16 = 1
"""TFLite TensorType FLOAT16."""

ONNX_TO = {np.dtype(np.float32): 1, np.dtype(np.uint8): 2, np.dtype(np.int8): 3,
           np.dtype(np.int16): 5, np.dtype(np.int32): 6, np.dtype(np.int64): 7,
           np.dtype(np.bool_): 9, np.dtype(np.float16): 10, np.dtype(np.float64): 11}  # fmt: skip
"""numpy dtype -> ONNX TensorProto data type (Cast's `to`)."""


def reshape_to_output(g: GraphBuilder, op: Operator) -> None:
    """RESHAPE, SQUEEZE, EXPAND_DIMS: the output tensor's (static) shape says it all."""
    out = g.output(op)
    g.define(out, g.reshape(g.value(op, 0), out.shape))


def concatenation(g: GraphBuilder, op: Operator) -> None:
    out = g.output(op)
    values = [g.value(op, i) for i in range(len(op.inputs))]
    y = g.emit1("Concat", values, g.type_of(out), axis=int(op.options["Axis"]))
    g.define(out, g.activate(op, y, op.options.get("FusedActivationFunction", 0)))


def pad(g: GraphBuilder, op: Operator) -> None:
    """PAD / PADV2: paddings [rank, 2] -> ONNX pads (begins, then ends)."""
    out = g.output(op)
    paddings = g.const_array(op, 1, "the paddings").reshape(-1, 2)
    pads = [int(p) for p in paddings[:, 0]] + [int(p) for p in paddings[:, 1]]
    fill = g.value(op, 2) if g.has_input(op, 2) else None
    if fill is not None:
        fill = g.reshape(fill, ())
    g.define(out, g.emit1("Pad", [g.value(op, 0), g.ints(pads, "pads"), fill], g.type_of(out)))


def mirror_pad(g: GraphBuilder, op: Operator) -> None:
    if op.options.get("Mode", 0) != 0:
        g.unsupported(op, "SYMMETRIC mirror padding")
    out = g.output(op)
    paddings = g.const_array(op, 1, "the paddings").reshape(-1, 2)
    pads = [int(p) for p in paddings[:, 0]] + [int(p) for p in paddings[:, 1]]
    y = g.emit1("Pad", [g.value(op, 0), g.ints(pads, "pads")], g.type_of(out), mode="reflect")
    g.define(out, y)


def transpose(g: GraphBuilder, op: Operator) -> None:
    perm = [int(p) for p in g.const_array(op, 1, "the permutation")]
    g.define(g.output(op), g.transpose(g.value(op, 0), perm))


def strided_slice(g: GraphBuilder, op: Operator) -> None:
    """ONNX Slice over every axis, then a reshape to the output (drops shrunk axes)."""
    x, out = g.tensor(op, 0), g.output(op)
    begin, end, strides = (
        [int(v) for v in g.const_array(op, i, "slice bounds")] for i in (1, 2, 3)
    )
    o = op.options
    if o.get("EllipsisMask", 0) or o.get("NewAxisMask", 0):
        g.unsupported(op, "ellipsis or new-axis masks")
    starts, ends = [], []
    for axis, size in enumerate(x.shape):
        step = strides[axis]
        start, stop = begin[axis], end[axis]
        if o.get("BeginMask", 0) >> axis & 1:
            start = 0 if step > 0 else size - 1
        if o.get("Offset", False):
            stop = start + stop
        if o.get("ShrinkAxisMask", 0) >> axis & 1:
            stop, step = (start + 1 if start != -1 else size), 1
        elif o.get("EndMask", 0) >> axis & 1:
            stop = size if step > 0 else -(2**62)
        starts.append(start)
        ends.append(stop)
    shape = _sliced_shape(x.shape, starts, ends, strides, o.get("ShrinkAxisMask", 0))
    sliced = type(g.type_of(out))(g.type_of(out).element_type, shape)
    operands = [g.value(op, 0), g.ints(starts, "starts"), g.ints(ends, "ends"), None,
                g.ints([1 if o.get("ShrinkAxisMask", 0) >> a & 1 else s for a, s in enumerate(strides)], "steps")]  # fmt: skip
    y = g.emit1("Slice", operands, sliced)
    g.define(out, g.reshape(y, out.shape))


def _sliced_shape(shape, starts, ends, steps, shrink: int) -> list[int]:
    dims: list[int] = []
    for axis, size in enumerate(shape):
        step = 1 if shrink >> axis & 1 else steps[axis]
        dims.append(len(range(size)[slice(starts[axis], ends[axis], step)]))
    return dims


def slice_op(g: GraphBuilder, op: Operator) -> None:
    """SLICE(x, begin, size): size -1 runs to the end."""
    x, out = g.tensor(op, 0), g.output(op)
    begin = [int(v) for v in g.const_array(op, 1, "the begins")]
    size = [int(v) for v in g.const_array(op, 2, "the sizes")]
    ends = [d if s == -1 else b + s for b, s, d in zip(begin, size, x.shape, strict=True)]
    y = g.emit1("Slice", [g.value(op, 0), g.ints(begin, "starts"), g.ints(ends, "ends")],
                g.type_of(out))  # fmt: skip
    g.define(out, y)


def _split(g: GraphBuilder, op: Operator, data: int, axis: int, sizes: list[int]) -> None:
    outs = [g.output(op, i) for i in range(len(op.outputs))]
    types = [g.type_of(t) for t in outs]
    split = g.emit("Split", [g.value(op, data), g.ints(sizes, "split")], types, axis=axis)
    for tensor, value in zip(outs, split.results, strict=True):
        g.define(tensor, value)


def split(g: GraphBuilder, op: Operator) -> None:
    """SPLIT(axis, x) into equal parts."""
    axis = int(g.const_array(op, 0, "the axis").reshape(()))
    _split(g, op, 1, axis, [g.output(op, i).shape[axis] for i in range(len(op.outputs))])


def split_v(g: GraphBuilder, op: Operator) -> None:
    """SPLIT_V(x, sizes, axis): sizes of the outputs (their shapes resolve a -1)."""
    axis = int(g.const_array(op, 2, "the axis").reshape(()))
    _split(g, op, 0, axis, [g.output(op, i).shape[axis] for i in range(len(op.outputs))])


def gather(g: GraphBuilder, op: Operator) -> None:
    if op.options.get("BatchDims", 0):
        g.unsupported(op, "batch_dims")
    out = g.output(op)
    axis = int(op.options.get("Axis", 0))
    y = g.emit1("Gather", [g.value(op, 0), g.value(op, 1)], g.type_of(out), axis=axis)
    g.define(out, y)


def _reduce(op_type: str) -> Converter:
    def convert(g: GraphBuilder, op: Operator) -> None:
        out = g.output(op)
        rank = len(g.tensor(op, 0).shape)
        axes = sorted({int(a) % rank for a in g.const_array(op, 1, "the axes").reshape(-1)})
        keep = 1 if op.options.get("KeepDims", False) else 0
        y = g.emit1(op_type, [g.value(op, 0), g.ints(axes, "axes")], g.type_of(out),
                    keepdims=keep)  # fmt: skip
        g.define(out, g.reshape(y, out.shape))

    return convert


def _resize(linear: bool) -> Converter:
    """RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR over H and W of N x H x W x C."""

    def convert(g: GraphBuilder, op: Operator) -> None:
        x, out = g.tensor(op, 0), g.output(op)
        align, half = (
            op.options.get("AlignCorners", False),
            op.options.get("HalfPixelCenters", False),
        )
        if align and half:
            g.unsupported(op, "align_corners together with half_pixel_centers")
        mode = "align_corners" if align else "half_pixel" if half else "asymmetric"
        # TFLite's nearest index: round(x * s) with align_corners, else floor((x + 0.5 * half) * s);
        # for half pixels that is ONNX's round-half-up of (x + 0.5) * s - 0.5
        rounding = None if linear else "floor" if mode == "asymmetric" else "round_prefer_ceil"
        sizes = g.ints(out.shape, "sizes")
        y = g.emit1("Resize", [g.value(op, 0), None, None, sizes], g.type_of(out),
                    mode="linear" if linear else "nearest", coordinate_transformation_mode=mode,
                    nearest_mode=rounding)  # fmt: skip
        if len(x.shape) != 4:
            g.fail(op, f"input shape {list(x.shape)} is not N x H x W x C")
        g.define(out, y)

    return convert


def _depth_space(op_type: str) -> Converter:
    """DEPTH_TO_SPACE / SPACE_TO_DEPTH on NHWC: the NCHW op (DCR order) between transposes."""

    def convert(g: GraphBuilder, op: Operator) -> None:
        out = g.output(op)
        otype = g.type_of(out)
        nchw = TensorType(otype.element_type, [out.shape[i] for i in NHWC_TO_NCHW])
        xt = g.transpose(g.value(op, 0), NHWC_TO_NCHW)
        attributes: dict[str, object] = {"blocksize": int(op.options["BlockSize"])}
        if op_type == "DepthToSpace":
            attributes["mode"] = "DCR"
        y = g.emit1(op_type, [xt], nchw, **attributes)
        g.define(out, g.transpose(y, NCHW_TO_NHWC))

    return convert


def dequantize(g: GraphBuilder, op: Operator) -> None:
    """float16 constants are widened at import, a run-time float16 value is cast; a
    quantized input reaches here already dequantized (parser/tflite_quant.py)."""
    x, out = g.tensor(op, 0), g.output(op)
    data = g.array(op, 0)
    if data is not None:
        g.arrays[out.index] = data.astype(np.float32)
    elif x.type_code == FLOAT16:
        g.define(out, g.emit1("Cast", [g.value(op, 0)], g.type_of(out), to=1))
    else:
        g.define(out, g.value(op, 0))


def quantize(g: GraphBuilder, op: Operator) -> None:
    """QUANTIZE (or a requantization): the value itself; parser/tflite_quant.py writes the
    QuantizeLinear of its quantized output."""
    data = g.array(op, 0)
    if data is not None:
        g.arrays[g.output(op).index] = data
    else:
        g.define(g.output(op), g.value(op, 0))


def pack(g: GraphBuilder, op: Operator) -> None:
    """PACK: each input reshaped with a 1 at `axis`, then concatenated there."""
    out = g.output(op)
    axis = int(op.options["Axis"]) % len(out.shape)
    parts = []
    for i in range(len(op.inputs)):
        shape = list(g.tensor(op, i).shape)
        parts.append(g.reshape(g.value(op, i), [*shape[:axis], 1, *shape[axis:]]))
    g.define(out, g.emit1("Concat", parts, g.type_of(out), axis=axis))


def unpack(g: GraphBuilder, op: Operator) -> None:
    """UNPACK: a split into size-1 parts at `axis`, each reshaped without it."""
    x = g.tensor(op, 0)
    axis = int(op.options["Axis"]) % len(x.shape)
    outs = [g.output(op, i) for i in range(len(op.outputs))]
    kept = [*x.shape[:axis], 1, *x.shape[axis + 1 :]]
    types = [TensorType(g.type_of(t).element_type, kept) for t in outs]
    split = g.emit("Split", [g.value(op, 0), g.ints([1] * len(outs), "split")], types, axis=axis)
    for tensor, value in zip(outs, split.results, strict=True):
        g.define(tensor, g.reshape(value, tensor.shape))


def batch_matmul(g: GraphBuilder, op: Operator) -> None:
    """BATCH_MATMUL with adj_x / adj_y: the last two dims transposed first."""
    out = g.output(op)
    operands = []
    for position, adjoint in ((0, "AdjX"), (1, "AdjY")):
        value = g.value(op, position)
        if op.options.get(adjoint, False):
            rank = len(g.tensor(op, position).shape)
            value = g.transpose(value, [*range(rank - 2), rank - 1, rank - 2])
        operands.append(value)
    g.define(out, g.emit1("MatMul", operands, g.type_of(out)))


def tile(g: GraphBuilder, op: Operator) -> None:
    repeats = [int(r) for r in g.const_array(op, 1, "the repeats")]
    out = g.output(op)
    g.define(out, g.emit1("Tile", [g.value(op, 0), g.ints(repeats, "repeats")], g.type_of(out)))


def broadcast_to(g: GraphBuilder, op: Operator) -> None:
    out = g.output(op)
    g.define(out, g.emit1("Expand", [g.value(op, 0), g.ints(out.shape)], g.type_of(out)))


def _arg(op_type: str) -> Converter:
    """ARG_MAX / ARG_MIN(x, axis): ONNX's int64 index, cast to an int32 output."""

    def convert(g: GraphBuilder, op: Operator) -> None:
        out = g.output(op)
        rank = len(g.tensor(op, 0).shape)
        axis = int(g.const_array(op, 1, "the axis").reshape(-1)[0]) % rank
        otype = g.type_of(out)
        wide = TensorType(i64, out.shape)
        y = g.emit1(op_type, [g.value(op, 0)], wide, axis=axis, keepdims=0)
        if otype.element_type != i64:
            y = g.emit1("Cast", [y], otype, to=ONNX_TO[numpy_dtype(otype.element_type)])
        g.define(out, y)

    return convert


def shape(g: GraphBuilder, op: Operator) -> None:
    """SHAPE of a static tensor: a constant of the output's dtype."""
    out = g.output(op)
    dtype = numpy_dtype(g.type_of(out).element_type)
    g.arrays[out.index] = np.array(g.tensor(op, 0).shape, dtype)


def zeros_like(g: GraphBuilder, op: Operator) -> None:
    out = g.output(op)
    g.arrays[out.index] = np.zeros(out.shape, numpy_dtype(g.type_of(out).element_type))


def fill(g: GraphBuilder, op: Operator) -> None:
    """FILL(dims, value): the scalar broadcast to the output's (static) shape."""
    out = g.output(op)
    value = g.reshape(g.value(op, 1), ())
    g.define(out, g.emit1("Expand", [value, g.ints(out.shape)], g.type_of(out)))


def embedding_lookup(g: GraphBuilder, op: Operator) -> None:
    """EMBEDDING_LOOKUP(ids, params): rows of params."""
    out = g.output(op)
    y = g.emit1("Gather", [g.value(op, 1), g.value(op, 0)], g.type_of(out), axis=0)
    g.define(out, y)


def densify(g: GraphBuilder, op: Operator) -> None:
    """The reader made the sparse constant dense already (parser/tflite_sparse.py)."""
    g.arrays[g.output(op).index] = g.const_array(op, 0, "a sparse tensor")


def cast(g: GraphBuilder, op: Operator) -> None:
    out = g.output(op)
    otype = g.type_of(out)
    to = ONNX_TO[numpy_dtype(otype.element_type)]
    g.define(out, g.emit1("Cast", [g.value(op, 0)], otype, to=to))


SHAPE_CONVERTERS: dict[str, Converter] = {
    "RESHAPE": reshape_to_output,
    "SQUEEZE": reshape_to_output,
    "EXPAND_DIMS": reshape_to_output,
    "CONCATENATION": concatenation,
    "PAD": pad,
    "PADV2": pad,
    "MIRROR_PAD": mirror_pad,
    "TRANSPOSE": transpose,
    "STRIDED_SLICE": strided_slice,
    "SLICE": slice_op,
    "SPLIT": split,
    "SPLIT_V": split_v,
    "GATHER": gather,
    "MEAN": _reduce("ReduceMean"),
    "SUM": _reduce("ReduceSum"),
    "REDUCE_MAX": _reduce("ReduceMax"),
    "REDUCE_MIN": _reduce("ReduceMin"),
    "REDUCE_PROD": _reduce("ReduceProd"),
    "RESIZE_BILINEAR": _resize(linear=True),
    "RESIZE_NEAREST_NEIGHBOR": _resize(linear=False),
    "DEPTH_TO_SPACE": _depth_space("DepthToSpace"),
    "SPACE_TO_DEPTH": _depth_space("SpaceToDepth"),
    "DEQUANTIZE": dequantize,
    "QUANTIZE": quantize,
    "DENSIFY": densify,
    "CAST": cast,
    "PACK": pack,
    "UNPACK": unpack,
    "BATCH_MATMUL": batch_matmul,
    "TILE": tile,
    "BROADCAST_TO": broadcast_to,
    "ARG_MAX": _arg("ArgMax"),
    "ARG_MIN": _arg("ArgMin"),
    "SHAPE": shape,
    "ZEROS_LIKE": zeros_like,
    "FILL": fill,
    "EMBEDDING_LOOKUP": embedding_lookup,
}
