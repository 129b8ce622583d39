"""Instructions and packets per MAC of SqueezeNet as a Hexagon bundle under qemu-hexagon:
the int8 QDQ model (onnxruntime's `quantize_static`, as tests/test_quantized_models.py
builds it) against the fp32 one.

    python -m lamina.benchmarks.hexagon_instructions [--models int8 fp32] [--top 8]

Each model is compiled as a hexagon-v66-hvx128 bundle, run once under qemu-hexagon with
lamina's instruction-counting plugin (runtime/qemu_count.py: whole packets as QEMU executes
them, and their instructions, by function) and checked against onnxruntime (int8: top-1
equal and >= 99% of the outputs within one quantization step, tools/quantized.py; fp32:
at the outputs' scale, tools/models.py). MACs are the model's Conv / Gemm / MatMul multiply-accumulates
(tools/macs.py). The counts cover the whole program, the driver's reading of weights and
inputs included; "model" is the share inside the model's entry point and its loop nests
(`<name>.nest<k>`), the rest is the runtime's routines (memcpy, roundevenf, expf, ...) and
the driver; "vrmpy" and "+=sfmpy" the shares inside functions holding an HVX int8 dot
product or an f32 multiply-add (from the disassembly; the fp32 model has 28 such nests for
its 26 convolutions, in the int8 one the dequantize-scale steps hold them too). Nests carry
no operator names: the hottest functions are listed with the multiply-accumulate
instructions each holds. A count is what qemu executed, not cycles of a device.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import onnx

from lamina.benchmarks.emulated_models import onnxruntime_run
from lamina.compiler import compile_bundle
from lamina.errors import LaminaError
from lamina.runtime.qemu import run_bundle
from lamina.runtime.qemu_count import Counts, InstructionCount
from lamina.targets import load_device
from lamina.tools.macs import model_macs
from lamina.tools.models import light_model, output_mismatch, random_inputs, with_logits
from lamina.tools.quantized import calibrated, quantized_mismatch

DEVICE = "hexagon-v66-hvx128"
MODELS = {
    "int8": lambda: calibrated(with_logits(light_model("squeezenet"))),
    "fp32": lambda: with_logits(light_model("squeezenet")),
}
MAC_INSTRUCTIONS = {
    "vrmpy": re.compile(r"\+= vrmpy\("),
    "+=sfmpy": re.compile(r"\+= sfmpy\(r\d+,r\d+\)"),
    "+=mpyi": re.compile(r"\+= mpyi\(r\d+,r\d+\)"),
}
"""Multiply-accumulate instructions on registers, as llvm-objdump prints them: HVX int8 dot
products, f32 multiply-adds, i32 multiply-adds (of data, or of addresses)."""
_FUNCTION = re.compile(r"^[0-9a-f]+ <(.+)>:$")


def mac_instructions(executable: Path) -> dict[str, Counter[str]]:
    """For each function of the Hexagon executable, how many of each `MAC_INSTRUCTIONS`
    its code holds (from `llvm-objdump -d` with the device's CPU and HVX features)."""
    device = load_device(DEVICE)
    command = ["llvm-objdump", "-d", f"--mcpu={device.cpu}", f"--mattr={device.feature_string}"]
    listing = subprocess.run([*command, str(executable)], capture_output=True, text=True)
    kinds: dict[str, Counter[str]] = {}
    current: Counter[str] = Counter()
    for line in listing.stdout.splitlines():
        if (function := _FUNCTION.match(line)) is not None:
            current = kinds.setdefault(function.group(1), Counter())
        for kind, pattern in MAC_INSTRUCTIONS.items():
            current[kind] += len(pattern.findall(line))
    return kinds


def check(model: onnx.ModelProto, got: list[np.ndarray], want: list[np.ndarray]) -> str:
    """ "ok", or why the outputs do not match onnxruntime's."""
    if any(n.op_type == "QuantizeLinear" for n in model.graph.node):
        return quantized_mismatch(model, got, want) or "ok"
    mismatches = [output_mismatch(g, w) for g, w in zip(got, want, strict=True)]
    return next((m for m in mismatches if m is not None), "ok")


def share(count: InstructionCount, names: set[str] | None = None, prefix: str = "") -> float:
    """The share of the instructions executed in `names` or functions starting with
    `prefix`."""
    chosen = [
        c
        for name, c in count.functions.items()
        if (names is not None and name in names) or (prefix and name.startswith(prefix))
    ]
    return sum(chosen, Counts(0, 0)).instructions / count.total.instructions


def bench(label: str, top: int) -> list[str]:
    """The summary row of one model and the lines of its hottest functions."""
    model = MODELS[label]()
    feeds = random_inputs(model)
    want, _ = onnxruntime_run(model, feeds, 1)
    macs = model_macs(model)
    name = f"squeezenet_{label}"
    with tempfile.TemporaryDirectory(prefix="lamina-hexagon-count-") as scratch:
        out = Path(scratch) / name
        try:
            compile_bundle(model, DEVICE, out, name=name)
            run = run_bundle(out, feeds, count_instructions=True, timeout_s=3600)
        except LaminaError as e:
            return [f"{label:<6} {e}"]
        kinds = mac_instructions(out / "run")
    count = run.instructions
    assert count is not None
    total = count.total
    holding = {kind: {f for f, k in kinds.items() if k[kind]} for kind in ("vrmpy", "+=sfmpy")}
    lines = [
        f"{label:<6} {check(model, run.outputs, want):<5} {macs / 1e6:>8.1f} "
        f"{total.packets / 1e6:>9.1f} {total.instructions / 1e6:>9.1f} "
        f"{total.packets / macs:>11.3f} {total.instructions / macs:>10.3f} "
        f"{total.instructions / total.packets:>9.2f} "
        f"{share(count, {name}, name + '.'):>6.1%} {share(count, holding['vrmpy']):>6.1%} "
        f"{share(count, holding['+=sfmpy']):>8.1%}"
    ]
    hottest = sorted(count.functions.items(), key=lambda item: -item[1].instructions)[:top]
    for function, counts in hottest:
        holds = ", ".join(f"{kind} x{n}" for kind, n in kinds.get(function, Counter()).items() if n)
        lines.append(
            f"    {function:<44} {counts.instructions / total.instructions:>6.1%}  "
            f"{counts.instructions / counts.packets:>5.2f}/packet  {holds or '-'}"
        )
    return lines


HEADER = (
    f"{'model':<6} {'check':<5} {'MACs M':>8} {'packets M':>9} {'instr M':>9} "
    f"{'packets/MAC':>11} {'instr/MAC':>10} {'instr/pkt':>9} {'model':>6} {'vrmpy':>6} "
    f"{'+=sfmpy':>8}"
)


def main() -> None:
    parser = argparse.ArgumentParser(description="SqueezeNet instructions per MAC on Hexagon")
    parser.add_argument("--models", nargs="*", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--top", type=int, default=8, help="hottest functions listed")
    args = parser.parse_args()
    print(f"SqueezeNet as {DEVICE} bundles under qemu-hexagon, one call, counted by function")
    print(HEADER)
    for line in (line for label in args.models for line in bench(label, args.top)):
        print(line, flush=True)


if __name__ == "__main__":
    main()
