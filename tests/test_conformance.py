"""The conformance harness: its smoke subset on the reference path, and its reporting."""

from __future__ import annotations

import os

import numpy as np
import pytest

from lamina.runtime.reference.kernel_conformance import all_node_cases
from lamina.tools.conformance import (
    COMPILED_RUNNERS,
    SMOKE_LIST,
    SMOKE_LISTS,
    CaseResult,
    compare_outputs,
    run_case,
    run_cases,
    select_cases,
    shape_operand_inputs,
    summary_table,
)


def test_smoke_subset_passes_on_the_reference_path():
    # A fixed list of a few hundred ONNX node cases that pass (regenerate it from a full
    # `lamina-conformance --json` run when the reference path grows).
    indices = select_cases(all_node_cases(), None, smoke=True)
    assert len(indices) == len(SMOKE_LIST.read_text().split()) >= 300
    results = list(run_cases(indices, "reference", "host", jobs=2, progress=False))
    failures = [f"{r.name}: {r.status}: {r.reason}" for r in results if r.status != "pass"]
    assert failures == []


def test_filter_selects_by_op_type():
    cases = all_node_cases()
    chosen = [cases[i].name for i in select_cases(cases, "^Conv$", smoke=False)]
    assert "test_conv_with_strides_padding" in chosen
    assert all("conv" in name for name in chosen)


def test_compare_outputs_names_the_output_and_error():
    want = [np.array([1.0, 2.0], np.float32)]
    assert compare_outputs(["y"], want, [np.array([1.0, 2.0], np.float32)], 1e-3, 1e-5) is None
    reason = compare_outputs(["y"], want, [np.array([1.0, 2.5], np.float32)], 1e-3, 1e-5)
    assert reason == "output 'y': max abs error 0.5 (rtol 0.001, atol 1e-05)"
    assert compare_outputs(["y"], want, [np.zeros(3, np.float32)], 1e-3, 1e-5) == (
        "output 'y': shape (3,), expected (2,)"
    )


def test_summary_table_counts_each_status_per_op():
    results = [
        CaseResult("a", "Relu", "pass"),
        CaseResult("b", "Relu", "fail", "output 'y' differs"),
        CaseResult("c", "Cast", "unsupported", "not supported: float8"),
        CaseResult("d", "Shape", "folded"),
    ]
    table = summary_table(results).splitlines()
    assert table[0].split()[:6] == ["op", "pass", "fold", "fail", "unsup", "error"]
    assert table[1].split()[:6] == ["Cast", "0", "0", "0", "1", "0"]
    assert table[2].split()[:6] == ["Relu", "1", "0", "1", "0", "0"]
    assert table[3].split()[:6] == ["Shape", "0", "1", "0", "0", "0"]
    assert table[-1].split()[:6] == ["TOTAL", "1", "1", "1", "1", "0"]


def test_case_computed_at_compile_time_is_folded_not_passed():
    # every input of Shape is only read for its (static) shape: nothing is left to compute
    case = next(c for c in all_node_cases() if c.name == "test_shape")
    assert run_case(case, "compiled", "host").status == "folded"


def test_output_dtype_must_match_exactly():
    want = [np.array([1, 2], np.int64)]
    assert compare_outputs(["y"], want, [np.array([1, 2], np.int32)], 0, 0) == (
        "output 'y': dtype int32, expected int64"
    )


def test_smoke_subset_passes_on_the_compiled_path():
    # ~150 fast cases through import -> graph -> top -> loop -> LLVM (O1) -> JIT, one or more
    # per lowering family (regenerate from a full `--path compiled --json` run)
    indices = select_cases(all_node_cases(), None, smoke=True, path="compiled")
    assert len(indices) == len(SMOKE_LISTS["compiled"].read_text().split()) >= 100
    results = list(run_cases(indices, "compiled", "host", jobs=2, progress=False))
    failures = [f"{r.name}: {r.status}: {r.reason}" for r in results if r.status != "pass"]
    assert failures == []


def test_compiled_path_on_a_device_kind_without_a_runner_is_unsupported(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.delitem(COMPILED_RUNNERS, "dsp")
    case = next(c for c in all_node_cases() if c.name == "test_relu")
    result = run_case(case, "compiled", "hexagon-v66-hvx128")
    assert result.status == "unsupported"
    assert "conformance path 'compiled' on device 'hexagon-v66-hvx128'" in result.reason


def test_compiled_path_runs_a_case_as_a_hexagon_bundle_under_qemu():
    case = next(c for c in all_node_cases() if c.name == "test_relu")
    result = run_case(case, "compiled", "hexagon-v66-hvx128")
    assert (result.status, result.reason) == ("pass", "")


def test_shape_operand_inputs_are_frozen_for_the_compiled_path():
    case = next(c for c in all_node_cases() if c.name == "test_expand_dim_changed")
    assert shape_operand_inputs(case.model) == ["new_shape"]
    assert run_case(case, "compiled", "host").status == "pass"


def test_inputs_reaching_a_shape_operand_through_other_nodes_are_frozen_but_not_through_shape():
    case = next(c for c in all_node_cases() if c.name == "test_center_crop_pad_crop_expanded")
    assert shape_operand_inputs(case.model) == ["shape"]  # x reaches Pad only through Shape
    case = next(c for c in all_node_cases() if c.name == "test_hannwindow_expanded")
    assert shape_operand_inputs(case.model) == ["x"]  # Range(0, Cast(x), 1)


def test_sequence_inputs_are_unsupported_on_the_compiled_path():
    case = next(c for c in all_node_cases() if c.name == "test_sequence_insert_at_back")
    result = run_case(case, "compiled", "host")
    assert (result.status, result.reason) == (
        "unsupported",
        "not supported: sequence and optional inputs on the compiled path",
    )


def _crash_on_third(args: tuple[int, str, str]) -> CaseResult:
    index, _, _ = args
    if index == 2:
        os._exit(1)  # what a segfault in generated code does to the worker process
    return CaseResult(f"case{index}", "Op", "pass")


def test_a_case_that_kills_its_process_is_that_cases_error_and_the_run_goes_on():
    results = list(run_cases(list(range(6)), "reference", "host", 2, False, _crash_on_third))
    assert [r.status for r in results] == ["pass", "pass", "error", "pass", "pass", "pass"]
    assert results[2].reason == "the process crashed"
