"""The TFLite data-movement builtins (reshapes, pads, slices, splits, gathers, reductions,
resizes, depth/space, pack/unpack, tile), each in a small model built with the schema's
flatbuffers builder, compiled for the host and checked against LiteRT at the output's
scale: max|err| <= 1e-3 * max|ref| + 1e-4."""

from __future__ import annotations

import numpy as np
import pytest

from lamina.tools.tflite_builder import TFLiteBuilder
from lamina.tools.tflite_check import check_against_litert as check

RNG = np.random.default_rng(11)


def normal(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize(("name", "keep"), [("MEAN", True), ("MEAN", False), ("SUM", False),
                                            ("REDUCE_MAX", True), ("REDUCE_MIN", False),
                                            ("REDUCE_PROD", True)])  # fmt: skip
def test_reduction_matches_litert(name: str, keep: bool) -> None:
    m = TFLiteBuilder()
    x, axes = m.input("x", [1, 5, 6, 3]), m.constant("axes", np.array([1, 2], np.int32))
    y = m.tensor("y", [1, 1, 1, 3] if keep else [1, 3])
    m.op(name, [x, axes], [y], "ReducerOptions", KeepDims=keep)
    m.output(y)
    check(m, [normal(1, 5, 6, 3)])


def test_pad_reshape_concat_transpose_match_litert() -> None:
    m = TFLiteBuilder()
    x, z = m.input("x", [1, 3, 4, 2]), m.input("z", [1, 5, 6, 1])
    pads = m.constant("pads", np.array([[0, 0], [1, 1], [2, 0], [0, 0]], np.int32))
    padded = m.tensor("padded", [1, 5, 6, 2])
    m.op("PAD", [x, pads], [padded])
    joined = m.tensor("joined", [1, 5, 6, 3])
    m.op("CONCATENATION", [padded, z], [joined], "ConcatenationOptions", Axis=3)
    perm = m.constant("perm", np.array([0, 3, 1, 2], np.int32))
    swapped = m.tensor("swapped", [1, 3, 5, 6])
    m.op("TRANSPOSE", [joined, perm], [swapped])
    shape = m.constant("shape", np.array([3, 30], np.int32))
    y = m.tensor("y", [3, 30])
    m.op("RESHAPE", [swapped, shape], [y])
    m.output(y)
    check(m, [normal(1, 3, 4, 2), normal(1, 5, 6, 1)])


@pytest.mark.parametrize(
    ("begin", "end", "strides", "masks", "shape"),
    [
        ([0, 1, 0], [2, 5, 6], [1, 2, 3], {}, [2, 2, 2]),
        ([0, 0, 5], [0, 0, 0], [1, 1, -2], {"BeginMask": 3, "EndMask": 7}, [2, 5, 3]),
        ([1, 0, 2], [2, 5, 3], [1, 1, 1], {"ShrinkAxisMask": 5}, [5]),
    ],
)
def test_strided_slice_matches_litert(begin, end, strides, masks, shape) -> None:  # noqa: ANN001
    m = TFLiteBuilder()
    x = m.input("x", [2, 5, 6])
    bounds = [m.constant(n, np.array(v, np.int32)) for n, v in
              (("begin", begin), ("end", end), ("strides", strides))]  # fmt: skip
    y = m.tensor("y", shape)
    m.op("STRIDED_SLICE", [x, *bounds], [y], "StridedSliceOptions", **masks)
    m.output(y)
    check(m, [normal(2, 5, 6)])


def test_slice_split_gather_match_litert() -> None:
    m = TFLiteBuilder()
    x = m.input("x", [4, 6])
    begin, size = (
        m.constant("b", np.array([1, 0], np.int32)),
        m.constant("s", np.array([3, -1], np.int32)),
    )
    part = m.tensor("part", [3, 6])
    m.op("SLICE", [x, begin, size], [part])
    axis = m.constant("axis", np.array(1, np.int32))
    halves = [m.tensor("h0", [3, 3]), m.tensor("h1", [3, 3])]
    m.op("SPLIT", [axis, part], halves, "SplitOptions", NumSplits=2)
    index = m.constant("index", np.array([2, 0, 2], np.int32))
    y = m.tensor("y", [3, 3])
    m.op("GATHER", [halves[1], index], [y], "GatherOptions", Axis=0)
    m.output(halves[0])
    m.output(y)
    check(m, [normal(4, 6)])


@pytest.mark.parametrize("name", ["RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"])
@pytest.mark.parametrize(("align", "half"), [(False, False), (True, False), (False, True)])
def test_resize_matches_litert(name: str, align: bool, half: bool) -> None:
    m = TFLiteBuilder()
    x, size = m.input("x", [1, 4, 5, 2]), m.constant("size", np.array([7, 10], np.int32))
    y = m.tensor("y", [1, 7, 10, 2])
    options = (
        "ResizeBilinearOptions" if name == "RESIZE_BILINEAR" else "ResizeNearestNeighborOptions"
    )
    m.op(name, [x, size], [y], options, AlignCorners=align, HalfPixelCenters=half)
    m.output(y)
    check(m, [normal(1, 4, 5, 2)])


@pytest.mark.parametrize("name", ["DEPTH_TO_SPACE", "SPACE_TO_DEPTH"])
def test_depth_space_matches_litert(name: str) -> None:
    m = TFLiteBuilder()
    shapes = (
        ([1, 2, 3, 8], [1, 4, 6, 2]) if name == "DEPTH_TO_SPACE" else ([1, 4, 6, 2], [1, 2, 3, 8])
    )
    x, y = m.input("x", shapes[0]), m.tensor("y", shapes[1])
    options = "DepthToSpaceOptions" if name == "DEPTH_TO_SPACE" else "SpaceToDepthOptions"
    m.op(name, [x], [y], options, BlockSize=2)
    m.output(y)
    check(m, [normal(*shapes[0])])


def test_pack_unpack_batch_matmul_match_litert() -> None:
    m = TFLiteBuilder()
    a, b = m.input("a", [3, 4]), m.input("b", [3, 4])
    packed = m.tensor("packed", [2, 3, 4])
    m.op("PACK", [a, b], [packed], "PackOptions", ValuesCount=2, Axis=0)
    rows = [m.tensor(f"row{i}", [2, 4]) for i in range(3)]
    m.op("UNPACK", [packed], rows, "UnpackOptions", Num=3, Axis=1)
    product = m.tensor("product", [2, 3, 3])
    m.op("BATCH_MATMUL", [packed, packed], [product], "BatchMatMulOptions", AdjY=True)
    m.output(rows[2])
    m.output(product)
    check(m, [normal(3, 4), normal(3, 4)])


def test_tile_broadcast_arg_max_match_litert() -> None:
    m = TFLiteBuilder()
    x = m.input("x", [2, 1, 3])
    repeats = m.constant("repeats", np.array([1, 2, 2], np.int32))
    tiled = m.tensor("tiled", [2, 2, 6])
    m.op("TILE", [x, repeats], [tiled])
    shape = m.constant("shape", np.array([2, 4, 3], np.int32))
    wide = m.tensor("wide", [2, 4, 3])
    m.op("BROADCAST_TO", [x, shape], [wide], version=2)
    axis = m.constant("axis", np.array([2], np.int32))
    best = m.tensor("best", [2, 2], np.int32)
    m.op("ARG_MAX", [tiled, axis], [best], "ArgMaxOptions", OutputType=2)
    m.output(wide)
    m.output(best)
    check(m, [normal(2, 1, 3)])


def test_split_v_padv2_mirror_pad_squeeze_expand_cast_match_litert() -> None:
    m = TFLiteBuilder()
    x = m.input("x", [1, 5, 4])
    sizes, axis = (
        m.constant("sizes", np.array([2, -1], np.int32)),
        m.constant("axis", np.array(1, np.int32)),
    )
    parts = [m.tensor("p0", [1, 2, 4]), m.tensor("p1", [1, 3, 4])]
    m.op("SPLIT_V", [x, sizes, axis], parts, "SplitVOptions", NumSplits=2)
    pads = m.constant("pads", np.array([[0, 0], [1, 2], [0, 1]], np.int32))
    fill = m.constant("fill", np.array([2.5], np.float32))
    padded = m.tensor("padded", [1, 5, 5])
    m.op("PADV2", [parts[0], pads, fill], [padded])
    mirror_pads = m.constant("mirror_pads", np.array([[0, 0], [1, 1], [2, 1]], np.int32))
    mirrored = m.tensor("mirrored", [1, 5, 7])
    m.op("MIRROR_PAD", [parts[1], mirror_pads], [mirrored], "MirrorPadOptions", Mode=0)
    squeezed = m.tensor("squeezed", [5, 7])
    m.op("SQUEEZE", [mirrored], [squeezed], "SqueezeOptions")
    dim = m.constant("dim", np.array(2, np.int32))
    expanded = m.tensor("expanded", [5, 7, 1])
    m.op("EXPAND_DIMS", [squeezed, dim], [expanded])
    whole = m.tensor("whole", [5, 7, 1], np.int32)
    m.op("CAST", [expanded], [whole])
    for t in (padded, expanded, whole):
        m.output(t)
    check(m, [normal(1, 5, 4) * 5])


def test_l2_normalization_fill_shape_zeros_embedding_match_litert() -> None:
    m = TFLiteBuilder()
    x, ids = m.input("x", [2, 3, 5]), m.input("ids", [4], np.int32)
    normed = m.tensor("normed", [2, 3, 5])
    m.op("L2_NORMALIZATION", [x], [normed], "L2NormOptions")
    dims, value = (
        m.constant("dims", np.array([2, 3], np.int32)),
        m.constant("value", np.array(1.5, np.float32)),
    )
    filled = m.tensor("filled", [2, 3])
    m.op("FILL", [dims, value], [filled])
    size = m.tensor("size", [3], np.int32)
    m.op("SHAPE", [x], [size], "ShapeOptions", OutType=2)
    zeros = m.tensor("zeros", [2, 3, 5])
    m.op("ZEROS_LIKE", [x], [zeros])
    table = m.constant("table", normal(6, 3))
    rows = m.tensor("rows", [4, 3])
    m.op("EMBEDDING_LOOKUP", [ids, table], [rows])
    for t in (normed, filled, size, zeros, rows):
        m.output(t)
    check(m, [normal(2, 3, 5), np.array([5, 0, 2, 2], np.int32)])
