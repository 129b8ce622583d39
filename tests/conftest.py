"""Shared test set-up: every test session compiles into a temporary object cache, never the
user's `~/.cache/lamina/objects` (stale machine code there could pass a test after a codegen
change); tests that need their own cache still set `LAMINA_CACHE_DIR` themselves. LLVM
objects are compiled in the test's own process (`LAMINA_COMPILE_JOBS=1`): pytest-xdist
already keeps every core busy, so a pool forked per compile only adds forks of a large
process; the tests of the parallel build pass `jobs=` themselves. Tests of
hand-written loop-level kernels build and parse them through `kernel_ir` / `kernel_module`
/ `parse_ir`."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers_cli import DiagnosticOf, MlirFile, checked_diagnostic
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

from lamina.context import make_context


@pytest.fixture(scope="session", autouse=True)
def session_compile_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    settings = {
        "LAMINA_CACHE_DIR": str(tmp_path_factory.mktemp("lamina-objects")),
        "LAMINA_COMPILE_JOBS": "1",
    }
    previous = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    yield
    for name, value in previous.items():
        if value is None:
            del os.environ[name]
        else:
            os.environ[name] = value


_INDEX_CONSTANT = re.compile(r"%c(\d+)\b")
_CARVE = re.compile(r"loop\.carve %(weights|arena)\[[^:]*: memref<(\d+)xi8>")
_VIEW = re.compile(r"%(\w+): ([\dx]+)x(\w+)")
_ELEMENT_BYTES = {"i8": 1, "f16": 2, "bf16": 2, "f32": 4, "i32": 4, "f64": 8, "i64": 8}


def _carves(blob: str, views: str) -> str:
    """The `loop.carve` lines of `views` (`"%t0: 256xf32, %t1: 64x4xf32"`) laid out one after
    another in `blob` at 64-byte aligned offsets; the blob's type is their end in bytes."""
    layout, offset = [], 0
    for name, dims, element in _VIEW.findall(views):
        layout.append((name, offset, f"memref<{dims}x{element}>"))
        size = math.prod(int(d) for d in dims.split("x")) * _ELEMENT_BYTES[element]
        offset += -(-size // 64) * 64
    return "".join(
        f"  %{name} = loop.carve %{blob}[{at}] : memref<{offset}xi8> -> {view}\n"
        for name, at, view in layout
    )


def _kernel_ir(
    buffers: str,
    body: str,
    *,
    weight_views: str = "",
    arena_views: str = "",
    weights: int | None = None,
    arena: int | None = None,
    outputs: int = 1,
    prelude: str = "",
) -> str:
    """The text of a kernel-ABI function @main (docs/pipeline.md): the weights blob
    `%weights` and the arena `%arena`, then `buffers`; `outputs` of them are outputs. The
    body starts after the index constants `%c0`, `%c1` and every `%c<n>` it uses, then the
    carves of `weight_views` and `arena_views` (`"%w: 256xf32, ..."`, laid out in order).
    A blob's size in bytes is `weights` / `arena`, by default the size its carves give (64
    where there are none)."""
    body = _carves("weights", weight_views) + _carves("arena", arena_views) + body.strip("\n")
    used = sorted({int(n) for n in _INDEX_CONSTANT.findall(body)})
    constants = "".join(
        f"  %c{n} = arith.constant {n} : index\n" for n in dict.fromkeys((0, 1, *used))
    )
    carved = dict.fromkeys(("weights", "arena"), 64)
    carved |= {blob: int(size) for blob, size in _CARVE.findall(body)}
    weights = carved["weights"] if weights is None else weights
    arena = carved["arena"] if arena is None else arena
    attributes = '{lamina.abi = "kernel-v1"' + (
        f", lamina.num_outputs = {outputs} : i64}}" if outputs != 1 else "}"
    )
    return (
        f"{prelude}func.func @main(%weights: memref<{weights}xi8>, %arena: memref<{arena}xi8>,"
        f" {buffers}) attributes {attributes} {{\n{constants}{body}\n"
        "  func.return\n}\n"
    )


def _parse_ir(text: str) -> ModuleOp:
    module = Parser(make_context(), text).parse_module()
    module.verify()
    return module


@pytest.fixture(scope="session")
def kernel_ir() -> Callable[..., str]:
    """`kernel_ir(buffers, body, weight_views=..., arena_views=..., weights=..., arena=...,
    outputs=..., prelude=...)`: the text of a hand-written loop-level kernel in the kernel
    ABI, without its boilerplate: it adds the weights and arena arguments of @main, the %c0,
    %c1 and %c<extent> index constants, the carves of the named views and func.return
    around `body`."""
    return _kernel_ir


@pytest.fixture(scope="session")
def parse_ir() -> Callable[[str], ModuleOp]:
    """Parses IR text in lamina's context and verifies it."""
    return _parse_ir


@pytest.fixture(scope="session")
def kernel_module() -> Callable[..., ModuleOp]:
    """`kernel_module(...)`: `kernel_ir(...)` parsed and verified."""
    return lambda *args, **kwargs: _parse_ir(_kernel_ir(*args, **kwargs))


@pytest.fixture
def diagnostic_of(capsys: pytest.CaptureFixture[str]) -> DiagnosticOf:
    """`diagnostic_of(main, *args)`: the stderr of a tool's entry point `main` run on `args`,
    after checking that it failed with a diagnostic: exit 1, no traceback, no "internal
    error"."""

    def run(main: Callable[[list[str]], int], *args: str | Path) -> str:
        assert main([str(arg) for arg in args]) == 1
        return checked_diagnostic(capsys.readouterr().err)

    return run


@pytest.fixture
def mlir_file(tmp_path: Path) -> MlirFile:
    """`mlir_file(text)`: the file `f.mlir` of the test's tmp_path, holding `text`."""

    def write(text: str) -> Path:
        path = tmp_path / "f.mlir"
        path.write_text(text)
        return path

    return write
