"""Fuzzing lamina's front doors: hypothesis strategies for bad inputs and a runner that
classifies what a door does with each.

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
import io
import os
import re
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import onnx
import onnx.numpy_helper
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from lamina.compiler import compile as lamina_compile
from lamina.errors import LaminaError
from lamina.tools import compile as compile_tool
from lamina.tools import conformance as conformance_tool
from lamina.tools import opt as opt_tool
from lamina.tools import run as run_tool
from lamina.tools.random_graphs import random_graph

FAILURES = ("traceback", "internal", "partial", "hang", "crash")
OUTCOMES = ("ok", "diagnostic", *FAILURES)
HANG_SECONDS = int(os.environ.get("LAMINA_FUZZ_HANG_S", "20"))
_ROOT = Path(__file__).resolve().parent.parent


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


# ---- text mutations -------------------------------------------------------------------

_TOKENS = [
    "%0", "%x", "%", "tensor<", "tensor<?x", "tensor<*xf32>", "memref<4xi8>", ">", "<", "{",
    "}", "(", ")", ":", ",", "=", "->", "i1", "i8", "i64", "f16", "f32", "index", "?", "-1",
    "0", "99999999999999999999", "1e999", "nan", '"', "\\", "\n", "graph.conv", "top.matmul",
    "loop.for", "func.return", "^bb0", "dense<", "array<i64: ", "affine_map<(d0) -> (d0)>",
    "rule", "match", "rewrite", "where", "let", "$", "...", "one_use", "//", "\x00", "é",
]  # fmt: skip


def _seed_chunks(pattern: str, folder: str) -> list[str]:
    chunks: list[str] = []
    for path in sorted((_ROOT / folder).glob(pattern)):
        text = path.read_text(encoding="utf-8")
        chunks += [c for c in re.split(r"^// -----$", text, flags=re.M) if "RUN:" not in c]
        chunks += [re.sub(r"^//.*$", "", c, flags=re.M) for c in text.split("// -----")[:1]]
    return [c for c in chunks if c.strip()]


def _mutate_text(text: str, edits: list[tuple[int, float, float, int]]) -> str:
    for kind, where, length, token in edits:
        start = int(where * len(text))
        end = min(len(text), start + int(length * 40))
        piece = _TOKENS[token % len(_TOKENS)]
        if kind == 0:
            text = text[:start] + text[end:]  # delete
        elif kind == 1:
            text = text[:start] + piece + text[start:]  # insert a token
        elif kind == 2:
            text = text[:start] + piece + text[end:]  # replace a span by a token
        elif kind == 3:
            text = text[:start] + text[start:end] * 2 + text[end:]  # duplicate a span
        else:
            text = _change_number(text, where, token)
    return text


_NUMBERS = ["0", "1", "7", "-1", "3", "65536", "4294967297", "2.5", "-0.0"]


def _change_number(text: str, where: float, choice: int) -> str:
    """Another value for one of the numbers (a dim, an index, an attribute): the text still
    parses more often than after a random edit, so the verifiers and passes see it."""
    numbers = list(re.finditer(r"\d+", text))
    if not numbers:
        return text
    number = numbers[int(where * (len(numbers) - 1))]
    return text[: number.start()] + _NUMBERS[choice % len(_NUMBERS)] + text[number.end() :]


_EDITS = st.lists(
    st.tuples(
        st.integers(0, 5), st.floats(0, 1), st.floats(0, 1), st.integers(0, len(_TOKENS) - 1)
    ),
    min_size=1,
    max_size=4,
)


@st.composite
def ir_texts(draw: st.DrawFn) -> str:
    seeds = _IR_SEEDS or _load_ir_seeds()
    edits = draw(_EDITS)
    if draw(st.booleans()):  # numbers only: the IR parses and reaches verifiers and passes
        edits = [(4, where, length, token) for _, where, length, token in edits]
    return _mutate_text(draw(st.sampled_from(seeds)), edits)


@st.composite
def rule_texts(draw: st.DrawFn) -> str:
    seeds = _RW_SEEDS or _load_rw_seeds()
    return _mutate_text(draw(st.sampled_from(seeds)), draw(_EDITS))


_IR_SEEDS: list[str] = []
_RW_SEEDS: list[str] = []


def _load_ir_seeds() -> list[str]:
    _IR_SEEDS.extend(_seed_chunks("**/*.mlir", "filecheck_tests"))
    return _IR_SEEDS


def _load_rw_seeds() -> list[str]:
    _RW_SEEDS.extend(_seed_chunks("*.rw", "rewrites/graph"))
    _RW_SEEDS.extend(_seed_chunks("**/*.rw", "filecheck_tests"))
    return _RW_SEEDS


PIPELINES = [
    "",
    "apply-rules{set=graph-default}",
    "apply-rules{set=graph-default},convert-graph-to-top",
    "convert-graph-to-top,top-fuse-elementwise,convert-top-to-loop,plan-memory",
    "convert-top-to-loop,plan-memory,convert-loop-to-llvm",
]


# ---- ONNX mutations -------------------------------------------------------------------

_OP_TYPES = ["Conv", "Relu", "MatMul", "Gemm", "Reshape", "Concat", "NoSuchOp", "If", "LSTM"]


def _seed_model(index: int) -> onnx.ModelProto:
    return random_graph(index)


def _mutate_model(model: onnx.ModelProto, edits: list[tuple[int, int, int]]) -> onnx.ModelProto:
    graph = model.graph
    for kind, a, b in edits:
        nodes, values = graph.node, [*graph.input, *graph.output]
        if kind == 0 and values:  # a dim: negative, zero, huge, symbolic
            dims = values[a % len(values)].type.tensor_type.shape.dim
            if dims:
                dim = dims[b % len(dims)]
                choice = [-5, 0, 1 << 40, 7][b % 4]
                dim.dim_value = choice
        elif kind == 1 and values:  # an element type, maybe undefined or unknown
            values[a % len(values)].type.tensor_type.elem_type = b % 32
        elif kind == 2 and nodes:  # another operator
            nodes[a % len(nodes)].op_type = _OP_TYPES[b % len(_OP_TYPES)]
        elif kind == 3 and nodes:  # a dangling input
            node = nodes[a % len(nodes)]
            if node.input:
                node.input[b % len(node.input)] = f"dangling{b}"
        elif kind == 4 and len(nodes) > 1:  # a cycle: an earlier node reads a later output
            first, later = nodes[a % len(nodes)], nodes[-1 - b % len(nodes)]
            if first.input and later.output:
                first.input[0] = later.output[0]
        elif kind == 5 and nodes:  # an attribute of any name and type
            node = nodes[a % len(nodes)]
            value: Any = [b, -b, 1 << 40, 0.5, "SAME_UPPER", [b, 0, -1], []][b % 7]
            name = ["kernel_shape", "pads", "strides", "group", "axis", "perm", "auto_pad"][a % 7]
            del node.attribute[:]
            with contextlib.suppress(ValueError, TypeError):
                node.attribute.append(onnx.helper.make_attribute(name, value))
        elif kind == 6 and graph.initializer:  # a weight missing or of the wrong size
            tensor = graph.initializer[a % len(graph.initializer)]
            if b % 2:
                graph.initializer.remove(tensor)
            elif tensor.dims:
                tensor.dims[0] += 1
        elif kind == 7:  # another opset
            model.opset_import[0].version = b % 40
        elif kind == 8 and nodes:  # a node removed
            nodes.remove(nodes[a % len(nodes)])
        else:
            _mutate_values(graph, kind, a, b)
    return model


_ODD_INTS = [-1, 0, -5, 1 << 40, -(1 << 62), 3, 1 << 31]


def _mutate_values(graph: onnx.GraphProto, kind: int, a: int, b: int) -> None:
    """Edits that keep the model well-formed, so they get past onnx's checker: the value
    of an attribute the node has, an entry of an integer weight (a shape, axes, pads), a
    second node writing the same output."""
    nodes = graph.node
    if kind == 9 and nodes and nodes[a % len(nodes)].attribute:
        attribute = nodes[a % len(nodes)].attribute
        attr = attribute[b % len(attribute)]
        odd = _ODD_INTS[b % len(_ODD_INTS)]
        if attr.ints:
            attr.ints[b % len(attr.ints)] = odd
        elif attr.type == onnx.AttributeProto.INT:
            attr.i = odd
        elif attr.type == onnx.AttributeProto.FLOAT:
            attr.f = [float("nan"), float("inf"), -1e30, 0.0][b % 4]
    elif kind == 10 and graph.initializer:
        tensor = graph.initializer[a % len(graph.initializer)]
        if tensor.data_type == onnx.TensorProto.INT64:
            with contextlib.suppress(ValueError, IndexError):  # dims off (kind 6), or empty
                values = onnx.numpy_helper.to_array(tensor).copy()
                values.flat[b % max(values.size, 1)] = _ODD_INTS[b % len(_ODD_INTS)]
                tensor.CopyFrom(onnx.numpy_helper.from_array(values, tensor.name))
    elif kind == 11 and len(nodes) > 1 and nodes[a % len(nodes)].output:
        nodes[-1].output[0] = nodes[a % len(nodes)].output[0]


@st.composite
def onnx_models(draw: st.DrawFn) -> onnx.ModelProto:
    model = _seed_model(draw(st.integers(0, 29)))
    edits = st.tuples(st.integers(0, 11), st.integers(0, 1 << 16), st.integers(0, 1 << 16))
    return _mutate_model(model, draw(st.lists(edits, min_size=1, max_size=3)))


@st.composite
def onnx_bytes(draw: st.DrawFn) -> bytes:
    data = bytearray(_seed_model(draw(st.integers(0, 29))).SerializeToString())
    for kind, where, value in draw(
        st.lists(st.tuples(st.integers(0, 2), st.floats(0, 1), st.integers(0, 255)), max_size=6)
    ):
        at = int(where * (len(data) - 1)) if data else 0
        if kind == 0 and data:
            data[at] = value
        elif kind == 1:
            data = data[:at]
        else:
            data.insert(at, value)
    return bytes(data)


# ---- command lines --------------------------------------------------------------------

CLI_FLAGS = {
    "opt": ["-p", "--split-input-file", "--verify-diagnostics", "--print-op-generic", "-t",
            "--input-shape", "--print-weights", "-o", "--time-passes", "--print-ir-after-all"],
    "run": ["--reference", "--device", "--inputs", "--input-shape", "--compare", "--repeat",
            "--seed"],
    "compile": ["--device", "-o", "--fleet", "--input-shape", "--name", "--threads"],
    "conformance": ["--path", "--device", "--json", "--jobs"],
}  # fmt: skip
CLI_VALUES = [
    "", "x", "-1", "0", "1", "99999999999", "host", "cortex-a76", "nope", "ort", "llvm",
    "opencl", "x=1x3", "x=-1", "x=axb", "(", "compiled", "reference", "apply-rules{", "a.npy",
    "/", ".", "test_nope_nothing", "x=2x1x13x20", "x=0x1x13x20", "y=1", "in.mlir",
    "model.onnx", "convert-graph-to-top", "top-fuse-elementwise,convert-top-to-loop",
]  # fmt: skip


CLI_POSITIONALS = {
    "opt": [[], ["in.mlir"], ["model.onnx"], ["missing.mlir"], ["in.mlir", "model.onnx"]],
    "run": [[], ["model.onnx"], ["in.mlir"], ["missing.onnx"]],
    "compile": [[], ["model.onnx"], ["missing.onnx"]],
    "conformance": [[]],
}
"""Files the command lines get first; cli_door writes in.mlir and model.onnx (a small
valid graph and model) into the scratch dir."""
CONFORMANCE_FILTERS = ["^test_relu$", "^test_abs$", "(", "[", "test_nope_nothing", "^$"]


@st.composite
def cli_args(draw: st.DrawFn) -> tuple[str, list[str]]:
    tool = draw(st.sampled_from(sorted(CLI_FLAGS)))
    args = draw(st.sampled_from(CLI_POSITIONALS[tool]))
    for flag, value in draw(
        st.lists(
            st.tuples(st.sampled_from(CLI_FLAGS[tool]), st.sampled_from(CLI_VALUES)), max_size=4
        )
    ):
        args += [flag, value]
    if tool == "conformance":  # last wins: a filter that selects a case or two at most
        args += ["--no-progress", "--filter", draw(st.sampled_from(CONFORMANCE_FILTERS))]
    return tool, args


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


Shapes = dict[str, list[int]] | None


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
        return compile_tool.main([str(path), *flags, "-o", str(scratch / "bundle")])

    return run_door(call, {"opt": "out.mlir", "compile": "bundle"}.get(tool))


def _compile_and_run(raw: bytes, shapes: Shapes) -> None:
    compiled = lamina_compile(raw, opt_level=0, input_shapes=shapes)
    compiled(**run_tool.random_inputs(onnx.load_from_string(raw), shapes or {}))


_DIMS = st.sampled_from([-1, 0, 1, 2, 3, 13, 20, 1 << 40])
INPUT_SHAPES: st.SearchStrategy[Shapes] = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(["x", "y", "x y"]), st.lists(_DIMS, max_size=5), max_size=2),
)
"""Input shapes to bind: often none, else odd dims, wrong ranks, unknown names."""


def cli_door(tool: str, args: list[str]) -> Outcome:
    def call(scratch: Path) -> int:
        os.chdir(scratch)  # relative outputs land in the scratch dir
        (scratch / "in.mlir").write_text(SMALL_GRAPH)
        (scratch / "model.onnx").write_bytes(_seed_model(0).SerializeToString())
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
        Door("cli", cli_args(), lambda e: cli_door(*e), _save_cli, _collect_conformance_cases),
    ]
}
