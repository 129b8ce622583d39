"""How many threads a device's parallel loops run on: a fact both codegen (fixed in an AOT
bundle's object) and the host JIT need."""

from __future__ import annotations

import os

from lamina.errors import LaminaError
from lamina.targets import load_device


def thread_count(device: str = "host", threads: int | None = None) -> int:
    """Threads for parallel loops: `threads`, else $LAMINA_NUM_THREADS, else the device's
    cores; a bad value is a `LaminaError`."""
    if threads is None:
        env = os.environ.get("LAMINA_NUM_THREADS", "").strip()
        if not env:
            return load_device(device).cores
        if not env.isdigit():
            raise LaminaError(f"LAMINA_NUM_THREADS must be a positive integer, got '{env}'")
        threads = int(env)
    if threads < 1:
        raise LaminaError(f"the number of threads must be at least 1, got {threads}")
    return threads
