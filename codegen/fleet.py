"""Fleet builds: one model, one AOT bundle (codegen/aot.py) per device class of a fleet.

    lamina-compile model.onnx --fleet fleet.toml -o out/
    lamina-compile a.onnx b.onnx c.onnx --fleet fleet.toml -o out/ --cluster local  # out/a/, ...

`fleet.toml` lists the device classes, each a `[[target]]` table naming a device
description (`device = "cortex-a76"`) or a unit of an SoC description (`soc = "phone"`,
`unit = "dsp"`), with an optional `name` (the bundle's subdirectory; default: the device,
or `<soc>-<unit>`):

    [[target]]
    device = "host"
    [[target]]
    name = "phone-dsp"
    soc = "phone"
    unit = "dsp"

Bundles are compiled in parallel (one process per target, at most `jobs`; with `--cluster
ADDRESS` on the workers of a Dask cluster, `--cluster local` one started here), each into a
content-addressed cache `out/.cache/<key>/`, key = sha256(model bytes, the device
description as loaded, the pass pipeline, the lamina version, the options), then copied to
`out/<name>/`. A target whose key is cached is not compiled again. `out/manifest.json`
records per target: device, status (`ok` / `failed` with the error), cache `hit` / `miss`,
the key, the pipeline and every file with its sha256 and size. One target failing does
not stop the others. A fleet file that is malformed or names an unknown device or SoC is
a `LaminaError` at `fleet.toml:line`.

Why Dask (distributed) for clusters rather than Ray: its `Client.get_executor()` is a
`concurrent.futures.Executor`, so a cluster build is the process-pool build with another
executor (same worker function, same cache, same manifest: tests/test_fleet.py checks the
artifacts are byte-identical); it is pure Python, a few MB, and runs anywhere Python does,
where Ray's wheels carry a C++ core of ~100 MB per platform.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import shutil
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from lamina.codegen.bundle import Bundle
from lamina.errors import DeviceError, LaminaError, error_text
from lamina.progress import Progress
from lamina.targets import Device, known_devices, load_device
from lamina.targets.soc import load_soc
from lamina.targets.toml_text import line_of, toml_error

MANIFEST = "manifest.json"
CACHE = ".cache"
CLUSTER_TIMEOUT_S = 30
"""How long connecting to a cluster's scheduler may take."""


BundleCompiler = Callable[..., Bundle]
"""`compile_bundle(model, device, directory, **options)`: the AOT path of the pipeline."""


@dataclass(frozen=True)
class FleetCompiler:
    """What a fleet build needs of the compile pipeline (compiler.py hands it down): the
    pass pipeline of a device (part of each bundle's cache key) and the AOT path. Both are
    module-level functions, so the worker processes receive them by name."""

    pipeline: Callable[[Device], str]
    bundle: BundleCompiler


@dataclass(frozen=True)
class FleetTarget:
    """One device class of a fleet: the bundle's name and the device it compiles for."""

    name: str
    device: str


def lamina_version() -> str:
    try:
        return metadata.version("lamina")
    except metadata.PackageNotFoundError:
        return "unknown"


def load_fleet(path: str) -> list[FleetTarget]:
    """The targets of fleet file `path`; errors are `LaminaError`s at `path:line`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as e:
        raise LaminaError(f"not UTF-8 text (byte {e.start})", where=path) from None
    except OSError as e:
        raise LaminaError(f"cannot read the fleet file: {e.strerror}", where=path) from None
    except tomllib.TOMLDecodeError as e:
        raise toml_error(e, path) from None
    entries = data.get("target")
    if not isinstance(entries, list) or not entries:
        raise LaminaError("a fleet needs at least one [[target]] table", where=path)
    starts = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "[[target]]"]
    targets: list[FleetTarget] = []
    for index, entry in enumerate(entries):
        start = starts[index] if index < len(starts) else 1
        try:
            targets.append(_target(entry, text, start, Path(path).parent))
        except LaminaError as e:
            line = e.where if e.where and e.where.isdigit() else start
            raise LaminaError(e.message, where=f"{path}:{line}") from None
    names = [t.name for t in targets]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        line = line_of(text, rf"^\s*name\s*=\s*\"{duplicate}\"") or 1
        raise LaminaError(f"two targets named '{duplicate}'", where=f"{path}:{line}")
    return targets


def _target(entry: object, text: str, start: int, folder: Path) -> FleetTarget:
    """One `[[target]]` table; a `LaminaError` whose `where` is the line number at fault.
    A `device` ending in .toml is a description file, relative to the fleet file's folder."""
    table: dict[str, Any] = entry if isinstance(entry, dict) else {}
    device, soc = table.get("device"), table.get("soc")
    if isinstance(soc, str):
        unit = table.get("unit")
        try:
            description = load_soc(soc)
        except DeviceError as e:
            raise LaminaError(e.message, where=_line(text, "soc", start)) from None
        if not isinstance(unit, str) or unit not in description.units:
            raise LaminaError(
                f"SoC '{soc}' has no unit {unit!r} (units: {', '.join(description.units)})",
                where=_line(text, "unit", start),
            )
        device, default = description.units[unit].device, f"{soc}-{unit}"
    elif isinstance(device, str) and device.endswith(".toml"):
        device, default = str(folder / device), Path(device).stem
        try:
            load_device(device)
        except DeviceError as e:
            message = f"device description {e.where}: {e.message}"
            raise LaminaError(message, where=_line(text, "device", start)) from None
    elif isinstance(device, str):
        if device not in known_devices():
            raise LaminaError(
                f"unknown device '{device}' (known devices: {', '.join(known_devices())})",
                where=_line(text, "device", start),
            )
        default = device
    else:
        raise LaminaError('a [[target]] needs `device = "<name>"` or `soc` and `unit`')
    name = table.get("name", default)
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise LaminaError(f"bad target name {name!r}", where=_line(text, "name", start))
    return FleetTarget(name, str(device))


def _line(text: str, key: str, start: int) -> str:
    return str(line_of(text, rf"^\s*{key}\s*=", start) or start)


def cache_key(model: bytes, device: str, pipeline: str, options: dict[str, Any]) -> str:
    """sha256 of everything a bundle depends on (the device as loaded: `detect` resolved)."""
    digest = hashlib.sha256(model)
    for part in (repr(load_device(device)), pipeline, lamina_version(), json.dumps(options)):
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()


def build_fleet(
    models: Sequence[str],
    fleet: str,
    out: str,
    compiler: FleetCompiler,
    *,
    jobs: int | None = None,
    options: dict[str, Any] | None = None,
    progress: bool = True,
    cluster: str | None = None,
) -> list[dict[str, Any]]:
    """Build every target of `fleet` for each of `models` (see the module docstring) with
    the compile pipeline `compiler`, every bundle on one pool or cluster, and return the
    manifests written: one model into `out/`, several each into `out/<its file stem>/`
    (with its own manifest and cache). `options`: `input_shapes`, `opt_level` of
    `compiler.bundle`; `progress` prints a progress bar on stderr; `cluster` (a Dask
    scheduler address, or `local`) builds on a cluster instead of this machine's pool."""
    targets = load_fleet(fleet)
    stems = [Path(m).stem for m in models]
    if len(set(stems)) != len(stems):
        raise LaminaError(f"a fleet of models whose file names repeat ({', '.join(models)})")
    roots = [Path(out)] if len(models) == 1 else [Path(out) / stem for stem in stems]
    plans = [
        _plan(m, root, targets, compiler, dict(options or {}))
        for m, root in zip(models, roots, strict=True)
    ]
    return _build(plans, compiler, jobs, progress, cluster)


@dataclass
class _Plan:
    """One model's fleet: its bytes, output root, a record per target, the cache misses."""

    model: str
    model_bytes: bytes
    root: Path
    options: dict[str, Any]
    records: dict[str, dict[str, Any]]
    pending: list[tuple[FleetTarget, Path]]


def _plan(
    model: str,
    root: Path,
    targets: list[FleetTarget],
    compiler: FleetCompiler,
    options: dict[str, Any],
) -> _Plan:
    try:
        model_bytes = Path(model).read_bytes()
    except OSError as e:
        raise LaminaError(f"cannot read the model: {e.strerror}", where=model) from None
    (root / CACHE).mkdir(parents=True, exist_ok=True)
    plan = _Plan(model, model_bytes, root, options, {}, [])
    for target in targets:
        passes = compiler.pipeline(load_device(target.device))
        key = cache_key(model_bytes, target.device, passes, options)
        plan.records[target.name] = {"device": target.device, "key": key, "pipeline": passes}
        cached = root / CACHE / key
        if (cached / "bundle.json").is_file():
            plan.records[target.name].update(status="ok", cache="hit", seconds=0.0)
        else:
            plan.records[target.name]["cache"] = "miss"
            plan.pending.append((target, cached))
    return plan


def _build(
    plans: list[_Plan],
    compiler: FleetCompiler,
    jobs: int | None,
    progress: bool,
    cluster: str | None,
) -> list[dict[str, Any]]:
    several = len(plans) > 1
    bar = Progress(sum(len(p.records) for p in plans), "fleet", quiet=not progress)
    for plan in plans:
        for name, record in plan.records.items():
            if record["cache"] == "hit":
                bar.step(f"{_label(plan, name, several)}: ok (cached)")
    pending = [(plan, target, cache) for plan in plans for target, cache in plan.pending]
    workers = max(1, min(jobs or os.cpu_count() or 1, len(pending)))
    with builders(cluster, workers) as pool:
        futures = {
            pool.submit(
                _build_one, compiler.bundle, plan.model, t.device, str(cache), plan.options
            ): (plan, t)
            for plan, t, cache in pending
        }
        for future in concurrent.futures.as_completed(futures):
            plan, target = futures[future]
            try:
                result = future.result()
            except Exception as e:  # a worker that died (killed, out of memory)
                result = {"status": "failed", "error": f"internal error: {e!r}"}
            plan.records[target.name].update(result)
            bar.step(f"{_label(plan, target.name, several)}: {_step_text(result)}")
    bar.close()
    manifests: list[dict[str, Any]] = []
    for plan in plans:
        for name, record in plan.records.items():
            if record["status"] == "ok":
                record["files"] = _install(plan.root / CACHE / record["key"], plan.root / name)
        manifests.append(_write_manifest(plan.root, plan.model, plan.model_bytes, plan.records))
    return manifests


def _label(plan: _Plan, target: str, several: bool) -> str:
    return f"{Path(plan.model).stem}/{target}" if several else target


@contextmanager
def builders(cluster: str | None, workers: int) -> Iterator[concurrent.futures.Executor]:
    """Where the bundles are built: this machine's process pool (`workers` processes), or
    the Dask cluster at `cluster` (`local`: one started here with `workers` worker
    processes), through Dask's concurrent.futures executor. Dask is the optional extra
    `lamina[cluster]`: imported only for a cluster build."""
    if cluster is None:
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as pool:
            yield pool
        return
    try:
        import distributed  # noqa: PLC0415 (the optional cluster engine)
    except ImportError:
        raise LaminaError(
            "--cluster needs the optional Dask engine: pip install 'lamina[cluster]'"
        ) from None
    local = None
    try:
        if cluster == "local":
            local = distributed.LocalCluster(  # dashboard_address=None: no dashboard (documented)
                n_workers=workers,
                threads_per_worker=1,
                dashboard_address=None,  # pyright: ignore[reportArgumentType]
            )
        client = distributed.Client(local or cluster, timeout=CLUSTER_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as e:
        if local is not None:
            local.close()
        raise LaminaError(f"cannot reach the cluster: {e}", where=cluster) from None
    try:
        yield client.get_executor(pure=False)
    finally:
        client.close()
        if local is not None:
            local.close()


def _step_text(result: dict[str, Any]) -> str:
    """`ok in 3.2 s`, or the failed status."""
    seconds = result.get("seconds")
    if result["status"] != "ok" or not isinstance(seconds, int | float):
        return str(result["status"])
    return f"ok in {seconds:.1f} s"


def _build_one(
    compile_bundle: BundleCompiler,
    model: str,
    device: str,
    directory: str,
    options: dict[str, Any],
) -> dict[str, Any]:
    """Worker: compile one bundle into `directory`; failures become a record, not a raise."""
    start = time.perf_counter()
    try:
        compile_bundle(model, device, directory, **options)
    except LaminaError as e:
        return {"status": "failed", "error": error_text(e, model)}
    except Exception as e:  # noqa: BLE001 (recorded in the manifest; the other targets go on)
        return {"status": "failed", "error": f"{model}: error: internal error: {e!r}"}
    return {"status": "ok", "seconds": round(time.perf_counter() - start, 3)}


def _install(cached: Path, destination: Path) -> list[dict[str, Any]]:
    """Copy a cached bundle to `destination` (replacing an older bundle); its file list."""
    if destination.exists():
        if not (destination / "bundle.json").is_file():
            raise LaminaError("exists and is not a lamina bundle", where=str(destination))
        shutil.rmtree(destination)
    shutil.copytree(cached, destination)
    return [
        {
            "path": str(path.relative_to(destination.parent)),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "bytes": path.stat().st_size,
        }
        for path in sorted(destination.iterdir())
        if path.is_file()
    ]


def _write_manifest(
    root: Path, model: str, model_bytes: bytes, records: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    manifest = {
        "model": model,
        "model_sha256": hashlib.sha256(model_bytes).hexdigest(),
        "lamina_version": lamina_version(),
        "targets": [{"name": name, **record} for name, record in records.items()],
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
