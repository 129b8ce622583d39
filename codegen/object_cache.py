"""Object files for LLVM IR texts: content-addressed on disk, compiled in parallel.

    objects = compile_objects(split.nests.values(), device)   # list[bytes], in order
    with ObjectBuilder(device) as builder:                    # or text by text, compiled
        split = split_llvm(module, device, on_nest=builder.add)   # while codegen goes on
        objects = builder.objects()

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
`$LAMINA_COMPILE_JOBS`, else the cores this process may run on; 1 compiles here), each
running `llvm_target.compile_object` (strings in, bytes out). Identical texts are compiled
once.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import multiprocessing
import os
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
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
        return sum(1 for _ in self._objects())

    def evict(self, limit: int) -> int:
        """Remove least recently used entries until the cache holds at most `limit` bytes;
        returns how many went. Another process removing the same file is no error."""
        entries: list[tuple[float, int, str]] = []
        for entry in self._objects():
            with contextlib.suppress(OSError):
                stat = entry.stat()
                entries.append((stat.st_mtime, stat.st_size, entry.path))
        total = sum(size for _, size, _ in entries)
        removed = 0
        for _, size, path in sorted(entries):
            if total <= limit:
                break
            with contextlib.suppress(OSError):
                os.unlink(path)
                removed += 1
            total -= size
        return removed

    def _objects(self) -> Iterator[os.DirEntry[str]]:
        """The `<key[:2]>/<key>.o` entries on disk, read with os.scandir: a whole scan runs
        after every compile that built an object, and `Path.glob` with a stat per `Path`
        cost twice as much or more (2000 entries, best of 20: 7.6-9.1 -> 3.5-3.6 ms)."""
        if self.directory is None:
            return
        with contextlib.suppress(OSError), os.scandir(self.directory) as shards:
            for shard in shards:
                if not shard.is_dir():
                    continue
                with contextlib.suppress(OSError), os.scandir(shard.path) as files:
                    yield from (f for f in files if f.name.endswith(".o"))


def default_jobs() -> int:
    """Worker processes for compiling: `$LAMINA_COMPILE_JOBS`, else the cores this process
    may run on; a bad value is a `LaminaError`."""
    configured = os.environ.get("LAMINA_COMPILE_JOBS", "").strip()
    if not configured:
        return len(os.sched_getaffinity(0))
    if not configured.isdigit() or int(configured) < 1:
        raise LaminaError(f"LAMINA_COMPILE_JOBS must be a positive integer, got '{configured}'")
    return int(configured)


class ObjectBuilder:
    """Objects for LLVM IR texts handed over one at a time (`add`: as codegen emits them),
    each from `cache` (default: `default_cache_dir()`) or compiled in one of `jobs` worker
    processes while the caller goes on (1 job: compiled in `add`); `objects()` waits for
    them, stores the new ones in the cache and returns one per text, in the order added.
    `reloc` is the relocation model ("static" for the JIT, "pic" for objects linked into
    shared libraries). Used as a context manager, it stops its workers on the way out."""

    def __init__(
        self,
        device: Device,
        opt_level: int = DEFAULT_OPT_LEVEL,
        *,
        cache: ObjectCache | None = None,
        jobs: int | None = None,
        reloc: str = "static",
    ) -> None:
        target_machine(device)  # a bad device fails here, with a DeviceError
        self.cache = cache if cache is not None else ObjectCache(default_cache_dir())
        self.device = device
        self.opt_level = opt_level
        self.reloc = reloc
        self.target = (device.triple, device.cpu, device.feature_string, opt_level, reloc)
        self.workers = jobs or default_jobs()
        if multiprocessing.current_process().daemon:  # daemons have no children
            self.workers = 1
        self.keys: list[str] = []
        self.found: dict[str, bytes] = {}
        self.building: dict[str, Future[bytes]] = {}
        self.compiled = False
        self.pool: ProcessPoolExecutor | None = None

    def add(self, text: str) -> None:
        key = self.cache.key(text, self.device, self.opt_level, self.reloc)
        self.keys.append(key)
        if key in self.found or key in self.building:
            return
        data = self.cache.get(key)
        self.compiled |= data is None
        if data is not None:
            self.found[key] = data
        elif self.workers <= 1:
            self.found[key] = self._store(key, compile_object(text, *self.target))
        else:
            if self.pool is None:
                context = multiprocessing.get_context("fork")  # workers inherit LLVM's set-up
                self.pool = ProcessPoolExecutor(self.workers, mp_context=context)
            self.building[key] = self.pool.submit(compile_object, text, *self.target)

    def objects(self) -> list[bytes]:
        for key, future in self.building.items():
            self.found[key] = self._store(key, future.result())
        self.building.clear()
        self.close()
        if self.compiled:
            self.cache.evict(max_cache_bytes())
        return [self.found[k] for k in self.keys]

    def _store(self, key: str, data: bytes) -> bytes:
        self.cache.put(key, data)
        return data

    def close(self) -> None:
        """Stop the workers (waiting for them, so that their CPU time is counted)."""
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
            self.pool = None

    def __enter__(self) -> ObjectBuilder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def compile_objects(
    texts: Iterable[str],
    device: Device,
    opt_level: int = DEFAULT_OPT_LEVEL,
    *,
    cache: ObjectCache | None = None,
    jobs: int | None = None,
    reloc: str = "static",
) -> list[bytes]:
    """One object per text (in order), as `ObjectBuilder` makes them; the biggest texts go
    first, so that no worker is left with a big one at the end."""
    texts = list(texts)
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    jobs = min(jobs or default_jobs(), len(texts))
    with ObjectBuilder(device, opt_level, cache=cache, jobs=jobs, reloc=reloc) as builder:
        for i in order:
            builder.add(texts[i])
        built = dict(zip(order, builder.objects(), strict=True))
    return [built[i] for i in range(len(texts))]
