"""What `--version` of lamina's tools prints: lamina's version and xDSL's and LLVM's."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module, metadata
from typing import Any, NoReturn

import llvmlite

import lamina


def versions_text(tool: str) -> str:
    """`lamina-opt 0.1.0 (xDSL 0.74.0, LLVM 22.1.0 through llvmlite 0.50.0)`."""
    # LLVM's version needs its library loaded: only here, not when a tool starts
    binding = import_module("llvmlite.binding")
    llvm = ".".join(map(str, binding.llvm_version_info))
    return (
        f"{tool} {lamina.__version__} (xDSL {metadata.version('xdsl')}, "
        f"LLVM {llvm} through llvmlite {llvmlite.__version__})"
    )


class _PrintVersions(argparse.Action):
    """Prints `versions_text(tool)` on stdout and exits, made only when the flag is given."""

    def __init__(self, option_strings: Sequence[str], dest: str, tool: str, help: str) -> None:
        super().__init__(option_strings, dest, nargs=0, help=help)
        self.tool = tool

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        print(versions_text(self.tool), file=sys.stdout)
        parser.exit()


def add_version_flag(parser: argparse.ArgumentParser, tool: str, *short: str) -> None:
    """`--version` (and the `short` spellings): print `versions_text(tool)` and exit."""
    parser.add_argument(
        *short,
        "--version",
        action=_PrintVersions,
        tool=tool,
        help="print lamina's, xDSL's and LLVM's versions and exit",
    )
