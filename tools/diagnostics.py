"""Diagnostics of lamina-opt and the `--verify-diagnostics` checker.

A `Diagnostic` is one message at a source line. `expected_diagnostics` reads the
`// expected-error {{...}}` annotations of a file the way mlir-opt does (`@+N`, `@-N`,
`@above`, `@below`), and `check_diagnostics` pairs them with what was produced: every
expectation must be met by a diagnostic of its severity on its line whose message contains
the expected text, and every produced diagnostic must be expected.
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from lamina.errors import LaminaWarning

SEVERITIES = ("error", "warning", "note", "remark")

_ANNOTATION = re.compile(
    r"expected-(?P<severity>error|warning|note|remark)"
    r"(?:\s*@(?P<offset>[+-]\d+|above|below))?"
    r"\s*\{\{(?P<message>.*?)\}\}"
)


@dataclass(frozen=True)
class Diagnostic:
    """A message about the input, at a 1-based line and column (0 when unknown)."""

    severity: str
    message: str
    file: str
    line: int
    column: int = 0

    def __str__(self) -> str:
        place = self.file
        if self.line:
            place += f":{self.line}:{self.column}" if self.column else f":{self.line}"
        return f"{place}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class Expectation:
    """An `expected-<severity> {{message}}` annotation, resolved to the line it targets."""

    severity: str
    message: str
    line: int
    annotation_line: int


def expected_diagnostics(text: str, first_line: int = 1) -> list[Expectation]:
    """The annotations in `text`, whose first line has number `first_line`."""
    expectations: list[Expectation] = []
    lines = text.splitlines()
    for index, source_line in enumerate(lines):
        line = first_line + index
        for match in _ANNOTATION.finditer(source_line):
            offset = match["offset"]
            if offset is None:
                target = line
            elif offset == "above":
                target = line - 1
            elif offset == "below":
                target = line + 1
            else:
                target = line + int(offset)
            expectations.append(
                Expectation(match["severity"], match["message"].strip(), target, line)
            )
    return expectations


def check_diagnostics(
    file: str, expectations: list[Expectation], produced: list[Diagnostic]
) -> list[str]:
    """Mismatches between expected and produced diagnostics, as error lines; empty if none."""
    unmatched = list(produced)
    problems: list[str] = []
    for expected in expectations:
        hit = next(
            (
                d
                for d in unmatched
                if d.severity == expected.severity
                and d.line == expected.line
                and expected.message in d.message
            ),
            None,
        )
        if hit is None:
            problems.append(
                f"{file}:{expected.annotation_line}: error: expected {expected.severity} "
                f'"{expected.message}" at line {expected.line} was not produced'
            )
        else:
            unmatched.remove(hit)
    problems.extend(
        f"{d.file}:{d.line}:{d.column}: error: unexpected {d.severity}: {d.message}"
        for d in unmatched
    )
    return problems


@contextmanager
def printing_warnings(file: str) -> Iterator[None]:
    """Prints each `LaminaWarning` issued inside as `<file>: warning: <message>` on stderr
    when it is issued (so before an error that may follow); other warnings go their usual
    way."""
    show_other = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
        if isinstance(message, LaminaWarning):
            print(f"{file}: warning: {message.message}", file=sys.stderr)
        else:
            show_other(message, category, *args, **kw)

    with warnings.catch_warnings():
        warnings.simplefilter("always", LaminaWarning)
        warnings.showwarning = show
        yield
