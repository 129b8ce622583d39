"""`--help` of lamina-opt, lamina-compile and lamina-run explains every flag and lists the
known devices; `--version` names lamina's, xDSL's and LLVM's versions (issue 17)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from importlib import metadata

import llvmlite.binding
import pytest

import lamina
from lamina.targets import known_devices
from lamina.tools.compile import main as compile_main
from lamina.tools.opt import main as opt_main
from lamina.tools.run import main as run_main

Main = Callable[[Sequence[str] | None], int]
TOOLS: list[tuple[str, Main]] = [
    ("lamina-opt", opt_main),
    ("lamina-compile", compile_main),
    ("lamina-run", run_main),
]
_FLAG = re.compile(r"^  (-\S+(?:, -\S+)?(?: [A-Z_={},0-9.]+)?)(\s{2,}\S.*)?$")


def _output(main: Main, flag: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([flag])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def _flags_without_help(text: str) -> list[str]:
    """Option lines of argparse's help whose text neither follows nor starts the next line."""
    lines = text.splitlines()
    bare: list[str] = []
    for k, line in enumerate(lines):
        match = _FLAG.match(line)
        if match is None or match[2]:
            continue
        following = lines[k + 1] if k + 1 < len(lines) else ""
        if not following.startswith(" " * 20) or following.strip().startswith("-"):
            bare.append(match[1])
    return bare


@pytest.mark.parametrize(("tool", "main"), TOOLS)
def test_help_explains_every_flag_and_lists_devices(
    tool: str, main: Main, capsys: pytest.CaptureFixture[str]
):
    text = _output(main, "--help", capsys)
    assert text.startswith(f"usage: {tool}")
    assert _flags_without_help(text) == []
    devices = " ".join(text.split()).replace("- ", "-")  # argparse wraps after hyphens
    assert all(device in devices for device in known_devices())


@pytest.mark.parametrize(("tool", "main"), TOOLS)
def test_version_names_lamina_xdsl_and_llvm(
    tool: str, main: Main, capsys: pytest.CaptureFixture[str]
):
    text = _output(main, "--version", capsys)
    llvm = ".".join(map(str, llvmlite.binding.llvm_version_info))
    assert text.startswith(f"{tool} {lamina.__version__} ")
    assert f"xDSL {metadata.version('xdsl')}" in text and f"LLVM {llvm}" in text


def test_package_has_a_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", lamina.__version__)
