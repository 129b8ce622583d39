"""The object cache (codegen/object_cache.py): checksummed entries, size-bounded LRU
eviction, and many processes filling one cache at once."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from lamina.codegen.object_cache import ObjectCache, compile_objects, max_cache_bytes
from lamina.errors import LaminaError
from lamina.targets import load_device

HOST = load_device("host")


def function_text(index: int) -> str:
    """A small LLVM IR module whose object differs with `index`."""
    return (
        f"define i32 @f{index}(i32 %x) {{\n"
        f"  %y = mul i32 %x, {index + 3}\n"
        f"  %z = add i32 %y, {index}\n"
        f"  ret i32 %z\n}}\n"
    )


def test_a_corrupt_entry_is_compiled_again_and_replaced(tmp_path: Path):
    text = function_text(1)
    (good,) = compile_objects([text], HOST, cache=ObjectCache(tmp_path), jobs=1)
    (entry,) = tmp_path.glob("*/*.o")
    entry.write_bytes(entry.read_bytes()[:-7] + b"garbage")  # same size, other bytes
    cache = ObjectCache(tmp_path)
    assert compile_objects([text], HOST, cache=cache, jobs=1) == [good]
    assert (cache.hits, cache.misses) == (0, 1)
    again = ObjectCache(tmp_path)
    assert compile_objects([text], HOST, cache=again, jobs=1) == [good]
    assert (again.hits, again.misses) == (1, 0)


def test_a_truncated_entry_is_a_miss(tmp_path: Path):
    cache = ObjectCache(tmp_path)
    compile_objects([function_text(2)], HOST, cache=cache, jobs=1)
    (entry,) = tmp_path.glob("*/*.o")
    entry.write_bytes(entry.read_bytes()[:40])
    cache = ObjectCache(tmp_path)
    compile_objects([function_text(2)], HOST, cache=cache, jobs=1)
    assert cache.misses == 1


def test_eviction_removes_the_least_recently_used_entries_first(tmp_path: Path):
    cache = ObjectCache(tmp_path)
    texts = [function_text(i) for i in range(4)]
    compile_objects(texts, HOST, cache=cache, jobs=1)
    paths = {t: cache.path(cache.key(t, HOST, 2, "static")) for t in texts}
    for age, text in enumerate(texts):  # texts[0] oldest ... texts[3] newest
        path = paths[text]
        assert path is not None
        stamp = time.time() - 100 + age
        os.utime(path, (stamp, stamp))
    cache.get(cache.key(texts[0], HOST, 2, "static"))  # a hit makes texts[0] the newest
    sizes = sorted(p.stat().st_size for p in paths.values() if p is not None)
    assert cache.evict(sizes[-1] + sizes[-2]) == 2
    kept = {t for t, p in paths.items() if p is not None and p.exists()}
    assert kept == {texts[0], texts[3]}


def test_the_size_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LAMINA_CACHE_MAX_MB", "1.5")
    assert max_cache_bytes() == 1536 * 1024
    for bad in ("lots", "nan", "-1"):
        monkeypatch.setenv("LAMINA_CACHE_MAX_MB", bad)
        with pytest.raises(LaminaError, match="LAMINA_CACHE_MAX_MB must be a number"):
            max_cache_bytes()


def test_a_full_cache_is_trimmed_after_a_compile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LAMINA_CACHE_MAX_MB", "0")
    objects = compile_objects([function_text(5)], HOST, cache=ObjectCache(tmp_path), jobs=1)
    assert objects[0] and not list(tmp_path.glob("*/*.o"))


def _fill(directory: str, seed: int, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    texts = [function_text((seed + i) % 6) for i in range(12)]
    objects = compile_objects(texts, HOST, cache=ObjectCache(Path(directory)), jobs=1)
    results.put({t: o for t, o in zip(texts, objects, strict=True)})


def test_processes_filling_one_cache_at_once_read_only_whole_objects(tmp_path: Path):
    expected = {
        function_text(i): o
        for i, o in enumerate(
            compile_objects([function_text(i) for i in range(6)], HOST, cache=ObjectCache(None))
        )
    }
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [context.Process(target=_fill, args=(str(tmp_path), s, results)) for s in range(6)]
    for worker in workers:
        worker.start()
    seen = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    for objects in seen:
        assert objects == {t: expected[t] for t in objects}
    assert not list(tmp_path.glob("*/*.tmp"))  # no half-written entry left behind
    cache = ObjectCache(tmp_path)
    compile_objects(list(expected), HOST, cache=cache, jobs=1)
    assert (cache.hits, cache.misses) == (6, 0)
