"""What an AOT bundle directory holds, as both bundle writers (codegen/aot.py for CPUs,
codegen/aot_hexagon.py for Hexagon DSPs) and the tools that run bundles (runtime/qemu.py,
lamina-run) see it: the `Bundle` of its `bundle.json` and a `TensorSpec` per tensor."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lamina.codegen.compile_stats import CompileStats
from lamina.errors import LaminaError

MANIFEST = "bundle.json"


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of a compiled model: its ONNX name, static shape, numpy dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize

    def describe(self) -> str:
        return f"{self.dtype}[{','.join(map(str, self.shape))}]"

    def check(self, value: Any, what: str) -> np.ndarray:
        """`value` as a C-contiguous array of this spec; a clear `LaminaError` otherwise."""
        array = np.asarray(value)
        if array.dtype != np.dtype(self.dtype) or array.shape != self.shape:
            raise LaminaError(
                f"{what} '{self.name}' takes {self.describe()}, got "
                f"{array.dtype}[{','.join(map(str, array.shape))}]"
            )
        return np.ascontiguousarray(array)


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
    stats: CompileStats | None = field(default=None, compare=False)

    @property
    def executable(self) -> Path:
        return self.directory / "run"

    def manifest(self) -> dict[str, Any]:
        data = asdict(self)
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
