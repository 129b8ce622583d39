"""lamina-compile: compile a model ahead of time into a bundle for a device.

    lamina-compile model.onnx --device cortex-a76 -o out/ [--input-shape data=1x3x224x224]
    lamina-compile model.onnx --fleet fleet.toml -o out/      # a bundle per fleet target

writes `out/` (codegen/aot.py: model.o, model.h, weights.bin, main.c, Makefile) and, with
`--build`, builds its driver `out/run` with the device's C compiler. Any failure prints
`<file>: error: ...` (naming the ONNX node when one is at fault), exits 1 and leaves no
bundle behind.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from xdsl.dialects.builtin import NameLoc
from xdsl.ir import Operation

from lamina.errors import LaminaError
from lamina.targets import known_devices
from lamina.tools.diagnostics import printing_warnings
from lamina.tools.versions import versions_text


def error_text(error: LaminaError, model: str) -> str:
    """`<model>: error: <message>`, the message naming the ONNX node at fault (from the
    error's op) and the error's own `where` unless it already says them; a `where` inside
    the model file (`model.onnx:...`) replaces `<model>`."""
    message = error.message
    op = error.op
    if isinstance(op, Operation) and isinstance(op.location, NameLoc):
        node = op.location.desc.data
        if f"node '{node}'" not in message:
            message = f"node '{node}' ({op.name}): {message}"
    where = error.where or model
    if not where.startswith(model):
        if f"'{where}'" not in message:
            message = f"{where}: {message}"
        where = model
    return f"{where}: error: {message}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `lamina-compile`; returns the exit code."""
    parser = _arguments()
    args = parser.parse_args(argv)
    if args.fleet:
        return _fleet(args)
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
        epilog=f"known devices: {', '.join(known_devices())} (or a path to a .toml description)",
    )
    parser.add_argument("model", help="the .onnx or .tflite model to compile")
    parser.add_argument(
        "--device", default="host", help="a known device or a .toml file (default: host)"
    )
    parser.add_argument("-o", "--output", default="out", help="bundle directory (default: out)")
    parser.add_argument("--name", help="C name of the entry point (default: the file's stem)")
    parser.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="NAME=DIMS",
        help="bind the dims of a dynamic input, e.g. data=1x3x224x224 (repeatable)",
    )
    parser.add_argument("--build", action="store_true", help="also build the driver (make)")
    parser.add_argument("--threads", type=int, help="threads of parallel loops (default: cores)")
    parser.add_argument(
        "-O",
        dest="opt_level",
        type=int,
        default=3,
        choices=range(4),
        help="LLVM optimization level 0-3 (default: 3)",
    )
    parser.add_argument("--fleet", help="a fleet.toml: one bundle per target into -o/<name>/")
    parser.add_argument("--jobs", type=int, help="parallel fleet builds (default: cores)")
    parser.add_argument(
        "--version",
        action="version",
        version=versions_text("lamina-compile"),
        help="print lamina's, xDSL's and LLVM's versions and exit",
    )
    return parser


def _compile(args: argparse.Namespace) -> int:
    from lamina.codegen.aot import prototype, write_bundle
    from lamina.parser.onnx import parse_input_shapes
    from lamina.tools.run_tflite import bundle_source

    model, name = bundle_source(args.model, args.name)
    bundle = write_bundle(
        model,
        args.device,
        args.output,
        name=name,
        input_shapes=parse_input_shapes(args.input_shape),
        opt_level=args.opt_level,
        threads=args.threads,
    )
    seconds = sum(bundle.stats.seconds.values()) if bundle.stats else 0.0
    print(f"{args.model}: compiled for {bundle.device} ({bundle.triple}) in {seconds:.1f} s")
    print(f"  {bundle.directory}/model.o: void {prototype(bundle)}")
    print(
        f"  weights {bundle.weights_bytes} bytes, arena {bundle.arena_bytes} bytes, "
        f"{bundle.threads} thread(s)"
    )
    if args.build:
        from lamina.runtime.qemu import build_bundle

        print(f"  built {build_bundle(bundle.directory)}")
    return 0


def _fleet(args: argparse.Namespace) -> int:
    """`--fleet`: codegen/fleet.py; exit 1 when the fleet file is bad or any target failed."""
    from lamina.codegen.fleet import build_fleet, load_fleet
    from lamina.parser.onnx import parse_input_shapes
    from lamina.parser.tflite import is_tflite_model

    if is_tflite_model(args.model):  # the fleet's bundles read output names from ONNX files
        print(f"{args.model}: error: not supported: --fleet with a TFLite model", file=sys.stderr)
        return 1
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
        manifest = build_fleet(args.model, args.fleet, args.output, jobs=args.jobs, options=options)
    except LaminaError as e:
        print(error_text(e, args.model), file=sys.stderr)
        return 1
    failed = [t for t in manifest["targets"] if t["status"] != "ok"]
    for target in failed:
        print(f"{target['name']}: {target['error']}", file=sys.stderr)
    print(
        f"{args.output}/manifest.json: {len(manifest['targets']) - len(failed)} ok, {len(failed)} failed"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
