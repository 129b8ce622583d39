"""lamina-run's inputs and outputs (issue 17): .npy / .npz / inline inputs, missing inputs
refused unless --random-inputs, outputs saved, --top; outputs checked against onnxruntime."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from lamina.tools.run import main as run_main


def two_input_model(path: Path) -> Path:
    """y = softsign-free logits: (a @ W) * s, a 1x6 input a and a 1x1 input s; 7 classes."""
    weight = numpy_helper.from_array(
        np.random.default_rng(3).standard_normal((6, 7)).astype(np.float32), "W"
    )
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "W"], ["m"]), helper.make_node("Mul", ["m", "s"], ["y"])],
        "two",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 6]),
            helper.make_tensor_value_info("s", TensorProto.FLOAT, [1, 1]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 7])],
        [weight],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def _reference(model: Path, feeds: dict[str, np.ndarray]) -> np.ndarray:
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, feeds)[0])


def _close(got: np.ndarray, want: np.ndarray) -> bool:
    return float(np.max(np.abs(got - want))) <= 1e-3 * float(np.max(np.abs(want))) + 1e-4


A = np.arange(6, dtype=np.float32).reshape(1, 6) / 5


def test_npy_and_inline_scalar_inputs_with_npz_output(tmp_path: Path):
    model = two_input_model(tmp_path / "m.onnx")
    np.save(tmp_path / "a.npy", A)
    out = tmp_path / "out.npz"
    assert (
        run_main([str(model), "--inputs", f"a={tmp_path / 'a.npy'}", "s=0.5", "-o", str(out)]) == 0
    )
    with np.load(out) as saved:
        assert list(saved.files) == ["y"]
        got = saved["y"]
    assert _close(got, _reference(model, {"a": A, "s": np.full((1, 1), 0.5, np.float32)}))


def test_npz_inputs_by_name_with_npy_outputs_in_a_folder(tmp_path: Path):
    model = two_input_model(tmp_path / "m.onnx")
    s = np.array([[2.0]], np.float32)
    np.savez(tmp_path / "feeds.npz", a=A, s=s)
    folder = tmp_path / "outs"
    assert (
        run_main([str(model), "--inputs", str(tmp_path / "feeds.npz"), "--output", str(folder)])
        == 0
    )
    assert _close(np.load(folder / "y.npy"), _reference(model, {"a": A, "s": s}))


def test_inline_list_input(tmp_path: Path):
    model = two_input_model(tmp_path / "m.onnx")
    folder = tmp_path / "outs"
    inline = "a=[[0, 0.2, 0.4, 0.6, 0.8, 1.0]]"
    assert run_main([str(model), "--inputs", inline, "s=[[1]]", "-o", str(folder)]) == 0
    ones = np.ones((1, 1), np.float32)
    assert _close(np.load(folder / "y.npy"), _reference(model, {"a": A, "s": ones}))


def test_missing_input_is_an_error_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    model = two_input_model(tmp_path / "m.onnx")
    assert run_main([str(model), "--inputs", "a=1"]) == 1
    err = capsys.readouterr().err
    assert "no value for input 's'" in err and "--random-inputs" in err


def test_random_inputs_fill_what_is_not_given(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    model = two_input_model(tmp_path / "m.onnx")
    assert run_main([str(model), "--inputs", "a=1", "--random-inputs", "--compare", "ort"]) == 0
    out = capsys.readouterr().out
    assert "top-" not in out
    error = float(out.split("max abs error vs onnxruntime ")[1].split()[0])
    assert error < 1e-4


def test_top_prints_the_largest_classes_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    model = two_input_model(tmp_path / "m.onnx")
    assert run_main([str(model), "--inputs", "a=1", "s=1", "--top", "5"]) == 0
    line = next(t for t in capsys.readouterr().out.splitlines() if "top-5" in t)
    want = _reference(model, {"a": np.ones((1, 6), np.float32), "s": np.ones((1, 1), np.float32)})
    assert line.split()[1] == f"#{int(np.argmax(want))}"


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (["b=1"], "the model has no input 'b' (inputs: a, s)"),
        (["a=[1,2]", "s=1"], "input 'a': cannot use '[1,2]' as float32[1, 6]"),
        (["a=oops", "s=1"], "input 'a': cannot use 'oops'"),
        (["nothing"], "cannot read input 'nothing'"),
        (["a=x.npz", "s=1"], "cannot read input arrays 'x.npz'"),
        (["a=absent.npy", "s=1"], "cannot read input array 'absent.npy': No such file"),
    ],
)
def test_bad_inputs_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], inputs: list[str], message: str
):
    model = two_input_model(tmp_path / "m.onnx")
    assert run_main([str(model), "--inputs", *inputs]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_iree_spelling_of_inputs_and_outputs_round_trips_through_the_cli(tmp_path: Path):
    """`--input NAME=@file.npy` (repeated) and `--output @o.npz`, as iree-run-module takes them,
    run as a subprocess; the saved outputs match onnxruntime."""
    model = two_input_model(tmp_path / "m.onnx")
    s = np.array([[1.5]], np.float32)
    np.save(tmp_path / "a.npy", A)
    np.save(tmp_path / "s.npy", s)
    out = tmp_path / "o.npz"
    command = [sys.executable, "-m", "lamina.tools.run", str(model)]
    command += ["--input", f"a=@{tmp_path / 'a.npy'}", "--input", f"s=@{tmp_path / 's.npy'}"]
    result = subprocess.run([*command, "--output", f"@{out}"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    with np.load(out) as saved:
        assert _close(saved["y"], _reference(model, {"a": A, "s": s}))
