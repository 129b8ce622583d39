"""SoC bundles (codegen/aot_soc.py, `lamina-compile --soc`): SqueezeNet (seeded random
weights, logits exposed) partitioned over this machine's CPU and its OpenCL device (PoCL)
with its pools and concats forced onto OpenCL, built with `cc` and run natively, matches
onnxruntime; its scheduler runs each segment once, an OpenCL segment as its kernel
launches; a DSP unit is refused before anything is written."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from lamina.compiler import compile_soc_bundle
from lamina.runtime.qemu import run_bundle
from lamina.tools.compile import main as compile_main
from lamina.tools.models import light_model, random_inputs, with_logits


def test_squeezenet_over_cpu_and_opencl_matches_onnxruntime(tmp_path: Path):
    model = with_logits(light_model("squeezenet"))
    feeds = random_inputs(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = [np.asarray(x) for x in session.run(None, feeds)]
    out = tmp_path / "soc"
    bundle = compile_soc_bundle(
        model, "host", out, force=("MaxPool:gpu", "Concat:gpu"), name="squeezenet"
    )
    kinds = [s["kind"] for s in bundle.segments or []]
    assert "cpu" in kinds and "opencl" in kinds
    got = run_bundle(out, feeds).outputs
    for g, w in zip(got, want, strict=True):
        assert np.abs(g - w).max() <= 1e-3 * np.abs(w).max() + 1e-4

    scheduler = (out / "scheduler.c").read_text()
    entry = scheduler[scheduler.index("void squeezenet(") :]
    calls = re.findall(r"run_segment(\d+)\(weights, arena\);", entry)
    assert sorted(map(int, calls)) == list(range(len(kinds)))
    for segment in bundle.segments or []:
        if segment["kind"] == "opencl":
            k = segment["index"]
            body = scheduler[scheduler.index(f"static void run_segment{k}(") :]
            body = body[: body.index("\n}\n")]
            assert body.count("cl_launch(") == segment["launches"] >= 1


def test_a_dsp_unit_is_refused_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    model = tmp_path / "squeezenet.onnx"
    onnx.save(light_model("squeezenet"), model)
    args = [str(model), "--soc", "phone", "--force", "MaxPool:dsp", "-o", str(tmp_path / "o")]
    assert compile_main([*args, "-q"]) == 1
    err = capsys.readouterr().err
    assert "in an SoC bundle (CPU and OpenCL units only)" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
