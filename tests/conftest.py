"""Shared test set-up: every test session compiles into a temporary object cache, never the
user's `~/.cache/lamina/objects` (stale machine code there could pass a test after a codegen
change); tests that need their own cache still set `LAMINA_CACHE_DIR` themselves."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def temporary_object_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    previous = os.environ.get("LAMINA_CACHE_DIR")
    os.environ["LAMINA_CACHE_DIR"] = str(tmp_path_factory.mktemp("lamina-objects"))
    yield
    if previous is None:
        del os.environ["LAMINA_CACHE_DIR"]
    else:
        os.environ["LAMINA_CACHE_DIR"] = previous
