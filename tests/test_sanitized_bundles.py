"""AOT bundles under AddressSanitizer + UndefinedBehaviorSanitizer and under valgrind: the C
driver (codegen/aot_driver.c.in) built with `compile_bundle(..., cflags=SANITIZE)` and linked
with the generated object, run as a separate process on four models (an MLP, SqueezeNet
with logits, a YOLO-style detector, an LSTM CRNN). It must exit 0, the sanitizers must
report nothing (inputs as .npy files, so the driver's header parser runs too) and the
outputs must still match onnxruntime."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from lamina.codegen.bundle import Bundle
from lamina.compiler import compile_bundle
from lamina.errors import UnsupportedError
from lamina.runtime.qemu import build_bundle
from lamina.tools.model_builders import yolo_detector
from lamina.tools.model_builders_rnn import crnn
from lamina.tools.models import light_model, mlp, output_mismatch, random_inputs, with_logits

SANITIZE = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g"]
SANITIZER_ENV = {
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
    "ASAN_OPTIONS": "detect_leaks=1",
}
SANITIZER_REPORTS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
AVX2_DEVICE = """name = "x86-64-avx2"
kind = "cpu"
triple = "x86_64-unknown-linux-gnu"
cpu = "x86-64-v3"
features = ["+avx2", "+fma"]
vector_bits = 256
cores = 2
"""
"""A host-runnable x86-64 device without AVX-512, whose EVEX encoding valgrind 3.19 cannot
decode (the host device may have it)."""

MODELS: dict[str, Callable[[], onnx.ModelProto]] = {
    "mlp": mlp,
    "squeezenet": lambda: with_logits(light_model("squeezenet")),
    "yolo": yolo_detector,
    "crnn": crnn,
}


def run_driver(
    bundle: Bundle, feeds: dict[str, np.ndarray], prefix: list[str], env: dict[str, str], npy: bool
) -> subprocess.CompletedProcess[str]:
    """Run the bundle's executable (after `prefix`, e.g. valgrind) on `feeds` as .npy files
    (the driver's header parser) or raw .bin files."""
    command = [*prefix, str(bundle.executable.resolve()), "-w", "weights.bin"]
    for k, spec in enumerate(bundle.inputs):
        path = bundle.directory / f"in{k}.{'npy' if npy else 'bin'}"
        if npy:
            np.save(path, feeds[spec.name])
        else:
            feeds[spec.name].tofile(path)
        command += ["-i", str(path)]
    return subprocess.run(
        command,
        cwd=bundle.directory,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def check_outputs(bundle: Bundle, model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> None:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for k, (spec, want) in enumerate(zip(bundle.outputs, session.run(None, feeds), strict=True)):
        got = np.fromfile(bundle.directory / f"out{k}.bin", dtype=spec.dtype).reshape(spec.shape)
        assert output_mismatch(got, np.asarray(want)) is None, spec.name


@pytest.mark.parametrize("name", list(MODELS))
def test_sanitized_bundle_is_clean_and_matches_onnxruntime(name: str, tmp_path: Path):
    model = MODELS[name]()
    bundle = compile_bundle(model, "host", tmp_path / name, cflags=SANITIZE)
    assert "-fsanitize=address,undefined" in (bundle.directory / "Makefile").read_text()
    build_bundle(bundle.directory)
    feeds = random_inputs(model)
    result = run_driver(bundle, feeds, [], SANITIZER_ENV, npy=True)
    assert result.returncode == 0, result.stderr
    assert not [r for r in SANITIZER_REPORTS if r in result.stderr], result.stderr
    check_outputs(bundle, model, feeds)


def test_bundle_is_clean_under_valgrind(tmp_path: Path):
    """Memory errors and definite leaks fail; the thread pool's workers are detached and
    never joined (codegen/llvm_parallel.py), so their thread storage is only `possibly
    lost` at exit, which is not counted."""
    device = tmp_path / "x86-64-avx2.toml"
    device.write_text(AVX2_DEVICE)
    model = mlp()
    bundle = compile_bundle(model, str(device), tmp_path / "mlp", cflags=["-g"])
    # build_bundle looks the device up by name; this one exists only as a file
    subprocess.run(["make", "-s", "-C", str(bundle.directory)], check=True, timeout=120)
    feeds = random_inputs(model)
    valgrind = ["valgrind", "--error-exitcode=1", "--leak-check=full"]
    valgrind += ["--errors-for-leak-kinds=definite,indirect"]
    result = run_driver(bundle, feeds, valgrind, {}, npy=False)
    assert result.returncode == 0, result.stderr
    assert "ERROR SUMMARY: 0 errors" in result.stderr, result.stderr
    check_outputs(bundle, model, feeds)


def test_hexagon_bundles_take_no_extra_c_flags(tmp_path: Path):
    with pytest.raises(UnsupportedError, match="extra C flags for a Hexagon bundle"):
        compile_bundle(mlp(), "hexagon-v66-hvx128", tmp_path / "dsp", cflags=SANITIZE)
