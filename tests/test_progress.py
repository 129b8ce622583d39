"""Progress and stage timing of long work (issue 17): lamina-compile reports each stage
(import, graph passes, lowering, codegen, link) and a fleet each device, lamina-conformance
each case — plain lines on stderr when piped, a tqdm bar on a terminal, nothing with
`--quiet`."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers_cli import matmul_model, run_tool, saved


@pytest.fixture
def model(tmp_path: Path) -> Path:
    """m.onnx: y = relu(x @ W), x float32[2, 8]."""
    return saved(matmul_model(2, 8, 4, "Relu"), tmp_path / "m.onnx")


_STEP = re.compile(r"^lamina-compile: (\d+)/(\d+) (import|graph passes|lowering|codegen|link)\b")


def test_compile_piped_reports_every_stage_on_stderr_as_lines(tmp_path: Path, model: Path):
    result = run_tool("compile", model, "-o", tmp_path / "out", "--build")
    assert result.returncode == 0, result.stderr
    steps = [m for line in result.stderr.splitlines() if (m := _STEP.match(line))]
    assert [int(m[1]) for m in steps] == list(range(1, len(steps) + 1))
    assert {int(m[2]) for m in steps} == {len(steps)}  # the total is known up front
    assert [m[3] for m in steps][:2] == ["import", "graph passes"]
    assert [m[3] for m in steps][-2:] == ["codegen", "link"]
    assert "lowering" in [m[3] for m in steps]
    assert "\r" not in result.stderr  # no bar redraws in a log
    summary = re.search(
        r"stages: import (\S+) s, graph passes \S+ s, lowering \S+ s, "
        r"codegen (\S+) s, link \S+ s",
        result.stdout,
    )
    assert summary is not None, result.stdout


def test_compile_quiet_prints_nothing_and_still_builds(tmp_path: Path, model: Path):
    out = tmp_path / "out"
    result = run_tool("compile", model, "-o", out, "--quiet")
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", "")
    assert (out / "model.o").is_file()


def test_fleet_reports_each_device(tmp_path: Path, model: Path):
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(
        '[[target]]\ndevice = "host"\n\n[[target]]\nname = "big"\ndevice = "x86-64-avx512"\n'
    )
    result = run_tool("compile", model, "--fleet", fleet, "-o", tmp_path / "out", "--jobs", "1")
    assert result.returncode == 0, result.stderr
    lines = sorted(line for line in result.stderr.splitlines() if line.startswith("fleet: "))
    assert len(lines) == 2
    matches = [re.match(r"fleet: ([12])/2 (\S+): ok in \S+ s$", line) for line in lines]
    assert all(matches), lines
    assert {m[2] for m in matches if m} == {"host", "big"}
    assert {m[1] for m in matches if m} == {"1", "2"}
    again = run_tool("compile", model, "--fleet", fleet, "-o", tmp_path / "out", "--quiet")
    assert again.returncode == 0 and (again.stdout, again.stderr) == ("", "")


def test_conformance_piped_prints_a_line_per_case_and_quiet_prints_none():
    args = ["--filter", "^test_(relu|abs)$", "--jobs", "1"]
    result = run_tool("conformance", *args)
    assert result.returncode == 0, result.stderr
    lines = sorted(line for line in result.stderr.splitlines() if line.startswith("conformance: "))
    assert len(lines) == 2
    assert all(re.match(r"conformance: [12]/2 test_(relu|abs): pass \(", line) for line in lines)
    quiet = run_tool("conformance", *args, "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert "pass" in quiet.stdout  # the results table is the output, not progress


def test_conformance_on_a_terminal_draws_a_bar():
    """stderr on a pseudo-terminal: tqdm's bar (`100%|...| 2/2`), redrawn with \\r."""
    leader, follower = pty.openpty()
    command = [sys.executable, "-m", "lamina.tools.conformance", "--filter", "^test_(relu|abs)$"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=follower, stdin=subprocess.DEVNULL
    )
    os.close(follower)
    chunks: list[bytes] = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert process.wait(timeout=120) == 0
    os.close(leader)
    text = b"".join(chunks).decode(errors="replace")
    assert "\r" in text and "100%|" in text and "2/2" in text, text
    assert not re.search(r"^conformance: 1/2 ", text, re.MULTILINE)
