"""Fuzzing lamina's front doors: a runner that classifies what a door does with each bad input
(tools/fuzz_inputs.py makes them).

Doors: `ir` (lamina-opt on IR text, with a pass pipeline), `rw` (a rewrite-rule file applied
by apply-rules), `onnx-proto` (mutated ModelProto fields through lamina.compile, lamina-opt,
lamina-run or lamina-compile), `onnx-bytes` (mutated serialized models, the same tools) and
`cli` (flags of the four command lines, on a small valid IR file and model); the ONNX doors
also bind fuzzed input shapes. `DOORS` names each door's strategy, runner and replay file.
Every input must end in one of
- ok: accepted;
- diagnostic: refused with `... error: ...` and a non-zero exit, nothing written;
and never in
- traceback: an exception escaped the door; internal: the door said "internal error";
- partial: it failed but left its output file behind; hang: it ran past the time limit;
- crash: the process died (only seen when each input runs in a child: benchmarks/fuzz.py).
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
import onnx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from lamina.compiler import compile as lamina_compile
from lamina.errors import LaminaError
from lamina.tools import compile as compile_tool
from lamina.tools import conformance as conformance_tool
from lamina.tools import opt as opt_tool
from lamina.tools import run as run_tool
from lamina.tools import tflite_mutations
from lamina.tools.fuzz_inputs import (
    INPUT_SHAPES,
    PIPELINES,
    Shapes,
    cli_args,
    ir_texts,
    onnx_bytes,
    onnx_models,
    rule_texts,
    seed_model,
)

FAILURES = ("traceback", "internal", "partial", "hang", "crash")
OUTCOMES = ("ok", "diagnostic", *FAILURES)
HANG_SECONDS = int(os.environ.get("LAMINA_FUZZ_HANG_S", "20"))


class _Hang(BaseException):
    """Raised by the alarm; a BaseException so the doors' own `except Exception` passes it."""


@dataclass(frozen=True)
class Outcome:
    kind: str
    detail: str = ""


@contextlib.contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    def on_alarm(_signum: int, _frame: FrameType | None) -> None:
        raise _Hang

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _empty_stdin() -> Iterator[None]:
    """As `< /dev/null`: a tool given no input file reads an empty stdin, not the test's."""
    previous, sys.stdin = sys.stdin, io.StringIO("")
    try:
        yield
    finally:
        sys.stdin = previous


def run_door(call: Callable[[Path], int | None], output: str | None = None) -> Outcome:
    """Run `call(scratch_dir)` (a tool's main or an API call) and classify it. `output` is
    the name of the file (in the scratch dir) the call writes on success."""
    with tempfile.TemporaryDirectory(prefix="lamina-fuzz-") as scratch:
        err = io.StringIO()
        try:
            with (
                _time_limit(HANG_SECONDS),
                _empty_stdin(),
                contextlib.redirect_stderr(err),
                contextlib.redirect_stdout(io.StringIO()),
            ):
                code = call(Path(scratch))
        except _Hang:
            return Outcome("hang", f"past {HANG_SECONDS} s")
        except SystemExit as e:  # argparse's usage errors
            code = e.code if isinstance(e.code, int) else 1
        except (KeyboardInterrupt, GeneratorExit):
            raise
        except BaseException as e:  # some of xDSL's exceptions are BaseExceptions
            if isinstance(e, LaminaError):  # an API door: the error is its diagnostic
                return Outcome("diagnostic", e.message.splitlines()[0][:200])
            return Outcome("traceback", f"{type(e).__name__}: {e}"[:300])
        text = err.getvalue()
        if "internal error" in text or "Traceback" in text:
            lines = [line for line in text.splitlines() if "internal error" in line]
            return Outcome("internal", (lines or text.strip().splitlines())[-1][:300])
        if code in (0, None):
            return Outcome("ok")
        if output is not None and any(Path(scratch).glob(f"{output}*")):
            return Outcome("partial", output)
        if "error" not in text:
            return Outcome("traceback", f"exit {code} without a diagnostic: {text[-200:]}")
        return Outcome("diagnostic", text.strip().splitlines()[0][:200])


# ---- the doors ------------------------------------------------------------------------

SMALL_GRAPH = """func.func @f(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %y = graph.relu %x : tensor<2x3xf32>
  %z = graph.add %y, %x : tensor<2x3xf32>
  func.return %z : tensor<2x3xf32>
}
"""


def ir_door(text: str, pipeline: str) -> Outcome:
    def call(scratch: Path) -> int:
        source = scratch / "in.mlir"
        source.write_text(text, encoding="utf-8", errors="surrogateescape")
        args = [str(source), "-o", str(scratch / "out.mlir")]
        return opt_tool.main([*args, "-p", pipeline] if pipeline else args)

    return run_door(call, "out.mlir")


def rw_door(text: str) -> Outcome:
    def call(scratch: Path) -> int:
        rules, source = scratch / "rules.rw", scratch / "in.mlir"
        rules.write_text(text, encoding="utf-8", errors="surrogateescape")
        source.write_text(SMALL_GRAPH)
        pipeline = f'apply-rules{{file="{rules}"}}'
        return opt_tool.main([str(source), "-p", pipeline, "-o", str(scratch / "out.mlir")])

    return run_door(call, "out.mlir")


def onnx_door(data: bytes | onnx.ModelProto, tool: str, shapes: Shapes = None) -> Outcome:
    """`tool`: api (lamina.compile + one run), opt, run or compile; `shapes` are given as
    `input_shapes=` or as `--input-shape name=AxB` flags."""

    def call(scratch: Path) -> int | None:
        raw = data if isinstance(data, bytes) else data.SerializeToString()
        path = scratch / "model.onnx"
        path.write_bytes(raw)
        if tool == "api":
            return _compile_and_run(raw, shapes)
        flags = [f"{name}={'x'.join(map(str, dims))}" for name, dims in (shapes or {}).items()]
        flags = [arg for flag in flags for arg in ("--input-shape", flag)]
        if tool == "opt":
            return opt_tool.main([str(path), *flags, "-o", str(scratch / "out.mlir")])
        if tool == "run":
            return run_tool.main([str(path), *flags, "--repeat", "1"])
        return compile_tool.main([str(path), *flags, "-o", str(scratch / "bundle"), "--quiet"])

    return run_door(call, {"opt": "out.mlir", "compile": "bundle"}.get(tool))


TFLITE_TOOLS = ("api", "run", "compile")


def tflite_bytes() -> st.SearchStrategy[bytes]:
    """Seeded mutations (tools/tflite_mutations.py) of a small built TFLite classifier."""
    return st.integers(0, 2**63 - 1).map(
        lambda s: tflite_mutations.mutate(_tflite_seed(), np.random.default_rng(s))
    )


@functools.cache
def _tflite_seed() -> bytes:
    return tflite_mutations.seed_model()


def tflite_door(data: bytes, tool: str) -> Outcome:
    """`tool`: api (lamina.compile), run (lamina-run --random-inputs: compile and run) or
    compile (lamina-compile, a bundle); the file has no .tflite extension: its identifier
    decides."""

    def call(scratch: Path) -> int | None:
        path = scratch / "model.bin"
        path.write_bytes(data)
        if tool == "api":
            lamina_compile(data, opt_level=0)
            return None
        if tool == "run":
            return run_tool.main([str(path), "--random-inputs", "--repeat", "1"])
        return compile_tool.main([str(path), "-o", str(scratch / "bundle"), "--quiet"])

    return run_door(call, {"compile": "bundle"}.get(tool))


def _compile_and_run(raw: bytes, shapes: Shapes) -> None:
    compiled = lamina_compile(raw, opt_level=0, input_shapes=shapes)
    compiled(**run_tool.random_inputs(onnx.load_from_string(raw), shapes or {}))


def cli_door(tool: str, args: list[str]) -> Outcome:
    def call(scratch: Path) -> int:
        os.chdir(scratch)  # relative outputs land in the scratch dir
        (scratch / "in.mlir").write_text(SMALL_GRAPH)
        (scratch / "model.onnx").write_bytes(seed_model(0).SerializeToString())
        (scratch / "bad.npy").write_bytes(b"\x93NUMPY garbage")
        np.save(scratch / "wrong.npy", np.arange(3))
        return _TOOLS[tool].main(args)

    cwd = os.getcwd()
    try:
        return run_door(call)
    finally:
        os.chdir(cwd)


ONNX_TOOLS = ("api", "opt", "run", "compile")
_TOOLS = {
    "opt": opt_tool,
    "run": run_tool,
    "compile": compile_tool,
    "conformance": conformance_tool,
}


# ---- the door table (tests/fuzz, benchmarks/fuzz.py) ----------------------------------


def fuzz_settings(examples: int, derandomize: bool = False) -> settings:
    """`examples` inputs, no example database, no deadline, no health check on slow or big
    inputs (the doors are slow by nature)."""
    return settings(
        max_examples=examples,
        derandomize=derandomize,
        database=None,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )


def _save_text(name: str, text: str, where: Path) -> None:
    (where / name).write_text(text, encoding="utf-8", errors="surrogateescape")


def _save_ir(example: tuple[str, str], where: Path) -> None:
    text, pipeline = example
    _save_text("in.mlir", text, where)
    _save_text("replay.txt", f"lamina-opt in.mlir -p '{pipeline}'\n", where)


def _save_rules(text: str, where: Path) -> None:
    _save_text("rules.rw", text, where)
    _save_text("in.mlir", SMALL_GRAPH, where)
    _save_text("replay.txt", "lamina-opt in.mlir -p 'apply-rules{file=\"rules.rw\"}'\n", where)


def _save_onnx(example: tuple[bytes | onnx.ModelProto, str, Shapes], where: Path) -> None:
    data, tool, shapes = example
    raw = data if isinstance(data, bytes) else data.SerializeToString()
    (where / "model.onnx").write_bytes(raw)
    _save_text("replay.txt", f"onnx_door(model.onnx, {tool!r}, {shapes!r})\n", where)


def _save_tflite(example: tuple[bytes, str], where: Path) -> None:
    data, tool = example
    (where / "model.bin").write_bytes(data)
    _save_text("replay.txt", f"tflite_door(model.bin, {tool!r})\n", where)


def _save_cli(example: tuple[str, list[str]], where: Path) -> None:
    tool, args = example
    _save_text("replay.txt", " ".join([f"lamina-{tool}", *map(repr, args)]) + "\n", where)


def _collect_conformance_cases() -> None:
    """lamina-conformance reads onnx's node cases once per process (tens of seconds on a
    busy machine): read them before the inputs so the cli door's time limit is for the run."""
    with contextlib.redirect_stdout(io.StringIO()):
        conformance_tool.main(["--no-progress", "--filter", "^test_relu$"])


@dataclass(frozen=True)
class Door:
    """A front door: the inputs to try, how to run one, how to save one for replay."""

    name: str
    inputs: st.SearchStrategy[Any]
    run: Callable[[Any], Outcome]
    save: Callable[[Any, Path], None]
    warm_up: Callable[[], object] = lambda: None
    """Run once before the inputs, in the parent: what each input would otherwise redo."""


DOORS = {
    door.name: door
    for door in [
        Door(
            "ir", st.tuples(ir_texts(), st.sampled_from(PIPELINES)), lambda e: ir_door(*e), _save_ir
        ),
        Door("rw", rule_texts(), rw_door, _save_rules),
        Door(
            "onnx-proto",
            st.tuples(onnx_models(), st.sampled_from(ONNX_TOOLS), INPUT_SHAPES),
            lambda e: onnx_door(*e),
            _save_onnx,
        ),
        Door(
            "onnx-bytes",
            st.tuples(onnx_bytes(), st.sampled_from(ONNX_TOOLS), INPUT_SHAPES),
            lambda e: onnx_door(*e),
            _save_onnx,
        ),
        Door(
            "tflite-bytes",
            st.tuples(tflite_bytes(), st.sampled_from(TFLITE_TOOLS)),
            lambda e: tflite_door(*e),
            _save_tflite,
        ),
        Door("cli", cli_args(), lambda e: cli_door(*e), _save_cli, _collect_conformance_cases),
    ]
}
