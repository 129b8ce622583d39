"""lamina-opt's driver: input splitting, diagnostics and their verification, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from lamina.tools.diagnostics import Diagnostic, check_diagnostics, expected_diagnostics
from lamina.tools.opt import main, split_input

VALID = """func.func @f(%a: i32) -> i32 {
  %b = arith.addi %a, %a : i32
  func.return %b : i32
}
"""

WRONG_RETURN = """func.func @g(%a: i32) -> i64 {
  func.return %a : i32
}
"""


def test_split_input_keeps_line_numbers_of_each_chunk():
    chunks = split_input("a\nb\n// -----\nc\n// -----\nd\ne\n", split=True)
    assert [(c.text, c.first_line) for c in chunks] == [("a\nb\n", 1), ("c\n", 4), ("d\ne\n", 6)]


def test_split_marker_inside_a_longer_comment_does_not_split():
    assert len(split_input("// ----- not a marker\nx\n", split=True)) == 1


def test_annotations_resolve_relative_lines():
    text = "x\n// expected-error@+2 {{two below}}\ny\nz // expected-error {{here}}\n"
    text += "// expected-warning@above {{up}}\n// expected-error@-3 {{back}}\n"
    found = [(e.severity, e.message, e.line) for e in expected_diagnostics(text, first_line=10)]
    assert found == [
        ("error", "two below", 13),
        ("error", "here", 13),
        ("warning", "up", 13),
        ("error", "back", 12),
    ]


def test_check_diagnostics_reports_missing_and_unexpected():
    expected = expected_diagnostics("a // expected-error {{boom}}\nb\n")
    produced = [Diagnostic("error", "other", "f.mlir", 2, 1)]
    problems = check_diagnostics("f.mlir", expected, produced)
    assert problems == [
        'f.mlir:1: error: expected error "boom" at line 1 was not produced',
        "f.mlir:2:1: error: unexpected error: other",
    ]


def test_check_diagnostics_matches_substring_on_the_right_line():
    expected = expected_diagnostics("a // expected-error {{bo}}\n")
    assert check_diagnostics("f", expected, [Diagnostic("error", "boom", "f", 1, 3)]) == []


def _run(tmp_path: Path, text: str, *args: str) -> int:
    source = tmp_path / "input.mlir"
    source.write_text(text)
    return main([str(source), *args])


def test_valid_input_prints_and_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert _run(tmp_path, VALID) == 0
    assert "arith.addi" in capsys.readouterr().out


def test_verifier_error_names_file_line_and_op(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert _run(tmp_path, WRONG_RETURN) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"{tmp_path / 'input.mlir'}:2:3: error: 'func.return' op")
    assert "Traceback" not in captured.err


REPEATED_TYPES = """func.func @f(%x: tensor<2x3xf32>, %c: tensor<2xcomplex<f32>>) -> tensor<2x3xf32> {
  %a = graph.relu %x : tensor<2x3xf32>
  %b = graph.add %a, %x : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %d = graph.identity %c : tensor<2xcomplex<f32>>
  %e = graph.identity %d : tensor<2xcomplex<f32>>
  func.return %b : tensor<2x3xf32>
}
"""


def test_a_type_spelled_again_parses_to_that_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """LocatingParser parses a tensor type's text once and reuses it (whole or nested)."""
    assert _run(tmp_path, REPEATED_TYPES) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[2:4] == [
        "    %a = graph.relu %x : tensor<2x3xf32>",
        "    %b = graph.add %a, %x : tensor<2x3xf32>",
    ]
    assert printed[5] == "    %e = graph.identity %d : tensor<2xcomplex<f32>>"


ADD_RESULT = "-> tensor<2x3xf32>\n"


@pytest.mark.parametrize(
    ("spelled", "respelled", "diagnostic"),
    [
        (
            ADD_RESULT,
            "-> tensor<2x3xf32\n",
            "4:3: error: Expected '>' after builtin parameter list",
        ),
        (ADD_RESULT, "-> tensor<2x3xi99999999>\n", "3:76: error: integer bitwidth is limited"),
        (ADD_RESULT, "-> tensor<2x4xf32>\n", "6:15: error: operand is used with type tensor<2x3"),
        ("%d : tensor<2xcomplex<f32>>", "%d : tensor<2xcomplex<f64>>", "5:23: error: operand is"),
    ],
)
def test_a_type_spelled_differently_is_parsed_and_diagnosed_on_its_own(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    spelled: str,
    respelled: str,
    diagnostic: str,
):
    assert _run(tmp_path, REPEATED_TYPES.replace(spelled, respelled)) == 1
    assert capsys.readouterr().err.startswith(f"{tmp_path / 'input.mlir'}:{diagnostic}")


def test_output_file_is_not_written_when_any_split_fails(tmp_path: Path):
    out = tmp_path / "out.mlir"
    text = VALID + "// -----\n" + WRONG_RETURN
    assert _run(tmp_path, text, "--split-input-file", "-o", str(out)) == 1
    assert not out.exists()


def test_verify_diagnostics_fails_on_an_annotation_that_never_fires(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    text = VALID.replace("%b = arith", "// expected-error@+1 {{nope}}\n  %b = arith")
    assert _run(tmp_path, text, "--verify-diagnostics") == 1
    assert 'expected error "nope"' in capsys.readouterr().err


def test_verify_diagnostics_passes_when_annotations_match(tmp_path: Path):
    text = WRONG_RETURN.replace(
        "  func.return", "  // expected-error@+1 {{got [i32]}}\n  func.return"
    )
    assert _run(tmp_path, text, "--verify-diagnostics") == 0


def test_unknown_pass_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert _run(tmp_path, VALID, "-p", "no-such-pass") == 1
    assert "bad pass pipeline 'no-such-pass'" in capsys.readouterr().err


def test_missing_file_is_reported(capsys: pytest.CaptureFixture[str]):
    assert main(["/no/such/file.mlir"]) == 1
    assert "/no/such/file.mlir: error: no such file" in capsys.readouterr().err


def _dynamic_relu_model(path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="act")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_onnx_input_is_imported_with_bound_shapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    model = _dynamic_relu_model(tmp_path / "relu.onnx")
    assert main([str(model), "--input-shape", "x=3x4"]) == 0
    assert "graph.relu %x : tensor<3x4xf32>" in capsys.readouterr().out
    assert main([str(model)]) == 0
    assert "graph.relu %x : tensor<?x4xf32>" in capsys.readouterr().out


def test_broken_onnx_file_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08\x07garbage")
    assert main([str(broken)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{broken}: error: ") and err.count("\n") == 1
