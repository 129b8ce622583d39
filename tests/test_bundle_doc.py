"""docs/bundle.md's complete C example, as written there: two bundles' headers in one C
file, compiled with `cc` against two real bundles, run, its printed outputs checked
against onnxruntime (issue 17)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import lamina

DOC = Path(lamina.__file__).parent / "docs/bundle.md"


def fenced_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)


def example_section() -> str:
    text = DOC.read_text()
    return text[text.index("## A complete example") :]


def save(graph: onnx.GraphProto, path: Path) -> Path:
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def dense_model(path: Path) -> Path:
    """y = relu(x @ W): x float32[2,8] -> y float32[2,4], as the doc says."""
    weight = np.random.default_rng(11).standard_normal((8, 4)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["m"]), helper.make_node("Relu", ["m"], ["y"])],
        "dense",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])],
        [numpy_helper.from_array(weight, "W")],
    )
    return save(graph, path)


def arith_model(path: Path) -> Path:
    """s = a + b, p = a * b on float32[3]: no weights at all."""
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["s"]), helper.make_node("Mul", ["a", "b"], ["p"])],
        "arith",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [3]) for n in ("a", "b")],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [3]) for n in ("s", "p")],
    )
    return save(graph, path)


def printed(stdout: str) -> dict[str, np.ndarray]:
    """`name: v0 v1 ...` lines as arrays."""
    values: dict[str, np.ndarray] = {}
    for line in stdout.splitlines():
        name, _, numbers = line.partition(":")
        values[name] = np.array([float(v) for v in numbers.split()], np.float32)
    return values


def reference(model: Path, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    return [np.asarray(o).reshape(-1) for o in ort.InferenceSession(str(model)).run(None, feeds)]


def test_the_two_bundle_example_of_the_doc_builds_runs_and_matches_onnxruntime(tmp_path: Path):
    section = example_section()
    (source,) = fenced_blocks(section, "c")[:1]
    assert '#include "dense/model.h"' in source and '#include "arith/model.h"' in source
    (tmp_path / "two_models.c").write_text(source)
    models = {
        "dense": dense_model(tmp_path / "dense.onnx"),
        "arith": arith_model(tmp_path / "arith.onnx"),
    }
    (shell,) = fenced_blocks(section, "sh")[:1]
    stdout = ""
    for line in shell.splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == "lamina-compile":
            command = [sys.executable, "-m", "lamina.tools.compile", *words[1:], "--quiet"]
        elif words and words[0] == "cc":
            command = words
        elif words:
            command = [str(tmp_path / words[0].removeprefix("./")), *words[1:]]
        else:
            continue
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{line}\n{result.stderr}"
        stdout = result.stdout
    outputs = printed(stdout)
    x = (0.25 * np.arange(16, dtype=np.float32) - 2.0).reshape(2, 8)
    a, b = np.arange(3, dtype=np.float32) + 1, 0.5 * np.arange(3, dtype=np.float32)
    (y,) = reference(models["dense"], {"x": x})
    s, p = reference(models["arith"], {"a": a, "b": b})
    for name, ref in (("y", y), ("s", s), ("p", p)):
        assert outputs[name].shape == ref.shape
        assert np.abs(outputs[name] - ref).max() <= 1e-3 * np.abs(ref).max() + 1e-4, name
