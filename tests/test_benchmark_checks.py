"""The benchmarks' own honesty: outputs are compared at their scale, and a row that does not
match is left out of the geomean."""

from __future__ import annotations

import numpy as np

from lamina.benchmarks.latency import table
from lamina.tools.models import output_mismatch


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
