"""Back-end plugins: installed packages that add devices, passes and segment runtimes to
lamina without editing it, through the entry-point group `lamina.backends` (as
onnxruntime's execution providers, TVM's BYOC and Arm NN's backends add theirs):

    # the plugin's pyproject.toml
    [project.entry-points."lamina.backends"]
    ort = "lamina_ort_backend:BACKEND"           # a `Backend`

A backend contributes
- `device_directories`: folders of device and SoC `.toml` files, searched after
  `$LAMINA_DEVICE_PATH` and before lamina's own (targets/__init__.py);
- `runtimes`: runtime name -> `compile(module, device) -> kernel`: a device of kind
  `runtime` with `runtime = "<name>"` in its file runs the graph-level segments that a
  partition (`graph-partition`, an SoC unit naming the device) gives it through it
  (compiler.py `segment_kernel`); the kernel takes the segment's inputs as numpy arrays
  and returns its results.

Not yet: passes and codegen of a plugin's own (its devices run lamina's pipeline, or its
runtime). Plugins are strictly opt-in: a plugin runtime runs only segments placed on a unit that
names its device; lamina never falls back to one. A plugin that fails to load is a
`LaminaError` naming it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from lamina.errors import LaminaError

ENTRY_POINT_GROUP = "lamina.backends"


@dataclass(frozen=True)
class Backend:
    """What one plugin adds (see the module docstring)."""

    name: str
    device_directories: tuple[Path, ...] = ()
    runtimes: Mapping[str, Callable[[Any, Any], Any]] = field(
        default_factory=dict[str, Callable[[Any, Any], Any]]
    )


@functools.cache
def backends() -> tuple[Backend, ...]:
    """The installed plugins' backends, in entry-point name order."""
    found: list[Backend] = []
    for entry in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            backend = entry.load()
        except Exception as e:  # noqa: BLE001 (any failure of a third-party import)
            raise LaminaError(
                f"backend plugin '{entry.name}' ({entry.value}) failed to load: "
                f"{type(e).__name__}: {e}"
            ) from None
        if not isinstance(backend, Backend):
            raise LaminaError(
                f"backend plugin '{entry.name}' ({entry.value}) is a "
                f"{type(backend).__name__}, not a lamina.plugins.Backend"
            )
        found.append(backend)
    return tuple(found)


def plugin_device_directories() -> list[Path]:
    return [d for backend in backends() for d in backend.device_directories]


def plugin_runtime(name: str) -> Callable[[Any, Any], Any] | None:
    """The runtime `name` of an installed plugin, None if no plugin has it."""
    return next((b.runtimes[name] for b in backends() if name in b.runtimes), None)


def plugin_names() -> list[str]:
    return [backend.name for backend in backends()]
