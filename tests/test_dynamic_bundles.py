"""AOT bundles of kernels with dynamic dims (codegen/aot_dynamic.py, the driver's dynamic
mode): hand-written loop-level kernels built into bundles for the host and for cortex-a76
(under qemu-aarch64), run as separate processes on .npy inputs of several shapes and
compared with numpy; a wrong rank or static dim is the driver's error, exit 1."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from dynamic_kernels import BAD_SHAPES, COLUMN_SUMS, MATMUL, ROWS, parse, rows_reference

from lamina.codegen import aot
from lamina.codegen.aot import Bundle, header, kernel_function
from lamina.errors import UnsupportedError
from lamina.runtime.qemu import build_bundle, run_bundle
from lamina.targets import load_device

RNG = np.random.default_rng(21)


SANITIZE = ("-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g")


def loop_bundle(
    text: str,
    device: str,
    out: Path,
    inputs: list[str],
    outputs: list[str],
    cflags: tuple[str, ...] = (),
) -> Bundle:
    """A bundle of a hand-written loop-level module: write_bundle's steps after `lower`."""
    module = parse(text)
    target = load_device(device)
    kernel = kernel_function(module)
    shapes = aot.aot_dynamic.shape_function(module, kernel)
    bundle = aot.describe_kernel(kernel, target, out, inputs, outputs)
    aot._check_dynamic(bundle, target, kernel, shapes)  # noqa: SLF001
    files = aot._device_files(module, bundle, target, 2, cflags)  # noqa: SLF001
    files |= {
        "model.h": header(bundle).encode(),
        "weights.bin": b"",
        aot.MANIFEST: json.dumps(bundle.manifest()).encode(),
    }
    out.mkdir(parents=True)
    for name, data in files.items():
        (out / name).write_bytes(data)
    return bundle


@pytest.fixture(scope="module")
def rows_bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    bundle = loop_bundle(ROWS, "host", tmp_path_factory.mktemp("rows") / "b", ["x"], ["y"])
    build_bundle(bundle.directory)
    return bundle


def test_header_declares_the_extents_and_the_shape_function(rows_bundle: Bundle):
    text = (rows_bundle.directory / "model.h").read_text()
    assert "int32_t rows_shapes(const int64_t *in_dims, int64_t *out_dims);" in text
    assert (
        "void rows(const void *weights, void *arena, const float *in0, int64_t in0_dim0, "
        "float *out0, int64_t out0_dim0);" in text
    )
    assert "#define LAMINA_ROWS_IN0_SHAPE {-1, 16}" in text
    assert "LAMINA_ROWS_IN0_BYTES" not in text
    assert "#define LAMINA_ROWS_CHECKS {\"input 'x' has more than 100000 rows\", 0}" in text
    assert "1. rows_shapes(in_dims, out_dims)" in text


def run_in(
    directory: Path, command: Sequence[str | Path], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`command` run in `directory` (with only `env` in its environment, if given), its
    output captured as text; its exit status is the caller's to check."""
    return subprocess.run(
        [str(part) for part in command],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def compile_driver_strictly(bundle: Bundle, tmp_path: Path) -> None:
    command = ["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-c", "main.c", "-o", tmp_path / "m.o"]
    result = run_in(bundle.directory, command)
    assert result.returncode == 0, result.stderr


def test_driver_builds_without_warnings(rows_bundle: Bundle, tmp_path: Path):
    compile_driver_strictly(rows_bundle, tmp_path)


def test_dynamic_input_static_output_bundle_needs_no_shape_function(tmp_path: Path):
    bundle = loop_bundle(COLUMN_SUMS, "host", tmp_path / "sums", ["x"], ["y"])
    text = (bundle.directory / "model.h").read_text()
    assert "_shapes" not in text and "#define LAMINA_SUMS_HAS_SHAPES 0" in text
    assert "#define LAMINA_SUMS_OUT0_BYTES 32" in text
    compile_driver_strictly(bundle, tmp_path)
    for n in (0, 1, 37):
        x = RNG.standard_normal((n, 8), dtype=np.float32)
        (y,) = run_bundle(bundle.directory, [x]).outputs
        assert y.shape == (8,)
        np.testing.assert_allclose(y, x.sum(0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("n", [0, 1, 37, 5000])
def test_host_bundle_matches_numpy_at_several_sizes(rows_bundle: Bundle, n: int):
    x = RNG.standard_normal((n, 16), dtype=np.float32)
    (y,) = run_bundle(rows_bundle.directory, [x]).outputs
    assert y.shape == (n, 16) and y.dtype == np.float32
    np.testing.assert_array_equal(y, rows_reference(x))


@pytest.mark.parametrize(
    ("shape", "shown"), [((2, 5), "[2,5]"), ((16,), "[16]"), ((1, 2, 16), "[1,2,16]")]
)
def test_driver_rejects_wrong_rank_or_static_dim(
    rows_bundle: Bundle, tmp_path: Path, shape: tuple[int, ...], shown: str
):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros(shape, np.float32))
    command = [rows_bundle.executable, "-w", "weights.bin", "-i", path, "-o", tmp_path]
    result = run_in(rows_bundle.directory, command)
    assert result.returncode == 1
    assert f"has shape {shown}, but input 0 'x' (float32[?,16]) takes [?,16]" in result.stderr


def test_driver_reports_a_failed_shape_check(rows_bundle: Bundle, tmp_path: Path):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((100001, 16), np.float32))
    result = run_in(rows_bundle.directory, [rows_bundle.executable, "-i", path, "-o", tmp_path])
    assert result.returncode == 1
    assert "run: error: input 'x' has more than 100000 rows" in result.stderr


def test_driver_generates_inputs_with_one_for_each_dynamic_dim(rows_bundle: Bundle, tmp_path):
    result = run_in(rows_bundle.directory, [rows_bundle.executable, "-o", tmp_path])
    assert result.returncode == 0, result.stderr
    assert np.load(tmp_path / "out0.npy").shape == (1, 16)


def test_run_bundle_rejects_a_wrong_static_dim_before_running(rows_bundle: Bundle):
    with pytest.raises(Exception, match=r"takes float32\[\?,16\], got float32\[3,4\]"):
        run_bundle(rows_bundle.directory, [np.zeros((3, 4), np.float32)])


@pytest.mark.parametrize("device", ["host", "cortex-a76"])
def test_matmul_bundle_with_two_dynamic_dims_matches_numpy(tmp_path: Path, device: str):
    # No skip for cortex-a76: `make test` installs qemu-user and the cross toolchain
    bundle = loop_bundle(MATMUL, device, tmp_path / device, ["a", "b"], ["c"])
    for m, k in [(0, 3), (1, 1), (37, 19)]:
        a = RNG.standard_normal((m, k), dtype=np.float32)
        b = RNG.standard_normal((k, 12), dtype=np.float32)
        (c,) = run_bundle(bundle.directory, [a, b]).outputs
        ref = a @ b
        assert c.shape == (m, 12)
        # f32 sums of k products in another order than numpy's
        assert np.abs(c - ref).max(initial=0) <= 1e-5 * k * np.abs(ref).max(initial=1)


def test_cortex_a76_rows_bundle_under_qemu_matches_numpy(tmp_path: Path):
    # 5000 rows: enough work for the thread pool, a run-time trip count split into chunks
    bundle = loop_bundle(ROWS, "cortex-a76", tmp_path / "a76", ["x"], ["y"])
    for n in (0, 1, 37, 5000):
        x = RNG.standard_normal((n, 16), dtype=np.float32)
        (y,) = run_bundle(bundle.directory, [x]).outputs
        np.testing.assert_array_equal(y, rows_reference(x))


def test_hexagon_bundles_do_not_take_dynamic_shapes(tmp_path: Path):
    with pytest.raises(UnsupportedError, match="not supported: dynamic shapes on hexagon"):
        loop_bundle(ROWS, "hexagon-v66-hvx128", tmp_path / "dsp", ["x"], ["y"])


def test_sanitized_host_bundle_reports_nothing(tmp_path: Path):
    # heap buffers of 0 and 37 rows, the .npy reader and writer under ASan + UBSan + LSan
    bundle = loop_bundle(ROWS, "host", tmp_path / "asan", ["x"], ["y"], SANITIZE)
    executable = build_bundle(bundle.directory)
    for n in (0, 37):
        path = tmp_path / f"x{n}.npy"
        x = RNG.standard_normal((n, 16), dtype=np.float32)
        np.save(path, x)
        result = run_in(
            bundle.directory,
            [executable, "-i", path, "-o", tmp_path, "-n", "2"],
            env={"UBSAN_OPTIONS": "halt_on_error=1", "ASAN_OPTIONS": "detect_leaks=1"},
        )
        assert result.returncode == 0, result.stderr
        assert "Sanitizer" not in result.stderr and "runtime error" not in result.stderr
        np.testing.assert_array_equal(np.load(tmp_path / "out0.npy"), rows_reference(x))


def test_driver_refuses_negative_extents_from_the_shape_function(tmp_path: Path):
    text = ROWS[: ROWS.index("func.func @rows_shapes")] + BAD_SHAPES
    bundle = loop_bundle(text, "host", tmp_path / "bad", ["x"], ["y"])
    executable = build_bundle(bundle.directory)
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((2, 16), np.float32))
    result = run_in(bundle.directory, [executable, "-i", path, "-o", tmp_path])
    assert result.returncode == 1
    assert "run: error: the shape function gave a negative extent" in result.stderr
