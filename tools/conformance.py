"""lamina-conformance: run the ONNX node conformance cases through a lamina path.

The cases ship in the onnx wheel (`onnx.backend.test.case.node.collect_testcases`); each
has a model, input/output data sets and its own rtol/atol. A case ends as
- pass: every output matches (shape, exact dtype and values within the case's tolerances);
- folded: it matches, but the compiled path computed every output at compile time (no
  generated code reads an input), so it says nothing about code generation;
- fail: an output differs (the reason names the output and the largest error);
- unsupported: lamina said "not supported: ..." (an operator, dtype or attribute);
- error: anything else (the first line of the message).

    lamina-conformance --path reference --filter 'conv|pool' --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

from lamina.errors import LaminaError, UnsupportedError
from lamina.progress import Progress
from lamina.runtime.reference.kernel_conformance import all_node_cases
from lamina.tools.versions import add_version_flag

STATUSES = ("pass", "folded", "fail", "unsupported", "error")
SMOKE_LIST = Path(__file__).with_name("conformance_smoke.txt")
SMOKE_LISTS = {
    "reference": SMOKE_LIST,
    "compiled": Path(__file__).with_name("conformance_smoke_compiled.txt"),
}
"""The fixed subset `--smoke` (and `make test`) runs, per path."""
CASE_TIMEOUT_S = 60


@dataclass(frozen=True)
class CaseResult:
    name: str
    op: str
    status: str
    reason: str = ""
    seconds: float = 0.0


class _CaseTimeout(Exception):
    pass


def case_op(case: Any) -> str:
    """The operator a case is about: the node whose op type its name mentions, else the first."""
    nodes = case.model.graph.node
    name = case.name.removeprefix("test_").replace("_", "").lower()
    for node in nodes:
        if name.startswith(node.op_type.lower()):
            return node.op_type
    return nodes[0].op_type if nodes else "?"


def compare_outputs(
    names: Sequence[str], expected: Sequence[Any], actual: Sequence[Any], rtol: float, atol: float
) -> str | None:
    """Why `actual` does not match `expected`, or None when it does."""
    if len(actual) != len(expected):
        return f"{len(actual)} outputs, expected {len(expected)}"
    for name, want, got in zip(names, expected, actual, strict=True):
        want_a, got_a = np.asarray(want), np.asarray(got)
        if want_a.shape != got_a.shape:
            return f"output '{name}': shape {got_a.shape}, expected {want_a.shape}"
        if want_a.dtype != got_a.dtype and not (
            want_a.dtype.kind in "SUO" and got_a.dtype.kind in "SUO"
        ):
            return f"output '{name}': dtype {got_a.dtype}, expected {want_a.dtype}"
        if want_a.dtype.kind in "SUO":
            if not np.array_equal(want_a.astype(str), got_a.astype(str)):
                return f"output '{name}': strings differ"
            continue
        try:
            np.testing.assert_allclose(got_a, want_a, rtol=rtol, atol=atol, equal_nan=True)
        except AssertionError:
            diff = np.abs(got_a.astype(np.float64) - want_a.astype(np.float64))
            worst = float(np.nanmax(diff)) if diff.size else 0.0
            return f"output '{name}': max abs error {worst:.3g} (rtol {rtol}, atol {atol})"
    return None


def run_case(case: Any, path: str, device: str) -> CaseResult:
    """Run one case through `path` and classify the outcome."""
    op = case_op(case)
    start = time.perf_counter()

    def result(status: str, reason: str = "") -> CaseResult:
        return CaseResult(case.name, op, status, reason, time.perf_counter() - start)

    def on_timeout(_signum: int, _frame: FrameType | None) -> None:
        raise _CaseTimeout

    previous = signal.signal(signal.SIGALRM, on_timeout)
    signal.alarm(CASE_TIMEOUT_S)
    try:
        run = _runner(path, device, case.model)
        graph = case.model.graph
        initializers = {init.name for init in graph.initializer}
        input_names = [i.name for i in graph.input if i.name not in initializers]
        output_names = [o.name for o in graph.output]
        computed = False
        for inputs, outputs in case.data_sets:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                actual, reads_inputs = run(dict(zip(input_names, inputs, strict=False)))
            computed = computed or reads_inputs
            expected = [_from_proto(value) for value in outputs]
            reason = compare_outputs(output_names, expected, actual, case.rtol, case.atol)
            if reason is not None:
                return result("fail", reason)
        return result("pass" if computed else "folded")
    except UnsupportedError as e:
        return result("unsupported", _first_line(e.message))
    except _CaseTimeout:
        return result("error", f"timed out after {CASE_TIMEOUT_S} s")
    except LaminaError as e:
        return result("error", _first_line(e.message))
    except Exception as e:  # a bug in lamina: counted and reported, the run goes on
        return result("error", f"{type(e).__name__}: {_first_line(str(e))}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


Runner = Callable[[dict[str, np.ndarray]], tuple[Sequence[np.ndarray], bool]]
"""Named numpy inputs -> (outputs, whether generated code read an input to compute them)."""
COMPILED_OPT_LEVEL = 1
"""LLVM's opt level for conformance: cases are tiny, compiling them dominates the run."""


def _reference_runner(model: Any, device: str) -> Runner:
    from lamina.parser.onnx import import_onnx
    from lamina.runtime.reference import run_reference

    module = import_onnx(model)
    return lambda inputs: (run_reference(module, inputs), True)


SHAPE_ONLY = frozenset({"Shape", "Size"})
"""Ops whose value depends on their input's shape only: the walk to frozen inputs stops."""


def shape_operand_inputs(model: Any) -> list[str]:
    """Graph inputs that feed a shape operand, directly or through the nodes computing it
    (not through Shape / Size): the compiled runner freezes them to the case's values (a
    static-shape compiler takes them as compile-time constants)."""
    from lamina.lowering.graph_to_top import SHAPE_OPERANDS

    graph = model.graph
    inputs = {i.name for i in graph.input} - {t.name for t in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    pending = [
        node.input[slot]
        for node in graph.node
        for slot in SHAPE_OPERANDS.get(node.op_type, ())
        if slot < len(node.input) and node.input[slot]
    ]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        producer = producers.get(name)
        if producer is not None and producer.op_type not in SHAPE_ONLY:
            pending.extend(n for n in producer.input if n)
    return sorted(seen & inputs)


def _freeze_inputs(model: Any, values: dict[str, np.ndarray]) -> Any:
    """A copy of `model` with the graph inputs `values` turned into initializers."""
    from onnx import ModelProto, numpy_helper

    frozen = ModelProto()
    frozen.CopyFrom(model)
    kept = [i for i in frozen.graph.input if i.name not in values]
    del frozen.graph.input[:]
    frozen.graph.input.extend(kept)
    for name, value in values.items():
        frozen.graph.initializer.append(numpy_helper.from_array(value, name))
    return frozen


def _from_proto(value: Any) -> Any:
    """A case's input or output as numpy when the data set stores it as a TensorProto."""
    from onnx import TensorProto, numpy_helper

    return numpy_helper.to_array(value) if isinstance(value, TensorProto) else value


def _as_array(value: Any) -> np.ndarray:
    """A case input as numpy; sequences and optionals have no compiled form."""
    if isinstance(value, list | tuple) or value is None:
        raise UnsupportedError("sequence and optional inputs on the compiled path")
    return np.asarray(_from_proto(value))


def _host_jit_runner(model: Any, device: str) -> Runner:
    """Compile the whole pipeline (import ... JIT) for a CPU this process can run, once per
    set of values of the shape-operand inputs."""
    from lamina.compiler import compile as lamina_compile

    frozen = shape_operand_inputs(model)
    compiled: dict[tuple[bytes, ...], Any] = {}

    def run(inputs: dict[str, Any]) -> tuple[Sequence[np.ndarray], bool]:
        arrays = {name: _as_array(value) for name, value in inputs.items()}
        key = tuple(arrays[name].tobytes() for name in frozen)
        if key not in compiled:
            specialised = _freeze_inputs(model, {name: arrays[name] for name in frozen})
            compiled[key] = lamina_compile(specialised, device, opt_level=COMPILED_OPT_LEVEL)
        model_ = compiled[key]
        outputs = model_(**{n: a for n, a in arrays.items() if n not in frozen})
        return outputs, model_.stats.reads_inputs

    return run


def _emulated_bundle_runner(model: Any, device: str) -> Runner:
    """Compile an AOT bundle (codegen/aot.py) for a device this machine emulates (cortex-a76
    under qemu-aarch64, a Hexagon DSP under qemu-hexagon: runtime/qemu.py), once per set of
    shape-operand values, and run it."""
    import tempfile

    from lamina.compiler import compile_bundle
    from lamina.runtime.qemu import run_bundle

    frozen = shape_operand_inputs(model)
    scratch = tempfile.TemporaryDirectory(prefix="lamina-conformance-")  # removed on collection
    bundles: dict[tuple[bytes, ...], tuple[Path, bool]] = {}

    def run(inputs: dict[str, Any]) -> tuple[Sequence[np.ndarray], bool]:
        arrays = {name: _as_array(value) for name, value in inputs.items()}
        key = tuple(arrays[name].tobytes() for name in frozen)
        if key not in bundles:
            specialised = _freeze_inputs(model, {name: arrays[name] for name in frozen})
            out = Path(scratch.name) / f"b{len(bundles)}"
            bundle = compile_bundle(specialised, device, out, opt_level=COMPILED_OPT_LEVEL)
            bundles[key] = (out, bundle.stats is None or bundle.stats.reads_inputs)
        rest = {n: a for n, a in arrays.items() if n not in frozen}
        path, reads_inputs = bundles[key]
        return run_bundle(path, rest).outputs, reads_inputs

    return run


COMPILED_RUNNERS: dict[str, Callable[[Any, str], Runner]] = {
    "cpu-x86_64": _host_jit_runner,
    "cpu-aarch64": _emulated_bundle_runner,
    "opencl": _host_jit_runner,  # lamina.compile runs kind-opencl devices through pyopencl
    "dsp": _emulated_bundle_runner,  # Hexagon bundles (codegen/aot_hexagon.py), qemu-hexagon
}
"""Device kind -> how to run a compiled case on it: `cpu-<arch>` (arch from the triple) for
CPUs, the `kind` of targets/<name>.toml otherwise. An emulated or GPU back end adds its
entry here (`cpu-aarch64` running cortex-a76 under qemu, `gpu` running OpenCL on PoCL)."""


def device_kind(device: str) -> str:
    """The `COMPILED_RUNNERS` key of a device name."""
    from lamina.targets import load_device

    target = load_device(device)
    return f"cpu-{target.triple.split('-')[0]}" if target.kind == "cpu" else target.kind


def _runner(path: str, device: str, model: Any) -> Runner:
    """A function from named numpy inputs to the list of outputs, for `path`."""
    if path == "reference":
        return _reference_runner(model, device)
    kind = device_kind(device)
    if path != "compiled" or kind not in COMPILED_RUNNERS:
        raise UnsupportedError(f"conformance path '{path}' on device '{device}' ({kind})")
    return COMPILED_RUNNERS[kind](model, device)


def _first_line(text: str) -> str:
    """The message's first line; of a list of unsupported nodes, also the first node."""
    lines = text.strip().splitlines()
    if len(lines) > 1 and lines[0].startswith("not supported: "):
        return f"{lines[0]} {lines[1].strip()}"[:200]
    return lines[0][:200] if lines else ""


_WORKER_CASES: list[Any] = []


def _run_index(args: tuple[int, str, str]) -> CaseResult:
    index, path, device = args
    if not _WORKER_CASES:
        _WORKER_CASES.extend(all_node_cases())
    return run_case(_WORKER_CASES[index], path, device)


def select_cases(
    cases: list[Any], pattern: str | None, smoke: bool, path: str = "reference"
) -> list[int]:
    """Indices of the cases to run: matching `pattern` (on case name or op), or the smoke
    list of `path`."""
    wanted = set(SMOKE_LISTS[path].read_text().split()) if smoke else None
    regex = re.compile(pattern, re.IGNORECASE) if pattern else None
    chosen: list[int] = []
    for index, case in enumerate(cases):
        if wanted is not None and case.name not in wanted:
            continue
        if regex and not (regex.search(case.name) or regex.search(case_op(case))):
            continue
        chosen.append(index)
    return chosen


Worker = Callable[[tuple[int, str, str]], CaseResult]


def run_cases(
    indices: list[int],
    path: str,
    device: str,
    jobs: int,
    progress: bool,
    worker: Worker = _run_index,
) -> Iterator[CaseResult]:
    """Results of the chosen cases, in order, computed in `jobs` processes.

    A case that kills its process (a crash in generated code) is an error of that case, not
    of the run: when the pool breaks, each case that was in flight reruns alone, so the one
    that crashes is known, and the rest go on in a fresh pool.
    """
    results: dict[int, CaseResult] = {}
    pending = list(indices)
    bar = Progress(len(indices), "conformance", quiet=not progress)

    def record(index: int, result: CaseResult) -> None:
        results[index] = result
        bar.step(f"{result.name}: {result.status} ({result.seconds:.1f} s)")

    with bar:
        while pending:
            suspects = _run_until_crash(pending, (path, device, worker), jobs, record)
            for index in suspects:
                record(index, _run_alone(index, (path, device, worker)))
            pending = [i for i in pending if i not in results]
    yield from (results[i] for i in indices)


def _run_until_crash(
    pending: list[int],
    how: tuple[str, str, Worker],
    jobs: int,
    record: Callable[[int, CaseResult], None],
) -> list[int]:
    """Run `pending` with at most `jobs` cases in flight; the cases in flight when a
    process died (empty if none did)."""
    path, device, worker = how
    queue = list(reversed(pending))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        in_flight: dict[Future[CaseResult], int] = {}
        while queue or in_flight:
            while queue and len(in_flight) < jobs:
                index = queue.pop()
                in_flight[pool.submit(worker, (index, path, device))] = index
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                try:
                    record(in_flight[future], future.result())
                except BrokenProcessPool:
                    return list(in_flight.values())
                del in_flight[future]
    return []


def _run_alone(index: int, how: tuple[str, str, Worker]) -> CaseResult:
    """One case in a process of its own; a dead process is that case's error."""
    path, device, worker = how
    with ProcessPoolExecutor(max_workers=1) as pool:
        try:
            return pool.submit(worker, (index, path, device)).result()
        except BrokenProcessPool:
            case = all_node_cases()[index]
            return CaseResult(case.name, case_op(case), "error", "the process crashed")


def summary_table(results: Sequence[CaseResult]) -> str:
    """One row per op: counts per status and the first reason of a non-passing case."""
    by_op: dict[str, list[CaseResult]] = defaultdict(list)
    for r in results:
        by_op[r.op].append(r)
    header = {"pass": "pass", "folded": "fold", "fail": "fail", "unsupported": "unsup"}
    columns = [(status, header.get(status, status)) for status in STATUSES]
    rows = [f"{'op':<28} " + " ".join(f"{h:>5}" for _, h in columns) + "  first reason"]
    for op in sorted(by_op):
        group = by_op[op]
        counts = Counter(r.status for r in group)
        reason = next((f"{r.status}: {r.reason}" for r in group if r.status != "pass"), "")
        cells = " ".join(f"{counts[s]:>5}" for s, _ in columns)
        rows.append(f"{op:<28} {cells}  {reason[:90]}")
    totals = Counter(r.status for r in results)
    cells = " ".join(f"{totals[s]:>5}" for s, _ in columns)
    rows.append(f"{'TOTAL':<28} {cells}  of {len(results)} cases")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `lamina-conformance`; exit 0 unless the run itself could not happen."""
    parser = argparse.ArgumentParser(
        prog="lamina-conformance", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument(
        "--path",
        choices=["reference", "compiled"],
        default="reference",
        help="run each case on the reference interpreter or compiled for --device (reference)",
    )
    parser.add_argument("--device", default="host", help="device name or .toml file (host)")
    parser.add_argument("--filter", help="regular expression on case name or op type")
    parser.add_argument("--smoke", action="store_true", help="only the cases of the smoke list")
    parser.add_argument("--json", type=Path, help="write every case's result here")
    parser.add_argument(
        "--jobs",
        type=_positive_int,
        default=os.cpu_count() or 1,
        help="cases run in this many worker processes (the CPU count)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        "--no-progress",
        dest="quiet",
        action="store_true",
        help="no progress on stderr (a bar on a terminal, a line per case when piped)",
    )
    add_version_flag(parser, "lamina-conformance")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except LaminaError as e:
        print(f"error: {e.message}", file=sys.stderr)
        return 1


def _positive_int(text: str) -> int:
    """argparse type of --jobs: a whole number from 1 up."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _run(args: argparse.Namespace) -> int:
    if args.filter is not None:
        try:
            re.compile(args.filter)
        except re.error as e:
            raise LaminaError(
                f"--filter '{args.filter}' is not a regular expression: {e}"
            ) from None
    if args.json is not None:
        _check_writable(args.json)
    if args.path == "compiled":
        device_kind(args.device)  # an unknown device fails here, before any case runs
    cases = all_node_cases()
    indices = select_cases(cases, args.filter, args.smoke, args.path)
    if not indices:
        raise LaminaError(f"no conformance case matches '{args.filter}'")
    start = time.perf_counter()
    results = list(run_cases(indices, args.path, args.device, args.jobs, not args.quiet))
    print(summary_table(results))
    print(f"path {args.path}, device {args.device}, {time.perf_counter() - start:.1f} s")
    if args.json:
        totals = Counter(r.status for r in results)
        _write_text(
            args.json,
            json.dumps(
                {
                    "path": args.path,
                    "device": args.device,
                    "totals": {s: totals[s] for s in STATUSES},
                    "cases": [asdict(r) for r in results],
                },
                indent=1,
            ),
        )
    return 0


def _check_writable(path: Path) -> None:
    """Fail before a long run, not after it, when the results cannot be written to `path`."""
    if path.is_dir():
        raise LaminaError(f"--json {path}: is a directory")
    if not path.parent.is_dir():
        raise LaminaError(f"--json {path}: no directory {path.parent}")


def _write_text(path: Path, text: str) -> None:
    try:
        path.write_text(text)
    except OSError as e:
        raise LaminaError(f"cannot write {path}: {e.strerror}") from None


if __name__ == "__main__":
    sys.exit(main())
