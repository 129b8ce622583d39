"""Bad inputs for lamina's front doors (tools/fuzzing.py runs them): hypothesis strategies
that mutate IR text from filecheck_tests, .rw rule files, ONNX ModelProto fields and bytes of
random small graphs (tools/random_graphs.py), input shapes, and command-line flags."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import onnx
import onnx.numpy_helper
from hypothesis import strategies as st

from lamina.tools.random_graphs import random_graph

_ROOT = Path(__file__).resolve().parent.parent

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


Shapes = dict[str, list[int]] | None

_DIMS = st.sampled_from([-1, 0, 1, 2, 3, 13, 20, 1 << 40])
INPUT_SHAPES: st.SearchStrategy[Shapes] = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(["x", "y", "x y"]), st.lists(_DIMS, max_size=5), max_size=2),
)
"""Input shapes to bind: often none, else odd dims, wrong ranks, unknown names."""


# ---- ONNX mutations -------------------------------------------------------------------

_OP_TYPES = ["Conv", "Relu", "MatMul", "Gemm", "Reshape", "Concat", "NoSuchOp", "If", "LSTM"]


def seed_model(index: int) -> onnx.ModelProto:
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
    model = seed_model(draw(st.integers(0, 29)))
    edits = st.tuples(st.integers(0, 11), st.integers(0, 1 << 16), st.integers(0, 1 << 16))
    return _mutate_model(model, draw(st.lists(edits, min_size=1, max_size=3)))


@st.composite
def onnx_bytes(draw: st.DrawFn) -> bytes:
    data = bytearray(seed_model(draw(st.integers(0, 29))).SerializeToString())
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
            "--input-shape", "--print-weights", "-o", "--time-passes", "--print-ir-after-all",
            "--pass-pipeline", "--print-ir-before", "--print-ir-after", "--print-ir-after-change",
            "--view-op-graph", "--emit-onnx"],
    "run": ["--reference", "--device", "--inputs", "--input-shape", "--compare", "--repeat",
            "--seed"],
    "compile": ["--device", "-o", "--fleet", "--input-shape", "--name", "--threads", "--quiet",
                "--list-devices"],
    "conformance": ["--path", "--device", "--json", "--jobs"],
}  # fmt: skip
CLI_VALUES = [
    "", "x", "-1", "0", "1", "99999999999", "host", "cortex-a76", "nope", "ort", "llvm",
    "opencl", "x=1x3", "x=-1", "x=axb", "(", "compiled", "reference", "apply-rules{", "a.npy",
    "/", ".", "test_nope_nothing", "x=2x1x13x20", "x=0x1x13x20", "y=1", "in.mlir",
    "model.onnx", "x=bad.npy", "x=wrong.npy", "wrong.npy", "convert-graph-to-top", "top-fuse-elementwise,convert-top-to-loop",
    "builtin.module(convert-graph-to-top)", "builtin.module(", "out.dot", "out.onnx",
]  # fmt: skip


SWITCHES = {"--split-input-file", "--verify-diagnostics", "--print-op-generic", "--print-weights",
            "--time-passes", "--print-ir-after-all", "--reference", "--print-ir-after-change",
            "--quiet", "--list-devices"}  # fmt: skip
"""Flags without a value: given one only when the drawn value is "" (then a stray "")."""
CLI_POSITIONALS = {
    "opt": [[], ["in.mlir"], ["model.onnx"], ["missing.mlir"], ["in.mlir", "model.onnx"]],
    "run": [[], ["model.onnx"], ["in.mlir"], ["missing.onnx"]],
    "compile": [[], ["model.onnx"], ["missing.onnx"]],
    "conformance": [[]],
}
"""Files the command lines get first; cli_door writes in.mlir and model.onnx (a small
valid graph and model, an unreadable and a wrong-shaped .npy) into the scratch dir."""
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
        args += [flag] if flag in SWITCHES and value != "" else [flag, value]
    if tool == "conformance":  # last wins: a filter that selects a case or two at most
        args += ["--no-progress", "--filter", draw(st.sampled_from(CONFORMANCE_FILTERS))]
    return tool, args
