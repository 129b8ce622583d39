"""lamina-compile and lamina-run: bundles written and run, results compared with
onnxruntime, and every bad input reported as `<file>: error: ...` with exit 1."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from lamina.tools.compile import main as compile_main
from lamina.tools.run import main as run_main


def dense_model(path: Path) -> Path:
    """y = tanh(x @ W + b) on a 2x16 input, saved to `path`."""
    rng = np.random.default_rng(5)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w"], ["m"], name="dense"),
            helper.make_node("Add", ["m", "b"], ["a"], name="bias"),
            helper.make_node("Tanh", ["a"], ["y"], name="tanh"),
        ],
        "dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 8])],
        [
            numpy_helper.from_array(rng.standard_normal((16, 8)).astype(np.float32) * 0.3, "w"),
            numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "b"),
        ],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def nonzero_model(path: Path) -> Path:
    """NonZero: its output shape depends on the data, so it cannot be compiled statically."""
    graph = helper.make_graph(
        [helper.make_node("NonZero", ["x"], ["y"], name="find_nonzero")],
        "nonzero",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, [2, None])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def run_tool(tool: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """The tool as a separate process, as a user runs it."""
    command = [sys.executable, "-m", f"lamina.tools.{tool}", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def max_error(stdout: str) -> float:
    match = re.search(r"max abs error vs onnxruntime (\S+)", stdout)
    assert match, stdout
    return float(match.group(1))


def test_compile_writes_and_builds_a_bundle(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    model = dense_model(tmp_path / "dense.onnx")
    out = tmp_path / "out"
    assert compile_main([str(model), "-o", str(out), "--build"]) == 0
    stdout = capsys.readouterr().out
    assert "void dense(const void *weights, void *arena, const float *in0, float *out0)" in stdout
    result = subprocess.run(["./run", "-n", "2"], cwd=out, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "out0 'y': float32[2,8]" in result.stdout
    assert "latency: median" in result.stdout


def test_compile_unsupported_op_names_the_node_and_writes_nothing(tmp_path: Path):
    model = nonzero_model(tmp_path / "nonzero.onnx")
    result = run_tool("compile", model, "-o", tmp_path / "out", "--quiet")
    assert result.returncode == 1
    assert result.stderr.startswith(f"{model}: error: ")
    assert "node 'find_nonzero'" in result.stderr and "not supported" in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nonzero.onnx"]
    piped = run_tool("compile", model, "-o", tmp_path / "out")  # progress lines, then the error
    assert piped.returncode == 1
    assert piped.stderr.splitlines()[-1] == result.stderr.strip()
    assert all(line.startswith("lamina-compile: ") for line in piped.stderr.splitlines()[:-1])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.onnx"], "missing.onnx: error: "),
        (["MODEL", "--device", "no-such-chip"], "error: unknown device 'no-such-chip'"),
        (["MODEL", "--name", "2fast"], "error: entry point name '2fast' is not a C identifier"),
    ],
)
def test_compile_bad_arguments_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
):
    model = str(dense_model(tmp_path / "dense.onnx"))
    argv = [model if a == "MODEL" else a for a in args] + ["-o", str(tmp_path / "out")]
    assert compile_main(argv) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_run_jit_compares_with_onnxruntime(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    model = dense_model(tmp_path / "dense.onnx")
    assert run_main([str(model), "--random-inputs", "--compare", "ort", "--repeat", "2"]) == 0
    stdout = capsys.readouterr().out
    assert "latency (lamina JIT, host, median of 2)" in stdout
    assert "latency (onnxruntime, median of 2)" in stdout
    assert max_error(stdout) < 1e-5  # tanh of 16-term f32 sums


def test_run_cortex_a76_runs_the_bundle_under_qemu(tmp_path: Path):
    model = dense_model(tmp_path / "dense.onnx")
    result = run_tool(
        "run",
        model,
        "--random-inputs",
        "--device",
        "cortex-a76",
        "--compare",
        "ort",
        "--repeat",
        "1",
    )
    assert result.returncode == 0, result.stderr
    assert "lamina AOT bundle, cortex-a76, under qemu-aarch64" in result.stdout
    assert max_error(result.stdout) < 1e-5


def test_run_wrong_input_shape_is_a_clear_error(tmp_path: Path):
    model = dense_model(tmp_path / "dense.onnx")
    np.save(tmp_path / "x.npy", np.zeros((2, 15), np.float32))
    result = run_tool("run", model, "--inputs", tmp_path / "x.npy")
    assert result.returncode == 1
    assert result.stderr == (f"{model}: error: input 'x' takes float32[2,16], got float32[2,15]\n")


def test_run_reference_still_runs_the_interpreter(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    model = dense_model(tmp_path / "dense.onnx")
    assert (
        run_main(
            [str(model), "--reference", "--random-inputs", "--compare", "ort", "--repeat", "1"]
        )
        == 0
    )
    stdout = capsys.readouterr().out
    assert "latency (reference interpreter" in stdout
    assert max_error(stdout) < 1e-5


def test_run_unreadable_model_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    model = tmp_path / "broken.onnx"
    model.write_bytes(b"not a protobuf")
    assert run_main([str(model)]) == 1
    assert capsys.readouterr().err.startswith(f"{model}: error: cannot read the model")
