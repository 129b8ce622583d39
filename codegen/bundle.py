"""What an AOT bundle directory holds, as both bundle writers (codegen/aot.py for CPUs,
codegen/aot_hexagon.py for Hexagon DSPs) and the tools that run bundles (runtime/qemu.py,
lamina-run) see it: the `Bundle` of its `bundle.json` and a `TensorSpec` per tensor."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from lamina.codegen.compile_stats import CompileStats
from lamina.codegen.llvm_target import DEFAULT_OPT_LEVEL
from lamina.errors import LaminaError

MANIFEST = "bundle.json"


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of a compiled model: its ONNX name, shape (-1 for a dynamic
    dim), numpy dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize

    def describe(self) -> str:
        return f"{self.dtype}{self.shape_text()}"

    def shape_text(self) -> str:
        """`[?,16]`: the shape as the driver prints it."""
        return f"[{','.join('?' if d < 0 else str(d) for d in self.shape)}]"

    @property
    def is_static(self) -> bool:
        return all(d >= 0 for d in self.shape)

    def matches(self, shape: tuple[int, ...]) -> bool:
        """Whether an array of `shape` fits: the same rank and static dims."""
        return len(shape) == len(self.shape) and all(
            d < 0 or d == n for d, n in zip(self.shape, shape, strict=True)
        )

    def check(self, value: Any, what: str) -> np.ndarray:
        """`value` as a C-contiguous array of this spec; a clear `LaminaError` otherwise."""
        array = np.asarray(value)
        if array.dtype != np.dtype(self.dtype) or not self.matches(array.shape):
            raise LaminaError(
                f"{what} '{self.name}' takes {self.describe()}, got "
                f"{array.dtype}[{','.join(map(str, array.shape))}]"
            )
        return np.ascontiguousarray(array)


@dataclass(frozen=True)
class BundleOptions:
    """What a bundle writer (codegen/aot.py, aot_fat.py) is told beside the loop-level
    module(s) and device(s): the entry point `name` (a C identifier), the tensors' names,
    LLVM's `opt_level`, `cflags` appended to the CPU driver's CFLAGS, which also link it
    (e.g. `-fsanitize=address,undefined`; Hexagon takes none), and the `stats` that get
    the `llvm` seconds and that the bundle carries."""

    name: str
    input_names: Sequence[str]
    output_names: Sequence[str]
    opt_level: int = DEFAULT_OPT_LEVEL
    cflags: Sequence[str] = ()
    stats: CompileStats | None = None


@dataclass
class Bundle:
    """What a bundle directory holds (its `bundle.json`); `stats` only right after compiling."""

    directory: Path
    name: str
    device: str
    triple: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    weights_bytes: int
    arena_bytes: int
    threads: int
    shape_checks: list[str] | None = None
    """A dynamic model's shape function's check messages; None: it has no shape function."""
    device_file: str = ""
    """The absolute path of the device's description file, which reloads it by path."""
    variants: list[dict[str, Any]] | None = None
    """A fat bundle's variants (codegen/aot_fat.py), baseline first; None: one device."""
    segments: list[dict[str, Any]] | None = None
    """An SoC bundle's segments (codegen/aot_soc.py), in the order they run."""
    stats: CompileStats | None = field(default=None, compare=False)

    @property
    def executable(self) -> Path:
        return self.directory / "run"

    def manifest(self) -> dict[str, Any]:
        data = asdict(replace(self, stats=None))  # stats may hold a progress callback
        del data["directory"], data["stats"]
        return data

    @classmethod
    def load(cls, directory: str | Path) -> Bundle:
        """The bundle in `directory`, from its manifest."""
        path = Path(directory) / MANIFEST
        try:
            data = json.loads(path.read_text())
            specs = {
                key: [TensorSpec(t["name"], tuple(t["shape"]), t["dtype"]) for t in data[key]]
                for key in ("inputs", "outputs")
            }
            return cls(Path(directory), **{**data, **specs})
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise LaminaError(f"not a lamina bundle: {e}", where=str(directory)) from None
