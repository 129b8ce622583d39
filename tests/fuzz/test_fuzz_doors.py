"""Every front door turns every fuzzed bad input into a diagnostic (or accepts it): no
traceback, no "internal error", no hang, no half-written output (tools/fuzzing.py).
A fixed seed (derandomize) keeps `make test` repeatable and cheap; `python -m
lamina.benchmarks.fuzz --per-door 10000` runs the long version, each input in a child."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from lamina.tools.fuzzing import DOORS, FAILURES, fuzz_settings

EXAMPLES = {
    "ir": 300,
    "rw": 200,
    "onnx-proto": 200,
    "onnx-bytes": 200,
    "tflite-bytes": 100,
    "cli": 200,
}
"""Inputs per door: about 25 s of CPU for the folder (most inputs stop at a diagnostic)."""


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_door_never_fails(name: str) -> None:
    door = DOORS[name]
    door.warm_up()

    @fuzz_settings(EXAMPLES[name], derandomize=True)
    @given(door.inputs)
    def one_input(example: Any) -> None:
        outcome = door.run(example)
        assert outcome.kind not in FAILURES, f"{name} {outcome.kind}: {outcome.detail}"

    one_input()
