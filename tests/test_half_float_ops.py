"""f16 / bf16 models compute in f32 and round each op's result once (graph_to_top_widen,
graph_to_top_cast.computed_in_f32): against onnxruntime (f16) and against numpy's f32
result rounded to bf16 (onnxruntime has no bf16 kernels on the CPU)."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

import lamina


def matmul_softmax(elem: int) -> onnx.ModelProto:
    nodes = [
        helper.make_node("MatMul", ["a", "b"], ["p"]),
        helper.make_node("Softmax", ["p"], ["s"], axis=-1),
        helper.make_node("Mul", ["p", "s"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "mm",
        [
            helper.make_tensor_value_info("a", elem, [16, 96]),
            helper.make_tensor_value_info("b", elem, [96, 24]),
        ],
        [helper.make_tensor_value_info("y", elem, [16, 24])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])


def inputs(dtype: type) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    return rng.standard_normal((16, 96)).astype(dtype), rng.standard_normal((96, 24)).astype(dtype)


def test_f16_matmul_softmax_matches_onnxruntime():
    model = matmul_softmax(TensorProto.FLOAT16)
    a, b = inputs(np.float16)
    (got,) = lamina.compile(model, device="host")(a, b)
    want = np.asarray(
        ort.InferenceSession(model.SerializeToString()).run(None, {"a": a, "b": b})[0]
    )
    assert got.dtype == np.float16
    # each op rounds its f32 result to f16 once, like onnxruntime: the outputs differ by
    # f16 roundings of sums taken in another order (a few f16 ulps of the largest value)
    scale = float(np.abs(want).max())
    assert float(np.abs(got.astype(np.float32) - want).max()) <= 2e-3 * scale + 1e-4


def test_bf16_matmul_is_the_f32_product_rounded_once():
    a, b = inputs(ml_dtypes.bfloat16)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["y"])],
        "mm",
        [
            helper.make_tensor_value_info("a", TensorProto.BFLOAT16, [16, 96]),
            helper.make_tensor_value_info("b", TensorProto.BFLOAT16, [96, 24]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.BFLOAT16, [16, 24])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    (got,) = lamina.compile(model, device="host")(a, b)
    exact = a.astype(np.float32) @ b.astype(np.float32)
    # f32 sums in another order may round to the neighbouring bf16: at most one bf16 ulp
    ulp = np.abs(exact) * 2.0**-7 + 1e-30
    assert got.dtype == ml_dtypes.bfloat16
    assert np.all(np.abs(got.astype(np.float32) - exact) <= ulp)
