"""mlir-opt's pass instrumentation flags for lamina-opt: IR dumps around passes and the
`--time-passes` report.

- `--pass-pipeline='builtin.module(a,b{x=1})'` is the same pipeline as `-p a,b{x=1}`
  (`pipeline_spec`); lamina's passes all run on the module, so no other anchor is taken;
- `IRDumps` prints the IR to stderr before / after the passes named by
  `--print-ir-before=` / `--print-ir-after=` (comma lists), after every pass
  (`--print-ir-after-all`, `--print-between-passes`), or after the passes that changed it
  (`--print-ir-after-change`), each under mlir-opt's `// -----// IR Dump ...` header;
- `PhaseTimer` keeps the wall time of each phase of a run (start-up, read, parse, verify,
  each pass, print, write) and reports it as `--mlir-timing`'s tree, the rows adding up to
  the wall time of the process (what no phase covers is the `other` row).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from lamina.errors import LaminaError

_ANCHOR = "builtin.module("


def add_instrument_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of this module, with their help."""
    parser.add_argument(
        "--pass-pipeline",
        metavar="PIPELINE",
        help="the pipeline in MLIR's textual form, builtin.module(a,b{x=1}) (same as -p a,b{x=1})",
    )
    parser.add_argument(
        "--print-ir-before",
        metavar="PASSES",
        default="",
        help="print the IR to stderr before each of these passes (comma list)",
    )
    parser.add_argument(
        "--print-ir-after",
        metavar="PASSES",
        default="",
        help="print the IR to stderr after each of these passes (comma list)",
    )
    parser.add_argument(
        "--print-ir-after-all",
        action="store_true",
        help="print the IR to stderr after every pass",
    )
    parser.add_argument(
        "--print-ir-after-change",
        action="store_true",
        help="print the IR to stderr after each pass that changed it",
    )


def pipeline_spec(passes: str, pass_pipeline: str | None) -> str:
    """The `-p` form of the pipeline given by `-p` or by `--pass-pipeline` (not both)."""
    if pass_pipeline is None:
        return passes
    if passes:
        raise LaminaError("give the pipeline either with -p or with --pass-pipeline, not both")
    text = pass_pipeline.strip()
    if not text.startswith(_ANCHOR) or not text.endswith(")"):
        raise LaminaError(
            f"bad pass pipeline '{pass_pipeline}': expected builtin.module(...) around the "
            "passes (lamina's passes run on the module)"
        )
    return text[len(_ANCHOR) : -1].strip()


def _names(comma_list: str) -> set[str]:
    return {name.strip() for name in comma_list.split(",") if name.strip()}


@dataclass
class IRDumps:
    """Which IR dumps the command line asked for, and the text they compare against."""

    before: set[str]
    after: set[str]
    after_all: bool
    after_change: bool
    last_text: str | None = None

    @staticmethod
    def from_args(args: argparse.Namespace) -> IRDumps:
        return IRDumps(
            before=_names(args.print_ir_before),
            after=_names(args.print_ir_after),
            after_all=args.print_ir_after_all or args.print_between_passes,
            after_change=args.print_ir_after_change,
        )

    @property
    def wanted(self) -> bool:
        return bool(self.before or self.after or self.after_all or self.after_change)

    def check_names(self, known: Callable[[str], bool]) -> None:
        """Refuse a pass name that is not a pass (it would silently print nothing)."""
        unknown = sorted(n for n in self.before | self.after if not known(n))
        if unknown:
            raise LaminaError(f"--print-ir-before/after: unknown pass '{unknown[0]}'")

    def between(
        self,
        previous: ModulePass | None,
        module: ModuleOp,
        following: ModulePass | None,
        text_of: Callable[[ModuleOp], str],
    ) -> None:
        """The dumps due after `previous` and before `following`."""
        if previous is not None:
            self._after(previous.name, module, text_of)
        if following is not None and following.name in self.before:
            self._print(f"IR Dump Before {following.name}", text_of(module))
        if following is not None and self.after_change:
            self.last_text = text_of(module)

    def _after(self, name: str, module: ModuleOp, text_of: Callable[[ModuleOp], str]) -> None:
        if self.after_all or name in self.after:
            self._print(f"IR Dump After {name}", text_of(module))
        elif self.after_change:
            text = text_of(module)
            if text != self.last_text:
                self._print(f"IR Dump After {name}", text)

    @staticmethod
    def _print(header: str, text: str) -> None:
        print(f"// -----// {header} //----- //", file=sys.stderr)
        print(text, file=sys.stderr, end="" if text.endswith("\n") else "\n")


def process_started() -> float:
    """Seconds since this process started (from /proc on Linux; 0 where unknown)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22, counted after the command name
        started = start_ticks / os.sysconf("SC_CLK_TCK")
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


@dataclass
class PhaseTimer:
    """Wall seconds per phase path (`("pipeline", "plan-memory")`), in first-seen order.
    `origin` is this process's start on the `perf_counter` clock."""

    origin: float
    seconds: dict[tuple[str, ...], float] = field(default_factory=dict[tuple[str, ...], float])

    @staticmethod
    def started_now() -> PhaseTimer:
        """A timer whose first phase, `start-up`, is the process's life until now."""
        now = time.perf_counter()
        timer = PhaseTimer(origin=now - process_started())
        timer.add(("start-up (Python, imports)",), now - timer.origin)
        return timer

    def add(self, path: tuple[str, ...], seconds: float) -> None:
        """Count `seconds` for `path` and for each of its parents."""
        for depth in range(1, len(path) + 1):
            self.seconds[path[:depth]] = self.seconds.get(path[:depth], 0.0) + seconds

    @contextmanager
    def phase(self, *path: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(path, time.perf_counter() - start)

    def report(self) -> str:
        """mlir-opt's execution time report; the top-level rows add up to `Total`."""
        total = time.perf_counter() - self.origin
        covered = sum(s for path, s in self.seconds.items() if len(path) == 1)
        rows = [*self.seconds.items(), (("other",), max(0.0, total - covered))]
        rule = "===" + "-" * 73 + "==="
        lines = [
            rule,
            " " * 26 + "... Execution time report ...",
            rule,
            f"  Total Execution Time: {total:.4f} seconds",
            "",
            "  ----Wall Time----  ----Name----",
        ]
        for path, seconds in [*rows, (("Total",), total)]:
            percent = 100.0 * seconds / total if total else 0.0
            indent = "  " * (len(path) - 1)
            lines.append(f"  {seconds:8.4f} ({percent:5.1f}%)  {indent}{path[-1]}")
        return "\n".join(lines) + "\n"
