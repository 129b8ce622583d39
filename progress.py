"""Progress of long work (a compile's stages, a fleet's devices, conformance cases) on
stderr: a `tqdm` bar when stderr is a terminal, one plain line per step when it is piped
(so a log keeps every step), nothing when quiet.

    with Progress(len(cases), "conformance", quiet=args.quiet) as progress:
        for case in cases:
            progress.step(f"{case.name}: {status}")   # conformance: 3/120 Add_bcast: pass
"""

from __future__ import annotations

import os
import sys
from types import TracebackType
from typing import TextIO

from tqdm import tqdm


class Progress:
    """Counts steps of `total` (None: not known ahead) and reports each one."""

    def __init__(
        self, total: int | None, what: str, *, quiet: bool = False, stream: TextIO | None = None
    ) -> None:
        self.total, self.what, self.quiet, self.done = total, what, quiet, 0
        self.stream = sys.stderr if stream is None else stream
        terminal = not quiet and self.stream.isatty()
        columns, lines = _terminal_size(self.stream) if terminal else (0, 0)
        self.bar = (
            tqdm(total=total, desc=what, file=self.stream, ncols=columns, nrows=lines)
            if terminal
            else None
        )

    def step(self, message: str, count: int = 1) -> None:
        """`count` more steps done; `message` says which (and how it went)."""
        self.done += count
        if self.bar is not None:
            self.bar.set_postfix_str(message, refresh=False)
            self.bar.update(count)
        elif not self.quiet:
            of = f"/{self.total}" if self.total is not None else ""
            print(f"{self.what}: {self.done}{of} {message}", file=self.stream, flush=True)

    def note(self, message: str) -> None:
        """A line about what happens next (a long stage starting), without a step."""
        if self.bar is not None:
            self.bar.set_postfix_str(message)
        elif not self.quiet:
            print(f"{self.what}: {message}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _terminal_size(stream: TextIO) -> tuple[int, int]:
    """The terminal's columns and lines, 80 x 24 where it says 0 (a fresh pseudo-terminal),
    with which tqdm would draw nothing."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (OSError, ValueError):
        return 80, 24
    return size.columns or 80, size.lines or 24
