"""Where in a TOML description text an error is: `path:line` for syntax errors and keys."""

from __future__ import annotations

import re
import tomllib

from lamina.errors import DeviceError

_TOML_LINE = re.compile(r"^(?P<message>.*) \(at line (?P<line>\d+), column \d+\)$")


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
