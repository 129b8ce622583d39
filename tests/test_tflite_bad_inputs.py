"""Bad .tflite files give `model.tflite: error: ...` and a non-zero exit, never a traceback:
random and truncated bytes, a wrong file identifier, out-of-range buffer and tensor
indices, unknown builtin and custom operators (all listed in one diagnostic), and a few
hundred seeded mutations of a small model (tools/tflite_mutations.py)."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType

import numpy as np
import pytest

from lamina.compiler import import_model
from lamina.errors import LaminaError
from lamina.tools.model_zoo import zoo_model
from lamina.tools.opt import main as opt_main
from lamina.tools.run import main as run_main
from lamina.tools.tflite_builder import TFLiteBuilder
from lamina.tools.tflite_mutations import mutations, seed_model


def small_model() -> TFLiteBuilder:
    m = TFLiteBuilder()
    x, w = m.input("x", [1, 4]), m.constant("w", np.ones((3, 4), np.float32))
    y = m.tensor("y", [1, 3])
    m.op("FULLY_CONNECTED", [x, w, -1], [y], "FullyConnectedOptions")
    m.output(y)
    return m


def opt_error(data: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    assert opt_main([str(path)]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.out == ""
    assert captured.err.startswith(f"{path}: error: "), captured.err
    return captured.err


def test_random_bytes_are_not_a_tflite_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    data = np.random.default_rng(3).integers(0, 256, 300, np.uint8).tobytes()
    assert "not a TFLite model: file identifier" in opt_error(data, tmp_path, capsys)


def test_wrong_file_identifier_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    data = bytearray(small_model().finish())
    data[4:8] = b"TFL2"
    assert "file identifier b'TFL2', expected b'TFL3'" in opt_error(bytes(data), tmp_path, capsys)


@pytest.mark.parametrize("keep", [6, 40, 200])
def test_truncated_model_is_a_diagnostic(
    keep: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    data = small_model().finish()[:keep]
    message = opt_error(data, tmp_path, capsys)
    assert "not a TFLite model" in message or "malformed flatbuffer" in message


def test_out_of_range_buffer_index(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    m = small_model()
    m.tensors[1].buffer = 99
    assert "tensor 1: buffer index 99 is out of range" in opt_error(m.finish(), tmp_path, capsys)


def test_out_of_range_tensor_index_names_the_operator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    m = small_model()
    m.ops[0].inputs[0] = 50
    message = opt_error(m.finish(), tmp_path, capsys)
    assert "operator 0 (FULLY_CONNECTED): its input tensor index 50 is out of range" in message


def test_unknown_ops_are_listed_in_one_diagnostic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    m = small_model()
    z, t = m.tensor("z", [1, 3]), m.tensor("t", [1, 3])
    m.op("CUSTOM", [2], [z], custom="MyFancyOp")
    m.op("HASHTABLE_LOOKUP", [z], [t])
    m.output(t)
    message = opt_error(m.finish(), tmp_path, capsys)
    assert "not supported: 2 nodes:" in message
    assert "custom op 'MyFancyOp' (operator 1)" in message
    assert "builtin op 'HASHTABLE_LOOKUP' (operator 2)" in message


def test_lamina_run_reports_a_bad_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    path = tmp_path / "m.tflite"
    path.write_bytes(small_model().finish()[:100])
    assert run_main([str(path), "--random-inputs"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{path}: error: " in err


def _hang(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError("import ran past 10 s")


def test_seeded_mutations_import_or_give_a_diagnostic():
    """300 mutations: each imports (and verifies) or raises a LaminaError, within 10 s."""
    outcomes = {"ok": 0, "diagnostic": 0}
    previous = signal.signal(signal.SIGALRM, _hang)
    try:
        for data in mutations(seed_model(), count=300, seed=11):
            signal.alarm(10)
            try:
                import_model(data)
                outcomes["ok"] += 1
            except LaminaError as e:
                assert str(e).startswith("<bytes>: error: "), str(e)
                outcomes["diagnostic"] += 1
            finally:
                signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert outcomes["diagnostic"] > 100 and outcomes["ok"] > 10, outcomes


def test_sparse_tensor_too_large_once_dense_is_a_diagnostic():
    """Fuzz regression (benchmarks/tflite_fuzz.py, seed 1): a mutated shape of a sparse
    weight asked numpy for 54 GB; the weights limit refuses it first."""
    data = zoo_model("mp-face-detection-sparse").read_bytes()
    mutated = list(mutations(data, count=1313, seed=1))[-1]
    with pytest.raises(
        LaminaError, match=r"weights too large: .* \(sparse tensor 214 made dense\)"
    ):
        import_model(mutated)


def test_zero_quantization_scale_is_a_diagnostic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    m = TFLiteBuilder()
    x = m.input("x", [1, 4], np.int8, ([0.1], [0], 0))
    y = m.tensor("y", [1, 4], np.int8, ([0.0], [0], 0))
    m.op("RELU", [x], [y])
    m.output(y)
    message = opt_error(m.finish(), tmp_path, capsys)
    assert message.endswith(
        "error: operator 0 (RELU): tensor 'y': a quantization scale is not a positive finite"
        " number\n"
    )
