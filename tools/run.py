"""lamina-run: run a model on inputs (random or .npy), compare with onnxruntime, time it.

    lamina-run model.onnx --compare ort                      # compiled, JIT on this machine
    lamina-run model.onnx --device cortex-a76 --compare ort  # AOT bundle under qemu-aarch64
    lamina-run model.onnx --device hexagon-v66-hvx128 --compare ort  # ... under qemu-hexagon
    lamina-run model.onnx --reference --inputs data=x.npy --input-shape data=1x3x224x224
    lamina-run model.tflite --compare litert                 # a TFLite model against LiteRT

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

from lamina.codegen.bundle import TensorSpec
from lamina.errors import LaminaError, error_text
from lamina.parser.tflite import import_tflite, is_tflite_model
from lamina.targets import known_devices
from lamina.tools.flags import add_input_shape_flag
from lamina.tools.run_io import (
    describe,
    input_specs,
    load_inputs,
    missing_inputs,
    random_feeds,
    save_outputs,
)
from lamina.tools.run_io import random_inputs as random_inputs  # used by tests
from lamina.tools.run_tflite import litert_runner, tflite_io
from lamina.tools.versions import add_version_flag

Runner = Callable[[dict[str, np.ndarray]], list[np.ndarray]]
TimedRunner = Callable[[dict[str, np.ndarray], int], tuple[list[np.ndarray], float]]
"""Feeds and a repeat count in; the outputs and the median latency in ms out."""


def time_runs(run: Runner, feeds: dict[str, np.ndarray], repeat: int) -> tuple[list, float]:
    """The outputs of one run and the median latency in ms over `repeat` runs."""
    times: list[float] = []
    outputs: list[np.ndarray] = []
    for _ in range(max(repeat, 1)):
        start = time.perf_counter()
        outputs = run(feeds)
        times.append((time.perf_counter() - start) * 1e3)
    return outputs, statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `lamina-run`; returns the exit code."""
    args = _arguments().parse_args(argv)
    try:
        return _run(args)
    except LaminaError as e:
        print(error_text(e, str(args.model)), file=sys.stderr)
        return 1


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lamina-run",
        description=(__doc__ or "").split("\n")[0],
        epilog=f"known devices: {', '.join(known_devices())} (or a path to a .toml description)",
    )
    parser.add_argument("model", type=Path, help="the .onnx or .tflite model to run")
    parser.add_argument(
        "--reference", action="store_true", help="run the numpy reference interpreter instead"
    )
    parser.add_argument(
        "--device", default="host", help="a known device or a .toml file (default: host)"
    )
    parser.add_argument(
        "--inputs",
        "--input",
        nargs="*",
        action="extend",
        default=[],
        metavar="INPUT",
        help="NAME=FILE.npy, FILE.npy (next input in order), FILE.npz (arrays by name), "
        "NAME=FILE.npz, or an inline NAME=[1,2,3] / NAME=0.5 (broadcast to the input's shape)",
    )
    parser.add_argument(
        "--random-inputs",
        action="store_true",
        help="feed seeded random values to every input that --inputs does not give",
    )
    add_input_shape_flag(parser)
    parser.add_argument(
        "-o",
        "--output",
        type=lambda text: Path(text.removeprefix("@")),
        metavar="PATH",
        help="save the outputs: one .npz if PATH ends in .npz, else NAME.npy files in folder PATH "
        "(`@PATH` too, as iree-run-module writes it)",
    )
    parser.add_argument(
        "--compare",
        choices=["ort", "litert"],
        help="also run onnxruntime (.onnx) or LiteRT (.tflite) and print the max abs error",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs to take the median of (3)")
    parser.add_argument("--seed", type=int, default=0, help="seed of --random-inputs (0)")
    parser.add_argument(
        "--top",
        type=int,
        default=0,
        metavar="K",
        help="print the K largest classes of each 1-D float output with at least K values",
    )
    add_version_flag(parser, "lamina-run")
    return parser


def _run(args: argparse.Namespace) -> int:
    from lamina.parser.onnx import parse_input_shapes
    from lamina.parser.onnx_prepare import load_model

    shapes = parse_input_shapes(args.input_shape)
    tflite = is_tflite_model(args.model)
    if tflite:
        specs, names = tflite_io(args.model)
    else:
        model = load_model(args.model, str(args.model))
        specs, names = input_specs(model, shapes), [o.name for o in model.graph.output]
    if args.compare not in (None, "litert" if tflite else "ort"):
        raise LaminaError(
            f"--compare {args.compare} runs {'.onnx' if tflite else '.tflite'} models"
        )
    given = load_inputs(args.inputs, specs)
    if len(given) < len(specs) and not args.random_inputs:
        raise missing_inputs(specs, given)
    feeds = random_feeds(specs, args.seed)
    for name, value in given.items():  # early, before compiling: the model's declared types
        spec = TensorSpec(name, feeds[name].shape, feeds[name].dtype.name)
        feeds[name] = spec.check(value, "input")
    with tempfile.TemporaryDirectory(prefix="lamina-run-") as scratch:
        if args.reference:
            run, label = _reference_runner(args.model, shapes), "reference interpreter"
        else:
            run, label = _compiled_runner(args.model, args.device, shapes, Path(scratch))
        outputs, ms = run(feeds, max(args.repeat, 1))
    for name, value in zip(names, outputs, strict=True):
        print(describe(name, value, args.top))
    if args.output is not None:
        save_outputs(args.output, names, outputs)
    print(f"latency ({label}, median of {max(args.repeat, 1)}): {ms:.3f} ms")
    if args.compare == "ort":
        emulated = not args.reference and _emulated(args.device)
        _compare_with_ort(args.model, feeds, names, outputs, ms, args.repeat, emulated)
    if args.compare == "litert":
        emulated = not args.reference and _emulated(args.device)
        from lamina.runtime.jit import thread_count

        threads = 1 if args.reference else thread_count(args.device)  # lamina's own count
        runner = litert_runner(args.model, threads)
        expected, litert_ms = time_runs(runner, feeds, args.repeat)
        _print_comparison("LiteRT", names, expected, outputs, ms, litert_ms, args.repeat, emulated)
        print(f"(LiteRT on {threads} thread(s), as many as lamina's parallel loops)")
    return 0


def _reference_runner(path: Path, shapes: dict[str, list[int]]) -> TimedRunner:
    from lamina.parser.onnx import import_onnx
    from lamina.runtime.reference import run_reference

    module = (
        import_tflite(path) if is_tflite_model(path) else import_onnx(path, input_shapes=shapes)
    )
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
    from lamina.compiler import compile_bundle
    from lamina.runtime.qemu import build_bundle, check_toolchain, run_bundle

    check_toolchain(device)
    bundle = compile_bundle(path, device, directory, input_shapes=shapes)
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
    _print_comparison("onnxruntime", names, expected, outputs, ms, ort_ms, repeat, emulated)


def _print_comparison(
    reference: str,
    names: list[str],
    expected: list[np.ndarray],
    outputs: list[np.ndarray],
    ms: float,
    reference_ms: float,
    repeat: int,
    emulated: bool,
) -> None:
    for name, want, got in zip(names, expected, outputs, strict=True):
        error = np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))
        print(f"{name}: max abs error vs {reference} {float(error.max(initial=0)):.3g}")
    print(f"latency ({reference}, median of {max(repeat, 1)}): {reference_ms:.3f} ms")
    note = f" (lamina emulated, {reference} native: not a device figure)" if emulated else ""
    print(f"lamina / {reference} latency: {ms / reference_ms:.2f}x{note}")


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:300]


if __name__ == "__main__":
    sys.exit(main())
