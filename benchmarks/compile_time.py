"""Compile time of the light models by stage, and the ResNet-50 bar (<= 10 s).

    .venv/bin/python -m lamina.benchmarks.compile_time [--models resnet50,squeezenet]
        [--jobs 2] [--baseline]

Each model compiles in a fresh process (`lamina.compile(model, threads=1)`) with an empty
object cache (`$LAMINA_CACHE_DIR` set to a new temporary directory: a cold compile, as on
a fresh CI machine), then once more in another fresh process on that cache (warm: every
nest object is a cache hit). Printed per model: wall seconds of the cold compile, its CPU
seconds (this process and its worker processes: the machine is shared, so wall time
swings with others' load, CPU time much less), the front end (import + the graph-to-loop
passes), the LLVM stages (`llvm-emit` split_llvm, `llvm-objects` the nests' objects,
`llvm-load` MCJIT), nests called / distinct, and the warm wall seconds. With
`--baseline` the same process also times the one-module build the JIT used before
(`optimize(emit_llvm(module), O3)` + MCJIT on the same lowered module) and prints
baseline LLVM seconds / new cold LLVM seconds, side by side in one run.
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

BAR_MODEL, BAR_SECONDS = "resnet50", 10.0


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def measure(name: str, baseline: bool) -> dict[str, Any]:
    """One compile of `name` in this process (its cache is whatever $LAMINA_CACHE_DIR says)."""
    import lamina
    from lamina.tools.models import light_model

    model = light_model(name)
    start, cpu = time.perf_counter(), cpu_seconds()
    compiled = lamina.compile(model, threads=1)
    result: dict[str, Any] = {
        "wall": time.perf_counter() - start,
        "cpu": cpu_seconds() - cpu,
        "front": sum(v for k, v in compiled.stats.seconds.items() if k != "llvm"),
        "llvm": compiled.stats.seconds["llvm"],
        **compiled.function.jit.seconds,
        "calls": compiled.function.jit.llvm_module.calls,
        "nests": len(compiled.function.jit.llvm_module.nests),
    }
    if baseline:
        result["baseline-llvm"] = _one_module_seconds(compiled.function.jit.module)
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
    line = (
        f"{name:14s} cold {cold['wall']:6.1f}s (cpu {cold['cpu']:6.1f}s)  front "
        f"{cold['front']:5.1f}s  emit {cold['llvm-emit']:5.1f}s  objects "
        f"{cold['llvm-objects']:5.1f}s  load {cold['llvm-load']:4.1f}s  nests "
        f"{cold['calls']:3d}/{cold['nests']:3d}  warm {warm['wall']:5.1f}s"
    )
    if "baseline-llvm" in cold:
        ratio = cold["baseline-llvm"] / cold["llvm"]
        line += f"  one-module llvm {cold['baseline-llvm']:6.1f}s = {ratio:4.1f}x"
    return line


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
        if name == BAR_MODEL and "wall" in cold:
            verdict = "meets" if cold["wall"] <= BAR_SECONDS else "misses"
            print(
                f"  {BAR_MODEL} cold compile {cold['wall']:.1f}s {verdict} the {BAR_SECONDS:.0f}s bar"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
