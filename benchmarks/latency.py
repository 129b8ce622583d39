"""Latency of lamina against onnxruntime, side by side in one run, at 1 and 2 threads.

    .venv/bin/python -m lamina.benchmarks.latency [--models squeezenet,mlp] [--threads 1,2]

Models (`--models`: names, or the groups `light`, `extra`, `real`; default light and
extra): the nine light models of the onnx wheel (seeded random weights); extra: an MLP
784-512-512-10 (batch 1) and a 1024^3 matmul (both operands inputs); real: the model
classes of the wild at the sizes their pipelines feed — PP-OCR's text detector (320x320),
recognizer and orientation classifier with their real weights (tools/model_zoo.py), a
YOLOv8-style detector at 320x320 with 80 classes and a BERT-style encoder of 128 tokens,
width 256 (tools/model_builders.py, seeded weights). Each model runs in a
fresh process (its weights, LLVM state and onnxruntime session go with it); there, lamina
compiles it once per thread count (`lamina.compile(..., threads=t)`, the same count as
$LAMINA_NUM_THREADS) and onnxruntime gets `intra_op_num_threads = t`; the engines are then
timed in alternating turns (per round and engine: a pause for the other engine's idle
threads to park, untimed calls for TURN_WARM_S (at least one), then CALLS_PER_TURN timed
calls; `--repeat` rounds after `--warmup`) so that load from other users of the machine hits both alike. A median is
what a caller sees on the machine as it is: with other processes runnable on every core
(load average above the cores), a worker thread of either engine waits for a core, and a
2-thread call runs at 1-thread speed or slower. `--realtime` measures what the engines do
when they have the cores: during the timed turns every thread of the process (the
caller, lamina's workers, onnxruntime's) runs SCHED_FIFO (Linux; needs CAP_SYS_NICE, and
the kernel's RT throttling leaves the other processes 5% of each core), restored after;
compiles and checks stay at normal priority. Printed per model: compile seconds (the
first thread count's compile, all stages, into an empty temporary object cache: a cold
compile), the 1-minute load average after its timed turns
(the highest over the thread counts; this benchmark's own threads count in it),
lamina's peak arena against the planner's lower bound (`CompiledModel.stats`), the model's
GMACs (Conv, Gemm and MatMul, tools/macs.py), per thread count the medians, lamina /
onnxruntime and the share of the fp32 peak lamina reaches (2 * MACs / lamina's median,
over t times one core's peak, measured at the start of the run by the register-only FMA
loop of benchmarks/fma_peak.py), and whether lamina is faster at each thread count than at
the one before; at the bottom the geometric mean of the ratios. Outputs, the logits
included (the input of the last Softmax is exposed: probabilities hide a wrong layer), are
checked against onnxruntime at their scale (max|err| <= 1e-3 max|ref| + 1e-4); a row that
does not match, or does not compile, is marked FAILED, left out of the geomean, and the
benchmark exits 1.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import onnx
from onnx import TensorProto, helper

from lamina.benchmarks import fma_peak
from lamina.codegen.object_cache import CACHE_DIR_VARIABLE
from lamina.errors import LaminaError, error_text
from lamina.tools.macs import model_macs
from lamina.tools.model_builders import transformer_encoder, yolo_detector
from lamina.tools.model_zoo import zoo_model
from lamina.tools.models import (
    LIGHT_MODELS,
    light_model,
    mlp,
    output_mismatch,
    random_inputs,
    with_input_shapes,
    with_logits,
    with_pre_sigmoid,
)

EXTRA_MODELS = ("mlp_784_512_512_10", "matmul_1024")
REAL_MODELS: dict[str, Callable[[], onnx.ModelProto]] = {
    "ppocr-det": lambda: with_pre_sigmoid(_zoo("ppocr-det", [1, 3, 320, 320])),
    "ppocr-rec": lambda: with_logits(_zoo("ppocr-rec", [1, 3, 48, 320]), rank=3),
    "ppocr-cls": lambda: with_logits(_zoo("ppocr-cls", [1, 3, 48, 192]), rank=2),
    "yolo": lambda: yolo_detector(320, classes=80),
    "transformer": lambda: transformer_encoder(vocab=1000, seq=128, width=256, heads=4),
}
"""The real-model classes: detectors, OCR, a transformer encoder (model and its logits)."""
GROUPS = {"light": LIGHT_MODELS, "extra": EXTRA_MODELS, "real": tuple(REAL_MODELS)}
CALLS_PER_TURN = 3
"""Timed calls of one engine before the other takes its turn."""
TURN_PAUSE_S = 0.05
"""Pause before each turn, longer than either engine's spin-before-park time."""
TURN_WARM_S = 0.02
"""Untimed calls at the start of each turn: after the pause, with one warm-up call, a
sub-millisecond 2-thread call still ran at 1-thread speed for ten calls (lamina's MLP:
0.14 ms against 0.05 back to back; onnxruntime's alike), most likely a core left idle
through the pause waking slowly (not confirmed: no counters in this VM)."""
REALTIME_PRIORITY = 10
"""The SCHED_FIFO priority of `--realtime` (1-99; any beats every normal thread)."""
T = TypeVar("T")


def matmul_1024() -> onnx.ModelProto:
    node = helper.make_node("MatMul", ["a", "b"], ["c"])
    return _model([node], "matmul", {"a": [1024, 1024], "b": [1024, 1024]}, {"c": [1024, 1024]})


def _model(
    nodes: list[onnx.NodeProto],
    name: str,
    inputs: dict[str, list[int]],
    outputs: dict[str, list[int]],
    weights: Sequence[onnx.TensorProto] = (),
) -> onnx.ModelProto:
    def info(n: str, s: list[int]) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(n, TensorProto.FLOAT, s)

    graph = helper.make_graph(
        nodes,
        name,
        [info(n, s) for n, s in inputs.items()],
        [info(n, s) for n, s in outputs.items()],
        list(weights),
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _zoo(name: str, image: list[int]) -> onnx.ModelProto:
    """A zoo model with its image input `x` at the static shape `image`."""
    return with_input_shapes(onnx.load(zoo_model(name)), {"x": image})


def load(name: str) -> onnx.ModelProto:
    if name == "mlp_784_512_512_10":
        return mlp()
    if name == "matmul_1024":
        return matmul_1024()
    if name in REAL_MODELS:
        return REAL_MODELS[name]()
    return with_logits(light_model(name))


def model_names(spec: str) -> list[str]:
    """`--models`: names and group names (`GROUPS`), comma-separated, groups expanded."""
    return [name for item in spec.split(",") for name in GROUPS.get(item, (item,))]


def onnxruntime_session(model: onnx.ModelProto, threads: int) -> Callable[..., Any]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return lambda feeds: session.run(None, feeds)


def median_ms_in_turns(
    engines: dict[str, Callable[[], object]], warmup: int, repeat: int
) -> dict[str, float]:
    """Each engine's median latency (ms), the engines timed in alternating turns.

    Idle threads of the other engine spin a while before they park (onnxruntime's and
    lamina's pools both do) and would take a core from a multi-threaded run: each turn
    pauses for them to park, and its calls of the first TURN_WARM_S are not timed.
    """
    times: dict[str, list[float]] = {engine: [] for engine in engines}
    for round_ in range(warmup + repeat):
        for engine, call in engines.items():
            time.sleep(TURN_PAUSE_S)
            warm_until = time.perf_counter() + TURN_WARM_S
            call()
            while time.perf_counter() < warm_until:
                call()
            for _ in range(CALLS_PER_TURN):
                start = time.perf_counter()
                call()
                if round_ >= warmup:
                    times[engine].append((time.perf_counter() - start) * 1e3)
    return {engine: statistics.median(ts) for engine, ts in times.items()}


@contextlib.contextmanager
def realtime_threads(enabled: bool) -> Iterator[None]:
    """Meanwhile every thread of this process runs SCHED_FIFO at REALTIME_PRIORITY (when
    `enabled`); each gets its own policy back after. Not permitted: a `LaminaError`."""
    if not enabled:
        yield
        return
    saved: dict[int, tuple[int, os.sched_param]] = {}
    for tid in map(int, os.listdir("/proc/self/task")):
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            saved[tid] = (os.sched_getscheduler(tid), os.sched_getparam(tid))
    try:
        _set_policies({tid: (os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY)) for tid in saved})
    except PermissionError as e:
        _set_policies(saved)
        raise LaminaError("--realtime needs CAP_SYS_NICE (SCHED_FIFO was refused)") from e
    try:
        yield
    finally:
        _set_policies(saved)


def _set_policies(policies: dict[int, tuple[int, os.sched_param]]) -> None:
    for tid, (policy, param) in policies.items():
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            os.sched_setscheduler(tid, policy, param)


Compile = Callable[..., Any]
"""`lamina.compile`'s signature: (model, device, threads=t) -> a callable of the feeds."""


def measure(
    name: str, threads: Sequence[int], repeat: int, warmup: int, realtime: bool = False
) -> dict[str, Any]:
    """The row of the model `name` (`measure_model`)."""
    from lamina.compiler import compile as lamina_compile

    return measure_model(name, load(name), threads, repeat, warmup, lamina_compile, realtime)


def measure_model(
    name: str,
    model: onnx.ModelProto,
    threads: Sequence[int],
    repeat: int,
    warmup: int,
    compile_model: Compile,
    realtime: bool = False,
) -> dict[str, Any]:
    """One model's row: its MACs, compile time (first thread count, empty object cache) and
    arena, per thread count the two medians (ms) timed at real-time priority if `realtime`
    (`realtime_threads`), the highest load average after them; `error` says why the row
    failed (a compile error or the first output that does not match onnxruntime's), "" if
    it did not."""
    feeds = random_inputs(model)
    row: dict[str, Any] = {"model": name, "ms": {}, "error": "", "macs": model_macs(model)}
    row["load"] = 0.0
    with empty_object_cache():
        for t in threads:
            start = time.perf_counter()
            try:
                compiled = compile_model(model, "host", threads=t)
            except LaminaError as e:
                row["error"] = f"{t} threads: {error_text(e, name)}"
                return row
            if "compile_s" not in row:
                row["compile_s"] = time.perf_counter() - start
                row["arena"] = compiled.stats.arena_bytes
                row["lower_bound"] = compiled.stats.arena_lower_bound
            ort_run = onnxruntime_session(model, t)
            engines = {"lamina": partial(compiled, **feeds), "ort": partial(ort_run, feeds)}
            for got, want in zip(engines["lamina"](), engines["ort"](), strict=True):
                mismatch = output_mismatch(got, want)
                if mismatch is not None and not row["error"]:
                    row["error"] = f"{t} threads: {mismatch}"
            with realtime_threads(realtime):
                row["ms"][t] = median_ms_in_turns(engines, warmup, repeat)
            row["load"] = max(row["load"], os.getloadavg()[0])
    return row


@contextlib.contextmanager
def empty_object_cache() -> Iterator[Path]:
    """`$LAMINA_CACHE_DIR` is a new, empty temporary directory meanwhile (compiles are cold
    and leave the user's cache alone); the variable is restored after."""
    previous = os.environ.get(CACHE_DIR_VARIABLE)
    with tempfile.TemporaryDirectory(prefix="lamina-objects-") as directory:
        os.environ[CACHE_DIR_VARIABLE] = directory
        try:
            yield Path(directory)
        finally:
            if previous is None:
                del os.environ[CACHE_DIR_VARIABLE]
            else:
                os.environ[CACHE_DIR_VARIABLE] = previous


def cpu_name() -> str:
    """lscpu's model name and LLVM's name for the host CPU."""
    import llvmlite.binding as llvm

    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
    except OSError:
        lscpu = ""
    model = next(
        (line.split(":", 1)[1].strip() for line in lscpu.splitlines() if "Model name" in line),
        "unknown",
    )
    return f"{model} (LLVM: {llvm.get_host_cpu_name()})"


def peak_share(row: dict[str, Any], threads: int, core_gflops: float) -> float:
    """The share of `threads` cores' fp32 peak that lamina's median reaches on the row."""
    achieved_gflops = 2 * row["macs"] / (row["ms"][threads]["lamina"] * 1e-3) / 1e9
    return achieved_gflops / (core_gflops * threads)


def table(rows: list[dict[str, Any]], threads: Sequence[int], core_gflops: float) -> str:
    """The report: a line per row (FAILED ones say why), the geomeans of the rows that pass,
    and how many rows lamina runs faster with more threads."""
    steps = list(zip(threads, threads[1:], strict=False))
    head = f"{'model':<20} {'compile s':>9} {'arena MB':>9} {'bound MB':>9} {'GMAC':>7} {'load':>5}"
    for t in threads:
        head += f" | {t}T lamina ms {'ort ms':>8} {'ratio':>6} {'peak':>5}"
    head += "".join(f" | {more}T<{fewer}T" for fewer, more in steps)
    lines = [head, "-" * len(head)]
    ratios: dict[int, list[float]] = {t: [] for t in threads}
    faster = {step: 0 for step in steps}
    for row in rows:
        line = f"{row['model']:<20} " + (
            f"{row['compile_s']:>9.1f} {row['arena'] / 1e6:>9.2f} {row['lower_bound'] / 1e6:>9.2f}"
            if "compile_s" in row
            else f"{'-':>9} {'-':>9} {'-':>9}"
        )
        line += f" {row['macs'] / 1e9:>7.3f} {row.get('load', float('nan')):>5.1f}"
        for t in threads:
            if t not in row["ms"]:
                line += f" | {'-':>14} {'-':>8} {'-':>6} {'-':>5}"
                continue
            ms = row["ms"][t]
            ratio = ms["lamina"] / ms["ort"]
            if not row["error"]:  # a row that computes the wrong thing has no speed to count
                ratios[t].append(ratio)
            share = f"{peak_share(row, t, core_gflops):.0%}"
            line += f" | {ms['lamina']:>14.3f} {ms['ort']:>8.3f} {ratio:>6.2f} {share:>5}"
        for fewer, more in steps:
            both = fewer in row["ms"] and more in row["ms"]
            is_faster = both and row["ms"][more]["lamina"] < row["ms"][fewer]["lamina"]
            faster[(fewer, more)] += is_faster
            flag = ("yes" if is_faster else "NO") if both else "-"
            line += f" | {flag:>{len(f'{more}T<{fewer}T')}}"
        lines.append(line + (f"   FAILED {row['error']}" if row["error"] else ""))
    counted = sum(1 for row in rows if not row["error"])
    geomean = f"{f'geomean lamina/ort ({counted} of {len(rows)} rows pass)':<64}"
    for t in threads:
        mean = statistics.geometric_mean(ratios[t]) if ratios[t] else float("nan")
        geomean += f" | {'':>14} {'':>8} {mean:>6.2f} {'':>5}"
    notes = [
        f"peak = 2 * MACs / lamina's median over threads x {core_gflops:.1f} GFLOP/s, "
        "one core's fp32 peak (FMA loop, this run)",
        *(
            f"lamina faster at {more} threads than at {fewer}: {faster[(fewer, more)]} of "
            f"{len(rows)} rows"
            for fewer, more in steps
        ),
    ]
    return "\n".join([*lines, geomean, *notes])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--models", default="light,extra", help="names or groups: " + ", ".join(GROUPS)
    )
    parser.add_argument("--threads", default="1,2", help="thread counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument(
        "--realtime", action="store_true", help="time at SCHED_FIFO priority (see the docstring)"
    )
    args = parser.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")]
    try:
        with realtime_threads(args.realtime):
            pass  # refused now rather than in the first model's process
    except LaminaError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    priority = f"; timed at SCHED_FIFO {REALTIME_PRIORITY}" if args.realtime else ""
    print(f"CPU: {cpu_name()}; {args.repeat} timed rounds after {args.warmup} warm-up{priority}")
    core_gflops = in_fresh_process(fma_peak.core_gflops)
    print(f"  fp32 peak of one core (FMA loop): {core_gflops:.1f} GFLOP/s", flush=True)
    rows = []
    for name in model_names(args.models):
        rows.append(
            in_fresh_process(measure, name, threads, args.repeat, args.warmup, args.realtime)
        )
        print(f"  {name}: {progress_line(rows[-1])}", flush=True)
    print(table(rows, threads, core_gflops))
    return exit_status(rows)


def progress_line(row: dict[str, Any]) -> str:
    if "compile_s" not in row:
        return f"FAILED {row['error']}"
    ms = ", ".join(f"{t}T {r['lamina']:.2f}/{r['ort']:.2f} ms" for t, r in row["ms"].items())
    return f"compiled in {row['compile_s']:.1f} s; lamina/ort {ms}; load {row['load']:.1f}"


def in_fresh_process(measure: Callable[..., T], *args: object) -> T:
    """`measure(*args)` in a spawned process (its weights, LLVM state and sessions go with it)."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(measure, args)


def exit_status(rows: Sequence[dict[str, Any]]) -> int:
    """1 after naming the rows that failed (left out of the geomeans), else 0."""
    failed = [row["model"] for row in rows if row["error"]]
    if failed:
        print(f"FAILED: {', '.join(failed)} (left out of the geomeans)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
