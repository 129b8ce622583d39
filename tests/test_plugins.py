"""Backend plugins (plugins.py) through the example package examples/lamina-ort-backend,
which `make install` installs into the venv with pip: its device appears among lamina's,
and SqueezeNet (seeded random weights, logits exposed) partitioned over its SoC runs its
convolutions, pools and concats through the plugin's onnxruntime runtime and the rest on
lamina's CPU code, matching onnxruntime; a device naming a runtime no plugin has is a
diagnostic."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from lamina.compiler import compile_hetero
from lamina.errors import UnsupportedError
from lamina.plugins import backends
from lamina.tools.compile import devices_text
from lamina.tools.models import light_model, random_inputs, with_logits


def test_the_example_plugin_is_installed_and_registers_its_device():
    assert metadata.distribution("lamina-ort-backend").version == "0.1.0"
    assert [b.name for b in backends()] == ["ort"]
    (line,) = [line for line in devices_text().splitlines() if line.startswith("ort-cpu ")]
    assert "  runtime  " in line and "lamina_ort_backend" in line


def test_a_partition_over_the_plugin_unit_matches_onnxruntime():
    model = with_logits(light_model("squeezenet"))
    feeds = random_inputs(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    want = [np.asarray(x) for x in session.run(None, feeds)]
    force = ("graph.fused_conv:ort", "MaxPool:ort", "Concat:ort")
    hetero = compile_hetero(model, soc="host-ort", force=force)
    units = {(s.unit, s.device) for s in hetero.segments}
    assert units == {("ort", "ort-cpu"), ("cpu", "host")}
    got = hetero(*feeds.values())
    for g, w in zip(got, want, strict=True):
        assert np.abs(g - w).max() <= 1e-3 * np.abs(w).max() + 1e-4


def test_a_device_naming_an_unknown_runtime_is_not_supported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "npu-x.toml").write_text(
        'name = "npu-x"\nkind = "runtime"\nruntime = "vendor-npu"\n'
        'triple = "x86_64-unknown-linux-gnu"\ncpu = "generic"\n'
    )
    soc = Path(__file__).parents[1] / "examples/lamina-ort-backend/lamina_ort_backend/devices"
    text = (soc / "soc-host-ort.toml").read_text().replace('"ort-cpu"', '"npu-x"')
    (tmp_path / "soc-host-npu.toml").write_text(text.replace('"host-ort"', '"host-npu"'))
    monkeypatch.setenv("LAMINA_DEVICE_PATH", str(tmp_path))
    with pytest.raises(UnsupportedError, match=r"runtime 'vendor-npu'.*installed: ort"):
        compile_hetero(light_model("squeezenet"), soc="host-npu", force=("MaxPool:ort",))
