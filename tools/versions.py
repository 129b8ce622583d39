"""What `--version` of lamina's tools prints: lamina's version and xDSL's and LLVM's."""

from __future__ import annotations

import argparse
from importlib import metadata

import llvmlite
import llvmlite.binding

import lamina


def versions_text(tool: str) -> str:
    """`lamina-opt 0.1.0 (xDSL 0.74.0, LLVM 22.1.0 through llvmlite 0.50.0)`."""
    llvm = ".".join(map(str, llvmlite.binding.llvm_version_info))
    return (
        f"{tool} {lamina.__version__} (xDSL {metadata.version('xdsl')}, "
        f"LLVM {llvm} through llvmlite {llvmlite.__version__})"
    )


def add_version_flag(parser: argparse.ArgumentParser, tool: str) -> None:
    """`--version`: print `versions_text(tool)` and exit."""
    parser.add_argument(
        "--version",
        action="version",
        version=versions_text(tool),
        help="print lamina's, xDSL's and LLVM's versions and exit",
    )
