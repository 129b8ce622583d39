"""TopK, GatherND, ScatterND / ScatterElements and Einsum through convert-graph-to-top and
the compiled path, each model checked twice: the top interpreter after the lowering
against the graph reference interpreter (rtol 1e-4, atol 1e-5: float32 both sides), and
the JIT-compiled model against onnxruntime at the output's scale
(max|err| <= 1e-3 * max|ref| + 1e-4; integer outputs exactly).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper

from lamina.compiler import compile as lamina_compile
from lamina.errors import UnsupportedOpError
from lamina.tests.test_graph_to_top import I64, F, check, model, rand

I32: int = TensorProto.INT32


def matches_onnxruntime(m: onnx.ModelProto, inputs: Sequence[np.ndarray]) -> None:
    session = onnxruntime.InferenceSession(m.SerializeToString())
    names = [i.name for i in session.get_inputs()]
    expected = [np.asarray(v) for v in session.run(None, dict(zip(names, inputs, strict=True)))]
    got = lamina_compile(m, opt_level=1)(*inputs)
    for e, g in zip(expected, got, strict=True):
        assert g.shape == e.shape and g.dtype == e.dtype
        if e.dtype.kind == "f":
            bound = 1e-3 * float(np.abs(e).max(initial=0)) + 1e-4
            assert float(np.abs(g - e).max(initial=0)) <= bound
        else:
            np.testing.assert_array_equal(g, e)


def both(m: onnx.ModelProto, inputs: Sequence[np.ndarray]) -> None:
    check(m, inputs)
    matches_onnxruntime(m, inputs)


@pytest.mark.parametrize(("axis", "largest", "k"), [(-1, 1, 3), (0, 0, 2), (1, 1, 5)])
def test_topk_with_ties_matches_onnxruntime(axis: int, largest: int, k: int):
    x = np.round(rand(4, 5, 3) * 2)  # ties: the lower position comes first
    node = helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=axis, largest=largest)
    weights = {"k": np.array([k], np.int64)}
    both(model([node], {"x": ([4, 5, 3], F)}, {"v": (None, F), "i": (None, I64)}, weights), [x])


def test_topk_of_int32_matches_onnxruntime():
    x = np.random.default_rng(1).integers(-5, 5, (3, 6)).astype(np.int32)
    node = helper.make_node("TopK", ["x", "k"], ["v", "i"])
    m = model([node], {"x": ([3, 6], I32)}, {"v": (None, I32), "i": (None, I64)},
              {"k": np.array([4], np.int64)})  # fmt: skip
    both(m, [x])


def test_topk_with_a_computed_k_is_not_supported():
    node = helper.make_node("TopK", ["x", "k"], ["v", "i"])
    m = model([node], {"x": ([3, 6], F), "k": ([1], I64)}, {"v": (None, F), "i": (None, I64)})
    with pytest.raises(UnsupportedOpError):
        lamina_compile(m)


@pytest.mark.parametrize("batch_dims", [0, 1])
def test_gather_nd_matches_onnxruntime(batch_dims: int):
    data = rand(2, 3, 4)
    indices = np.array([[[1, -1]], [[0, 2]]], np.int64)[:, :, : 2 - batch_dims]
    node = helper.make_node("GatherND", ["d", "i"], ["y"], batch_dims=batch_dims)
    m = model([node], {"d": ([2, 3, 4], F), "i": (list(indices.shape), I64)}, {"y": (None, F)})
    both(m, [data, indices])


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
def test_scatter_nd_with_duplicates_matches_onnxruntime(reduction: str):
    data = rand(5, 3)
    indices = np.array([[1], [-1], [1]] if reduction != "none" else [[1], [-1], [0]], np.int64)
    updates = rand(3, 3, seed=1)
    node = helper.make_node("ScatterND", ["d", "i", "u"], ["y"], reduction=reduction)
    shapes = {"d": ([5, 3], F), "i": ([3, 1], I64), "u": ([3, 3], F)}
    both(model([node], shapes, {"y": (None, F)}), [data, indices, updates])


@pytest.mark.parametrize(("axis", "reduction"), [(0, "none"), (1, "add"), (-1, "max")])
def test_scatter_elements_matches_onnxruntime(axis: int, reduction: str):
    data = rand(3, 4)
    indices = np.array([[1, 0], [2, -1]], np.int32)
    node = helper.make_node("ScatterElements", ["d", "i", "u"], ["y"], axis=axis,
                            reduction=reduction)  # fmt: skip
    shapes = {"d": ([3, 4], F), "i": ([2, 2], I32), "u": ([2, 2], F)}
    both(model([node], shapes, {"y": (None, F)}), [data, indices, rand(2, 2, seed=2)])


@pytest.mark.parametrize(
    ("equation", "shapes"),
    [
        ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
        ("bji,bjk->kbi", [(2, 4, 3), (2, 4, 5)]),
        ("ij,kj->ik", [(3, 4), (5, 4)]),
        ("bii,bi->b", [(2, 3, 3), (2, 3)]),
        ("ij->ji", [(3, 4)]),
        ("ii->i", [(4, 4)]),
        ("...ij,...jk", [(2, 3, 4), (1, 4, 2)]),
        ("i,i", [(5,), (5,)]),
        ("ijk->", [(2, 3, 4)]),
    ],
)
def test_einsum_matches_onnxruntime(equation: str, shapes: list[tuple[int, ...]]):
    names = [f"x{i}" for i in range(len(shapes))]
    node = helper.make_node("Einsum", names, ["y"], equation=equation)
    inputs = {n: (list(s), F) for n, s in zip(names, shapes, strict=True)}
    arrays = [rand(*s, seed=i) for i, s in enumerate(shapes)]
    both(model([node], inputs, {"y": (None, F)}), arrays)


@pytest.mark.parametrize("op", ["NonZero", "Unique"])
def test_value_shaped_ops_say_their_output_shape_is_data_dependent(op: str):
    node = helper.make_node(op, ["x"], ["y"])
    m = model([node], {"x": ([3, 4], F)}, {"y": (None, I64 if op == "NonZero" else F)})
    with pytest.raises(UnsupportedOpError, match="data-dependent output shape of " + op):
        lamina_compile(m)
