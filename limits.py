"""Size limits checked before anything of that size is allocated: a model whose weights,
arena or inputs are larger than a limit gets a `LaminaError` naming the limit and the
environment variable that changes it, instead of an out-of-memory failure halfway.

| what            | variable               | default  |
|-----------------|------------------------|----------|
| weights         | `LAMINA_MAX_WEIGHTS_MB` | 4096 MB  |
| arena           | `LAMINA_MAX_ARENA_MB`   | 8192 MB  |
| random inputs   | `LAMINA_MAX_INPUT_MB`   | 1024 MB  |
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from lamina.errors import LaminaError


@dataclass(frozen=True)
class Limit:
    what: str
    variable: str
    default_mb: float

    def megabytes(self) -> float:
        text = os.environ.get(self.variable, "").strip()
        if not text:
            return self.default_mb
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if not value >= 0:
            raise LaminaError(f"${self.variable} must be a number of MB >= 0, not '{text}'")
        return value

    def check(self, nbytes: int, detail: str = "", where: str | None = None) -> None:
        """Raise when `nbytes` is over the limit; `detail` says what they are."""
        limit = self.megabytes()
        if nbytes > limit * 2**20:
            about = f" ({detail})" if detail else ""
            raise LaminaError(
                f"{self.what} too large: {nbytes / 2**20:.6g} MB{about}; the limit is "
                f"{limit:g} MB (${self.variable})",
                where=where,
            )


WEIGHTS = Limit("weights", "LAMINA_MAX_WEIGHTS_MB", 4096)
ARENA = Limit("arena", "LAMINA_MAX_ARENA_MB", 8192)
INPUTS = Limit("inputs", "LAMINA_MAX_INPUT_MB", 1024)
