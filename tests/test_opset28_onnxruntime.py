"""The compiled path against onnxruntime for the new definitions onnxruntime implements
(CumProd 26, Swish 24, RotaryEmbedding 23, Attention 24, TensorScatter 24, SpaceToDepth /
DepthToSpace 13), at the output's scale: max|err| <= 1e-3 max|ref| + 1e-4 (float32 on both
sides, summed in different orders).
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper

from lamina.compiler import compile as lamina_compile
from lamina.tests.test_graph_to_top import I64, F, model, rand


def onnxruntime_outputs(m: onnx.ModelProto, inputs: list[np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return [np.asarray(x) for x in session.run(None, dict(zip(names, inputs, strict=True)))]


def check_against_onnxruntime(m: onnx.ModelProto, inputs: list[np.ndarray]) -> None:
    expected = onnxruntime_outputs(m, inputs)
    got = lamina_compile(m, opt_level=1)(*inputs)
    for want, have in zip(expected, got, strict=True):
        assert have.shape == want.shape and have.dtype == want.dtype
        error = float(np.max(np.abs(have.astype(np.float64) - want)))
        assert error <= 1e-3 * float(np.max(np.abs(want))) + 1e-4


def _rotary():
    node = helper.make_node("RotaryEmbedding", ["x", "cos", "sin", "pos"], ["y"], interleaved=1)
    shapes = {"x": ([1, 2, 3, 8], F), "cos": ([6, 4], F), "sin": ([6, 4], F), "pos": ([1, 3], I64)}
    angles = rand(6, 4, seed=3)
    inputs = [rand(1, 2, 3, 8), np.cos(angles), np.sin(angles), np.array([[5, 0, 2]], np.int64)]
    return model([node], shapes, {"y": (None, F)}, opset=23), inputs


def _attention():
    node = helper.make_node(
        "Attention", ["q", "k", "v", "", "pk", "pv"], ["y", "k2", "v2"], is_causal=1
    )
    shapes = {"q": ([1, 4, 3, 8], F), "k": ([1, 2, 3, 8], F), "v": ([1, 2, 3, 8], F)}
    shapes |= {"pk": ([1, 2, 2, 8], F), "pv": ([1, 2, 2, 8], F)}
    outputs = {"y": (None, F), "k2": (None, F), "v2": (None, F)}
    inputs = [rand(*s, seed=i) for i, (s, _) in enumerate(shapes.values())]
    return model([node], shapes, outputs, opset=24), inputs


def _cum_prod():
    node = helper.make_node("CumProd", ["x", "axis"], ["y"], exclusive=1, reverse=1)
    m = model([node], {"x": ([3, 5], F)}, {"y": (None, F)}, {"axis": np.array(1, np.int64)}, 26)
    return m, [rand(3, 5)]


def _swish():
    node = helper.make_node("Swish", ["x"], ["y"], alpha=0.8)
    return model([node], {"x": ([4, 6], F)}, {"y": (None, F)}, opset=24), [rand(4, 6) * 3]


def _tensor_scatter():
    node = helper.make_node("TensorScatter", ["past", "new", "at"], ["y"], axis=2)
    shapes = {"past": ([2, 2, 6, 3], F), "new": ([2, 2, 2, 3], F), "at": ([2], I64)}
    inputs = [rand(2, 2, 6, 3), rand(2, 2, 2, 3, seed=1), np.array([0, 4], np.int64)]
    return model([node], shapes, {"y": (None, F)}, opset=24), inputs


def _space_depth(op_type: str):
    def build():
        node = helper.make_node(op_type, ["x"], ["y"], blocksize=2)
        return model([node], {"x": ([2, 8, 4, 6], F)}, {"y": (None, F)}, opset=13), [
            rand(2, 8, 4, 6)
        ]

    return build


CASES = {
    "rotary_embedding_interleaved_with_position_ids": _rotary,
    "attention_gqa_causal_with_past": _attention,
    "cum_prod_exclusive_reverse": _cum_prod,
    "swish_with_alpha": _swish,
    "tensor_scatter_at_batch_indices": _tensor_scatter,
    "space_to_depth": _space_depth("SpaceToDepth"),
    "depth_to_space": _space_depth("DepthToSpace"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_new_definitions_match_onnxruntime(case: str):
    m, inputs = CASES[case]()
    check_against_onnxruntime(m, inputs)
