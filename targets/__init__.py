"""Device descriptions: what codegen needs to know about a target, read from data files.

Each device is one `targets/<name>.toml` file; adding a device (cortex-a76, hexagon-v73,
...) is adding a file. Keys the loader does not know stay available in `Device.extra`
(e.g. `hvx_bytes`, `vtcm_bytes` for a DSP), so a new back end can read its own keys
without touching this module.

    name = "x86-64-avx512"
    kind = "cpu"
    triple = "x86_64-unknown-linux-gnu"
    cpu = "x86-64-v4"
    features = ["+avx512f", "+fma"]
    vector_bits = 512
    cores = 2
    [cache]
    l1d = 32768
    l2 = 1048576
    l3 = 33554432

Devices are looked up by name in the directories of `$LAMINA_DEVICE_PATH` (a
colon-separated list, searched first, so a user's file may stand in for a packaged one) and
then in this package; a name ending in `.toml` is a path to a description file.

A value `"detect"` asks the machine lamina runs on: LLVM for the triple, CPU name and
features; the OS for the core count and cache sizes (the `[fallback]` table is used when
the OS does not say). Only the `host` device should use it.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lamina.errors import DeviceError
from lamina.plugins import plugin_device_directories
from lamina.targets.toml_text import line_of, read_toml

_DIR = Path(__file__).parent
_DETECT = "detect"
_KNOWN_KEYS = {"name", "kind", "triple", "cpu", "features", "vector_bits", "cores", "cache"}


@dataclass(frozen=True)
class CacheSizes:
    """The per-core data caches (bytes) a GEMM's blocks are sized for; the defaults are
    those of `targets/x86-64-avx512.toml` (Zen 4's)."""

    l1d: int = 32 * 1024
    l2: int = 1024 * 1024


DEFAULT_CACHES = CacheSizes()


@dataclass(frozen=True)
class Device:
    """One compilation target: a CPU (or DSP/GPU) with its ISA features and memory sizes."""

    name: str
    kind: str
    triple: str
    cpu: str
    features: tuple[str, ...]
    vector_bits: int
    cores: int
    l1d_bytes: int
    l2_bytes: int
    l3_bytes: int
    extra: Mapping[str, Any] = field(default_factory=dict[str, Any])
    source: str = ""
    """What `load_device` was given for it (a name or a .toml path): what reloads it."""

    @property
    def feature_string(self) -> str:
        """The features as LLVM's target machine takes them: `+avx2,+fma,-prefer-256-bit`."""
        return ",".join(self.features)

    @property
    def caches(self) -> CacheSizes:
        """The data caches the GEMM blockings size their blocks for: the description's,
        the default ones where it gives none."""
        return CacheSizes(self.l1d_bytes or DEFAULT_CACHES.l1d, self.l2_bytes or DEFAULT_CACHES.l2)

    @property
    def vector_lanes_f32(self) -> int:
        """How many f32 lanes fill one native vector register."""
        return max(1, self.vector_bits // 32)


DEVICE_PATH_VARIABLE = "LAMINA_DEVICE_PATH"


def device_directories() -> list[Path]:
    """Where device names are looked up: `$LAMINA_DEVICE_PATH`'s directories, then those of
    the installed backend plugins (plugins.py), then the package's."""
    user = [Path(d) for d in os.environ.get(DEVICE_PATH_VARIABLE, "").split(os.pathsep) if d]
    return [*user, *plugin_device_directories(), _DIR]


def device_files() -> dict[str, Path]:
    """Each known device name and its description file (the first found on the path;
    `soc-*.toml` describe SoCs, not devices)."""
    found: dict[str, Path] = {}
    for directory in device_directories():
        for path in sorted(directory.glob("*.toml")) if directory.is_dir() else []:
            if not path.stem.startswith("soc-"):
                found.setdefault(path.stem, path)
    return found


def known_devices() -> list[str]:
    """Names of the devices that have a description file on the device path."""
    return sorted(device_files())


def device_file(name: str) -> Path:
    """The description file of the device `name` (a name on the path, or a .toml path);
    `DeviceError` for an unknown name, with the nearest known ones."""
    if name.endswith(".toml"):
        if not Path(name).is_file():
            raise DeviceError("no such device description file", where=name)
        return Path(name)
    files = device_files()
    if name not in files:
        close = difflib.get_close_matches(name, files, 1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise DeviceError(
            f"unknown device '{name}'{hint} (known devices: {', '.join(sorted(files))}; "
            f"more in ${DEVICE_PATH_VARIABLE} directories)"
        )
    return files[name]


@functools.cache
def load_device(name: str) -> Device:
    """The device described by `<name>.toml` on the device path, or by the file `name` when
    it ends in `.toml`; `DeviceError` for an unknown name or a bad description (naming file
    and line)."""
    path = device_file(name)
    text, data = read_toml(path)
    try:
        return replace(_device_from_data(data, str(path)), source=name)
    except DeviceError as e:
        raise _at_key_line(e, text) from None


def _at_key_line(error: DeviceError, text: str) -> DeviceError:
    """The error at the line of the key it names in backquotes (`features`), if any."""
    key = re.search(r"`(\w+)`", error.message)
    line = line_of(text, rf"^\s*{key[1]}\s*=") if key else None
    if line is not None and error.where is not None:
        error.where = f"{error.where}:{line}"
    return error


def _device_from_data(data: dict[str, Any], where: str) -> Device:
    fallback: dict[str, Any] = data.get("fallback", {})
    cache: dict[str, Any] = data.get("cache", {})
    missing = [k for k in ("name", "triple", "cpu") if k not in data]
    if missing:
        raise DeviceError(f"device description lacks {', '.join(missing)}", where=where)
    features = data.get("features", [])
    if features == _DETECT:
        features = _host_features()
    elif isinstance(features, str):
        features = [f for f in features.split(",") if f]
    if not isinstance(features, list | tuple):
        raise DeviceError(f"`features` must be a list of strings, not {features!r}", where=where)
    features = [str(f) for f in features]  # pyright: ignore[reportUnknownVariableType]
    malformed = [f for f in features if not re.fullmatch(r"[+-][A-Za-z0-9._-]+", f)]
    if malformed:
        raise DeviceError(
            f"`features` must read '+name' or '-name' (as LLVM takes them): {malformed}",
            where=where,
        )
    vector_bits = data.get("vector_bits", fallback.get("vector_bits", 128))
    if vector_bits == _DETECT:
        vector_bits = _vector_bits_of(features) or fallback.get("vector_bits", 128)
    cores = data.get("cores", 1)
    if cores == _DETECT:
        cores = os.cpu_count() or fallback.get("cores", 1)
    sizes = {
        level: _cache_bytes(level, cache.get(level), fallback.get(level))
        for level in ("l1d", "l2", "l3")
    }
    try:
        return Device(
            name=str(data["name"]),
            kind=str(data.get("kind", "cpu")),
            triple=_host_triple() if data["triple"] == _DETECT else str(data["triple"]),
            cpu=_host_cpu() if data["cpu"] == _DETECT else str(data["cpu"]),
            features=tuple(str(f) for f in features),
            vector_bits=int(vector_bits),
            cores=int(cores),
            l1d_bytes=sizes["l1d"],
            l2_bytes=sizes["l2"],
            l3_bytes=sizes["l3"],
            extra={k: v for k, v in data.items() if k not in _KNOWN_KEYS | {"fallback"}},
        )
    except (TypeError, ValueError) as e:
        raise DeviceError(f"bad device description: {e}", where=where) from None


def _cache_bytes(level: str, value: object, fallback: object) -> int:
    if value == _DETECT:
        detected = _sysfs_cache_bytes(level)
        return detected if detected is not None else int(str(fallback or 0))
    return int(str(value if value is not None else fallback or 0))


def _sysfs_cache_bytes(level: str) -> int | None:
    """The per-core size of a cache level as Linux reports it for cpu0, None if unknown."""
    wanted = {"l1d": ("1", "Data"), "l2": ("2", "Unified"), "l3": ("3", "Unified")}[level]
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            lvl = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        if (lvl, kind) == wanted:
            scale = {"K": 1024, "M": 1024 * 1024, "G": 1024**3}.get(size[-1:], 1)
            return int(size.rstrip("KMG")) * scale
    return None


def _llvm() -> Any:
    import llvmlite.binding as llvm

    llvm.initialize_all_targets()
    llvm.initialize_all_asmprinters()
    return llvm


def _host_cpu() -> str:
    return str(_llvm().get_host_cpu_name())


def _host_triple() -> str:
    return str(_llvm().get_process_triple())


def _host_features() -> list[str]:
    flat = str(_llvm().get_host_cpu_features().flatten())
    return [f for f in flat.split(",") if f.startswith("+")]


def _vector_bits_of(features: list[str]) -> int | None:
    """The widest vector registers the features give, None when no known ISA says."""
    enabled = {f[1:] for f in features if f.startswith("+")}
    for feature, bits in (
        ("avx512f", 512),
        ("avx2", 256),
        ("avx", 256),
        ("sse2", 128),
        ("neon", 128),
        ("hvx-length128b", 1024),
    ):
        if feature in enabled:
            return bits
    return None


def is_aarch64(device: Device) -> bool:
    """Whether the device's triple is an AArch64 one (little- or big-endian)."""
    return device.triple.split("-")[0] in ("aarch64", "arm64", "aarch64_be")


def has_dotprod(device: Device) -> bool:
    """Whether the device enables the Armv8.2 dot-product instructions."""
    return "+dotprod" in device.features


def has_vnni(device: Device) -> bool:
    """Whether the device is x86-64 with the AVX-512 VNNI int8 dot products (`vpdpbusd`)."""
    return device.triple.startswith("x86_64") and "+avx512vnni" in device.features


def has_avx2(device: Device) -> bool:
    """Whether the device is x86-64 with AVX2, named or implied by AVX-512 (`+avx512f`, as
    the x86-64-v4 devices list it)."""
    enabled = {"+avx2", "+avx512f"} & set(device.features)
    return device.triple.startswith("x86_64") and bool(enabled)


def has_avx512bw(device: Device) -> bool:
    """Whether the device is x86-64 with the AVX-512 byte and word instructions."""
    return device.triple.startswith("x86_64") and "+avx512bw" in device.features


def is_opencl(device: Device) -> bool:
    """Whether the device runs OpenCL kernels (kind `opencl` or `gpu`) rather than objects."""
    return device.kind in ("opencl", "gpu")


HVX_FEATURE = "+hvx-length128b"
"""The feature of Hexagon HVX in 128-byte mode, what the `hvx` dialect's ops need."""


def has_hvx128(device: Device) -> bool:
    """Whether the device has 128-byte HVX vectors."""
    return HVX_FEATURE in device.features
