"""Models with dynamic dims compiled once and run at several sizes: the YOLO-class detector
(dynamic image height and width) and the transformer encoder (dynamic sequence length),
built the way exporters write them (Shape -> Gather -> Concat reshape targets, Reshape's
-1, anchors from Range / Expand of the feature map's Shape), against onnxruntime at the
output's scale; on the host JIT and as a cortex-a76 bundle under qemu-aarch64. Inputs that
break the model's dim constraints get a clear error, and `input_shapes=` still compiles
static code."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import DYNAMIC_INDEX, MemRefType

import lamina
from lamina.compiler import compile_bundle, import_model, lower
from lamina.errors import LaminaError, UnsupportedError
from lamina.runtime.qemu import run_bundle
from lamina.runtime.reference.kernel_conformance import all_node_cases
from lamina.targets import load_device
from lamina.tools.model_builders import transformer_encoder, yolo_detector


def _close(got: np.ndarray, want: np.ndarray) -> None:
    """max |err| <= 1e-3 * max |ref| + 1e-4, shapes equal."""
    assert got.shape == want.shape
    scale = float(np.abs(want).max()) if want.size else 0.0
    assert float(np.abs(got - want).max(initial=0.0)) <= 1e-3 * scale + 1e-4


def _tokens(length: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    mask = np.ones((1, length), np.int64)
    mask[0, length // 2 :] = rng.integers(0, 2, length - length // 2)
    return {"input_ids": rng.integers(0, 50, (1, length)), "attention_mask": mask}


@pytest.fixture(scope="module")
def encoder() -> onnx.ModelProto:
    return transformer_encoder(seq=None)


@pytest.fixture(scope="module")
def detector() -> onnx.ModelProto:
    return yolo_detector(size=None)


def test_transformer_compiled_once_runs_at_several_lengths(encoder: onnx.ModelProto):
    compiled = lamina.compile(encoder, device="host")
    session = ort.InferenceSession(encoder.SerializeToString())
    for length in (1, 7, 33, 64):
        feeds = _tokens(length, seed=length)
        (want,) = session.run(None, feeds)
        (got,) = compiled(**feeds)
        _close(got, np.asarray(want))


def test_yolo_compiled_once_runs_at_several_image_sizes(detector: onnx.ModelProto):
    compiled = lamina.compile(detector, device="host")
    session = ort.InferenceSession(detector.SerializeToString())
    rng = np.random.default_rng(0)
    for height, width in ((32, 32), (64, 96), (96, 64)):
        image = rng.standard_normal((1, 3, height, width)).astype(np.float32)
        for got, want in zip(compiled(image), session.run(None, {"images": image}), strict=True):
            _close(got, np.asarray(want))


def test_inputs_that_break_the_dims_get_a_clear_error(encoder: onnx.ModelProto):
    compiled = lamina.compile(encoder, device="host")
    ids = np.zeros((1, 5), np.int64)
    with pytest.raises(LaminaError, match="'attention_mask' dim 1 is not the size 'seq'"):
        compiled(ids, np.ones((1, 6), np.int64))
    with pytest.raises(LaminaError, match="node 'Add_10'"):  # 65 tokens, 64 positions
        compiled(np.zeros((1, 65), np.int64), np.ones((1, 65), np.int64))
    with pytest.raises(LaminaError, match=r"has shape \(2, 5\)"):
        compiled(np.zeros((2, 5), np.int64), np.ones((2, 5), np.int64))


def test_odd_image_size_fails_the_focus_check(detector: onnx.ModelProto):
    compiled = lamina.compile(detector, device="host")
    with pytest.raises(LaminaError, match="node 'Concat_"):
        compiled(np.zeros((1, 3, 33, 32), np.float32))


def test_input_shapes_still_compile_static_code(encoder: onnx.ModelProto):
    module = import_model(encoder, {"input_ids": [1, 8], "attention_mask": [1, 8]})
    lower(module, load_device("host"))
    kernels = [f for f in module.walk() if isinstance(f, func.FuncOp)]
    assert [f.sym_name.data for f in kernels] == ["encoder"]  # no shape function
    for t in kernels[0].function_type.inputs.data:
        assert isinstance(t, MemRefType) and DYNAMIC_INDEX not in t.get_shape()


def test_transformer_bundle_on_cortex_a76_runs_at_several_lengths(
    encoder: onnx.ModelProto, tmp_path: Path
):
    compile_bundle(encoder, "cortex-a76", tmp_path / "bundle")
    session = ort.InferenceSession(encoder.SerializeToString())
    for length in (3, 16):
        feeds = _tokens(length, seed=length)
        run = run_bundle(tmp_path / "bundle", feeds)
        (want,) = session.run(None, feeds)
        _close(run.outputs[0], np.asarray(want))


def test_unranked_values_in_subgraphs_are_left_to_the_static_lowerings():
    """AffineGrid's function body types its If branches as tensor<*xf32>: the dynamic
    Reshape lowering must not read a shape off them (it was an AttributeError); the
    static lowering reports them as not supported."""
    (case,) = [c for c in all_node_cases() if c.name == "test_affine_grid_2d_expanded"]
    assert case.model is not None
    with pytest.raises(UnsupportedError, match="not supported"):
        lower(import_model(case.model), load_device("host"))
