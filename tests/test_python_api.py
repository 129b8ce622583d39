"""The Python API as onnxruntime users expect it (issue 17): `lamina.compile(...)` has
`input_names`, `output_names` and `run(output_names, input_feed)` like an
`InferenceSession`, and takes positional, keyword or dict feeds; `backend.prepare` takes a
path; the wheel ships `lamina.benchmarks` and names its authors and license."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import lamina
import lamina.backend as backend
from lamina.errors import LaminaError

ROOT = Path(lamina.__file__).parent


def two_output_model(path: Path) -> Path:
    """a = tanh(x @ W), b = x + 1: two outputs, so their order and names matter."""
    weight = numpy_helper.from_array(np.random.default_rng(7).random((6, 3), np.float32), "W")
    one = numpy_helper.from_array(np.array(1.0, np.float32), "one")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W"], ["m"]),
            helper.make_node("Tanh", ["m"], ["a"]),
            helper.make_node("Add", ["x", "one"], ["b"]),
        ],
        "two",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 6])],
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [2, 6]),
        ],
        [weight, one],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_output_model(tmp_path_factory.mktemp("api") / "two.onnx")


@pytest.fixture(scope="module")
def compiled(model_path: Path) -> lamina.CompiledModel:
    return lamina.compile(str(model_path), device="host")


def reference(model_path: Path, x: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(str(model_path))
    return [np.asarray(o) for o in session.run(None, {"x": x})]


def close(got: np.ndarray, ref: np.ndarray) -> bool:
    return bool(np.abs(got - ref).max() <= 1e-3 * np.abs(ref).max() + 1e-4)


X = np.random.default_rng(1).standard_normal((2, 6)).astype(np.float32)


def test_compiled_model_names_its_inputs_and_outputs(compiled: lamina.CompiledModel):
    assert compiled.input_names == ["x"]
    assert compiled.output_names == ["a", "b"]


def test_run_like_an_inference_session(compiled: lamina.CompiledModel, model_path: Path):
    ref_a, ref_b = reference(model_path, X)
    a, b = compiled.run(None, {"x": X})
    assert close(a, ref_a) and close(b, ref_b)
    (only_b,) = compiled.run(["b"], {"x": X})
    assert close(only_b, ref_b)
    swapped = compiled.run(["b", "a"], {"x": X})
    assert close(swapped[0], ref_b) and close(swapped[1], ref_a)


def test_positional_keyword_and_dict_feeds_give_the_same_outputs(compiled: lamina.CompiledModel):
    by_position = compiled(X)
    for outputs in (compiled(x=X), compiled({"x": X}), compiled.run(None, {"x": X})):
        for got, want in zip(outputs, by_position, strict=True):
            np.testing.assert_array_equal(got, want)


def test_unknown_output_or_input_names_are_errors(compiled: lamina.CompiledModel):
    with pytest.raises(LaminaError, match="no output 'c'.*outputs: a, b"):
        compiled.run(["c"], {"x": X})
    with pytest.raises(LaminaError, match="takes inputs x; got y"):
        compiled.run(None, {"y": X})


def test_backend_prepare_takes_a_path(model_path: Path):
    rep = backend.prepare(str(model_path))
    outputs: Any = rep.run([X])  # a namedtuple of the graph's output names
    ref_a, ref_b = reference(model_path, X)
    assert outputs._fields == ("a", "b")
    assert close(outputs.a, ref_a) and close(outputs.b, ref_b)
    assert close(backend.prepare(model_path).run({"x": X})[1], ref_b)


def test_every_package_directory_is_in_the_wheel_with_metadata(tmp_path: Path):
    """Built from a copy of the source tree, so that setuptools' build/ stays out of it."""
    source, wheels = tmp_path / "source", tmp_path / "wheels"
    skipped = shutil.ignore_patterns(
        ".venv", "build", "__pycache__", "*.egg-info", ".git*", "Output"
    )
    shutil.copytree(ROOT, source, ignore=skipped)
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-q",
        "-w",
        str(wheels),
        str(source),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    (wheel,) = wheels.glob("lamina-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(f"lamina-{lamina.__version__}.dist-info/METADATA").decode()
    packages = {
        p.parent.relative_to(ROOT) for p in ROOT.glob("**/__init__.py") if ".venv" not in p.parts
    }
    packages -= {p for p in packages if p.parts and p.parts[0] in ("build", "tests", "examples")}
    for package in packages:
        assert f"lamina/{package.as_posix()}/__init__.py".replace("/./", "/") in names, package
    assert "lamina/benchmarks/fuzz.py" in names
    assert "Author: The lamina maintainers" in metadata
    assert "License: Apache-2.0" in metadata
