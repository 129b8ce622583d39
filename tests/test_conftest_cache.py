"""The suite never compiles into the user's object cache, and compiles in the test process."""

from __future__ import annotations

from pathlib import Path

from lamina.codegen.object_cache import default_cache_dir, default_jobs


def test_the_session_object_cache_is_temporary() -> None:
    directory = default_cache_dir()
    assert directory is not None
    assert not directory.is_relative_to(Path.home() / ".cache")
    assert "lamina-objects" in directory.name


def test_the_session_compiles_objects_in_the_test_process() -> None:
    assert default_jobs() == 1
