"""mlir-opt's pass flags on lamina-opt, run as a user runs it (issue 17):
`--pass-pipeline='builtin.module(...)'`, `--print-ir-before/after=<pass>`,
`--print-ir-after-change`, `--print-between-passes`, `--time-passes` as a tree whose rows
add up to the wall time, and "did you mean" for an unknown pass."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

GRAPH = """func.func @g(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %i = graph.identity %x : tensor<2x4xf32>
  %y = graph.relu %i : tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}
"""
RULES = "apply-rules{set=graph-default}"
HEADER = re.compile(r"^// -----// IR Dump (Before|After) (\S+) //----- //$", re.MULTILINE)


def lamina_opt(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "lamina.tools.opt", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


@pytest.fixture
def graph_file(tmp_path: Path) -> Path:
    path = tmp_path / "g.mlir"
    path.write_text(GRAPH)
    return path


def dumps(stderr: str) -> list[tuple[str, str]]:
    return [(m[1], m[2]) for m in HEADER.finditer(stderr)]


def test_pass_pipeline_in_mlir_form_runs_the_same_passes_as_p(graph_file: Path):
    nested = lamina_opt(graph_file, f"--pass-pipeline=builtin.module({RULES},convert-graph-to-top)")
    flat = lamina_opt(graph_file, "-p", f"{RULES},convert-graph-to-top")
    assert nested.returncode == 0, nested.stderr
    assert nested.stdout == flat.stdout
    assert "top." in nested.stdout and "graph.relu" not in nested.stdout


def test_pass_pipeline_without_the_module_anchor_is_one_error(graph_file: Path):
    result = lamina_opt(graph_file, f"--pass-pipeline={RULES}")
    assert result.returncode == 1
    assert "expected builtin.module(...)" in result.stderr
    assert "Traceback" not in result.stderr


def test_print_ir_before_and_after_name_passes(graph_file: Path):
    result = lamina_opt(
        graph_file,
        "-p",
        f"{RULES},convert-graph-to-top",
        "--print-ir-before=convert-graph-to-top",
        f"--print-ir-after={RULES.split('{')[0]}",
    )
    assert result.returncode == 0, result.stderr
    assert dumps(result.stderr) == [("After", "apply-rules"), ("Before", "convert-graph-to-top")]
    before = result.stderr.split("IR Dump Before convert-graph-to-top")[1]
    assert "graph.relu" in before and "graph.identity" not in before


def test_print_ir_after_change_skips_a_pass_that_changed_nothing(graph_file: Path):
    result = lamina_opt(graph_file, "-p", f"{RULES},{RULES}", "--print-ir-after-change")
    assert result.returncode == 0, result.stderr
    assert dumps(result.stderr) == [("After", "apply-rules")]


def test_print_between_passes_prints_after_every_pass(graph_file: Path):
    result = lamina_opt(graph_file, "-p", f"{RULES},{RULES}", "--print-between-passes")
    assert result.returncode == 0, result.stderr
    assert dumps(result.stderr) == [("After", "apply-rules"), ("After", "apply-rules")]
    assert "graph.relu" in result.stderr.split("//----- //")[-1]


def test_unknown_pass_in_a_dump_flag_is_refused(graph_file: Path):
    result = lamina_opt(graph_file, "-p", RULES, "--print-ir-after=apply-rulez")
    assert result.returncode == 1
    assert "unknown pass 'apply-rulez'" in result.stderr


def test_unknown_pass_gets_the_nearest_name(graph_file: Path):
    result = lamina_opt(graph_file, "-p", "convert-grph-to-top")
    assert result.returncode == 1
    assert "did you mean 'convert-graph-to-top'?" in result.stderr


_ROW = re.compile(r"^\s+(\d+\.\d+) \(\s*(\d+\.\d)%\)  ( *)(\S.*)$", re.MULTILINE)


def test_time_passes_is_a_tree_that_adds_up_to_the_wall_time(graph_file: Path):
    start = time.perf_counter()
    result = lamina_opt(graph_file, "-p", f"{RULES},convert-graph-to-top", "--time-passes")
    wall = time.perf_counter() - start
    assert result.returncode == 0, result.stderr
    rows = [
        (float(s), float(p), len(indent) // 2, name)
        for s, p, indent, name in _ROW.findall(result.stderr)
    ]
    names = [name for _, _, _, name in rows]
    for phase in ("read input", "parse", "verify", "pipeline", "apply-rules", "print", "Total"):
        assert phase in names, names
    nested = {name for _, _, depth, name in rows if depth == 1}
    assert {"apply-rules", "convert-graph-to-top"} <= nested
    top = [(s, p) for s, p, depth, name in rows if depth == 0 and name != "Total"]
    total_seconds, total_percent = next((s, p) for s, p, _, name in rows if name == "Total")
    assert total_percent == 100.0
    assert sum(s for s, _ in top) == pytest.approx(total_seconds, abs=1e-3 * len(top))
    assert sum(p for _, p in top) == pytest.approx(100.0, abs=0.1 * len(top))
    # the report covers the process from its start, so it is close to what the parent saw,
    # less what no process can time of itself: its spawn and its exit (a bare interpreter's
    # life, measured now because it grows with the machine's load)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    bare = time.perf_counter() - start
    assert 0.7 * (wall - bare) <= total_seconds <= wall + 0.05


def test_ir_dumps_are_mlir_when_the_output_is_llvm_ir(graph_file: Path):
    passes = "convert-graph-to-top,convert-top-to-loop,plan-memory,convert-loop-to-llvm"
    result = lamina_opt(graph_file, "-p", passes, "-t", "llvm", "--print-ir-after=plan-memory")
    assert result.returncode == 0, result.stderr
    assert dumps(result.stderr) == [("After", "plan-memory")]
    assert "loop.for" in result.stderr and "define void" not in result.stderr
    assert "define void" in result.stdout
