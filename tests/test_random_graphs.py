"""100 random small graphs (convs of every group / kernel / stride / dilation with BN,
activations and pools; MLPs; shape-op chains) compile and match onnxruntime at the output's
scale. `python -m lamina.benchmarks.random_graphs --count 1000` runs ten times as many."""

from __future__ import annotations

import pytest

from lamina.benchmarks.random_graphs import check_graph


@pytest.mark.parametrize("seed", range(1000, 1100))
def test_random_graph_matches_onnxruntime(seed: int) -> None:
    assert check_graph(seed) is None
