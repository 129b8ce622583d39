"""What a TFLite model is before it is read: its sources and how one is recognised, with
nothing heavy imported (`lamina-opt` and `lamina-run` ask this of every input file; the
importer, parser/tflite.py, and the `tflite` schema load only for a TFLite model)."""

from __future__ import annotations

import os
from typing import TypeGuard, cast

FILE_IDENTIFIER = b"TFL3"
"""Bytes 4..8 of every .tflite file."""

TFLiteSource = str | os.PathLike[str] | bytes


def is_tflite(data: bytes) -> bool:
    return data[4:8] == FILE_IDENTIFIER


def is_tflite_model(source: object) -> TypeGuard[TFLiteSource]:
    """Whether `source` is for the TFLite importer: bytes or a file whose bytes 4..8 are
    the file identifier TFL3 (whatever the file's extension), or a path ending in .tflite
    (the importer then says what is wrong with it)."""
    if isinstance(source, bytes):
        return is_tflite(source)
    if not isinstance(source, str | os.PathLike):
        return False
    path = os.fspath(cast("str | os.PathLike[str]", source))
    if path.endswith(".tflite"):
        return True
    try:
        with open(path, "rb") as file:
            return is_tflite(file.read(8))
    except OSError:
        return False
