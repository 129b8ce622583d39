"""Heterogeneous execution (runtime/hetero.py): one model, segments on the CPU (JIT), on
OpenCL (PoCL) and on the Hexagon DSP (qemu-hexagon), against onnxruntime."""

from __future__ import annotations

import shutil

import numpy as np
import onnxruntime as ort
import pytest

from lamina.codegen import hexagon_program
from lamina.compiler import compile_hetero
from lamina.errors import UnsupportedError
from lamina.runtime.opencl import opencl_available
from lamina.tools.models import light_model, random_inputs, with_logits

# fp32 sums in another order than onnxruntime's over 26 conv layers.
RTOL, ATOL = 1e-3, 1e-4
needs_opencl = pytest.mark.skipif(not opencl_available(), reason="needs an OpenCL platform")
needs_qemu_hexagon = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in hexagon_program.TOOLS),
    reason="needs qemu-hexagon, llvm-mc and ld.lld",
)


def check(model, outputs: list[np.ndarray]) -> None:
    inputs = random_inputs(model)
    expected = ort.InferenceSession(model.SerializeToString()).run(None, inputs)
    assert len(outputs) == len(expected)
    for got, want in zip(outputs, expected, strict=True):
        np.testing.assert_allclose(got, np.asarray(want), rtol=RTOL, atol=ATOL)


@needs_opencl
def test_squeezenet_split_over_cpu_and_opencl_matches_onnxruntime():
    model = with_logits(light_model("squeezenet"))
    names = [node.name for node in model.graph.node]
    half = len(names) // 2
    force = [f"{n}:gpu" for n in names[:half]] + [f"{n}:cpu" for n in names[half:]]
    hetero = compile_hetero(model, "host", force, opt_level=1)
    assert [(s.unit, s.device) for s in hetero.segments] == [("gpu", "opencl"), ("cpu", "host")]
    outputs = hetero(*random_inputs(model).values())
    assert hetero.transfers.count >= 2 and hetero.transfers.bytes > 0
    check(model, outputs)


@needs_opencl
@needs_qemu_hexagon
def test_phone_with_a_dsp_segment_under_qemu_hexagon_matches_onnxruntime():
    """The phone's placement (GPU convs on PoCL, its CPU unit on this CPU) with the last
    conv forced onto the DSP, which runs as a Hexagon program under qemu-hexagon."""
    model = with_logits(light_model("squeezenet"))
    # graph-default fuses each Conv with its Relu into one graph.fused_conv named after the conv
    last_conv = [n for n in model.graph.node if n.op_type == "Conv"][-1]
    hetero = compile_hetero(
        model, "phone", [f"{last_conv.name}:dsp"], run_on={"cpu": "host"}, opt_level=1
    )
    devices = {(s.unit, s.device) for s in hetero.segments}
    assert ("dsp", "hexagon-v66-hvx128") in devices and ("gpu", "opencl") in devices
    assert [s.unit for s in hetero.segments].count("dsp") == 1
    check(model, hetero(*random_inputs(model).values()))


def test_phone_cpu_unit_cannot_run_in_this_process():
    model = light_model("squeezenet")
    with pytest.raises(UnsupportedError, match=r"running device 'cortex-a76'"):
        compile_hetero(model, "phone", opt_level=1)
