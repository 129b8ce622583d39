"""The benchmarks' own honesty: outputs are compared at their scale (the logits, not only the
probabilities), a row that does not match is left out of the geomean and makes the latency
benchmark exit 1, compiles are timed cold, and the peak share is 2 * MACs / time / peak."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from lamina.benchmarks.int8_latency import table as int8_table
from lamina.benchmarks.latency import (
    CALLS_PER_TURN,
    TURN_WARM_S,
    empty_object_cache,
    exit_status,
    measure_model,
    median_ms_in_turns,
    realtime_threads,
    table,
)
from lamina.benchmarks.threads import HandoffKernel
from lamina.codegen.object_cache import default_cache_dir
from lamina.compiler import compile as lamina_compile
from lamina.errors import LaminaError, UnsupportedError
from lamina.tools.models import output_mismatch, with_logits
from lamina.tools.quantized import quantized_mismatch


def test_output_mismatch_is_judged_at_the_output_scale():
    want = np.array([100.0, 0.001], np.float32)
    assert output_mismatch(want + np.float32(0.05), want) is None  # 5e-4 of the scale
    assert "max abs error 0.2" in (output_mismatch(want + np.float32(0.2), want) or "")
    assert output_mismatch(np.array([np.nan, 0.0], np.float32), want) is not None
    assert output_mismatch(want[:1], want) == "shape (1,), expected (2,)"


def timed_row(name: str, lamina_ms: dict[int, float], error: str = "") -> dict[str, object]:
    """A row as `measure_model` returns it: 1 GMAC, onnxruntime at 1 ms."""
    ms = {t: {"lamina": v, "ort": 1.0} for t, v in lamina_ms.items()}
    sizes = {"compile_s": 1.0, "arena": 0, "lower_bound": 0}
    return {"model": name, "ms": ms, "error": error, "macs": 10**9, **sizes}


def test_a_failed_row_is_left_out_of_the_geomean():
    rows = [timed_row("good", {1: 2.0}), timed_row("wrong", {1: 0.01}, "max abs error 3")]
    text = table(rows, [1], core_gflops=100.0)
    assert "FAILED max abs error 3" in text
    geomean = next(line for line in text.splitlines() if line.startswith("geomean"))
    assert "(1 of 2 rows pass)" in geomean and geomean.split()[-1] == "2.00"
    assert exit_status(rows) == 1
    assert exit_status(rows[:1]) == 0


def test_the_peak_share_and_the_thread_scaling_flag():
    # 2 GFLOP in 20 ms = 100 GFLOP/s: 50% of one 200 GFLOP/s core, 25% of two at 1T speed
    rows = [timed_row("scales", {1: 20.0, 2: 12.0}), timed_row("flat", {1: 20.0, 2: 20.0})]
    lines = table(rows, [1, 2], core_gflops=200.0).splitlines()
    assert lines[2].split()[-1] == "yes" and lines[3].split()[-1] == "NO"
    assert lines[3].split("|")[1].split()[-1] == "50%"
    assert lines[3].split("|")[2].split()[-1] == "25%"
    assert lines[-1] == "lamina faster at 2 threads than at 1: 1 of 2 rows"


def test_the_table_prints_each_rows_load_average():
    rows = [timed_row("busy", {1: 2.0}), timed_row("quiet", {1: 2.0})]
    rows[0]["load"], rows[1]["load"] = 3.75, 0.5
    lines = table(rows, [1], core_gflops=100.0).splitlines()
    assert lines[0].split("|")[0].split()[-1] == "load"
    assert [line.split("|")[0].split()[-1] for line in lines[2:4]] == ["3.8", "0.5"]


def test_realtime_turns_run_every_thread_fifo_and_restore_each_policy():
    def policies() -> dict[int, int]:
        """The policy of each thread of this process (except one that ends meanwhile)."""
        found: dict[int, int] = {}
        for tid in map(int, os.listdir("/proc/self/task")):
            try:
                found[tid] = os.sched_getscheduler(tid)
            except ProcessLookupError:
                continue
        return found

    parked = threading.Event()
    helper_thread = threading.Thread(target=parked.wait)  # a second thread, like a worker
    helper_thread.start()
    before = policies()
    try:
        with realtime_threads(True):
            inside = policies()
    except LaminaError as e:  # without CAP_SYS_NICE: refused, and nothing changed
        assert "CAP_SYS_NICE" in str(e)
        inside = None
    finally:
        parked.set()
        helper_thread.join()
    if inside is not None:
        assert len(inside) >= 2 and set(inside.values()) == {os.SCHED_FIFO}
    after = policies()
    assert after == {t: p for t, p in before.items() if t in after}
    assert os.SCHED_FIFO not in after.values()


def test_each_turn_warms_its_engine_up_before_the_timed_calls():
    calls: dict[str, list[float]] = {"a": [], "b": []}

    def engine(name: str):
        def call() -> None:
            calls[name].append(time.perf_counter())
            time.sleep(0.001)

        return call

    medians = median_ms_in_turns({name: engine(name) for name in calls}, warmup=0, repeat=2)
    assert set(medians) == {"a", "b"}
    for stamps in calls.values():
        # turns are apart by the pause and the other engine's turn; in each, the calls of
        # its first TURN_WARM_S are untimed (the clock starts just before the first
        # stamp), the last CALLS_PER_TURN timed
        gaps = [i for i in range(1, len(stamps)) if stamps[i] - stamps[i - 1] > 0.04]
        assert len(gaps) == 1
        for turn in (stamps[: gaps[0]], stamps[gaps[0] :]):
            assert len(turn) > CALLS_PER_TURN + 1
            assert turn[-CALLS_PER_TURN] - turn[0] >= 0.95 * TURN_WARM_S


def test_the_handoff_kernel_counts_the_chunks_other_threads_run():
    # a handoff figure means something only if the workers ran chunks: inline calls (1
    # thread) count none, pooled ones at most all of their chunks
    kernel = HandoffKernel()
    kernel(200, 1)
    assert kernel.helped.value == 0
    kernel(200, 2)
    assert 0 <= kernel.helped.value <= 2 * 200


def logits_model() -> onnx.ModelProto:
    """x [1, 8] -> Gemm (8 -> 4) -> Softmax, the Gemm's output exposed as the logits."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 8)).astype(np.float32), "w")
    nodes = [
        helper.make_node("Gemm", ["x", "w"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["p"]),
    ]
    graph = helper.make_graph(
        nodes,
        "classifier",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, [1, 4])],
        [w],
    )
    return with_logits(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))


class ShiftedLogits:
    """A compiled model whose logits are all one too high: its probabilities are right
    (softmax does not see a shift), so only the check at the logits can tell."""

    def __init__(self, model: onnx.ModelProto, device: str, threads: int) -> None:
        self.compiled = lamina_compile(model, device, threads=threads)
        self.stats = self.compiled.stats

    def __call__(self, **feeds: np.ndarray) -> list[np.ndarray]:
        probabilities, logits = self.compiled(**feeds)
        return [probabilities, logits + np.float32(1.0)]


def test_a_row_whose_logits_are_wrong_fails_and_the_benchmark_exits_1():
    model = logits_model()
    assert [o.name for o in model.graph.output] == ["p", "logits"]
    assert with_logits(model) is model and len(model.graph.output) == 2
    good = measure_model("right", model, [1], 1, 0, lamina_compile)
    wrong = measure_model("shifted", model, [1], 1, 0, ShiftedLogits)
    assert good["error"] == "" and good["macs"] == 32
    assert wrong["error"].startswith("1 threads: max abs error 1 at output scale")
    text = table([good, wrong], [1], core_gflops=100.0)
    assert "(1 of 2 rows pass)" in text and "FAILED 1 threads: max abs error 1" in text
    assert exit_status([good, wrong]) == 1


def test_a_row_that_does_not_compile_fails_without_timings():
    def refuse(model: onnx.ModelProto, device: str, threads: int) -> None:
        raise UnsupportedError("op 'Gemm' here")

    row = measure_model("refused", logits_model(), [1, 2], 1, 0, refuse)
    assert row["error"] == "1 threads: refused: error: not supported: op 'Gemm' here"
    line = table([row], [1, 2], core_gflops=100.0).splitlines()[2]
    assert line.split("|")[1].split() == ["-"] * 4 and "FAILED 1 threads" in line
    assert exit_status([row]) == 1


def test_compiles_are_timed_into_an_empty_temporary_object_cache():
    outside = default_cache_dir()
    with empty_object_cache() as directory:
        assert default_cache_dir() == directory and not any(directory.iterdir())
    assert default_cache_dir() == outside and not directory.exists()


def test_a_mismatching_int8_row_is_left_out_of_both_geomeans():
    def row(name: str, int8_ms: float, error: str = "") -> dict[str, object]:
        return {
            "model": name,
            "ms": {1: {"int8": int8_ms, "ort": 2.0, "fp32": 4.0}},
            "error": error,
        }

    text = int8_table([row("good", 1.0), row("wrong", 0.01, "another top-1 class")], [1])
    assert "MISMATCH another top-1 class" in text
    assert text.splitlines()[-1].split()[-2:] == ["0.50", "0.25"]
    assert "(1 of 2 match)" in text


def test_quantized_outputs_are_judged_in_quantization_steps():
    scale = numpy_helper.from_array(np.array(0.5, np.float32), "s")
    node = helper.make_node("DequantizeLinear", ["q", "s"], ["y"])
    graph = helper.make_graph(
        [node],
        "dq",
        [helper.make_tensor_value_info("q", TensorProto.INT8, [1, 200])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 200])],
        [scale],
    )
    model = helper.make_model(graph)
    want = np.linspace(-10, 10, 200, dtype=np.float32).reshape(1, 200)
    one_step_off = want.copy()
    one_step_off[0, :100] += 0.5  # within one step (0.5) of the reference, top-1 unchanged
    assert quantized_mismatch(model, [one_step_off], [want]) is None
    two_steps_off = want.copy()
    two_steps_off[0, :3] += 1.0
    assert "98.5% of the elements within one step" in (
        quantized_mismatch(model, [two_steps_off], [want]) or ""
    )
    flipped = want[:, ::-1].copy()
    assert "another top-1 class" in (quantized_mismatch(model, [flipped], [want]) or "")
