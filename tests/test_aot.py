"""AOT bundles (codegen/aot.py, runtime/qemu.py): what a bundle holds, its C driver run as a
separate process on the host and under qemu-aarch64 for cortex-a76, and that a failing
compile leaves nothing behind."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
from helpers_cli import onnx_model, onnxruntime_outputs, unary_model
from onnx import TensorProto, helper

from lamina.codegen.bundle import Bundle
from lamina.compiler import compile_bundle
from lamina.errors import DeviceError, LaminaError, UnsupportedError
from lamina.runtime.qemu import build_bundle, check_toolchain, run_bundle
from lamina.targets import load_device

RNG = np.random.default_rng(12)


def small_cnn() -> onnx.ModelProto:
    """conv 3x3 (pads 1) -> relu -> maxpool 2x2 -> flatten -> gemm -> tanh -> softmax: a
    convolution, a reduction-like pool, a dense layer and libm calls in 0.3 MFLOP. The same
    seeded weights on every call."""
    rng = np.random.default_rng(0)
    weights = {
        "w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32) * 0.3,
        "b": rng.standard_normal(4).astype(np.float32) * 0.1,
        "fc": rng.standard_normal((64, 10)).astype(np.float32) * 0.2,
    }
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
        helper.make_node("MatMul", ["f", "fc"], ["m"], name="fc"),
        helper.make_node("Tanh", ["m"], ["t"], name="tanh"),
        helper.make_node("Softmax", ["t"], ["y"], name="softmax", axis=1),
    ]
    return onnx_model(nodes, {"x": [1, 3, 8, 8]}, {"y": [1, 10]}, weights, name="small_cnn")


def nonzero_model() -> onnx.ModelProto:
    """Relu then NonZero: an output shape that depends on the data, which static-shape
    compilation cannot support."""
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("NonZero", ["r"], ["y"], name="the_nonzero"),
    ]
    return onnx_model(
        nodes, {"x": [2, 5]}, {"y": [2, None]}, name="nonzero", elem_types={"y": TensorProto.INT64}
    )


@pytest.fixture(scope="module")
def host_bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    bundle = compile_bundle(small_cnn(), "host", tmp_path_factory.mktemp("host") / "cnn")
    build_bundle(bundle.directory)
    return bundle


def test_bundle_holds_object_header_weights_driver_and_manifest(host_bundle: Bundle):
    files = {p.name for p in host_bundle.directory.iterdir()}
    assert {"model.o", "model.h", "weights.bin", "main.c", "Makefile", "bundle.json"} <= files
    header = (host_bundle.directory / "model.h").read_text()
    assert (
        "void small_cnn(const void *weights, void *arena, const float *in0, float *out0);" in header
    )
    assert "#define LAMINA_SMALL_CNN_IN0_SHAPE {1, 3, 8, 8}" in header
    assert f"#define LAMINA_SMALL_CNN_ARENA_BYTES {host_bundle.arena_bytes}" in header
    weights = (host_bundle.directory / "weights.bin").stat().st_size
    assert f"#define LAMINA_SMALL_CNN_WEIGHTS_BYTES {weights}" in header
    manifest = json.loads((host_bundle.directory / "bundle.json").read_text())
    assert manifest["inputs"] == [{"name": "x", "shape": [1, 3, 8, 8], "dtype": "float32"}]
    assert Bundle.load(host_bundle.directory) == host_bundle


def test_driver_builds_without_warnings(host_bundle: Bundle, tmp_path: Path):
    result = subprocess.run(
        ["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(tmp_path / "run"), "main.c"]
        + ["model.o", "-lm", "-lpthread"],
        cwd=host_bundle.directory,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_host_bundle_process_matches_onnxruntime(host_bundle: Bundle):
    x = RNG.standard_normal((1, 3, 8, 8), dtype=np.float32)
    run = run_bundle(host_bundle.directory, {"x": x}, repeat=3)
    (want,) = onnxruntime_outputs(small_cnn(), {"x": x})
    # f32 conv/gemm sums of <= 64 terms in another order than onnxruntime's
    np.testing.assert_allclose(run.outputs[0], want, rtol=1e-5, atol=1e-6)
    assert run.median_ms >= 0


def test_driver_generates_seeded_inputs_without_files(host_bundle: Bundle, tmp_path: Path):
    def outputs(seed: int) -> bytes:
        out = tmp_path / f"seed{seed}"
        out.mkdir(exist_ok=True)
        command = ["./run", "-s", str(seed), "-o", str(out)]
        subprocess.run(command, cwd=host_bundle.directory, check=True, capture_output=True)
        return (out / "out0.bin").read_bytes()

    assert outputs(1) == outputs(1) != outputs(2)


def test_driver_rejects_input_file_of_the_wrong_size(host_bundle: Bundle, tmp_path: Path):
    bad = tmp_path / "x.bin"
    np.zeros((1, 3, 4, 4), np.float32).tofile(bad)
    result = subprocess.run(
        ["./run", "-i", str(bad)], cwd=host_bundle.directory, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert f"{bad} has 192 bytes, but input 0 'x' (float32[1,3,8,8]) takes 768" in result.stderr


def test_run_bundle_rejects_wrong_shape_and_dtype(host_bundle: Bundle):
    with pytest.raises(
        LaminaError, match=r"input 'x' takes float32\[1,3,8,8\], got float32\[1,3,8,9\]"
    ):
        run_bundle(host_bundle.directory, [np.zeros((1, 3, 8, 9), np.float32)])
    with pytest.raises(LaminaError, match=r"got float64\[1,3,8,8\]"):
        run_bundle(host_bundle.directory, [np.zeros((1, 3, 8, 8))])


def test_cortex_a76_bundle_under_qemu_matches_onnxruntime(tmp_path: Path):
    # No skip: `make test` installs qemu-user and the cross toolchain; when they are missing
    # this fails with the Debian package to install.
    bundle = compile_bundle(small_cnn(), "cortex-a76", tmp_path / "a76")
    executable = build_bundle(bundle.directory)
    assert executable.read_bytes()[18] == 183  # ELF e_machine: EM_AARCH64
    x = RNG.standard_normal((1, 3, 8, 8), dtype=np.float32)
    (got,) = run_bundle(bundle.directory, [x]).outputs
    (want,) = onnxruntime_outputs(small_cnn(), {"x": x})
    # f32 sums of <= 64 terms in another order; NEON fma contraction vs x86 onnxruntime
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(
    "+avx512f" not in load_device("host").features, reason="this CPU has no AVX-512"
)
def test_x86_64_avx512_bundle_runs_natively(tmp_path: Path):
    bundle = compile_bundle(small_cnn(), "x86-64-avx512", tmp_path / "avx512")
    assert (
        '#define LAMINA_SMALL_CNN_DEVICE "x86-64-avx512"'
        in (bundle.directory / "model.h").read_text()
    )
    x = RNG.standard_normal((1, 3, 8, 8), dtype=np.float32)
    (got,) = run_bundle(bundle.directory, [x]).outputs
    (want,) = onnxruntime_outputs(small_cnn(), {"x": x})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)  # as on the host


def test_gpu_devices_have_no_bundles(tmp_path: Path):
    with pytest.raises(UnsupportedError, match="AOT bundles for opencl devices"):
        compile_bundle(small_cnn(), "opencl", tmp_path / "gpu")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("missing", "package"),
    [("qemu-aarch64", "qemu-user"), ("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu")],
)
def test_missing_cross_tools_name_their_debian_package(
    monkeypatch: pytest.MonkeyPatch, missing: str, package: str
):
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda cmd: None if cmd == missing else real_which(cmd))
    with pytest.raises(
        DeviceError, match=f"{missing} is not installed \\(Debian package {package}\\)"
    ):
        check_toolchain("cortex-a76")


def test_unsupported_op_leaves_no_bundle(tmp_path: Path):
    with pytest.raises(UnsupportedError, match="not supported: 'graph.non_zero'") as info:
        compile_bundle(nonzero_model(), "host", tmp_path / "out")
    assert getattr(info.value.op, "name", None) == "graph.non_zero"
    assert list(tmp_path.iterdir()) == []


def test_integer_and_bool_tensors_pass_through_the_c_interface(tmp_path: Path):
    nodes = [
        helper.make_node("Cast", ["i"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["f", "x"], ["y"]),
        helper.make_node("Greater", ["y", "x"], ["g"]),
    ]
    model = onnx_model(
        nodes,
        {"x": [5], "i": [5]},
        {"y": [5], "g": [5]},
        elem_types={"i": TensorProto.INT64, "g": TensorProto.BOOL},
    )
    bundle = compile_bundle(model, "host", tmp_path / "ints")
    header = (bundle.directory / "model.h").read_text()
    assert "const float *in0, const int64_t *in1, float *out0, uint8_t *out1)" in header
    x = RNG.standard_normal(5, dtype=np.float32)
    i = np.array([3, -2, 0, 7, -1])
    y, g = run_bundle(bundle.directory, [x, i]).outputs
    np.testing.assert_array_equal(y, x + i.astype(np.float32))
    np.testing.assert_array_equal(g, i > 0)


def test_float16_tensors_pass_through_the_c_interface_as_their_bits(tmp_path: Path):
    model = unary_model("Relu", [4], TensorProto.FLOAT16)
    bundle = compile_bundle(model, "host", tmp_path / "half")
    header = (bundle.directory / "model.h").read_text()
    assert "const uint16_t *in0, uint16_t *out0)" in header
    x = np.array([-1.5, 0.25, 3.0, -0.0], np.float16)
    (y,) = run_bundle(bundle.directory, [x]).outputs
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, np.maximum(x, np.float16(0)))


def test_complex_tensors_are_not_supported_in_bundles(tmp_path: Path):
    model = unary_model("Identity", [4], TensorProto.COMPLEX64)
    with pytest.raises(UnsupportedError, match="COMPLEX64"):
        compile_bundle(model, "host", tmp_path / "complex")
    assert list(tmp_path.iterdir()) == []


def test_existing_directory_that_is_not_a_bundle_is_kept(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(LaminaError, match="exists and is not a lamina bundle"):
        compile_bundle(small_cnn(), "host", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_bad_entry_point_name_is_an_error(tmp_path: Path):
    with pytest.raises(LaminaError, match="'main' is not a C identifier other than main"):
        compile_bundle(small_cnn(), "host", tmp_path / "out", name="main")
