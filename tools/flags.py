"""Command-line flags that several of lamina's tools take alike."""

from __future__ import annotations

import argparse


def add_input_shape_flag(parser: argparse.ArgumentParser, what: str = "a dynamic input") -> None:
    """`--input-shape NAME=DIMS` (repeatable): binds the dims of `what`; collected into
    `args.input_shape` for `parser.onnx.parse_input_shapes`."""
    parser.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="NAME=DIMS",
        help=f"bind the dims of {what}, e.g. data=1x3x224x224 (repeatable)",
    )
