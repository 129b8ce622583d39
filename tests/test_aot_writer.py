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
from onnx import TensorProto, helper, numpy_helper

from lamina.codegen.aot import write_bundle
from lamina.compiler import compile_bundle, lower_model
from lamina.errors import LaminaError, UnsupportedError
from lamina.runtime.qemu import build_bundle, run_bundle
from lamina.targets import load_device


def conv_logits() -> onnx.ModelProto:
    """conv 3x3 -> relu -> flatten -> matmul: logits of 5 classes from a 1x2x6x6 image."""
    rng = np.random.default_rng(3)
    weights = [
        numpy_helper.from_array(rng.standard_normal((3, 2, 3, 3)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.standard_normal((48, 5)).astype(np.float32), "fc"),
    ]
    nodes = [
        helper.make_node("Conv", ["image", "w"], ["c"], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Flatten", ["r"], ["f"], name="flatten"),
        helper.make_node("MatMul", ["f", "fc"], ["logits"], name="fc"),
    ]
    graph = helper.make_graph(
        nodes,
        "conv_logits",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 2, 6, 6])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 5])],
        weights,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_written_bundle_of_a_lowered_module_matches_onnxruntime(tmp_path: Path):
    model = conv_logits()
    lowered = lower_model(model, load_device("host"))
    bundle = write_bundle(
        lowered.module,
        lowered.device,
        tmp_path / "bundle",
        name="classify",
        input_names=["image"],
        output_names=["logits"],
        stats=lowered.stats,
    )
    assert bundle.stats is lowered.stats and "llvm" in lowered.stats.seconds
    assert "void classify(" in (bundle.directory / "model.h").read_text()
    build_bundle(bundle.directory)
    image = np.random.default_rng(4).standard_normal((1, 2, 6, 6), dtype=np.float32)
    (got,) = run_bundle(bundle.directory, {"image": image}).outputs
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = np.asarray(session.run(None, {"image": image})[0])
    # f32 sums of 18 and 48 terms in another order than onnxruntime's
    assert np.max(np.abs(got - want)) <= 1e-3 * np.max(np.abs(want)) + 1e-4


def test_compile_bundle_is_the_pipeline_then_the_writer(tmp_path: Path):
    """Byte for byte the same bundle either way (entry point, names, one thread)."""
    compile_bundle(conv_logits(), "host", tmp_path / "compiled", threads=1)
    device = dataclasses.replace(load_device("host"), cores=1)
    lowered = lower_model(conv_logits(), device)
    write_bundle(
        lowered.module,
        device,
        tmp_path / "written",
        name="conv_logits",
        input_names=lowered.input_names,
        output_names=["logits"],
    )
    files = sorted(p.name for p in (tmp_path / "compiled").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "written").iterdir())
    for name in files:
        assert (tmp_path / "compiled" / name).read_bytes() == (
            tmp_path / "written" / name
        ).read_bytes(), name


def test_writer_refuses_a_gpu_device_and_a_bad_entry_name_writing_nothing(tmp_path: Path):
    lowered = lower_model(conv_logits(), load_device("host"))
    for device, name, error, message in [
        ("opencl", "m", UnsupportedError, "AOT bundles for opencl devices"),
        ("host", "main", LaminaError, "entry point name 'main' is not a C identifier"),
    ]:
        with pytest.raises(error, match=message):
            write_bundle(
                lowered.module,
                load_device(device),
                tmp_path / device,
                name=name,
                input_names=["image"],
                output_names=["logits"],
            )
    assert not any(tmp_path.iterdir())
