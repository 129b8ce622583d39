"""SoC descriptions: the compute units of one chip and what moving data between them costs.

Each SoC is one `targets/soc-<name>.toml` file (`load_soc("phone")` reads
`targets/soc-phone.toml`; a path to a `.toml` file works too). The graph-partition pass
(lowering/partition.py) reads it to place each graph op on a unit.

    name = "phone"
    host_unit = "cpu"            # where graph inputs and outputs live
    [units.cpu]
    device = "cortex-a76"        # a targets/<device>.toml the unit's segments compile for
    ops = ["*"]                  # ONNX op types, fnmatch patterns ("QLinear*")
    exclude_ops = []             # patterns taken out of `ops`
    dtypes = ["f32", "i8"]       # MLIR element types of the tensors the unit handles
    gflops = { f32 = 40.0, i8 = 160.0 }   # attainable throughput per dtype
    memory_gbs = 20.0            # attainable memory bandwidth
    launch_us = 2.0              # fixed cost of running one op (kernel launch, call)
    [[transfers]]
    between = ["cpu", "gpu"]     # both directions
    latency_us = 30.0
    gbs = 20.0

Errors (unknown SoC, malformed TOML, a missing or ill-typed key, an unknown device) are
`DeviceError`s whose `where` is `file:line` when the line is known.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lamina.errors import DeviceError
from lamina.targets import device_directories, known_devices
from lamina.targets.toml_text import line_of, read_toml

_DIR = Path(__file__).parent
_PREFIX = "soc-"


@dataclass(frozen=True)
class Unit:
    """One compute unit: the device it compiles for, what it runs and how fast."""

    name: str
    device: str
    ops: tuple[str, ...]
    exclude_ops: tuple[str, ...]
    dtypes: tuple[str, ...]
    gflops: Mapping[str, float]
    memory_gbs: float
    launch_us: float

    def supports(self, op_type: str, dtypes: set[str]) -> bool:
        """Whether the unit runs ONNX `op_type` on tensors of element types `dtypes`."""
        matched = any(fnmatch.fnmatchcase(op_type, p) for p in self.ops)
        excluded = any(fnmatch.fnmatchcase(op_type, p) for p in self.exclude_ops)
        return matched and not excluded and dtypes <= set(self.dtypes)

    def seconds(self, flops: float, nbytes: float, dtype: str) -> float:
        """Roofline time of one op: launch + the larger of compute and memory time; a dtype
        without a figure runs at the unit's slowest one."""
        rate = self.gflops.get(dtype, min(self.gflops.values()))
        return self.launch_us * 1e-6 + max(flops / (rate * 1e9), nbytes / (self.memory_gbs * 1e9))


@dataclass(frozen=True)
class Link:
    """Moving tensors between two units: a fixed latency plus bytes over bandwidth."""

    latency_us: float
    gbs: float

    def seconds(self, nbytes: float) -> float:
        return self.latency_us * 1e-6 + nbytes / (self.gbs * 1e9)


@dataclass(frozen=True)
class Soc:
    """A chip: named units, the unit holding graph inputs/outputs, links between units."""

    name: str
    path: str
    host_unit: str
    units: Mapping[str, Unit]
    links: Mapping[frozenset[str], Link] = field(default_factory=dict[frozenset[str], Link])

    def transfer_seconds(self, source: str, dest: str, nbytes: float) -> float:
        """Time to move `nbytes` from unit `source` to `dest` (0 on the same unit); units
        without a direct link go through the host unit."""
        if source == dest:
            return 0.0
        link = self.links.get(frozenset((source, dest)))
        if link is not None:
            return link.seconds(nbytes)
        if self.host_unit in (source, dest):
            return float("inf")
        return self.transfer_seconds(source, self.host_unit, nbytes) + self.transfer_seconds(
            self.host_unit, dest, nbytes
        )


def soc_files() -> dict[str, Path]:
    """Each SoC name and its `soc-<name>.toml` (first found: `$LAMINA_DEVICE_PATH`, then
    the package)."""
    found: dict[str, Path] = {}
    for directory in device_directories():
        for path in sorted(directory.glob(f"{_PREFIX}*.toml")) if directory.is_dir() else []:
            found.setdefault(path.stem.removeprefix(_PREFIX), path)
    return found


def known_socs() -> list[str]:
    """Names of the SoCs that have a description file (`soc-<name>.toml`)."""
    return sorted(soc_files())


def load_soc(name: str) -> Soc:
    """The SoC `targets/soc-<name>.toml` (`name` may carry the `soc-` prefix, or be a path
    to a .toml file); `DeviceError` for an unknown name or a bad description."""
    if name.endswith(".toml"):
        path = Path(name)
    else:
        bare = name.removeprefix(_PREFIX)
        path = soc_files().get(bare, _DIR / f"{_PREFIX}{bare}.toml")
    if not path.is_file():
        raise DeviceError(f"unknown SoC '{name}' (known SoCs: {', '.join(known_socs())})")
    text, data = read_toml(path)
    return _Reader(text, str(path)).soc(data)


class _Reader:
    """Checks the TOML data of one SoC and builds it; errors name `file:line`."""

    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path

    def error(self, message: str, pattern: str | None = None, start: int = 1) -> DeviceError:
        line = line_of(self.text, pattern, start) if pattern else None
        return DeviceError(message, where=f"{self.path}:{line}" if line else self.path)

    def soc(self, data: dict[str, Any]) -> Soc:
        units_data = data.get("units")
        if not isinstance(units_data, dict) or not units_data:
            raise self.error("an SoC description needs a [units.<name>] table per unit")
        units = {str(n): self.unit(str(n), u) for n, u in units_data.items()}
        host_unit = data.get("host_unit", next(iter(units)))
        if host_unit not in units:
            raise self.error(f"host_unit '{host_unit}' is not a unit", r"^\s*host_unit\s*=")
        links: dict[frozenset[str], Link] = {}
        transfers = data.get("transfers", [])
        if not isinstance(transfers, list):
            raise self.error("`transfers` must be an array of tables", r"transfers")
        for k, entry in enumerate(transfers):
            pair, link = self.link(entry, units, k)
            links[pair] = link
        name = str(data.get("name", Path(self.path).stem.removeprefix(_PREFIX)))
        return Soc(name, self.path, str(host_unit), units, links)

    def unit(self, name: str, data: object) -> Unit:
        header = rf"^\s*\[units\.{re.escape(name)}\]"
        where = line_of(self.text, header) or 1
        if not isinstance(data, dict):
            raise self.error(f"unit '{name}' must be a table", header)
        device = data.get("device")
        if isinstance(device, str) and device.endswith(".toml"):
            device = str(Path(self.path).parent / device)  # relative to the SoC file
            if not Path(device).is_file():
                raise self.error(
                    f"unit '{name}': no device description file {device}",
                    r"^\s*device\s*=",
                    where,
                )
        elif not isinstance(device, str) or device not in known_devices():
            raise self.error(
                f"unit '{name}': unknown device {device!r} "
                f"(known devices: {', '.join(known_devices())})",
                r"^\s*device\s*=",
                where,
            )
        gflops = data.get("gflops", {})
        if (
            not isinstance(gflops, dict)
            or not gflops
            or not all(_positive(v) for v in gflops.values())
        ):
            raise self.error(
                f"unit '{name}': gflops must be a table of positive numbers per dtype",
                r"^\s*gflops\s*=",
                where,
            )
        numbers = {
            key: data.get(key, default)
            for key, default in (("memory_gbs", None), ("launch_us", 0.0))
        }
        for key, value in numbers.items():
            if not (_positive(value) or (key == "launch_us" and value == 0)):
                raise self.error(
                    f"unit '{name}': {key} must be a positive number, got {value!r}",
                    rf"^\s*{key}\s*=",
                    where,
                )
        return Unit(
            name=name,
            device=device,
            ops=self.strings(data, "ops", name, where, ["*"]),
            exclude_ops=self.strings(data, "exclude_ops", name, where, []),
            dtypes=self.strings(data, "dtypes", name, where, ["f32"]),
            gflops={str(k): float(v) for k, v in gflops.items()},
            memory_gbs=float(numbers["memory_gbs"]),
            launch_us=float(numbers["launch_us"]),
        )

    def strings(
        self, data: dict[str, Any], key: str, unit: str, where: int, default: list[str]
    ) -> tuple[str, ...]:
        value = data.get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(
                f"unit '{unit}': {key} must be a list of strings", rf"^\s*{key}\s*=", where
            )
        return tuple(str(v) for v in value)

    def link(
        self, entry: object, units: Mapping[str, Unit], index: int
    ) -> tuple[frozenset[str], Link]:
        starts = [n for n, line in enumerate(self.text.splitlines(), 1) if "[[transfers]]" in line]
        where = starts[index] if index < len(starts) else 1
        data: dict[str, Any] = entry if isinstance(entry, dict) else {}
        between = data.get("between")
        if not (isinstance(between, list) and len(between) == 2 and set(between) <= set(units)):
            raise self.error(
                f"transfer {index}: `between` must name two units of {', '.join(units)}",
                r"between|\[\[transfers\]\]",
                where,
            )
        latency, gbs = _number(data.get("latency_us", 0.0)), _number(data.get("gbs"))
        if latency is None or gbs is None or latency < 0 or gbs <= 0:
            raise self.error(
                f"transfer {index}: latency_us must be >= 0 and gbs > 0", r"gbs|latency", where
            )
        return frozenset(str(u) for u in between), Link(latency, gbs)


def _number(value: object) -> float | None:
    """`value` as a float when it is a TOML number (not a boolean), else None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0
