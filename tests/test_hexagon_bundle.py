"""Hexagon AOT bundles (codegen/aot_hexagon.py): written by compile_bundle and lamina-compile,
linked by their Makefile (ld.lld), run under qemu-hexagon by runtime/qemu.py and lamina-run,
against onnxruntime and numpy; the freestanding driver's command-line errors."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from lamina.codegen import hexagon_program
from lamina.compiler import compile_bundle
from lamina.errors import DeviceError, UnsupportedError
from lamina.runtime import hexagon
from lamina.runtime.qemu import build_bundle, check_toolchain, run_bundle
from lamina.tools.compile import main as compile_main
from lamina.tools.models import mlp
from lamina.tools.run import main as run_main

pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in [*hexagon_program.TOOLS, "make"]),
    reason="needs qemu-hexagon, llvm-mc, ld.lld and make (Debian: qemu-user, llvm, lld, make)",
)

DEVICE = hexagon.DEVICE
# fp32 sums of 784 and 512 products in another order than onnxruntime's.
RTOL, ATOL = 1e-3, 1e-4
EM_HEXAGON, HEXAGON_V66 = 164, 0x66
"""The ELF machine number of Hexagon and the e_flags of a v66 object."""


@pytest.fixture(scope="module")
def mlp_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hexagon") / "mlp"
    compile_bundle(mlp(), DEVICE, out, name="mlp")
    build_bundle(out)
    return out


def test_mlp_bundle_runs_under_qemu_hexagon_and_matches_onnxruntime(mlp_bundle: Path):
    model = mlp()
    x = np.random.default_rng(1).standard_normal((1, 784)).astype(np.float32)
    run = run_bundle(mlp_bundle, {"x": x}, repeat=3)
    (expected,) = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})
    np.testing.assert_allclose(run.outputs[0], np.asarray(expected), rtol=RTOL, atol=ATOL)
    assert run.median_ms > 0 and "over 3 run(s)" in run.stdout


def test_mlp_bundle_holds_a_v66_object_and_the_cpu_bundles_header(mlp_bundle: Path):
    model_o = (mlp_bundle / "model.o").read_bytes()
    assert model_o[:4] == b"\x7fELF"
    assert int.from_bytes(model_o[18:20], "little") == EM_HEXAGON
    assert int.from_bytes(model_o[36:40], "little") & 0xFF == HEXAGON_V66
    header = (mlp_bundle / "model.h").read_text()
    assert "void mlp(const void *weights, void *arena, const float *in0, float *out0);" in header
    assert "#define LAMINA_MLP_IN0_SHAPE {1, 784}" in header
    makefile = (mlp_bundle / "Makefile").read_text()
    assert "LDFLAGS = -static -e _start" in makefile and "start.o" in makefile


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        (["-i", "short.bin"], 1, "short.bin has 12 bytes, but input 0 'x' (float32[1,784])"),
        ([], 1, "the model takes input files (-i): 1, got 0"),
        (["-i", "short.bin", "-i", "short.bin"], 1, "too many inputs (-i) for the model"),
        (["-i", "missing.bin"], 1, "cannot open missing.bin"),
        (["-n", "many", "-i", "short.bin"], 2, "usage: run [-w weights.bin] -i in0.bin"),
        (["-q"], 2, "usage: run"),
    ],
)
def test_driver_command_line_errors_name_the_file_and_tensor(
    mlp_bundle: Path, tmp_path: Path, arguments: list[str], code: int, message: str
):
    (tmp_path / "short.bin").write_bytes(bytes(12))
    done = subprocess.run(
        ["qemu-hexagon", str(mlp_bundle / "run"), "-w", str(mlp_bundle / "weights.bin")]
        + arguments,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == code
    assert message in done.stderr and done.stdout == ""


def test_bundle_with_two_inputs_and_outputs_keeps_their_order(tmp_path: Path):
    nodes = [
        helper.make_node("Sub", ["a", "b"], ["d"]),
        helper.make_node("Mul", ["a", "b"], ["p"]),
    ]
    graph = helper.make_graph(
        nodes,
        "two",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [3, 5]) for n in "ab"],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [3, 5]) for n in "dp"],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    compile_bundle(model, DEVICE, tmp_path / "two")
    rng = np.random.default_rng(2)
    a, b = (rng.standard_normal((3, 5)).astype(np.float32) for _ in range(2))
    difference, product = run_bundle(tmp_path / "two", [a, b]).outputs
    np.testing.assert_array_equal(difference, a - b)  # one rounding each: exact
    np.testing.assert_array_equal(product, a * b)


def tanh_model() -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Tanh", ["x"], ["y"], name="squash")],
        "squash",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_a_routine_the_runtime_lacks_is_not_supported_and_leaves_no_bundle(tmp_path: Path):
    with pytest.raises(UnsupportedError, match="not supported: calls to tanhf in a freestanding"):
        compile_bundle(tanh_model(), DEVICE, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_lamina_compile_reports_a_missing_routine_without_a_traceback(tmp_path: Path, capsys):
    onnx.save(tanh_model(), tmp_path / "tanh.onnx")
    code = compile_main(
        [str(tmp_path / "tanh.onnx"), "--device", DEVICE, "-o", str(tmp_path / "o"), "--quiet"]
    )
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert err.startswith(f"{tmp_path / 'tanh.onnx'}: error: not supported: calls to tanhf")


def test_lamina_compile_writes_and_builds_a_hexagon_bundle(tmp_path: Path, capsys):
    onnx.save(mlp((16, 8, 4)), tmp_path / "small.onnx")
    out = tmp_path / "out"
    code = compile_main(
        [str(tmp_path / "small.onnx"), "--device", DEVICE, "-o", str(out), "--build"]
    )
    assert code == 0
    assert f"compiled for {DEVICE} (hexagon-unknown-linux-musl)" in capsys.readouterr().out
    assert (out / "run").is_file() and (out / "driver.o").is_file()


def test_lamina_run_on_hexagon_compares_with_onnxruntime(tmp_path: Path, capsys):
    onnx.save(mlp((64, 32, 10)), tmp_path / "mlp.onnx")
    code = run_main(
        [str(tmp_path / "mlp.onnx"), "--random-inputs", "--device", DEVICE, "--compare", "ort"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"lamina AOT bundle, {DEVICE}, under qemu-hexagon" in out
    error = re.search(r"max abs error vs onnxruntime ([0-9.e+-]+)", out)
    assert error is not None and float(error.group(1)) < ATOL
    assert "not a device figure" in out


def test_a_missing_linker_names_its_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    make = shutil.which("make")
    assert make is not None
    (tmp_path / "make").symlink_to(make)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DeviceError, match=r"ld.lld is not installed \(Debian package lld\)"):
        check_toolchain(DEVICE)
