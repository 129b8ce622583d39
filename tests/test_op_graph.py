"""`lamina-opt --view-op-graph=out.dot` at every level: valid Graphviz (parsed by pydot's
dot parser), a node per op with its name, op type and result types, the function's
inputs and outputs as nodes, a cluster per region and per partition segment (issue 17)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pydot
import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pydot's pyparsing calls
ROOT = Path(__file__).resolve().parents[1]
GRAPH = """func.func @g(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %y = graph.relu %x : tensor<2x4xf32>
  %z = graph.exp %y : tensor<2x4xf32>
  func.return %z : tensor<2x4xf32>
}
"""


def view(source: Path, dot: Path, *args: str) -> list[pydot.Dot]:
    command = [sys.executable, "-m", "lamina.tools.opt", str(source), f"--view-op-graph={dot}"]
    result = subprocess.run([*command, *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    graphs = pydot.graph_from_dot_file(str(dot))
    assert graphs, f"pydot cannot parse {dot}"
    return graphs


def clusters(graph: pydot.Graph) -> list[pydot.Subgraph]:
    """Every cluster, nested ones included."""
    found: list[pydot.Subgraph] = []
    for sub in graph.get_subgraphs():
        found += [sub, *clusters(sub)]
    return found


def labels(graph: pydot.Graph) -> list[str]:
    """The labels of every node of the graph and its clusters, unquoted."""
    nodes = [*graph.get_nodes(), *(n for c in clusters(graph) for n in c.get_nodes())]
    texts = [str(n.get("label")).strip('"').replace("\\n", "\n") for n in nodes]
    return [t for t in texts if t != "None"]


def test_graph_level_picture_has_ops_inputs_outputs_and_edges(tmp_path: Path):
    source = tmp_path / "g.mlir"
    source.write_text(GRAPH)
    (graph,) = view(source, tmp_path / "g.dot")
    found = labels(graph)
    assert "input %x\n2x4xf32" in found
    assert "%y\ngraph.relu\n2x4xf32" in found
    assert "%z\ngraph.exp\n2x4xf32" in found
    assert "output 0\n2x4xf32" in found
    assert [c.get("label") for c in clusters(graph)] == ['"func @g"']
    assert len(graph.get_edges()) == 3  # x -> relu -> exp -> output


def test_lowered_levels_picture_loop_bodies_as_clusters(tmp_path: Path):
    source = tmp_path / "g.mlir"
    source.write_text(GRAPH)
    passes = "convert-graph-to-top,convert-top-to-loop,plan-memory"
    (graph,) = view(source, tmp_path / "loop.dot", "-p", passes)
    found = labels(graph)
    assert any("loop.for" in label for label in found)
    names = [str(c.get("label")) for c in clusters(graph)]
    assert any("loop.for region 0" in name for name in names), names


def test_each_partition_segment_is_a_cluster_of_its_unit(tmp_path: Path):
    source = ROOT / "filecheck_tests/graph-partition/ops.mlir"
    (graph,) = view(source, tmp_path / "part.dot")
    found = clusters(graph)
    names = [str(c.get("label")).strip('"') for c in found]
    assert names[:2] == ["func @two_units", "segment on gpu"]
    assert "segment on dsp" in names
    segment = found[1]
    inside = [str(n.get("label")) for n in segment.get_nodes()]
    assert any("graph.relu" in label for label in inside)
    assert any("graph.exp" in label for label in inside)


def test_split_input_file_writes_one_digraph_per_chunk(tmp_path: Path):
    source = tmp_path / "two.mlir"
    source.write_text(GRAPH + "// -----\n" + GRAPH.replace("@g", "@h"))
    graphs = view(source, tmp_path / "two.dot", "--split-input-file")
    assert [str(c.get("label")) for g in graphs for c in clusters(g)] == ['"func @g"', '"func @h"']


def test_onnx_model_picture_names_nodes(tmp_path: Path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="act1")],
        "m",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
    )
    model = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), model)
    (picture,) = view(model, tmp_path / "m.dot")
    assert "act1\ngraph.relu\n1x3xf32" in labels(picture)
    assert "input x\n1x3xf32" in labels(picture)
