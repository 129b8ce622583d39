"""The MAC counter of the benchmarks (tools/macs.py) against counts worked out by hand."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from lamina.errors import UnsupportedError
from lamina.tools.macs import model_macs


def one_node_model(
    node: onnx.NodeProto, inputs: dict[str, list[int | str]], weights: dict[str, list[int]]
) -> onnx.ModelProto:
    """`node` alone, its inputs typed, its weights zero initializers; the output's shape is
    left to shape inference."""
    graph = helper.make_graph(
        [node],
        "one",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info(node.output[0], TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.zeros(s, np.float32), n) for n, s in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_a_grouped_strided_conv_costs_output_elements_times_its_window():
    # x [1, 8, 10, 10], w [6, 4, 3, 3] (group 2), stride 2, pads 1: y [1, 6, 5, 5];
    # each of the 150 outputs sums 4 channels x 3 x 3 = 36 products: 5400 MACs
    conv = helper.make_node("Conv", ["x", "w"], ["y"], group=2, strides=[2, 2], pads=[1] * 4)
    model = one_node_model(conv, {"x": [1, 8, 10, 10]}, {"w": [6, 4, 3, 3]})
    assert model_macs(model) == 1 * 6 * 5 * 5 * 4 * 3 * 3 == 5400


def test_a_gemm_costs_m_n_k_with_either_operand_transposed():
    # A^T with A [K=7, M=3], B^T with B [N=5, K=7]: y [3, 5], 3 * 5 * 7 = 105 MACs
    gemm = helper.make_node("Gemm", ["a", "b", "c"], ["y"], transA=1, transB=1)
    model = one_node_model(gemm, {"a": [7, 3]}, {"b": [5, 7], "c": [5]})
    assert model_macs(model) == 105


def test_a_batched_matmul_costs_each_batch():
    # [2, 3, 4] x [4, 6]: y [2, 3, 6], 36 outputs of 4 products
    matmul = helper.make_node("MatMul", ["a", "b"], ["y"])
    assert model_macs(one_node_model(matmul, {"a": [2, 3, 4]}, {"b": [4, 6]})) == 144


def test_shapes_computed_at_run_time_are_taken_from_the_import():
    # x [2, 3, 4] reshaped to [Shape(x)[0], -1] = [2, 12]: ONNX's shape inference does not
    # follow the computed shape, lamina's import folds it; [2, 12] x [12, 5]: 120 MACs
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Slice", ["s", "zero", "one"], ["first"]),
        helper.make_node("Concat", ["first", "minus_one"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["y"]),
    ]
    ints = {"zero": [0], "one": [1], "minus_one": [-1]}
    graph = helper.make_graph(
        nodes,
        "computed",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 5])],
        [
            numpy_helper.from_array(np.zeros([12, 5], np.float32), "w"),
            *(numpy_helper.from_array(np.array(v, np.int64), n) for n, v in ints.items()),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    assert model_macs(model) == 2 * 5 * 12


def test_a_shape_that_is_not_static_is_unsupported():
    matmul = helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")
    model = one_node_model(matmul, {"a": ["batch", 4]}, {"b": [4, 6]})
    with pytest.raises(UnsupportedError, match="node 'mm' \\(MatMul\\): the shape of 'y'"):
        model_macs(model)
