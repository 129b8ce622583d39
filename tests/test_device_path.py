"""Devices of the user's own: `$LAMINA_DEVICE_PATH` directories of .toml files, listed by
`lamina-compile --list-devices` and found by `--device NAME`; bundles for a device
described by a file build and run (runtime/qemu reloads the device from its file)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
from helpers_cli import assert_close_at_scale, matmul_model, onnxruntime_outputs, run_tool, saved

import lamina
from lamina.runtime.qemu import run_bundle
from lamina.targets import load_device
from lamina.targets.soc import known_socs, load_soc

PACKAGED = Path(lamina.__file__).parent / "targets"
ELF_MACHINE = {"x86_64": 62, "aarch64": 183}
"""ELF e_machine of the object files of each architecture."""


def lamina_compile(
    *args: str | Path, device_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("LAMINA_DEVICE_PATH", None)
    if device_path is not None:
        env["LAMINA_DEVICE_PATH"] = f"/no/such/dir:{device_path}"
    return run_tool("compile", *args, env=env)


def device_copy(directory: Path, packaged: str, name: str) -> Path:
    """The packaged description `packaged` saved as `<directory>/<name>.toml`, renamed."""
    directory.mkdir(exist_ok=True)
    text = (PACKAGED / f"{packaged}.toml").read_text()
    path = directory / f"{name}.toml"
    path.write_text(re.sub(r'^name = ".*"$', f'name = "{name}"', text, flags=re.MULTILINE))
    return path


@pytest.fixture
def model(tmp_path: Path) -> Path:
    """m.onnx: y = tanh(x @ W), x float32[2, 8]."""
    return saved(matmul_model(2, 8, 4, "Tanh"), tmp_path / "m.onnx")


def elf_machine(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[18:20], "little")


def test_list_devices_shows_packaged_and_user_devices_with_triple_and_features(tmp_path: Path):
    device_copy(tmp_path / "boards", "cortex-a76", "my-board")
    result = lamina_compile("--list-devices", device_path=tmp_path / "boards")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    assert {"host", "cortex-a76", "x86-64-avx512", "my-board"} <= set(lines)
    mine = lines["my-board"]
    assert "aarch64-unknown-linux-gnu" in mine and "cpu=cortex-a76" in mine
    assert "features=+neon,+dotprod" in mine and str(tmp_path / "boards") in mine
    assert "x86_64" in lines["x86-64-avx512"] and "+avx512f" in lines["x86-64-avx512"]


def test_device_named_from_the_device_path_compiles_for_its_isa(tmp_path: Path, model: Path):
    device_copy(tmp_path / "boards", "cortex-a76", "my-board")
    out = tmp_path / "out"
    result = lamina_compile(
        model, "--device", "my-board", "-o", out, device_path=tmp_path / "boards"
    )
    assert result.returncode == 0, result.stderr
    assert "compiled for my-board (aarch64" in result.stdout
    assert elf_machine(out / "model.o") == ELF_MACHINE["aarch64"]
    without = lamina_compile(model, "--device", "my-board", "-o", tmp_path / "o2")
    assert without.returncode == 1 and "unknown device 'my-board'" in without.stderr


def test_unknown_device_suggests_the_nearest_name(tmp_path: Path, model: Path):
    device_copy(tmp_path / "boards", "cortex-a76", "my-board")
    result = lamina_compile(model, "--device", "my-bord", device_path=tmp_path / "boards")
    assert result.returncode == 1
    assert "did you mean 'my-board'?" in result.stderr


def test_bundle_for_a_device_file_builds_and_runs_by_its_file(tmp_path: Path, model: Path):
    board = device_copy(tmp_path / "boards", "x86-64-avx512", "my-server")
    out = tmp_path / "out"
    result = lamina_compile(model, "--device", board, "-o", out)
    assert result.returncode == 0, result.stderr
    assert elf_machine(out / "model.o") == ELF_MACHINE["x86_64"]
    x = np.random.default_rng(2).standard_normal((2, 8)).astype(np.float32)
    expected = onnxruntime_outputs(onnx.load(model), {"x": x})
    assert_close_at_scale(run_bundle(out, [x]).outputs, expected)


def test_soc_on_the_device_path_with_a_unit_described_by_a_relative_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    boards = tmp_path / "boards"
    device_copy(boards, "x86-64-avx512", "my-server")
    text = (PACKAGED / "soc-host.toml").read_text().replace('name = "host"', 'name = "rack"')
    (boards / "soc-rack.toml").write_text(
        text.replace('device = "host"', 'device = "my-server.toml"')
    )
    monkeypatch.setenv("LAMINA_DEVICE_PATH", str(boards))
    assert "rack" in known_socs()
    soc = load_soc("rack")
    assert soc.units["cpu"].device == str(boards / "my-server.toml")
    assert load_device(soc.units["cpu"].device).cpu == "x86-64-v4"
