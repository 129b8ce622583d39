"""lamina-run: run a model on inputs (random or .npy), compare with onnxruntime, time it.

    lamina-run model.onnx --compare ort                      # compiled, JIT on this machine
    lamina-run model.onnx --device cortex-a76 --compare ort  # AOT bundle under qemu-aarch64
    lamina-run model.onnx --device hexagon-v66-hvx128 --compare ort  # ... under qemu-hexagon
    lamina-run model.onnx --reference --inputs data=x.npy --input-shape data=1x3x224x224

A device whose CPU is this machine's architecture runs through the host JIT
(`lamina.compile`); any other, and a Hexagon DSP, runs as an AOT bundle (codegen/aot.py)
built with the device's cross compiler (or linker) and run under its emulator
(runtime/qemu.py). `--reference` runs
the numpy reference interpreter instead. An input of the wrong shape or dtype is an error
naming the input (exit 1).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import onnx

from lamina.codegen.aot import TensorSpec
from lamina.errors import LaminaError, UnsupportedError
from lamina.limits import INPUTS

Runner = Callable[[dict[str, np.ndarray]], list[np.ndarray]]
TimedRunner = Callable[[dict[str, np.ndarray], int], tuple[list[np.ndarray], float]]
"""Feeds and a repeat count in; the outputs and the median latency in ms out."""


def graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """The graph inputs a caller must feed (initializers excluded)."""
    initializers = {init.name for init in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in initializers]


def random_inputs(
    model: onnx.ModelProto, shapes: dict[str, list[int]], seed: int = 0
) -> dict[str, np.ndarray]:
    """Seeded random inputs for every graph input; dynamic dims must be bound in `shapes`."""
    rng = np.random.default_rng(seed)
    specs = [_input_spec(value, shapes) for value in graph_inputs(model)]
    _check_input_size(specs)
    feeds: dict[str, np.ndarray] = {}
    for name, dims, dtype in specs:
        if np.issubdtype(dtype, np.floating):
            feeds[name] = rng.standard_normal(dims).astype(dtype)
        elif dtype == np.bool_:
            feeds[name] = rng.integers(0, 2, dims).astype(dtype)
        elif np.issubdtype(dtype, np.integer):
            feeds[name] = rng.integers(0, 10, dims).astype(dtype)
        else:
            raise UnsupportedError(f"random input of dtype {dtype} for '{name}'")
    return feeds


def _input_spec(
    value: onnx.ValueInfoProto, shapes: dict[str, list[int]]
) -> tuple[str, list[int], np.dtype]:
    """(name, dims, numpy dtype) of a graph input, checked before anything is allocated."""
    if value.type.WhichOneof("value") != "tensor_type":
        raise UnsupportedError(f"input '{value.name}' is not a tensor")
    tensor = value.type.tensor_type
    try:
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type))
    except (KeyError, TypeError, ValueError):
        raise LaminaError(
            f"input '{value.name}' has no usable element type ({tensor.elem_type})"
        ) from None
    dims = shapes.get(value.name) or [
        d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim
    ]
    if any(d < 0 for d in dims):
        raise LaminaError(
            f"input '{value.name}' has dynamic dims {dims}: bind them with "
            f"--input-shape {value.name}=1x..."
        )
    return value.name, list(dims), dtype


def _check_input_size(specs: list[tuple[str, list[int], np.dtype]]) -> None:
    """Zero dims count as 1: numpy cannot even make an empty 0x2**40x2**40 array."""
    total = sum(
        int(np.prod([d or 1 for d in dims], dtype=object)) * dtype.itemsize
        for _, dims, dtype in specs
    )
    INPUTS.check(total, ", ".join(f"{name} {'x'.join(map(str, dims))}" for name, dims, _ in specs))


def load_inputs(specs: Sequence[str], model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """Inputs from `name=file.npy` (or bare `file.npy`, in graph input order)."""
    names = [i.name for i in graph_inputs(model)]
    feeds: dict[str, np.ndarray] = {}
    for position, spec in enumerate(specs):
        name, _, path = spec.rpartition("=")
        if not name:
            if position >= len(names):
                raise LaminaError(f"{len(specs)} inputs given, the model takes {len(names)}")
            name = names[position]
        if name not in names:
            raise LaminaError(f"the model has no input '{name}' (inputs: {', '.join(names)})")
        try:
            feeds[name] = np.load(path)
        except (OSError, ValueError) as e:
            raise LaminaError(f"cannot read input array: {e}", where=path) from None
    return feeds


def time_runs(run: Runner, feeds: dict[str, np.ndarray], repeat: int) -> tuple[list, float]:
    """The outputs of one run and the median latency in ms over `repeat` runs."""
    times: list[float] = []
    outputs: list[np.ndarray] = []
    for _ in range(max(repeat, 1)):
        start = time.perf_counter()
        outputs = run(feeds)
        times.append((time.perf_counter() - start) * 1e3)
    return outputs, statistics.median(times)


def describe(name: str, value: np.ndarray) -> str:
    """One line about an output: shape, dtype, range and its first values."""
    flat = np.asarray(value).reshape(-1)
    head = ", ".join(f"{v:.4g}" if flat.dtype.kind == "f" else str(v) for v in flat[:6])
    text = f"{name}: {value.dtype}{list(value.shape)} [{head}{', ...' if flat.size > 6 else ''}]"
    if np.squeeze(value).ndim == 1 and flat.size >= 5 and flat.dtype.kind == "f":
        top5 = np.argsort(flat)[::-1][:5]
        text += "\n  top-5: " + ", ".join(f"#{i} ({flat[i]:.4g})" for i in top5)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `lamina-run`; returns the exit code."""
    parser = argparse.ArgumentParser(prog="lamina-run", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("model", type=Path, help="an .onnx file")
    parser.add_argument("--reference", action="store_true", help="run the reference interpreter")
    parser.add_argument("--device", default="host")
    parser.add_argument("--inputs", nargs="*", default=[], metavar="[NAME=]FILE.npy")
    parser.add_argument("--input-shape", action="append", default=[], metavar="NAME=DIMS")
    parser.add_argument("--compare", choices=["ort"], help="compare with onnxruntime")
    parser.add_argument("--repeat", type=int, default=3, help="runs to take the median of")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except LaminaError as e:
        from lamina.tools.compile import error_text

        print(error_text(e, str(args.model)), file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from lamina.parser.onnx import parse_input_shapes
    from lamina.parser.onnx_prepare import load_model

    shapes = parse_input_shapes(args.input_shape)
    model = load_model(args.model, str(args.model))
    given = load_inputs(args.inputs, model) if args.inputs else {}
    feeds = random_inputs(model, shapes, args.seed)
    for name, value in given.items():  # early, before compiling: the model's declared types
        spec = TensorSpec(name, feeds[name].shape, feeds[name].dtype.name)
        feeds[name] = spec.check(value, "input")
    with tempfile.TemporaryDirectory(prefix="lamina-run-") as scratch:
        if args.reference:
            run, label = _reference_runner(args.model, shapes), "reference interpreter"
        else:
            run, label = _compiled_runner(args.model, args.device, shapes, Path(scratch))
        outputs, ms = run(feeds, max(args.repeat, 1))
    names = [o.name for o in model.graph.output]
    for name, value in zip(names, outputs, strict=True):
        print(describe(name, value))
    print(f"latency ({label}, median of {max(args.repeat, 1)}): {ms:.3f} ms")
    if args.compare == "ort":
        emulated = not args.reference and _emulated(args.device)
        _compare_with_ort(args.model, feeds, names, outputs, ms, args.repeat, emulated)
    return 0


def _reference_runner(path: Path, shapes: dict[str, list[int]]) -> TimedRunner:
    from lamina.parser.onnx import import_onnx
    from lamina.runtime.reference import run_reference

    module = import_onnx(path, input_shapes=shapes)
    return lambda feeds, repeat: time_runs(lambda f: run_reference(module, f), feeds, repeat)


def _compiled_runner(
    path: Path, device: str, shapes: dict[str, list[int]], scratch: Path
) -> tuple[TimedRunner, str]:
    """`lamina.compile` (the host JIT, or the device's own runtime for a GPU or DSP) unless
    the device is a CPU of another architecture or a Hexagon DSP: then an AOT bundle (built
    in `scratch`) run under the device's emulator."""
    if not _emulated(device):
        return _jit_runner(path, device, shapes), f"lamina JIT, {device}"
    from lamina.runtime.qemu import emulator_command

    emulator = emulator_command(device)
    how = f"under {emulator[0]}" if emulator else "native"
    runner = _bundle_runner(path, device, shapes, scratch / "bundle")
    return runner, f"lamina AOT bundle, {device}, {how}"


def _emulated(device: str) -> bool:
    """Whether `device` runs as an AOT bundle under an emulator here: a CPU of another
    architecture than this machine's, or a Hexagon DSP."""
    import platform

    from lamina.targets import load_device

    target = load_device(device)
    arch = target.triple.split("-")[0]
    return (target.kind == "cpu" and arch != platform.machine()) or (
        target.kind == "dsp" and arch == "hexagon"
    )


def _jit_runner(path: Path, device: str, shapes: dict[str, list[int]]) -> TimedRunner:
    from lamina.compiler import compile as lamina_compile

    compiled = lamina_compile(path, device, input_shapes=shapes)
    return lambda feeds, repeat: time_runs(lambda f: compiled(**f), feeds, repeat)


def _bundle_runner(
    path: Path, device: str, shapes: dict[str, list[int]], directory: Path
) -> TimedRunner:
    from lamina.codegen.aot import write_bundle
    from lamina.runtime.qemu import build_bundle, check_toolchain, run_bundle

    check_toolchain(device)
    bundle = write_bundle(path, device, directory, input_shapes=shapes)
    build_bundle(bundle.directory)

    def run(feeds: dict[str, np.ndarray], repeat: int) -> tuple[list[np.ndarray], float]:
        result = run_bundle(bundle.directory, feeds, repeat=repeat)
        return result.outputs, result.median_ms

    return run


def _compare_with_ort(
    path: Path,
    feeds: dict[str, np.ndarray],
    names: list[str],
    outputs: list[np.ndarray],
    ms: float,
    repeat: int,
    emulated: bool,
) -> None:
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        expected, ort_ms = time_runs(
            lambda f: [np.asarray(x) for x in session.run(None, f)], feeds, repeat
        )
    except Exception as e:  # onnxruntime's own errors: the comparison cannot be made
        raise LaminaError(f"onnxruntime cannot run the model: {_first_line(str(e))}") from None
    for name, want, got in zip(names, expected, outputs, strict=True):
        error = np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))
        print(f"{name}: max abs error vs onnxruntime {float(error.max(initial=0)):.3g}")
    print(f"latency (onnxruntime, median of {max(repeat, 1)}): {ort_ms:.3f} ms")
    note = " (lamina emulated, onnxruntime native: not a device figure)" if emulated else ""
    print(f"lamina / onnxruntime latency: {ms / ort_ms:.2f}x{note}")


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:300]


if __name__ == "__main__":
    sys.exit(main())
