"""The copy-out of the f32 conv GEMM (lowering/top_to_loop_conv.py) into a Y that memory
planning places, against onnxruntime: vectors of Y's flat [N, F, OH*OW] view, per B block
in the row form (the elements past the whole vectors one by one), in lanes x lanes squares
transposed by shuffles on pixel rows (the last square of pixels and of filters overlapping
its neighbour); a fused epilogue's per-pixel input is read through the same view where
it is an arena buffer shaped as Y, else the copy-out stays row by row.
Each conv feeds a MaxPool, so that Y is an arena buffer, not the model output."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import lamina
from lamina.compiler import compile_bundle
from lamina.runtime.qemu import run_bundle
from lamina.tests.test_e2e_models import assert_matches, onnxruntime_outputs
from lamina.tools.models import random_inputs


def conv_then_pool(
    c: int,
    size: int,
    filters: int,
    kernel: int,
    *,
    stride: int = 1,
    groups: int = 1,
    batch: int = 1,
    epilogue: str = "Relu",
) -> onnx.ModelProto:
    """x -> Conv (with bias) -> `epilogue` -> MaxPool 2x2/2 -> y. `epilogue` "Clip": a
    clamp by one-element constants; "Residual": an Add of a second input per pixel (a
    function argument); "ArenaResidual": the same of a MaxPool 2x2/2 of that input (a buffer
    memory planning places, as a ResNet block's shortcut)."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((filters, c // groups, kernel, kernel)) * np.sqrt(2 / (c * kernel**2))
    weights = [
        numpy_helper.from_array(w.astype(np.float32), "w"),
        numpy_helper.from_array((0.1 * rng.standard_normal(filters)).astype(np.float32), "b"),
        numpy_helper.from_array(np.array(-0.5, np.float32), "low"),
        numpy_helper.from_array(np.array(0.5, np.float32), "high"),
    ]
    pad = kernel // 2
    out = (size + 2 * pad - kernel) // stride + 1
    conv = helper.make_node(
        "Conv",
        ["x", "w", "b"],
        ["c"],
        kernel_shape=[kernel] * 2,
        strides=[stride] * 2,
        pads=[pad] * 4,
        group=groups,
    )
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, c, size, size])]
    before: list[onnx.NodeProto] = []
    if epilogue == "Clip":
        after = helper.make_node("Clip", ["c", "low", "high"], ["e"])
    elif epilogue == "Residual":
        after = helper.make_node("Add", ["c", "r"], ["e"])
        shape = [batch, filters, out, out]
        inputs.append(helper.make_tensor_value_info("r", TensorProto.FLOAT, shape))
    elif epilogue == "ArenaResidual":
        after = helper.make_node("Add", ["c", "rp"], ["e"])
        before.append(
            helper.make_node("MaxPool", ["r"], ["rp"], kernel_shape=[2, 2], strides=[2, 2])
        )
        shape = [batch, filters, 2 * out, 2 * out]
        inputs.append(helper.make_tensor_value_info("r", TensorProto.FLOAT, shape))
    else:
        after = helper.make_node(epilogue, ["c"], ["e"])
    pool = helper.make_node("MaxPool", ["e"], ["y"], kernel_shape=[2, 2], strides=[2, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, filters, out // 2, out // 2])
    graph = helper.make_graph([*before, conv, after, pool], "conv_then_pool", inputs, [y], weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


CASES = {
    # pixel rows: 13x13 = 10 vectors of 16 pixels + 9, 120 filters = 7 vectors of 16 + 8
    "pixel rows, odd sizes": lambda: conv_then_pool(48, 13, 120, 1),
    "pixel rows, 3x3, batch 2, clip": lambda: conv_then_pool(
        16, 27, 32, 3, batch=2, epilogue="Clip"
    ),
    # the row form: two B blocks of 38 rows of 76 pixels (SqueezeNet's conv1 shape)
    "row form, two blocks": lambda: conv_then_pool(3, 151, 16, 3, stride=2),
    "row form, grouped": lambda: conv_then_pool(32, 56, 64, 1, groups=2),
    "row form, residual": lambda: conv_then_pool(3, 151, 16, 3, stride=2, epilogue="Residual"),
    "pixel rows, residual": lambda: conv_then_pool(48, 13, 120, 1, epilogue="Residual"),
    "row form, arena residual": lambda: conv_then_pool(
        3, 151, 16, 3, stride=2, epilogue="ArenaResidual"
    ),
    # the Add writes over its pooled input: pixel rows read it through the view only
    # without overlapping squares (16x16 pixels, 64 filters), else row by row (13x13)
    "pixel rows, arena residual, batch 2": lambda: conv_then_pool(
        48, 16, 64, 1, batch=2, epilogue="ArenaResidual"
    ),
    "pixel rows, arena residual, overlapping": lambda: conv_then_pool(
        48, 13, 120, 1, epilogue="ArenaResidual"
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_conv_copy_out_matches_onnxruntime(name: str) -> None:
    model = CASES[name]()
    feeds = random_inputs(model)
    assert_matches(lamina.compile(model, threads=1)(**feeds), onnxruntime_outputs(model, feeds))


@pytest.mark.parametrize("device", ["x86-64-avx2", "opencl"])
def test_conv_copy_out_on_narrower_vectors(device: str) -> None:
    for make in (CASES["pixel rows, odd sizes"], CASES["row form, two blocks"]):
        model = make()
        feeds = random_inputs(model)
        got = lamina.compile(model, device=device)(**feeds)
        assert_matches(got, onnxruntime_outputs(model, feeds))


def test_conv_copy_out_on_cortex_a76_under_qemu(tmp_path: Path) -> None:
    model = CASES["pixel rows, odd sizes"]()
    feeds = random_inputs(model)
    compile_bundle(model, "cortex-a76", tmp_path / "bundle")
    run = run_bundle(tmp_path / "bundle", feeds)
    assert_matches(run.outputs, onnxruntime_outputs(model, feeds))


# On two threads the row form splits the micro-panels of a B block into a pixel task per
# thread (`_pixel_tasks`, lowering/top_to_loop_conv.py), each packing, multiplying and
# copying out its own columns of every block; a task's first column may fall inside an
# output row, in a row's padding or in the block's padding columns. Pixel rows split the
# filter panels into a task per thread, each packing all of the im2col block into its own
# rows of Bp and copying out its own vectors of filters (row by row, or in squares where F
# is a multiple of the lanes). At one thread there are no tasks.
TASK_CASES = {
    "task boundary inside a row, 3x3": lambda: conv_then_pool(16, 56, 64, 3),
    "task boundary in the padding columns": lambda: conv_then_pool(8, 12, 16, 3),
    "two blocks, stride 2": CASES["row form, two blocks"],
    "grouped": CASES["row form, grouped"],
    # 96 filters: 3 panels of 32, one task 1 and the other 2; K = 576: several K blocks
    "pixel rows, filter tasks of 1 and 2 panels, several K blocks": lambda: conv_then_pool(
        64, 14, 96, 3
    ),
    "pixel rows, squares, batch 2": CASES["pixel rows, arena residual, batch 2"],
    "pixel rows, row by row, 120 filters": CASES["pixel rows, arena residual, overlapping"],
}


@pytest.mark.parametrize("name", TASK_CASES)
def test_conv_tasks_match_onnxruntime_at_one_and_two_threads(name: str) -> None:
    model = TASK_CASES[name]()
    feeds = random_inputs(model)
    (single,) = lamina.compile(model, threads=1)(**feeds)
    assert_matches([single], onnxruntime_outputs(model, feeds))
    (threaded,) = lamina.compile(model, threads=2)(**feeds)
    np.testing.assert_array_equal(threaded, single)


@pytest.mark.parametrize(
    "name",
    [
        "task boundary inside a row, 3x3",
        "pixel rows, filter tasks of 1 and 2 panels, several K blocks",
    ],
)
def test_conv_task_runs_gemm_and_copy_out_in_one_pool_call(name: str) -> None:
    """The outlined body the pool runs holds the micro-kernel's FMAs and the copy-out's
    ReLU (`llvm.maximum`): one handoff per conv, the copy-out on the core that computed
    its columns (filters)."""
    compiled = lamina.compile(TASK_CASES[name](), threads=2)
    llvm_ir = str(compiled.function.jit.llvm_module)
    bodies = re.findall(r'define internal void @"?[\w.]+\.par\d+\.impl"?\(.*?\n}\n', llvm_ir, re.S)
    assert any("llvm.fma" in body and "llvm.maximum" in body for body in bodies)
