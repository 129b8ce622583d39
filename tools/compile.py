"""lamina-compile: ahead-of-time bundles for a device (not built yet)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lamina.errors import UnsupportedError


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `lamina-compile`; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="lamina-compile", description="Compile a model into an AOT bundle for a device."
    )
    parser.add_argument("model", help="an .onnx file")
    parser.add_argument("--device", default="host", help="device description name")
    parser.add_argument("-o", "--output", default="out", help="bundle directory")
    args = parser.parse_args(argv)
    error = UnsupportedError(
        f"compiling for device '{args.device}': code generation does not exist yet "
        "(use `lamina-run --reference` to run the model on the reference interpreter)",
        where=args.model,
    )
    print(error, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
