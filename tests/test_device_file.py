"""Device descriptions outside the package: `--device my.toml` everywhere a device name
goes (issue 17); errors name the file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from helpers_cli import assert_close_at_scale, matmul_model, onnxruntime_outputs, saved
from xdsl.parser import Parser

import lamina
from lamina.codegen.fleet import load_fleet
from lamina.codegen.loop_to_llvm import module_llvm_ir
from lamina.context import make_context
from lamina.errors import DeviceError, LaminaError
from lamina.targets import load_device
from lamina.tools.compile import main as compile_main
from lamina.tools.run import main as run_main

PACKAGED = Path(lamina.__file__).parent / "targets"

KERNEL = """
func.func @main(%weights: memref<0xi8>, %arena: memref<0xi8>, %x: memref<64xf32>,
                %y: memref<64xf32>) attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  loop.for %i = %c0 to %c64 step %c1 vector 16 {
    %v = loop.load %x[%i] : memref<64xf32>
    %s = arith.addf %v, %v : f32
    loop.store %s, %y[%i] : memref<64xf32>
  }
  func.return
}
"""


def _copy(tmp_path: Path, device: str) -> Path:
    path = tmp_path / f"my-{device}.toml"
    shutil.copy(PACKAGED / f"{device}.toml", path)
    return path


@pytest.fixture
def model(tmp_path: Path) -> Path:
    """m.onnx: y = x @ W, x float32[2, 8]."""
    return saved(matmul_model(2, 8, 4), tmp_path / "m.onnx")


def test_a_renamed_copy_loads_like_the_packaged_description(tmp_path: Path):
    copy = load_device(str(_copy(tmp_path, "x86-64-avx512")))
    packaged = load_device("x86-64-avx512")
    assert (copy.triple, copy.cpu, copy.features, copy.vector_bits) == (
        packaged.triple,
        packaged.cpu,
        packaged.features,
        packaged.vector_bits,
    )


def test_convert_loop_to_llvm_takes_a_device_file(tmp_path: Path):
    module = Parser(make_context(), KERNEL).parse_module()
    text = module_llvm_ir(module, str(_copy(tmp_path, "cortex-a76")))
    assert 'target triple = "aarch64' in text


def test_compile_for_a_device_file_matches_onnxruntime(tmp_path: Path, model: Path):
    compiled = lamina.compile(str(model), device=str(_copy(tmp_path, "host")))
    x = np.random.default_rng(2).standard_normal((2, 8)).astype(np.float32)
    assert_close_at_scale(compiled(x), onnxruntime_outputs(onnx.load(model), {"x": x}))


def test_lamina_compile_builds_a_bundle_for_a_device_file(tmp_path: Path, model: Path):
    device = str(_copy(tmp_path, "x86-64-avx512"))
    assert compile_main([str(model), "--device", device, "-o", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "model.h").is_file()


def test_fleet_entry_names_a_device_file_relative_to_the_fleet(tmp_path: Path):
    _copy(tmp_path, "x86-64-avx512")
    fleet = tmp_path / "fleet.toml"
    fleet.write_text('[[target]]\ndevice = "my-x86-64-avx512.toml"\n')
    (target,) = load_fleet(str(fleet))
    assert target.name == "my-x86-64-avx512"
    assert load_device(target.device).cpu == "x86-64-v4"


def test_fleet_entry_with_a_bad_device_file_names_both_files(tmp_path: Path):
    (tmp_path / "bad.toml").write_text('name = "bad"\ntriple = "x"\ncpu = "y"\nfeatures = 3\n')
    fleet = tmp_path / "fleet.toml"
    fleet.write_text('[[target]]\ndevice = "bad.toml"\n')
    with pytest.raises(LaminaError) as error:
        load_fleet(str(fleet))
    assert error.value.where == f"{fleet}:2"
    assert f"{tmp_path / 'bad.toml'}:4" in error.value.message


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('name = "x"\ntriple = "x86_64"\ncpu = ]\n', 3, "Invalid"),
        ('name = "x"\ntriple = "x86_64"\ncpu = "z"\nfeatures = ["avx"]\n', 4, "must read"),
        ('name = "x"\ncpu = "z"\n', None, "lacks triple"),
    ],
)
def test_bad_device_file_names_its_file_and_line(
    tmp_path: Path, text: str, line: int | None, message: str
):
    path = tmp_path / f"bad{line}.toml"
    path.write_text(text)
    with pytest.raises(DeviceError, match=message) as error:
        load_device(str(path))
    assert error.value.where == (f"{path}:{line}" if line else str(path))


def test_missing_device_file_is_named(tmp_path: Path):
    with pytest.raises(DeviceError, match="no such device description file"):
        load_device(str(tmp_path / "absent.toml"))


def test_lamina_run_takes_a_device_file(
    tmp_path: Path, model: Path, capsys: pytest.CaptureFixture[str]
):
    device = str(_copy(tmp_path, "host"))
    argv = [str(model), "--device", device, "--random-inputs", "--compare", "ort", "--repeat", "1"]
    assert run_main(argv) == 0
    out = capsys.readouterr().out
    assert f"lamina JIT, {device}" in out
    assert float(out.split("max abs error vs onnxruntime ")[1].split()[0]) < 1e-4
