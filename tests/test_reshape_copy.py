"""Reshapes and channel shuffles compiled and checked against onnxruntime: a channel
shuffle (reshape - transpose - reshape, which graph-simplify turns into one gather along
the channels), and reshapes through top_to_loop_tensor.ReshapeLowering's copy nest: the
trailing dims shared (only the leading index split), none shared, odd row lengths (the
vector loop's remainder); and transposes that move the last dim (TransposeLowering's
16 x 16 tiles, with remainders) on 1 and 2 threads, equal to numpy's."""

from __future__ import annotations

import numpy as np
import pytest
from helpers_kernels import lower, tensor
from onnx import helper

from lamina.runtime.jit import JitFunction
from lamina.tests.test_graph_to_top import F, model, rand
from lamina.tests.test_index_ops import matches_onnxruntime


def _shape(name: str, dims: list[int]) -> dict[str, np.ndarray]:
    return {name: np.array(dims, np.int64)}


def test_channel_shuffle_matches_onnxruntime():
    nodes = [
        helper.make_node("Reshape", ["x", "split"], ["g"]),
        helper.make_node("Transpose", ["g"], ["t"], perm=[0, 2, 1, 3, 4]),
        helper.make_node("Reshape", ["t", "merge"], ["y"]),
    ]
    weights = {**_shape("split", [1, 4, 6, 5, 7]), **_shape("merge", [1, 24, 5, 7])}
    m = model(nodes, {"x": ([1, 24, 5, 7], F)}, {"y": (None, F)}, weights)
    matches_onnxruntime(m, [rand(1, 24, 5, 7)])


@pytest.mark.parametrize(
    ("x_shape", "y_shape"),
    [([2, 3, 4], [4, 6]), ([2, 6, 19], [3, 4, 19]), ([3, 5, 1, 1], [3, 5]), ([4, 9], [4, 9])],
)
def test_reshape_matches_onnxruntime(x_shape: list[int], y_shape: list[int]):
    node = helper.make_node("Reshape", ["x", "s"], ["y"])
    m = model([node], {"x": (x_shape, F)}, {"y": (None, F)}, _shape("s", y_shape))
    matches_onnxruntime(m, [rand(*x_shape)])


@pytest.mark.parametrize(
    ("shape", "perm", "tiled"),
    [
        ((1, 128, 4, 64), (0, 2, 3, 1), True),  # an encoder's K^T: whole tiles
        ((37, 50), (1, 0), True),  # remainders in both tiled dims
        ((3, 33, 70), (2, 0, 1), True),
        ((8, 20), (1, 0), False),  # under two tiles: the plain nest
    ],
)
def test_transpose_of_the_last_dim_is_exact_on_1_and_2_threads(
    shape: tuple[int, ...], perm: tuple[int, ...], tiled: bool
) -> None:
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    out = tuple(shape[p] for p in perm)
    module = lower(f"""
    func.func @main(%x: {tensor(shape)}) -> {tensor(out)} {{
      %t = top.transpose %x permutation {list(perm)} : {tensor(shape)} -> {tensor(out)}
      func.return %t : {tensor(out)}
    }}""")
    assert ("arith.minsi" in str(module)) == tiled  # the tiles' remainders
    for threads in (1, 2):
        (y,) = JitFunction(module, threads=threads)(x)
        np.testing.assert_array_equal(y, np.transpose(x, perm))
