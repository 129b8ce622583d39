"""Fleet builds (codegen/fleet.py, `lamina-compile --fleet`): one bundle per device class
from one command, a manifest, per-target failures, the content-addressed cache."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from helpers_cli import DiagnosticOf, onnx_model
from onnx import helper

from lamina.codegen import fleet as fleet_module
from lamina.tools.compile import main

FLEET = """[[target]]
device = "host"

[[target]]
device = "cortex-a76"

[[target]]
name = "phone-dsp"
soc = "phone"
unit = "dsp"
"""


def mlp() -> onnx.ModelProto:
    """Gemm -> Relu -> Gemm, 64 -> 32 -> 10, seeded weights."""
    rng = np.random.default_rng(0)
    weights = {
        n: rng.standard_normal(s).astype(np.float32)
        for n, s in (("w0", (64, 32)), ("b0", (32,)), ("w1", (32, 10)), ("b1", (10,)))
    }
    nodes = [
        helper.make_node("Gemm", ["x", "w0", "b0"], ["g0"], name="fc0"),
        helper.make_node("Relu", ["g0"], ["r0"], name="relu0"),
        helper.make_node("Gemm", ["r0", "w1", "b1"], ["y"], name="fc1"),
    ]
    return onnx_model(nodes, {"x": [1, 64]}, {"y": [1, 10]}, weights, name="mlp")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    onnx.save(mlp(), tmp_path / "mlp.onnx")
    (tmp_path / "fleet.toml").write_text(FLEET)
    return tmp_path


def fleet_args(project: Path) -> list[str]:
    """lamina-compile's arguments building the project's model for its fleet into `out`."""
    model, fleet, out = (str(project / name) for name in ("mlp.onnx", "fleet.toml", "out"))
    return [model, "--fleet", fleet, "-o", out]


def build(project: Path) -> tuple[int, dict]:
    code = main(fleet_args(project))
    return code, json.loads((project / "out" / "manifest.json").read_text())


HEXAGON_RUNTIME = ("start.o", "library.o", "driver.o", "Makefile")
"""What a Hexagon bundle has instead of main.c (codegen/aot_hexagon.py)."""


def test_fleet_of_three_device_classes_builds_and_then_hits_the_cache(project: Path, capsys):
    code, manifest = build(project)
    out = project / "out"
    records = {t["name"]: t for t in manifest["targets"]}
    assert list(records) == ["host", "cortex-a76", "phone-dsp"]
    assert manifest["lamina_version"] and manifest["model_sha256"]
    for name in ("host", "cortex-a76", "phone-dsp"):
        record = records[name]
        assert (record["status"], record["cache"]) == ("ok", "miss")
        assert "convert-graph-to-top" in record["pipeline"]
        for entry in record["files"]:
            data = (out / entry["path"]).read_bytes()
            assert entry["bytes"] == len(data)
            assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert (out / ".cache" / record["key"] / "model.o").is_file()
    assert json.loads((out / "cortex-a76" / "bundle.json").read_text())["device"] == "cortex-a76"
    dsp = json.loads((out / "phone-dsp" / "bundle.json").read_text())
    assert dsp["device"] == "hexagon-v66-hvx128"
    assert all((out / "phone-dsp" / name).is_file() for name in HEXAGON_RUNTIME)
    assert code == 0
    assert "3/3" in capsys.readouterr().err

    code_again, again = build(project)
    hits = {t["name"]: (t["status"], t["cache"]) for t in again["targets"]}
    assert hits == {name: ("ok", "hit") for name in ("host", "cortex-a76", "phone-dsp")}
    assert code_again == 0
    assert [t["key"] for t in again["targets"]] == [t["key"] for t in manifest["targets"]]


def test_changed_model_misses_the_cache(project: Path):
    build(project)
    model = mlp()
    model.graph.node[1].op_type = "Sigmoid"
    onnx.save(model, project / "mlp.onnx")
    _, manifest = build(project)
    assert {t["cache"] for t in manifest["targets"]} == {"miss"}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            '[[target]]\ndevice = "host"\n\n[[target]]\ndevice = "pdp-11"\n',
            5,
            "unknown device 'pdp-11'",
        ),
        ('[[target]]\ndevice = "host"\nname = \n', 3, "Invalid value"),
        ('[[target]]\nsoc = "phone"\nunit = "npu"\n', 3, "SoC 'phone' has no unit 'npu'"),
        ('[[target]]\nsoc = "toaster"\nunit = "cpu"\n', 2, "unknown SoC 'toaster'"),
        ("title = 'no targets'\n", None, "at least one [[target]]"),
    ],
)
def test_bad_fleet_file_names_its_line(
    project: Path, diagnostic_of: DiagnosticOf, text: str, line, message: str
):
    (project / "fleet.toml").write_text(text)
    err = diagnostic_of(main, *fleet_args(project))
    where = f"{project / 'fleet.toml'}:{line}" if line else f"{project / 'fleet.toml'}"
    assert err.startswith(f"{where}: error: ") and message in err
    assert not (project / "out").exists()


def fleet_files(out: Path) -> dict[str, str]:
    """Every artifact of a fleet build (the cache left out) by path, as its sha256."""
    return {
        str(path.relative_to(out)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.rglob("*"))
        if path.is_file() and ".cache" not in path.parts and path.name != "manifest.json"
    }


def test_three_models_on_a_local_dask_cluster_match_the_process_pool_byte_for_byte(
    project: Path,
):
    models = [mlp(), mlp(), mlp()]
    models[1].graph.node[1].op_type = "Sigmoid"
    models[2].graph.node[1].op_type = "Abs"
    paths = [str(project / f"model{k}.onnx") for k in range(3)]
    for model, path in zip(models, paths, strict=True):
        onnx.save(model, path)
    fleet = [*paths, "--fleet", str(project / "fleet.toml"), "-q"]
    assert main([*fleet, "-o", str(project / "pool")]) == 0
    assert main([*fleet, "-o", str(project / "cluster"), "--cluster", "local", "--jobs", "2"]) == 0
    for k in range(3):
        pool, cluster = (
            fleet_files(project / where / f"model{k}") for where in ("pool", "cluster")
        )
        assert len(pool) >= 3 * 4 and pool == cluster
        manifest = json.loads((project / "cluster" / f"model{k}" / "manifest.json").read_text())
        assert [t["status"] for t in manifest["targets"]] == ["ok"] * 3
        assert manifest["model"] == paths[k]


def test_several_models_without_fleet_is_a_usage_error(project: Path):
    with pytest.raises(SystemExit) as exit_info:
        main([str(project / "mlp.onnx"), str(project / "mlp.onnx"), "-o", str(project / "o")])
    assert exit_info.value.code == 2


def test_an_unreachable_cluster_is_one_diagnostic(
    project: Path, diagnostic_of: DiagnosticOf, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(fleet_module, "CLUSTER_TIMEOUT_S", 2)
    err = diagnostic_of(main, *fleet_args(project), "-q", "--cluster", "tcp://127.0.0.1:9")
    assert "cannot reach the cluster" in err
