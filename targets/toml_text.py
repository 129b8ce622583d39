"""Reading a TOML description, and where in its text an error is: `path:line` for syntax
errors and keys."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from lamina.errors import DeviceError

_TOML_LINE = re.compile(r"^(?P<message>.*) \(at line (?P<line>\d+), column \d+\)$")


def read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    """The text of a description file and its TOML data; `DeviceError` (naming the file,
    and the line of a syntax error) when it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8")
        return text, tomllib.loads(text)
    except UnicodeDecodeError as e:
        raise DeviceError(f"not UTF-8 text (byte {e.start})", where=str(path)) from None
    except OSError as e:
        raise DeviceError(f"cannot read: {e.strerror}", where=str(path)) from None
    except tomllib.TOMLDecodeError as e:
        raise toml_error(e, str(path)) from None


def toml_error(error: tomllib.TOMLDecodeError, path: str) -> DeviceError:
    """A TOML syntax error as `path:line: error: message`."""
    match = _TOML_LINE.match(str(error))
    if match is None:
        return DeviceError(str(error), where=path)
    return DeviceError(match["message"], where=f"{path}:{match['line']}")


def line_of(text: str, pattern: str, start: int = 1) -> int | None:
    """The number of the first line at or after `start` that matches regex `pattern`."""
    for number, line in enumerate(text.splitlines()[start - 1 :], start):
        if re.search(pattern, line):
            return number
    return None
