"""The stages of one lamina-compile, reported as they finish (lamina/progress.py) and
summed for the closing line:

    lamina-compile: 1/9 import 0.05 s
    lamina-compile: 2/9 graph passes: apply-rules 0.12 s
    lamina-compile: 3/9 lowering: convert-graph-to-top 0.30 s
    ...
    lamina-compile: codegen: LLVM to an object file for cortex-a76 ...
    lamina-compile: 8/9 codegen: llvm 14.1 s
    lamina-compile: 9/9 link 0.9 s

A step is what `CompileStats.record` names: `import`, `pass-pipeline` (the passes built),
a pass of the pipeline, `verify` (the loop-level module checked), `llvm` (LLVM IR to the
object), and `link` for `--build`.
"""

from __future__ import annotations

from lamina.progress import Progress

STAGES = ("import", "graph passes", "lowering", "codegen", "link")
STEPS_BESIDE_PASSES = ("import", "pass-pipeline", "verify", "llvm")
"""The steps of one device's compile that are not passes of its pipeline."""


def stage_of(step: str) -> str:
    """The stage a recorded step belongs to."""
    if step in ("import", "link"):
        return step
    if step == "llvm":
        return "codegen"
    if step.startswith(("pass-pipeline", "apply-rules", "graph-")):
        return "graph passes"
    return "lowering"


class StageReporter:
    """Reports each step of a compile for `device`."""

    def __init__(self, progress: Progress, device: str) -> None:
        self.progress = progress
        self.device = device
        self.seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)

    def __call__(self, step: str, seconds: float) -> None:
        stage = stage_of(step)
        self.seconds[stage] += seconds
        what = stage if step == stage else f"{stage}: {step}"
        self.progress.step(f"{what} {seconds:.2f} s")
        if step == "verify":  # the last step before codegen
            self.progress.note(f"codegen: LLVM to an object file for {self.device} ...")

    def summary(self) -> str:
        """`import 0.05 s, graph passes 0.12 s, ...` for the stages that ran."""
        ran = [(stage, s) for stage, s in self.seconds.items() if s > 0 or stage != "link"]
        return ", ".join(f"{stage} {s:.2f} s" for stage, s in ran)
