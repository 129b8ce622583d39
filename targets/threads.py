"""How many threads a device's parallel loops run on (a fact both codegen, fixed in an AOT
bundle's object, and the host JIT need), and what threading a loop costs and gains there."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from lamina.errors import DeviceError, LaminaError
from lamina.targets import Device, load_device


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


@dataclass(frozen=True)
class ThreadCosts:
    """What threading a loop costs and gains on a device (its `[threads]` table; the
    defaults below where a device does not say), read by the per-nest cost model
    (codegen/llvm_parallel_cost.py)."""

    handoff_ns: float = 4000.0
    """A call of the pool on 2 threads against running the loop inline, workers awake."""
    ops_per_ns: float = 4.0
    """Loop-level ops one core runs per ns in the models' loop bodies (a vector op is one)."""
    cache_gbs: float = 90.0
    """Bytes per ns one core's loads and stores move from its own caches (L1 / L2)."""
    core_gbs: float = 20.0
    """Memory bandwidth one core reaches streaming from DRAM (GB/s = bytes per ns)."""
    all_cores_gbs: float = 28.0
    """Memory bandwidth all cores reach together."""
    cache_bytes: int = 8 << 20
    """A nest whose buffers fit in this (the last-level cache) is not bandwidth-bound."""


def thread_costs(device: Device) -> ThreadCosts:
    """The device's `ThreadCosts`: its `[threads]` keys over the defaults, the cache size
    its l3; an unknown key or a non-positive value is a `DeviceError` naming the device."""
    table = dict(device.extra.get("threads", {}))
    known = {f.name for f in fields(ThreadCosts)} - {"cache_bytes"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise DeviceError(f"unknown [threads] keys {unknown}", where=device.source or device.name)
    if any(not isinstance(v, int | float) or v <= 0 for v in table.values()):
        raise DeviceError(
            "[threads] values must be positive numbers", where=device.source or device.name
        )
    return ThreadCosts(**{k: float(v) for k, v in table.items()}, cache_bytes=device.l3_bytes)
