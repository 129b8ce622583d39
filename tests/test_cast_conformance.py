"""The ONNX Cast / CastLike conformance cases on the compiled path, until lamina imports
opset 28: each case's model with its opset lowered to 23 (the cases of types that opset
has), or, for int2 / uint2 / E8M0 (opsets 24 / 25), the equivalent graph-level
`graph.cast`; both against the case's own expected outputs, dtypes compared exactly."""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import onnx
import pytest
from test_cast_formats import graph_cast

import lamina
from lamina.parser.onnx_types import ELEMENT_TYPES
from lamina.runtime.reference.kernel_conformance import all_node_cases
from lamina.tools.conformance import _from_proto, compare_outputs, run_case

LAMINA_OPSET = 23
NEWER_TYPES = re.compile(r"INT2|UINT2|E8M0")


def cast_cases() -> list[Any]:
    return [c for c in all_node_cases() if re.match(r"test_cast(like)?_", c.name)]


def test_cast_cases_of_opset_23_types_pass_with_the_opset_lowered():
    failures, ran = [], 0
    for case in cast_cases():
        if NEWER_TYPES.search(case.name):
            continue
        for opset in case.model.opset_import:
            if opset.domain in ("", "ai.onnx"):
                opset.version = min(opset.version, LAMINA_OPSET)
        result = run_case(case, "compiled", "host")
        ran += 1
        if result.status != "pass":
            failures.append(f"{case.name}: {result.status} {result.reason}")
    assert ran >= 130 and not failures, failures


@pytest.mark.parametrize(
    "case", [c for c in cast_cases() if NEWER_TYPES.search(c.name)], ids=lambda c: c.name
)
def test_int2_uint2_e8m0_cases_pass_as_graph_casts(case: Any):
    graph = case.model.graph
    src = graph.input[0].type.tensor_type.elem_type
    dst = graph.output[0].type.tensor_type.elem_type
    node = next(n for n in graph.node if n.op_type in ("Cast", "CastLike"))
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert attrs.get("round_mode", b"up") == b"up"
    for inputs, outputs in case.data_sets:
        x, want = _from_proto(inputs[0]), _from_proto(outputs[0])
        module = graph_cast(
            str(ELEMENT_TYPES[src]), str(ELEMENT_TYPES[dst]), dst, x.size, attrs.get("saturate", 1)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (got,) = lamina.compile(module, device="host")(x.reshape(-1))
        reason = compare_outputs(["y"], [want.reshape(-1)], [got], case.rtol, case.atol)
        assert reason is None, reason
        assert np.asarray(got).dtype == want.dtype
