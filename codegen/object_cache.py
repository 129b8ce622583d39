"""Object files for LLVM IR texts: content-addressed on disk, compiled in parallel.

    objects = compile_objects(split.nests.values(), device)   # list[bytes], in order

The key of an object is the sha256 of its LLVM IR text, the device's triple, CPU and
features, the optimisation level and relocation model, LLVM's version, lamina's version,
the source of the code that turns IR into objects (codegen/llvm_target.py) and
`CACHE_FORMAT`; the file is `<dir>/<key[:2]>/<key>.o` under `$LAMINA_CACHE_DIR` (empty: no
disk cache) or `~/.cache/lamina/objects`. An entry is the object's sha256 followed by the
object, written to a temporary name and renamed, so a reader never sees half an object and
a corrupt entry (wrong checksum) is compiled again and replaced. The cache holds at most
`$LAMINA_CACHE_MAX_MB` (default 2048) MB: past that the least recently used entries go
(a hit refreshes an entry's time). An unreadable or read-only cache only costs a recompile.

Texts that are not cached are compiled in `jobs` worker processes (default:
`$LAMINA_COMPILE_JOBS`, else the cores this process may run on; 1 compiles here), each running `llvm_target.compile_object`
(strings in, bytes out). Identical texts are compiled once.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import multiprocessing
import os
import tempfile
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import llvmlite.binding as llvm

from lamina.codegen import llvm_target
from lamina.codegen.llvm_target import DEFAULT_OPT_LEVEL, compile_object, target_machine
from lamina.errors import LaminaError
from lamina.limits import Limit
from lamina.targets import Device

CACHE_FORMAT = "2"
"""Bumped when the layout of an entry changes."""
CACHE_DIR_VARIABLE = "LAMINA_CACHE_DIR"
"""Where the objects go (an empty value: no disk cache)."""
CACHE_SIZE = Limit("object cache", "LAMINA_CACHE_MAX_MB", 2048)
"""How large the cache may grow before eviction (`$LAMINA_CACHE_MAX_MB`, MB)."""
_CHECKSUM_BYTES = 32


@functools.cache
def _producer() -> str:
    """What, besides the key's other fields, decides the bytes of an object: lamina's
    version and the source of the IR -> object code."""
    try:
        version = metadata.version("lamina")
    except metadata.PackageNotFoundError:
        version = "unknown"
    source = Path(llvm_target.__file__).read_bytes()
    return f"{version}:{hashlib.sha256(source).hexdigest()}"


def max_cache_bytes() -> int:
    """`$LAMINA_CACHE_MAX_MB` in bytes; a bad value is a `LaminaError`."""
    return int(CACHE_SIZE.megabytes() * (1 << 20))


def default_cache_dir() -> Path | None:
    """`$LAMINA_CACHE_DIR` (None when set but empty), else `~/.cache/lamina/objects`."""
    configured = os.environ.get(CACHE_DIR_VARIABLE)
    if configured is not None:
        return Path(configured) if configured.strip() else None
    return Path.home() / ".cache" / "lamina" / "objects"


@dataclass
class ObjectCache:
    """Objects by key in `directory` (no disk cache when None); counts hits and misses."""

    directory: Path | None
    hits: int = 0
    misses: int = 0

    def key(self, text: str, device: Device, opt_level: int, reloc: str) -> str:
        fields = [
            CACHE_FORMAT,
            _producer(),
            ".".join(map(str, llvm.llvm_version_info)),
            device.triple,
            device.cpu,
            device.feature_string,
            str(opt_level),
            reloc,
            text,
        ]
        return hashlib.sha256("\0".join(fields).encode()).hexdigest()

    def path(self, key: str) -> Path | None:
        return None if self.directory is None else self.directory / key[:2] / f"{key}.o"

    def get(self, key: str) -> bytes | None:
        """The object of `key`, None when absent or corrupt (its checksum does not match)."""
        path = self.path(key)
        try:
            entry = path.read_bytes() if path is not None else b""
        except OSError:
            entry = b""
        data = entry[_CHECKSUM_BYTES:]
        if data and hashlib.sha256(data).digest() == entry[:_CHECKSUM_BYTES]:
            self.hits += 1
            with contextlib.suppress(OSError):
                os.utime(path)  # pyright: ignore[reportArgumentType] (path is set: data came from it)
            return data
        self.misses += 1
        return None

    def put(self, key: str, data: bytes) -> None:
        path = self.path(key)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".tmp") as f:
                f.write(hashlib.sha256(data).digest() + data)
            os.replace(f.name, path)
        except OSError:
            pass  # a read-only or full cache directory: the object is just not kept

    def entries(self) -> int:
        """Objects on disk."""
        return 0 if self.directory is None else sum(1 for _ in self.directory.glob("*/*.o"))

    def evict(self, limit: int) -> int:
        """Remove least recently used entries until the cache holds at most `limit` bytes;
        returns how many went. Another process removing the same file is no error."""
        if self.directory is None:
            return 0
        entries: list[tuple[float, int, Path]] = []
        for path in self.directory.glob("*/*.o"):
            with contextlib.suppress(OSError):
                stat = path.stat()
                entries.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        removed = 0
        for _, size, path in sorted(entries):
            if total <= limit:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                removed += 1
            total -= size
        return removed


def default_jobs() -> int:
    """Worker processes for compiling: `$LAMINA_COMPILE_JOBS`, else the cores this process
    may run on; a bad value is a `LaminaError`."""
    configured = os.environ.get("LAMINA_COMPILE_JOBS", "").strip()
    if not configured:
        return len(os.sched_getaffinity(0))
    if not configured.isdigit() or int(configured) < 1:
        raise LaminaError(f"LAMINA_COMPILE_JOBS must be a positive integer, got '{configured}'")
    return int(configured)


def compile_objects(
    texts: Iterable[str],
    device: Device,
    opt_level: int = DEFAULT_OPT_LEVEL,
    *,
    cache: ObjectCache | None = None,
    jobs: int | None = None,
    reloc: str = "static",
) -> list[bytes]:
    """One object per text (in order), from `cache` (default: `default_cache_dir()`) or
    compiled in `jobs` processes and then stored there; `reloc` is the relocation model
    ("static" for the JIT, "pic" for objects linked into shared libraries)."""
    cache = cache if cache is not None else ObjectCache(default_cache_dir())
    target_machine(device)  # a bad device fails here, with a DeviceError
    texts = list(texts)
    keys = [cache.key(t, device, opt_level, reloc) for t in texts]
    found: dict[str, bytes] = {}
    todo: dict[str, str] = {}
    for key, text in zip(keys, texts, strict=True):
        if key in found or key in todo:
            continue
        data = cache.get(key)
        if data is None:
            todo[key] = text
        else:
            found[key] = data
    target = (device.triple, device.cpu, device.feature_string, opt_level, reloc)
    for key, data in zip(todo, _compile_all(list(todo.values()), target, jobs), strict=True):
        cache.put(key, data)
        found[key] = data
    if todo:
        cache.evict(max_cache_bytes())
    return [found[k] for k in keys]


def _compile_all(
    texts: list[str], target: tuple[str, str, str, int, str], jobs: int | None
) -> list[bytes]:
    workers = min(jobs or default_jobs(), len(texts))
    if workers <= 1 or multiprocessing.current_process().daemon:  # daemons have no children
        return [compile_object(t, *target) for t in texts]
    # biggest first, so no worker is left with a big text at the end
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    context = multiprocessing.get_context("fork")  # workers inherit LLVM's initialisation
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = {i: pool.submit(compile_object, texts[i], *target) for i in order}
        return [futures[i].result() for i in range(len(texts))]
