"""Regression tests for bad inputs that once ended in a traceback, an "internal error" or
a hang: each now gets `place: error: message` and a non-zero exit, nothing written."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import onnx
import pytest
from helpers_cli import DiagnosticOf, MlirFile, checked_diagnostic, saved, unary_model
from onnx import TensorProto

from lamina.codegen.fleet import load_fleet
from lamina.codegen.llvm_target import target_machine
from lamina.errors import DeviceError, LaminaError
from lamina.targets import load_device
from lamina.tools.conformance import main as conformance_main
from lamina.tools.opt import main as opt_main
from lamina.tools.run import main as run_main
from lamina.tools.run import random_inputs

GRAPH_IR = """func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = graph.relu %x : tensor<2xf32>
  func.return %y : tensor<2xf32>
}
"""


@pytest.fixture
def graph_ir(mlir_file: MlirFile) -> Path:
    """f.mlir holding GRAPH_IR."""
    return mlir_file(GRAPH_IR)


def rules_pipeline(tmp_path: Path, rules: str) -> str:
    """The pass pipeline applying the rule file `rules.rw` of text `rules`, now written."""
    path = tmp_path / "rules.rw"
    path.write_text(rules)
    return f'apply-rules{{file="{path}"}}'


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("apply-rules{", "column 13: Expected argument name here"),
        ("foo{a=", "column 7: Unknown argument value"),
        ("x{a=1}}", "column 7: Expected a comma"),
        (",,", "column 1: Expected pass name here"),
        ("convert-graph-to-tops", "did you mean 'convert-graph-to-top'?"),
    ],
)
def test_malformed_pipeline_is_a_diagnostic(
    spec: str, message: str, graph_ir: Path, diagnostic_of: DiagnosticOf
):
    err = diagnostic_of(opt_main, graph_ir, "-p", spec)
    assert f"error: bad pass pipeline '{spec}'" in err and message in err


def test_ir_file_that_is_not_utf8(tmp_path: Path, diagnostic_of: DiagnosticOf):
    source = tmp_path / "f.mlir"
    source.write_bytes(b"\xff\xfe garbage")
    assert f"{source}: error: not UTF-8 text (byte 0)" in diagnostic_of(opt_main, source)


def test_ir_input_or_output_that_is_a_directory(
    tmp_path: Path, graph_ir: Path, diagnostic_of: DiagnosticOf
):
    assert f"{tmp_path}: error: cannot read" in diagnostic_of(opt_main, tmp_path)
    err = diagnostic_of(opt_main, graph_ir, "-o", tmp_path)
    assert f"{tmp_path}: error: is a directory" in err


def test_ir_integer_out_of_range_names_its_line(mlir_file: MlirFile, diagnostic_of: DiagnosticOf):
    source = mlir_file(
        'func.func @f() {\n  %0 = "test.op"() {a = dense<[300]> : tensor<1xi8>} : () -> i32\n'
        "  func.return\n}\n"
    )
    err = diagnostic_of(opt_main, source)
    assert f"{source}:2:" in err and "out of range for type i8" in err


def test_rule_that_rewrites_its_own_result_is_reported_not_hung(
    tmp_path: Path, graph_ir: Path, diagnostic_of: DiagnosticOf
):
    rules = "rule again {\n  match %y = graph.relu(%x)\n  rewrite %y = graph.relu(%x)\n}\n"
    err = diagnostic_of(opt_main, graph_ir, "-p", rules_pipeline(tmp_path, rules))
    assert "no fixed point" in err and "rule 'again'" in err


def test_result_type_pattern_of_any_rank_matches(
    tmp_path: Path, graph_ir: Path, capsys: pytest.CaptureFixture[str]
):
    rules = (
        "rule r {\n  match %y : f32 = graph.relu(%x : tensor<2xf32>)\n"
        "  rewrite %y = graph.sigmoid(%x)\n}\n"
    )
    assert opt_main([str(graph_ir), "-p", rules_pipeline(tmp_path, rules)]) == 0
    assert "graph.sigmoid" in capsys.readouterr().out


def test_fleet_file_that_is_not_utf8(tmp_path: Path):
    fleet = tmp_path / "fleet.toml"
    fleet.write_bytes(b"[[target]]\nname = '\xff'\n")
    with pytest.raises(LaminaError, match=r"not UTF-8 text \(byte 19\)"):
        load_fleet(str(fleet))


@pytest.mark.parametrize(
    ("cpu", "features", "message"),
    [
        ("no-such-cpu", None, "'no-such-cpu' is not a recognized processor"),
        (None, ("+no-such-feature",), "'+no-such-feature' is not a recognized feature"),
    ],
)
def test_device_with_an_unknown_cpu_or_feature_is_refused(
    cpu: str | None, features: tuple[str, ...] | None, message: str
):
    host = load_device("host")
    device = replace(host, cpu=cpu or host.cpu, features=features or host.features)
    with pytest.raises(DeviceError, match=re.escape(message)):
        target_machine(device)


def test_feature_without_sign_is_refused_before_llvm_sees_it(tmp_path: Path):
    from lamina.targets import _device_from_data  # pyright: ignore[reportPrivateUsage]

    data = {"name": "odd", "triple": "x86_64-unknown-linux-gnu", "cpu": "skylake"}
    with pytest.raises(DeviceError, match=r"`features` must read '\+name' or '-name'"):
        _device_from_data({**data, "features": ["avx2"]}, "odd.toml")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--jobs", "0"], "argument --jobs: must be at least 1"),
        (["--filter", "("], "--filter '(' is not a regular expression"),
        (["--path", "compiled", "--device", "nope"], "unknown device 'nope'"),
    ],
)
def test_conformance_flags(
    args: list[str], message: str, diagnostic_of: DiagnosticOf, capsys: pytest.CaptureFixture[str]
):
    if args[0] == "--jobs":  # argparse's own usage error: exit 2
        with pytest.raises(SystemExit, match="2"):
            conformance_main([*args, "--no-progress"])
        err = checked_diagnostic(capsys.readouterr().err)
    else:
        err = diagnostic_of(conformance_main, *args, "--no-progress")
    assert message in err


def test_conformance_json_that_is_a_directory(tmp_path: Path, diagnostic_of: DiagnosticOf):
    err = diagnostic_of(conformance_main, "--json", tmp_path, "--filter", "test_abs$")
    assert f"--json {tmp_path}: is a directory" in err


def test_random_input_of_undefined_dtype():
    model = unary_model("Identity", [2])
    model.graph.input[0].type.tensor_type.elem_type = TensorProto.UNDEFINED
    with pytest.raises(LaminaError, match="input 'x' has no usable element type"):
        random_inputs(model, {})


def test_random_inputs_over_the_size_limit_are_refused_before_allocation():
    model = unary_model("Identity", [1 << 20, 1 << 21])
    with pytest.raises(
        LaminaError, match=r"inputs too large: 8\.38861e\+06 MB .*; the limit is 1024 MB"
    ):
        random_inputs(model, {})


def test_negative_bound_dim_is_refused(tmp_path: Path, diagnostic_of: DiagnosticOf):
    path = saved(unary_model("Identity", ["n"]), tmp_path / "m.onnx")
    assert "error:" in diagnostic_of(run_main, path, "--random-inputs", "--input-shape", "x=-3")


def test_onnxruntime_error_in_compare_is_a_diagnostic(tmp_path: Path, diagnostic_of: DiagnosticOf):
    # onnxruntime 1.32 has no uint16 kernel of Max; lamina compiles it, so only --compare fails
    path = saved(unary_model("Max", [2], TensorProto.UINT16), tmp_path / "max.onnx")
    err = diagnostic_of(run_main, path, "--random-inputs", "--compare", "ort")
    assert "error: onnxruntime cannot run the model" in err


def test_weights_over_the_limit_are_refused_before_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import lamina
    from lamina.tools.models import mlp

    path = tmp_path / "mlp.onnx"
    onnx.save(mlp(), path)
    monkeypatch.setenv("LAMINA_MAX_WEIGHTS_MB", "0.5")
    for source in (str(path), path.read_bytes(), mlp()):
        with pytest.raises(LaminaError, match=r"weights too large: .*; the limit is 0\.5 MB"):
            lamina.compile(source)


def test_arena_over_the_limit_is_refused_before_it_is_allocated(monkeypatch: pytest.MonkeyPatch):
    import lamina
    from lamina.tools.models import mlp

    monkeypatch.setenv("LAMINA_MAX_ARENA_MB", "0.001")
    with pytest.raises(LaminaError, match=r"arena too large: .*LAMINA_MAX_ARENA_MB"):
        lamina.compile(mlp())
    monkeypatch.setenv("LAMINA_MAX_ARENA_MB", "much")
    with pytest.raises(LaminaError, match=r"\$LAMINA_MAX_ARENA_MB must be a number"):
        lamina.compile(mlp())
