"""Set-up shared by tests that build small ONNX models, write them to files and run lamina's
tools on them: the models, the tools in their own processes, the diagnostics they print,
onnxruntime's outputs to compare with, graph-default checked against the reference
interpreter, and the pieces a printed text must hold."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import ModuleOp

from lamina.context import make_context
from lamina.parser.onnx import import_onnx
from lamina.rewrites.apply_rules import ApplyRulesPass
from lamina.runtime.reference import run_reference

Dims = Sequence[int | str | None] | None
"""A value's shape for `helper.make_tensor_value_info`: sizes, symbols, `None` unknown."""


def onnx_model(
    nodes: Sequence[onnx.NodeProto],
    inputs: Mapping[str, Dims],
    outputs: Mapping[str, Dims],
    weights: Mapping[str, np.ndarray] | None = None,
    *,
    name: str = "g",
    elem_types: Mapping[str, int] | None = None,
) -> onnx.ModelProto:
    """The opset-17 model of `nodes` with `inputs` and `outputs` of these shapes, float32
    but for the values `elem_types` names; `weights` are its initializers."""

    def values(shapes: Mapping[str, Dims]) -> list[onnx.ValueInfoProto]:
        types = elem_types or {}
        return [
            helper.make_tensor_value_info(value, types.get(value, TensorProto.FLOAT), dims)
            for value, dims in shapes.items()
        ]

    initializers = [numpy_helper.from_array(array, key) for key, array in (weights or {}).items()]
    graph = helper.make_graph(nodes, name, values(inputs), values(outputs), initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def inferred_model(
    nodes: Sequence[onnx.NodeProto], inputs: Mapping[str, Dims], output: str
) -> onnx.ModelProto:
    """`onnx_model` of float inputs and the one `output`, typed by ONNX shape inference."""
    model = onnx_model(nodes, inputs, {})
    model.graph.output.append(helper.make_empty_tensor_value_info(output))
    inferred = onnx.shape_inference.infer_shapes(model)
    model.graph.output[0].CopyFrom(next(v for v in inferred.graph.value_info if v.name == output))
    return model


def unary_model(op_type: str, dims: Dims, elem_type: int = TensorProto.FLOAT) -> onnx.ModelProto:
    """y = op_type(x), x and y of shape `dims` and `elem_type`."""
    node = helper.make_node(op_type, ["x"], ["y"])
    types = {"x": elem_type, "y": elem_type}
    return onnx_model([node], {"x": dims}, {"y": dims}, elem_types=types)


def matmul_model(
    rows: int, inner: int, columns: int, activation: str | None = None
) -> onnx.ModelProto:
    """y = activation(x @ W): x float32[rows, inner], W [inner, columns] seeded normal."""
    weight = np.random.default_rng(4).standard_normal((inner, columns)).astype(np.float32)
    product = "m" if activation else "y"
    nodes = [helper.make_node("MatMul", ["x", "W"], [product])]
    if activation:
        nodes.append(helper.make_node(activation, [product], ["y"]))
    return onnx_model(nodes, {"x": [rows, inner]}, {"y": [rows, columns]}, {"W": weight})


def saved(model: onnx.ModelProto, path: Path) -> Path:
    """`path`, where `model` is now saved."""
    onnx.save(model, path)
    return path


def constant_node(name: str, array: np.ndarray) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(array, name))


def run_tool(
    tool: str, *args: str | Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`lamina.tools.<tool>` run on `args` in a process of its own (so none of this test
    process's state, such as stored weights, reaches it), its output captured as text."""
    command = [sys.executable, "-m", f"lamina.tools.{tool}", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, check=False, env=env)


DiagnosticOf = Callable[..., str]
"""The type of conftest.py's fixture `diagnostic_of`."""

MlirFile = Callable[[str], Path]
"""The type of conftest.py's fixture `mlir_file`."""


def checked_diagnostic(err: str) -> str:
    """`err`, a tool's stderr, after checking it is a diagnostic: no traceback, no "internal
    error"."""
    assert "Traceback" not in err and "internal error" not in err, err
    return err


def assert_contains(text: str, *pieces: str) -> None:
    """Every one of `pieces` is in `text` (printed IR, LLVM IR, ...); the message names
    those that are not."""
    missing = [piece for piece in pieces if piece not in text]
    assert not missing, f"missing {missing} in:\n{text}"


def onnxruntime_outputs(
    model: onnx.ModelProto, feeds: Mapping[str, np.ndarray]
) -> list[np.ndarray]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return [np.asarray(output) for output in session.run(None, dict(feeds))]


def assert_close_at_scale(got: Sequence[np.ndarray], want: Sequence[np.ndarray]) -> None:
    """As many outputs as `want`, each of its shape and dtype, and max|err| <= 1e-3 max|ref|
    + 1e-4."""
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype
        error, scale = float(np.abs(g - w).max()), float(np.abs(w).max())
        assert error <= 1e-3 * scale + 1e-4, f"max|err| {error} at max|ref| {scale}"


def graph_op_counts(module: ModuleOp) -> Counter[str]:
    """How many ops of each graph-dialect kind `module` holds."""
    return Counter(op.name for op in module.walk() if op.name.startswith("graph."))


def rewritten_by_graph_default(
    model: onnx.ModelProto,
    feeds: Mapping[str, np.ndarray],
    *,
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> ModuleOp:
    """`model` imported and rewritten by the graph-default rules, verified, after checking
    that the reference interpreter computes the same outputs from `feeds` before and after
    (to rtol / atol: by default the few ulps of reordered float32 arithmetic per conv, as
    folding BatchNorm into its weights does, (x*w)*s against x*(w*s))."""
    before = run_reference(import_onnx(model), feeds)
    module = import_onnx(model)
    ApplyRulesPass(set="graph-default").apply(make_context(), module)
    module.verify()
    after = run_reference(module, feeds)
    for got, want in zip(after, before, strict=True):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    return module
