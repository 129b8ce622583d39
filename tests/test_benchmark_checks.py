"""The benchmarks' own honesty: outputs are compared at their scale, and a row that does not
match is left out of the geomean."""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from lamina.benchmarks.int8_latency import table as int8_table
from lamina.benchmarks.latency import table
from lamina.tools.models import output_mismatch
from lamina.tools.quantized import quantized_mismatch


def test_output_mismatch_is_judged_at_the_output_scale():
    want = np.array([100.0, 0.001], np.float32)
    assert output_mismatch(want + np.float32(0.05), want) is None  # 5e-4 of the scale
    assert "max abs error 0.2" in (output_mismatch(want + np.float32(0.2), want) or "")
    assert output_mismatch(np.array([np.nan, 0.0], np.float32), want) is not None
    assert output_mismatch(want[:1], want) == "shape (1,), expected (2,)"


def test_a_mismatching_row_is_left_out_of_the_geomean():
    def row(name: str, lamina_ms: float, error: str = "") -> dict[str, object]:
        ms = {1: {"lamina": lamina_ms, "ort": 1.0}}
        return {
            "model": name,
            "ms": ms,
            "error": error,
            "compile_s": 1.0,
            "arena": 0,
            "lower_bound": 0,
        }

    text = table([row("good", 2.0), row("wrong", 0.01, "max abs error 3")], [1])
    assert "MISMATCH max abs error 3" in text
    assert text.splitlines()[-1].split()[-1] == "2.00"
    assert "(1 of 2 rows match)" in text


def test_a_mismatching_int8_row_is_left_out_of_both_geomeans():
    def row(name: str, int8_ms: float, error: str = "") -> dict[str, object]:
        return {
            "model": name,
            "ms": {1: {"int8": int8_ms, "ort": 2.0, "fp32": 4.0}},
            "error": error,
        }

    text = int8_table([row("good", 1.0), row("wrong", 0.01, "another top-1 class")], [1])
    assert "MISMATCH another top-1 class" in text
    assert text.splitlines()[-1].split()[-2:] == ["0.50", "0.25"]
    assert "(1 of 2 match)" in text


def test_quantized_outputs_are_judged_in_quantization_steps():
    scale = numpy_helper.from_array(np.array(0.5, np.float32), "s")
    node = helper.make_node("DequantizeLinear", ["q", "s"], ["y"])
    graph = helper.make_graph(
        [node],
        "dq",
        [helper.make_tensor_value_info("q", TensorProto.INT8, [1, 200])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 200])],
        [scale],
    )
    model = helper.make_model(graph)
    want = np.linspace(-10, 10, 200, dtype=np.float32).reshape(1, 200)
    one_step_off = want.copy()
    one_step_off[0, :100] += 0.5  # within one step (0.5) of the reference, top-1 unchanged
    assert quantized_mismatch(model, [one_step_off], [want]) is None
    two_steps_off = want.copy()
    two_steps_off[0, :3] += 1.0
    assert "98.5% of the elements within one step" in (
        quantized_mismatch(model, [two_steps_off], [want]) or ""
    )
    flipped = want[:, ::-1].copy()
    assert "another top-1 class" in (quantized_mismatch(model, [flipped], [want]) or "")
