"""The AOT bundle's C driver reads .npy inputs as well as raw .bin (issue 17): the header's
dtype, shape and order are checked, and the outputs match onnxruntime."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers_cli import assert_close_at_scale, matmul_model, onnxruntime_outputs

from lamina.codegen.bundle import Bundle
from lamina.compiler import compile_bundle
from lamina.runtime.qemu import build_bundle


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    built = compile_bundle(matmul_model(2, 5, 3), "host", tmp_path_factory.mktemp("npy") / "mm")
    build_bundle(built.directory)
    return built


def _run(bundle: Bundle, *args: str | Path) -> subprocess.CompletedProcess[str]:
    command = ["./run", *map(str, args)]
    return subprocess.run(command, cwd=bundle.directory, capture_output=True, text=True)


def test_npy_input_matches_onnxruntime(bundle: Bundle, tmp_path: Path):
    x = np.random.default_rng(5).standard_normal((2, 5)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    result = _run(bundle, "-i", tmp_path / "x.npy", "-o", tmp_path)
    assert result.returncode == 0, result.stderr
    got = np.fromfile(tmp_path / "out0.bin", np.float32).reshape(2, 3)
    assert_close_at_scale([got], onnxruntime_outputs(matmul_model(2, 5, 3), {"x": x}))


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((2, 5), np.float64), "holds <f8, but input 0 'x' (float32[2,5]) takes <f4"),
        (np.zeros((5, 2), np.float32), "has shape [5,2], but input 0 'x' (float32[2,5]) takes"),
        (np.asfortranarray(np.zeros((2, 5), np.float32)), "is in Fortran order"),
    ],
)
def test_npy_of_another_dtype_shape_or_order_is_refused(
    bundle: Bundle, tmp_path: Path, array: np.ndarray, message: str
):
    np.save(tmp_path / "x.npy", array)
    result = _run(bundle, "-i", tmp_path / "x.npy", "-o", tmp_path)
    assert result.returncode == 1
    assert message in result.stderr


def test_a_file_that_is_not_npy_is_refused(bundle: Bundle, tmp_path: Path):
    (tmp_path / "x.npy").write_bytes(b"not numpy at all, just bytes")
    result = _run(bundle, "-i", tmp_path / "x.npy")
    assert result.returncode == 1
    assert "not a .npy file" in result.stderr
