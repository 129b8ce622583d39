"""The ONNX node conformance cases (shipped in the onnx wheel) run on the kernel layer alone.

Each case is a model of one node (or a few, for the `_expanded` function bodies) with input
and expected output data. Models of an older opset are converted to `OPSET` first, so the
kernels see the semantics they implement; a model the version converter cannot convert runs
at its own opset (through onnx.reference only). Nodes run in order, each through
`run_onnx_op`; no IR is involved.

    python -m lamina.runtime.reference.kernel_conformance [substring ...]
"""

from __future__ import annotations

import contextlib
import functools
import os
import pickle
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper, version_converter
from onnx.backend.test.case.node import collect_testcases
from onnx.backend.test.case.test_case import TestCase
from onnx.backend.test.runner import Runner

from lamina.kernels import OPSET, run_onnx_op


@dataclass
class CaseResult:
    name: str
    status: str  # "pass", "mismatch", "error"
    detail: str = ""


def node_attributes(node: onnx.NodeProto) -> dict[str, object]:
    """A node's attributes as the Python values `run_onnx_op` takes."""
    attrs: dict[str, object] = {}
    for attr in node.attribute:
        value = helper.get_attribute_value(attr)
        if isinstance(value, bytes):
            value = value.decode()
        elif isinstance(value, onnx.TensorProto):
            value = numpy_helper.to_array(value)
        elif isinstance(value, list) and value and isinstance(value[0], bytes):
            value = [v.decode() for v in value]
        attrs[attr.name] = value
    return attrs


def _model_opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), OPSET)


def _at_opset(model: onnx.ModelProto) -> tuple[onnx.ModelProto, int]:
    opset = _model_opset(model)
    if opset >= OPSET:
        return model, opset
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return version_converter.convert_version(model, OPSET), OPSET
    except Exception:
        return model, opset


def outer_names(graph: onnx.GraphProto) -> set[str]:
    """The names a (sub)graph uses without defining them: values of the enclosing graph."""
    defined = {i.name for i in graph.input} | {i.name for i in graph.initializer}
    used: set[str] = set()
    for node in graph.node:
        used.update(node.input)
        for attr in node.attribute:
            for sub in [attr.g, *attr.graphs] if attr.type in _GRAPH_TYPES else []:
                used |= outer_names(sub)
        defined.update(node.output)
    return used - defined - {""}


_GRAPH_TYPES = (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)


def _value(value: Any) -> Any:
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    if isinstance(value, list):
        return [_value(v) for v in value]
    return value


def run_graph(graph: onnx.GraphProto, inputs: Sequence[Any], opset: int) -> list[Any]:
    """Runs the nodes of `graph` in order through the kernel layer."""
    env: dict[str, Any] = {"": None}
    env.update(zip((i.name for i in graph.input), map(_value, inputs), strict=False))
    for init in graph.initializer:
        env[init.name] = numpy_helper.to_array(init)
    for node in graph.node:
        if node.domain not in ("", "ai.onnx"):
            raise NotImplementedError(f"domain {node.domain!r}")
        args = [env[name] for name in node.input]
        outer = set()
        for attr in node.attribute:
            for sub in [attr.g, *attr.graphs] if attr.type in _GRAPH_TYPES else []:
                outer |= outer_names(sub)
        scope = {name: env[name] for name in outer if name in env}
        outputs = run_onnx_op(
            node.op_type, args, node_attributes(node), len(node.output), opset=opset, scope=scope
        )
        env.update(zip(node.output, outputs, strict=True))
    return [env[o.name] for o in graph.output]


def run_case(case: TestCase) -> CaseResult:
    assert case.model is not None
    try:
        model, opset = _at_opset(case.model)
    except Exception as e:  # pragma: no cover - converter crashes are reported as errors
        return CaseResult(case.name, "error", f"convert: {e}")
    for inputs, expected in case.data_sets or []:
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                outputs = run_graph(model.graph, inputs, opset)
        except Exception as e:
            return CaseResult(case.name, "error", f"{type(e).__name__}: {e}"[:300])
        try:
            Runner.assert_similar_outputs(_value(expected), outputs, case.rtol, case.atol)
        except Exception as e:
            return CaseResult(case.name, "mismatch", str(e).strip()[:300])
    return CaseResult(case.name, "pass")


@functools.cache
def all_node_cases() -> list[TestCase]:
    """onnx's node cases, sorted by name. Generating them runs every case's numpy reference
    code (about 7 s), so the list is kept, pickled, in `~/.cache/lamina` (or
    `$XDG_CACHE_HOME/lamina`) under the versions of onnx and numpy that made it; an unreadable
    cache file is generated again, an unwritable cache directory only costs the 7 s."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "lamina"
    path = cache / f"onnx-node-cases-{onnx.__version__}-numpy-{np.__version__}.pickle"
    with contextlib.suppress(OSError, pickle.UnpicklingError, EOFError, AttributeError):
        return pickle.loads(path.read_bytes())
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = sorted(collect_testcases(None), key=lambda case: case.name)
    with contextlib.suppress(OSError):
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache, delete=False) as part:
            part.write(pickle.dumps(cases))
        os.replace(part.name, path)
    return cases


def node_cases(substrings: Sequence[str] = ()) -> list[TestCase]:
    """The node cases whose name contains one of `substrings` (all when none are given)."""
    cases = all_node_cases()
    return [c for c in cases if not substrings or any(s in c.name for s in substrings)]


def main(argv: Sequence[str] = ()) -> int:
    start = time.perf_counter()
    results = [run_case(case) for case in node_cases(argv)]
    counts = Counter(r.status for r in results)
    for r in results:
        if r.status != "pass":
            print(f"{r.status:8} {r.name}: {r.detail.splitlines()[0] if r.detail else ''}")
    print(
        f"{counts['pass']} of {len(results)} node cases pass through the kernel layer "
        f"({counts['mismatch']} mismatch, {counts['error']} error) "
        f"in {time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
