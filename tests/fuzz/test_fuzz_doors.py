"""Every front door turns every fuzzed bad input into a diagnostic (or accepts it): no
traceback, no "internal error", no hang, no half-written output (tools/fuzzing.py).
A fixed seed (derandomize) keeps `make test` repeatable; `python -m lamina.benchmarks.fuzz
--per-door 10000` runs the long version, each input in a child process."""

from __future__ import annotations

import onnx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lamina.tools.fuzzing import (
    FAILURES,
    ONNX_TOOLS,
    PIPELINES,
    cli_args,
    cli_door,
    ir_door,
    ir_texts,
    onnx_bytes,
    onnx_door,
    onnx_models,
    rule_texts,
    rw_door,
)

def fixed(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )


def check(outcome) -> None:  # noqa: ANN001
    assert outcome.kind not in FAILURES, f"{outcome.kind}: {outcome.detail}"


@fixed(300)
@given(ir_texts(), st.sampled_from(PIPELINES))
def test_ir_text(text: str, pipeline: str) -> None:
    check(ir_door(text, pipeline))


@fixed(300)
@given(rule_texts())
def test_rewrite_rules(text: str) -> None:
    check(rw_door(text))


@fixed(200)
@given(onnx_models(), st.sampled_from(ONNX_TOOLS))
def test_onnx_protos(model: onnx.ModelProto, tool: str) -> None:
    check(onnx_door(model, tool))


@fixed(200)
@given(onnx_bytes(), st.sampled_from(ONNX_TOOLS))
def test_onnx_bytes(data: bytes, tool: str) -> None:
    check(onnx_door(data, tool))


@fixed(200)
@given(cli_args())
def test_command_lines(tool_args: tuple[str, list[str]]) -> None:
    check(cli_door(*tool_args))
