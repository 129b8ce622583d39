"""Build an AOT bundle (codegen/aot.py) and run it as a separate process: natively when the
bundle's CPU is this machine's, under user-mode qemu otherwise (cortex-a76 on x86:
`qemu-aarch64 -L /usr/aarch64-linux-gnu`; a Hexagon DSP's freestanding bundle:
`qemu-hexagon`, no sysroot).

    run = run_bundle("out/", [image], repeat=5)      # builds `out/run` first if needed
    run.outputs, run.median_ms
    run_bundle("out/", [image], count_instructions=True).instructions.total.instructions

How a device's bundle is built and run is data, the `[toolchain]` table of its
`targets/<name>.toml` (`cc`, `emulator`, `sysroot`, each with the Debian package that
provides it); a device without one builds with `cc` and runs natively. A missing tool is a
`DeviceError` naming the package to install. `count_instructions` counts what the run
executes, by function, with a qemu plugin (runtime/qemu_count.py); a bundle run natively
cannot be counted.
"""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lamina.codegen.aot_dynamic import is_dynamic
from lamina.codegen.bundle import Bundle
from lamina.errors import DeviceError, LaminaError, UnsupportedError
from lamina.runtime.qemu_count import InstructionCount, InstructionCounter
from lamina.targets import load_device

BUILD_TIMEOUT_S = 300
_LATENCY = re.compile(r"latency: median ([0-9.e+-]+) ms")


@dataclass
class BundleRun:
    """The outputs of a bundle run (in the manifest's order), its median latency and, when
    counted, the instructions it executed (all `repeat` calls and the driver's work)."""

    outputs: list[np.ndarray]
    median_ms: float
    stdout: str
    instructions: InstructionCount | None = None


def toolchain(device: str) -> dict[str, Any]:
    """The device's `[toolchain]` table (empty for devices built with `cc`, run natively)."""
    return dict(load_device(device).extra.get("toolchain", {}))


def check_toolchain(device: str, *, run: bool = True) -> None:
    """`DeviceError` naming the Debian package of the first tool missing here for building
    (and, with `run`, running) the device's bundles."""
    tools = toolchain(device)
    if shutil.which("make") is None:
        raise DeviceError("make is not installed (Debian package make)")
    compiler = str(tools.get("cc", "cc"))
    if shutil.which(compiler) is None:
        package = tools.get("cc_package", "gcc")
        raise DeviceError(f"{compiler} is not installed (Debian package {package})")
    sysroot = tools.get("sysroot")
    if sysroot is not None and not (Path(sysroot) / "lib").is_dir():
        package = tools.get("sysroot_package", "the C library for the target")
        raise DeviceError(f"no C library for device '{device}' in {sysroot} ({package})")
    if run:
        emulator_command(device)


def emulator_command(device: str) -> list[str]:
    """The command prefix that runs the device's executables here ([] when native)."""
    tools = toolchain(device)
    emulator = [str(word) for word in tools.get("emulator", [])]
    if emulator and shutil.which(emulator[0]) is None:
        package = tools.get("emulator_package", "qemu-user")
        raise DeviceError(f"{emulator[0]} is not installed (Debian package {package})")
    arch = load_device(device).triple.split("-")[0]
    if not emulator and arch != platform.machine():
        raise DeviceError(f"cannot run {arch} code for device '{device}' on {platform.machine()}")
    return emulator


def bundle_device(bundle: Bundle) -> str:
    """What loads the bundle's device: its description file where that is still there
    (a .toml device, or one from $LAMINA_DEVICE_PATH), else its name."""
    return bundle.device_file if Path(bundle.device_file).is_file() else bundle.device


def build_bundle(directory: str | Path) -> Path:
    """`make` in the bundle directory with the device's compiler; returns the executable."""
    bundle = Bundle.load(directory)
    check_toolchain(bundle_device(bundle), run=False)
    result = _run(["make", "-s", "-C", str(bundle.directory)], BUILD_TIMEOUT_S, "make")
    if result.returncode != 0 or not bundle.executable.exists():
        raise LaminaError(
            f"building the bundle failed:\n{result.stderr.strip()}", where=str(directory)
        )
    return bundle.executable


def run_bundle(
    directory: str | Path,
    inputs: Sequence[np.ndarray] | dict[str, np.ndarray],
    *,
    repeat: int = 1,
    timeout_s: float = 600,
    count_instructions: bool = False,
) -> BundleRun:
    """Run the bundle on `inputs` (positional, or by input name), building it first if
    its executable is missing; a wrong input count, shape or dtype is a `LaminaError`.
    A bundle with dynamic shapes takes and gives .npy files (their shapes vary)."""
    bundle = Bundle.load(directory)
    npy = is_dynamic(bundle)
    arrays = _check_inputs(bundle, inputs)
    executable = bundle.executable if bundle.executable.exists() else build_bundle(directory)
    prefix = emulator_command(bundle_device(bundle))
    if count_instructions and not prefix:
        raise UnsupportedError(f"counting the instructions of bundle '{bundle.name}' run natively")
    with tempfile.TemporaryDirectory(prefix="lamina-run-") as scratch:
        counter = InstructionCounter(executable, scratch) if count_instructions else None
        options = counter.options if counter is not None else []
        command = [*prefix, *options, str(executable.resolve()), "-w", "weights.bin"]
        for k, array in enumerate(arrays):
            path = Path(scratch) / f"in{k}.{'npy' if npy else 'bin'}"
            if npy:
                np.save(path, array)
            else:
                array.tofile(path)
            command += ["-i", str(path)]
        command += ["-o", scratch, "-n", str(max(repeat, 1))]
        result = _run(command, timeout_s, prefix[0] if prefix else "the bundle", bundle.directory)
        if result.returncode != 0:
            raise LaminaError(
                f"the bundle exited with {result.returncode}: {result.stderr.strip()}",
                where=str(directory),
            )
        outputs = [
            np.load(Path(scratch) / f"out{k}.npy")
            if npy
            else np.fromfile(Path(scratch) / f"out{k}.bin", dtype=spec.dtype).reshape(spec.shape)
            for k, spec in enumerate(bundle.outputs)
        ]
        counts = counter.read() if counter is not None else None
    match = _LATENCY.search(result.stdout)
    median_ms = float(match.group(1)) if match else float("nan")
    return BundleRun(outputs, median_ms, result.stdout, counts)


def _check_inputs(
    bundle: Bundle, inputs: Sequence[np.ndarray] | dict[str, np.ndarray]
) -> list[np.ndarray]:
    names = [spec.name for spec in bundle.inputs]
    if isinstance(inputs, dict):
        if sorted(inputs) != sorted(names):
            raise LaminaError(f"the model takes inputs {names}, got {list(inputs)}")
        inputs = [inputs[name] for name in names]
    if len(inputs) != len(names):
        raise LaminaError(f"the model takes {len(names)} inputs, got {len(inputs)}")
    return [spec.check(x, "input") for spec, x in zip(bundle.inputs, inputs, strict=True)]


def _run(
    command: list[str], timeout_s: float, what: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        raise LaminaError(f"{what} did not finish within {timeout_s:.0f} s") from None
    except OSError as e:
        raise DeviceError(f"cannot run {command[0]}: {e}") from None
