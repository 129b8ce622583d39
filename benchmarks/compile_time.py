"""Compile time of the light models by stage, and the bars of issue 16 (cold compiles:
ResNet-50 <= 3 s, DenseNet-121 <= 5 s).

    .venv/bin/python -m lamina.benchmarks.compile_time [--models resnet50,densenet121]
        [--jobs 2] [--baseline]

Each model compiles in a fresh process (`lamina.compile(model, threads=1)`) with an empty
object cache (`$LAMINA_CACHE_DIR` set to a new temporary directory: a cold compile, as on
a fresh CI machine), then once more in another fresh process on that cache (warm: every
nest object is a cache hit). lamina's Python modules (the compiler and the modules of the
host pipeline's passes) are imported before the clock starts: their import is printed
apart, since a process pays it once, whatever it compiles.

Printed per model: wall and CPU seconds of the cold compile (CPU: this process and its
compile workers; the machine is shared, so wall time swings with others' load, CPU time
much less), nests called / distinct, the warm wall seconds, then every stage with its wall
seconds, CPU seconds and share of the CPU: `import` (ONNX to the graph level),
`pass-pipeline` (the passes built, their rule files compiled), each pass (graph rules, the
lowerings, plan-memory, ...), `verify` (the loop-level module verified, between
`llvm-emit` and `llvm-objects`, while the workers compile), `llvm-emit` (LLVM
IR text, split per nest), `llvm-objects` (the nests optimised and compiled to objects),
`llvm-load` (`main` optimised, the objects linked into MCJIT) and `llvm-other` (the rest
of the JIT's set-up: weights copied, entry point looked up). With `--baseline` the same
process also times the one-module build the JIT used before (`optimize(emit_llvm(module),
O3)` + MCJIT on the same lowered module) and prints baseline LLVM seconds / new cold LLVM
seconds, side by side in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from lamina.tools.models import LIGHT_MODELS

BARS = {"resnet50": 3.0, "densenet121": 5.0}
"""Cold compile wall seconds per model (issue 16)."""
JIT_STAGES = ("llvm-emit", "llvm-objects", "llvm-load")


def measure(name: str, baseline: bool) -> dict[str, Any]:
    """One compile of `name` in this process (its cache is whatever $LAMINA_CACHE_DIR says)."""
    start, cpu = time.perf_counter(), time.process_time()
    import lamina
    from lamina.codegen.compile_stats import cpu_seconds
    from lamina.compiler import pipeline
    from lamina.targets import load_device
    from lamina.tools.models import light_model
    from lamina.universe import LAMINA_PASSES

    for spec in pipeline(load_device("host")).split(","):
        LAMINA_PASSES[spec.split("{")[0]]()  # the pass's module imported, nothing built
    imported = {"wall": time.perf_counter() - start, "cpu": time.process_time() - cpu}
    model = light_model(name)
    start, cpu = time.perf_counter(), cpu_seconds()
    compiled = lamina.compile(model, threads=1)
    jit = compiled.function.jit
    stats = compiled.stats
    stages = [(k, stats.seconds[k], stats.cpu_seconds.get(k, 0.0)) for k in stats.seconds]
    llvm = next(s for s in stages if s[0] == "llvm")
    jit_stages = [(k, jit.stats.seconds[k], jit.stats.cpu_seconds[k]) for k in JIT_STAGES]
    within = [*jit_stages, *(s for s in stages if s[0] == "verify")]  # verified in `llvm`
    other = (
        "llvm-other",
        llvm[1] - sum(s[1] for s in within),
        llvm[2] - sum(s[2] for s in within),
    )
    result: dict[str, Any] = {
        "wall": time.perf_counter() - start,
        "cpu": cpu_seconds() - cpu,
        "python-import": imported,
        "stages": [s for s in stages if s[0] != "llvm"] + jit_stages + [other],
        "llvm": llvm[1],
        "calls": jit.llvm_module.calls,
        "nests": len(jit.llvm_module.nests),
    }
    if baseline:
        result["baseline-llvm"] = _one_module_seconds(jit.module)
    return result


def _one_module_seconds(module: Any) -> float:
    """LLVM seconds of the build before splitting: one module, O3, MCJIT."""
    from dataclasses import replace

    import llvmlite.binding as llvm

    from lamina.codegen.llvm import emit_llvm
    from lamina.codegen.llvm_target import optimize, target_machine
    from lamina.targets import load_device

    device = replace(load_device("host"), cores=1)
    start = time.perf_counter()
    engine = llvm.create_mcjit_compiler(
        optimize(emit_llvm(module, device), device, 3), target_machine(device, fresh=True)
    )
    engine.finalize_object()
    return time.perf_counter() - start


def run_child(name: str, cache: str, jobs: int | None, baseline: bool) -> dict[str, Any]:
    command = [sys.executable, "-m", "lamina.benchmarks.compile_time", "--child", name]
    command += ["--baseline"] if baseline else []
    env = {**os.environ, "LAMINA_CACHE_DIR": cache}
    if jobs:
        env["LAMINA_COMPILE_JOBS"] = str(jobs)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["crashed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(name: str, cold: dict[str, Any], warm: dict[str, Any]) -> str:
    if "error" in cold or "error" in warm:
        return f"{name:14s} failed: {cold.get('error') or warm.get('error')}"
    imported = cold["python-import"]
    lines = [
        f"{name:14s} cold {cold['wall']:6.2f}s wall {cold['cpu']:6.2f}s cpu  nests "
        f"{cold['calls']:3d}/{cold['nests']:3d}  warm {warm['wall']:5.2f}s wall "
        f"{warm['cpu']:5.2f}s cpu  (python import before: {imported['wall']:.2f}s wall "
        f"{imported['cpu']:.2f}s cpu)"
    ]
    if "baseline-llvm" in cold:
        ratio = cold["baseline-llvm"] / cold["llvm"]
        lines[0] += f"  one-module llvm {cold['baseline-llvm']:6.1f}s = {ratio:4.1f}x"
    total = sum(cpu for _, _, cpu in cold["stages"]) or 1.0
    lines += [
        f"    {stage:26s} {wall:6.2f}s wall {cpu:6.2f}s cpu {100 * cpu / total:5.1f}%"
        for stage, wall, cpu in cold["stages"]
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--models", default=",".join(LIGHT_MODELS))
    parser.add_argument("--jobs", type=int, help="worker processes ($LAMINA_COMPILE_JOBS)")
    parser.add_argument("--baseline", action="store_true", help="also time the one-module build")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child, args.baseline)))
        return 0
    for name in args.models.split(","):
        with tempfile.TemporaryDirectory(prefix="lamina-cache-") as cache:
            cold = run_child(name, cache, args.jobs, args.baseline)
            warm = run_child(name, cache, args.jobs, False)
        print(report(name, cold, warm), flush=True)
        if name in BARS and "wall" in cold:
            bar = BARS[name]
            verdict = "meets" if cold["wall"] <= bar else "misses"
            print(
                f"  {name} cold compile {cold['wall']:.2f}s wall ({cold['cpu']:.2f}s cpu) "
                f"{verdict} the {bar:.0f}s bar"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
