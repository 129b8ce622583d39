"""lamina-compile: compile a model ahead of time into a bundle for a device.

    lamina-compile model.onnx --device cortex-a76 -o out/ [--input-shape data=1x3x224x224]
    lamina-compile model.onnx --fleet fleet.toml -o out/      # a bundle per fleet target
    lamina-compile --list-devices                             # names, triples, features

writes `out/` (`lamina.compiler.compile_bundle`, codegen/aot.py: model.o, model.h,
weights.bin, main.c, Makefile) and, with `--build`, builds its driver `out/run` with the
device's C compiler. Any failure prints `<file>: error: ...` (naming the ONNX node when
one is at fault), exits 1 and leaves no bundle behind.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from lamina.codegen.llvm_target import DEFAULT_OPT_LEVEL
from lamina.compiler import pipeline
from lamina.errors import DeviceError, LaminaError, error_text
from lamina.progress import Progress
from lamina.targets import DEVICE_PATH_VARIABLE, device_files, known_devices, load_device
from lamina.tools.compile_stages import STEPS_BESIDE_PASSES, StageReporter
from lamina.tools.diagnostics import printing_warnings
from lamina.tools.flags import add_input_shape_flag
from lamina.tools.versions import add_version_flag
from lamina.universe import parse_pass_pipeline


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `lamina-compile`; returns the exit code."""
    parser = _arguments()
    args = parser.parse_args(argv)
    if args.list_devices:
        print(devices_text())
        return 0
    if args.model is None:
        parser.error("the following arguments are required: model")
    if args.fleet:
        return _fleet(args)
    if args.more_models:
        parser.error("several models need --fleet")
    try:
        with printing_warnings(args.model):
            return _compile(args)
    except LaminaError as e:
        print(error_text(e, args.model), file=sys.stderr)
        return 1


def _arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lamina-compile",
        description="Compile a model into an AOT bundle for a device.",
        epilog=f"known devices: {', '.join(known_devices())} (or a path to a .toml description; "
        f"${DEVICE_PATH_VARIABLE}: more directories of .toml device files, colon-separated)",
    )
    parser.add_argument("model", nargs="?", help="the .onnx or .tflite model to compile")
    parser.add_argument(
        "more_models",
        nargs="*",
        metavar="MODEL",
        help="with --fleet: more models, each built into -o/<model's file stem>/",
    )
    parser.add_argument(
        "--list-devices",
        action="store_true",
        help=f"list every known device (also those in ${DEVICE_PATH_VARIABLE}) with its "
        "triple, CPU and features, and exit",
    )
    parser.add_argument(
        "--device", default="host", help="a known device or a .toml file (default: host)"
    )
    parser.add_argument(
        "--fat",
        metavar="DEVICE,DEVICE,...",
        help="one fat bundle for these CPU variants of one architecture, baseline first "
        "(e.g. x86-64-avx2,x86-64-avx512,x86-64-avx512-vnni): the best this CPU supports "
        "runs, $LAMINA_VARIANT forces one (docs/bundle.md); instead of --device",
    )
    parser.add_argument(
        "--soc",
        help="one bundle for the model partitioned over this SoC's CPU and OpenCL units "
        "(graph-partition), run by a generated C scheduler (docs/bundle.md); instead of --device",
    )
    parser.add_argument(
        "--force",
        action="append",
        default=[],
        metavar="OP:UNIT",
        help="with --soc: pin an op type or node name to a unit, e.g. Conv:gpu (repeatable)",
    )
    parser.add_argument("-o", "--output", default="out", help="bundle directory (default: out)")
    parser.add_argument("--name", help="C name of the entry point (default: the file's stem)")
    add_input_shape_flag(parser)
    parser.add_argument("--build", action="store_true", help="also build the driver (make)")
    parser.add_argument("--threads", type=int, help="threads of parallel loops (default: cores)")
    parser.add_argument(
        "-O",
        dest="opt_level",
        type=int,
        default=DEFAULT_OPT_LEVEL,
        choices=range(4),
        help=f"LLVM optimization level 0-3 (default: {DEFAULT_OPT_LEVEL}, as the JIT's)",
    )
    parser.add_argument("--fleet", help="a fleet.toml: one bundle per target into -o/<name>/")
    parser.add_argument("--jobs", type=int, help="parallel fleet builds (default: cores)")
    parser.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="build the fleet on the Dask cluster at ADDRESS (tcp://host:8786), or 'local' "
        "to start one here with --jobs workers (pip install 'lamina[cluster]')",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print nothing but errors (no progress: a bar on a terminal, lines when piped)",
    )
    add_version_flag(parser, "lamina-compile")
    return parser


def devices_text() -> str:
    """One line per device on the device path: name, kind, triple, CPU, features, file."""
    lines: list[str] = []
    for name, path in device_files().items():
        try:
            device = load_device(name)
        except DeviceError as e:
            lines.append(f"{name}: {e}")
            continue
        features = device.feature_string or "(none)"
        lines.append(
            f"{name}  {device.kind}  {device.triple}  cpu={device.cpu}  features={features}  "
            f"vector_bits={device.vector_bits}  cores={device.cores}  ({path})"
        )
    return "\n".join(lines)


def _compile(args: argparse.Namespace) -> int:
    from lamina.codegen.aot import prototype
    from lamina.compiler import compile_bundle, compile_fat_bundle, compile_soc_bundle
    from lamina.parser.onnx import parse_input_shapes
    from lamina.runtime.qemu import build_bundle

    devices = args.fat.split(",") if args.fat else [args.device]
    passes = [p.name for d in devices for p in parse_pass_pipeline(pipeline(load_device(d))).passes]
    steps = len(STEPS_BESIDE_PASSES) * len(devices) + len(passes) + (1 if args.build else 0)
    executable = None
    with Progress(steps, "lamina-compile", quiet=args.quiet) as progress:
        stages = StageReporter(progress, ", ".join(devices))
        progress.note(f"import: {args.model}")
        options: dict[str, Any] = {
            "name": args.name,
            "input_shapes": parse_input_shapes(args.input_shape),
            "opt_level": args.opt_level,
            "threads": args.threads,
            "on_stage": stages,
        }
        if args.soc:
            del options["threads"], options["on_stage"]
            bundle = compile_soc_bundle(
                args.model, args.soc, args.output, force=args.force, **options
            )
        elif args.fat:
            bundle = compile_fat_bundle(args.model, devices, args.output, **options)
        else:
            bundle = compile_bundle(args.model, args.device, args.output, **options)
        if args.build:
            progress.note("link: building the driver with make ...")
            start = time.perf_counter()
            executable = build_bundle(bundle.directory)
            stages("link", time.perf_counter() - start)
    if args.quiet:
        return 0
    seconds = sum(stages.seconds.values())
    print(f"{args.model}: compiled for {bundle.device} ({bundle.triple}) in {seconds:.1f} s")
    print(f"  stages: {stages.summary()}")
    print(f"  {bundle.directory}/model.o: void {prototype(bundle)}")
    print(
        f"  weights {bundle.weights_bytes} bytes, arena {bundle.arena_bytes} bytes, "
        f"{bundle.threads} thread(s)"
    )
    if executable is not None:
        print(f"  built {executable}")
    return 0


def _fleet(args: argparse.Namespace) -> int:
    """`--fleet`: codegen/fleet.py (several models: each into -o/<model>/); exit 1 when the
    fleet file is bad or any target failed."""
    from lamina.codegen.fleet import build_fleet, load_fleet
    from lamina.compiler import FLEET
    from lamina.parser.onnx import parse_input_shapes

    models = [args.model, *args.more_models]
    try:
        load_fleet(args.fleet)
    except LaminaError as e:
        print(str(e), file=sys.stderr)
        return 1
    try:
        options = {
            "input_shapes": parse_input_shapes(args.input_shape),
            "opt_level": args.opt_level,
        }
        settings: dict[str, Any] = {
            "jobs": args.jobs,
            "options": options,
            "progress": not args.quiet,
            "cluster": args.cluster,
        }
        manifests = build_fleet(models, args.fleet, args.output, FLEET, **settings)
    except LaminaError as e:
        print(error_text(e, args.model), file=sys.stderr)
        return 1
    failed = [t for m in manifests for t in m["targets"] if t["status"] != "ok"]
    for target in failed:
        print(f"{target['name']}: {target['error']}", file=sys.stderr)
    if not args.quiet:
        ok = sum(len(m["targets"]) for m in manifests) - len(failed)
        where = "manifest.json" if len(models) == 1 else "*/manifest.json"
        print(f"{args.output}/{where}: {ok} ok, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
