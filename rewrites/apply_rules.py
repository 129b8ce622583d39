"""`apply-rules`: applies rewrite rules written in the rewrite language (`*.rw`).

    lamina-opt model.mlir -p 'apply-rules{set=graph-default}'
    lamina-opt model.mlir -p 'apply-rules{file="my_rules.rw"}'

A set `<level>-<name>` is the file `rewrites/<level>/<name>.rw` (dashes in the name become
underscores), so `graph-default` is `rewrites/graph/default.rw`. After the pass no rule of
the set matches any more (rules apply greedily until a fixed point), and graph ops whose
results are all unused are erased.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriteWalker,
    RewritePattern,
)

from lamina.errors import RewriteRuleError
from lamina.parser.rewrites import load_rules
from lamina.parser.rewrites_compile import CompiledRule, RuleSetPattern, compile_rule
from lamina.rewrites.graph.fold_if import InlineConstantIf

RULES_DIR = Path(__file__).parent

_CACHE: dict[Path, tuple[float, list[CompiledRule]]] = {}

PYTHON_PATTERNS: dict[str, list[type[RewritePattern]]] = {
    "graph-fold-constants": [InlineConstantIf],
    "graph-default": [InlineConstantIf],
}
"""Python patterns that run with a rule set's rules (what the language cannot say)."""


def rule_set_path(name: str) -> Path:
    """The file of a rule set: `graph-default` -> rewrites/graph/default.rw."""
    level, _, rest = name.partition("-")
    path = RULES_DIR / level / f"{rest.replace('-', '_')}.rw"
    if not rest or not path.is_file():
        known = sorted(
            f"{p.parent.name}-{p.stem.replace('_', '-')}" for p in RULES_DIR.glob("*/*.rw")
        )
        raise RewriteRuleError(f"unknown rule set '{name}'; known sets: {', '.join(known)}")
    return path


def compile_rule_file(path: str | Path) -> list[CompiledRule]:
    """The compiled rules of a file and its includes; cached until a file changes."""
    path = Path(path)
    key = path.resolve()
    stamp = _newest_stamp(key)
    cached = _CACHE.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    rules = [compile_rule(rule) for rule in load_rules(path)]
    _CACHE[key] = (stamp, rules)
    return rules


def _newest_stamp(path: Path) -> float:
    try:
        return max(p.stat().st_mtime for p in [path, *path.parent.glob("*.rw")])
    except OSError:
        return 0.0


def apply_rules(
    module: ModuleOp, rules: list[CompiledRule], patterns: Sequence[RewritePattern] = ()
) -> dict[str, int]:
    """Applies `rules` (and `patterns`) to a fixed point; returns how often each rule fired."""
    ops = sum(1 for _ in module.walk())
    pattern = RuleSetPattern(rules, max_rewrites=50 * ops + 1000)
    walker = PatternRewriteWalker(
        GreedyRewritePatternApplier([pattern, *patterns]), apply_recursively=True
    )
    try:
        walker.rewrite_module(module)
    except Exception:
        if pattern.error is not None:
            raise pattern.error from None
        raise
    return pattern.applied


@dataclass(frozen=True)
class ApplyRulesPass(ModulePass):
    """Applies the rules of a rule file (`file`) or of a named rule set (`set`)."""

    name = "apply-rules"

    file: str | None = None
    """A `.rw` file."""

    set: str | None = None
    """A rule set shipped with lamina, e.g. `graph-default`."""

    verbose: bool = False
    """Print, to stderr, how often each rule fired and how long the pass took."""

    def __post_init__(self) -> None:
        if self.file is not None or self.set is not None:
            self.rules()  # a broken rule file fails the pipeline before any IR is read

    def rules(self) -> list[CompiledRule]:
        if (self.file is None) == (self.set is None):
            raise RewriteRuleError("apply-rules needs exactly one of file=... and set=...")
        path = Path(self.file) if self.file is not None else rule_set_path(str(self.set))
        return compile_rule_file(path)

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        start = time.perf_counter()
        patterns = [p() for p in PYTHON_PATTERNS.get(str(self.set), [])]
        counts = apply_rules(op, self.rules(), patterns)
        if self.verbose:
            import sys

            elapsed = (time.perf_counter() - start) * 1e3
            fired = ", ".join(f"{name} x{n}" for name, n in sorted(counts.items()))
            print(f"apply-rules: {elapsed:.1f} ms; {fired or 'no rule fired'}", file=sys.stderr)
