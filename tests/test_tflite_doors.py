"""Every door takes a .tflite model, told by its file identifier (TFL3 at bytes 4..8), not
its extension: lamina.compile, lamina-run (with --compare litert), lamina-compile
(--device host, and --fleet)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import lamina
from lamina.codegen.bundle import Bundle
from lamina.runtime.qemu import run_bundle
from lamina.tools.compile import main as compile_main
from lamina.tools.run import main as run_main
from lamina.tools.tflite_check import litert_outputs, mismatch
from lamina.tools.tflite_mutations import seed_model


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "classifier.bin"  # no .tflite extension: the identifier decides
    path.write_bytes(seed_model())
    return path


def test_lamina_compile_takes_a_path_without_the_extension(model: Path):
    compiled = lamina.compile(str(model))
    x = np.random.default_rng(0).standard_normal((1, 8, 8, 2)).astype(np.float32)
    logits, probs = compiled(x)
    assert logits.shape == (1, 10) and probs.shape == (1, 10)
    assert np.isclose(probs.sum(), 1.0, atol=1e-5)
    assert compiled.input_names == ["x"]


def test_lamina_run_compares_with_litert(model: Path, capsys: pytest.CaptureFixture[str]):
    assert run_main([str(model), "--random-inputs", "--compare", "litert", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    errors = [float(e) for e in re.findall(r"max abs error vs LiteRT (\S+)", out)]
    assert len(errors) == 2 and max(errors) < 1e-4, out
    assert "lamina / LiteRT latency" in out


def test_lamina_run_refuses_onnxruntime_for_a_tflite_model(
    model: Path, capsys: pytest.CaptureFixture[str]
):
    assert run_main([str(model), "--random-inputs", "--compare", "ort"]) == 1
    assert "error: --compare ort runs .onnx models" in capsys.readouterr().err


def test_lamina_compile_writes_a_host_bundle(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    out = tmp_path / "bundle"
    assert compile_main([str(model), "--device", "host", "-o", str(out)]) == 0
    assert (out / "model.o").stat().st_size > 0
    assert "void classifier(const void *weights, void *arena, const float *in0" in (
        capsys.readouterr().out
    )


def test_lamina_compile_fleet_builds_a_bundle_per_device_that_matches_litert(
    model: Path, tmp_path: Path
):
    fleet = tmp_path / "fleet.toml"
    fleet.write_text('[[target]]\nname = "pc"\ndevice = "host"\n'
                     '[[target]]\nname = "phone"\ndevice = "cortex-a76"\n')  # fmt: skip
    out = tmp_path / "out"
    assert compile_main([str(model), "--fleet", str(fleet), "-o", str(out), "--quiet"]) == 0
    assert Bundle.load(out / "phone").triple.startswith("aarch64")
    x = np.random.default_rng(0).standard_normal((1, 8, 8, 2)).astype(np.float32)
    got = run_bundle(out / "pc", [x]).outputs
    want = litert_outputs(model.read_bytes(), [x])
    assert mismatch(got, want) is None
