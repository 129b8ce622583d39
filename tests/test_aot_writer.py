"""The AOT writer (codegen/aot.py `write_bundle`) takes an already lowered module and its
device and only writes files; `lamina.compiler.compile_bundle` is the compile pipeline
(`lower_model`) followed by it, nothing else."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from lamina.codegen.aot import write_bundle
from lamina.codegen.bundle import BundleOptions
from lamina.compiler import compile_bundle, lower_model
from lamina.errors import LaminaError, UnsupportedError
from lamina.runtime.qemu import build_bundle, run_bundle
from lamina.targets import load_device
from lamina.tools.models import mlp


def small_mlp() -> onnx.ModelProto:
    """16 -> 12 -> 5 dense layers with a Relu between: logits `y` of an input `x` [1, 16]."""
    return mlp((16, 12, 5))


def test_written_bundle_of_a_lowered_module_matches_onnxruntime(tmp_path: Path):
    model = small_mlp()
    lowered = lower_model(model, load_device("host"))
    bundle = write_bundle(
        lowered.module,
        lowered.device,
        tmp_path / "bundle",
        BundleOptions("classify", ["x"], ["y"], stats=lowered.stats),
    )
    assert bundle.stats is lowered.stats and "llvm" in lowered.stats.seconds
    assert "void classify(" in (bundle.directory / "model.h").read_text()
    build_bundle(bundle.directory)
    x = np.random.default_rng(4).standard_normal((1, 16), dtype=np.float32)
    (got,) = run_bundle(bundle.directory, {"x": x}).outputs
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = np.asarray(session.run(None, {"x": x})[0])
    # f32 sums of 16 and 12 terms in another order than onnxruntime's
    assert np.max(np.abs(got - want)) <= 1e-3 * np.max(np.abs(want)) + 1e-4


def test_compile_bundle_is_the_pipeline_then_the_writer(tmp_path: Path):
    """Byte for byte the same bundle either way (entry point, names, one thread)."""
    compile_bundle(small_mlp(), "host", tmp_path / "compiled", threads=1)
    device = dataclasses.replace(load_device("host"), cores=1)
    lowered = lower_model(small_mlp(), device)
    write_bundle(
        lowered.module,
        device,
        tmp_path / "written",
        BundleOptions("mlp", lowered.input_names, ["y"]),
    )
    files = sorted(p.name for p in (tmp_path / "compiled").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "written").iterdir())
    for name in files:
        assert (tmp_path / "compiled" / name).read_bytes() == (
            tmp_path / "written" / name
        ).read_bytes(), name


def test_writer_refuses_a_gpu_device_and_a_bad_entry_name_writing_nothing(tmp_path: Path):
    lowered = lower_model(small_mlp(), load_device("host"))
    for device, name, error, message in [
        ("opencl", "m", UnsupportedError, "AOT bundles for opencl devices"),
        ("host", "main", LaminaError, "entry point name 'main' is not a C identifier"),
    ]:
        with pytest.raises(error, match=message):
            write_bundle(
                lowered.module,
                load_device(device),
                tmp_path / device,
                BundleOptions(name, ["x"], ["y"]),
            )
    assert not any(tmp_path.iterdir())
