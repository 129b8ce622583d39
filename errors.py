"""The errors lamina reports to its users.

Every failure a user can cause (bad IR, a broken model, an unsupported operator or
device) is a `LaminaError`. Tools catch it once at their boundary and print
`<where>: error: <message>`, exiting 1, never a traceback; `error_text` words an error
met while compiling a model that way.
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import NameLoc
from xdsl.ir import Operation


class LaminaError(Exception):
    """A failure caused by the input, reported as `<where>: error: <message>`.

    `where` names the place: `file:line:col`, a file, or a model node. `op` is the IR
    operation at fault, when there is one, so a driver can name its source location.
    """

    def __init__(self, message: str, where: str | None = None, op: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.op = op

    def __str__(self) -> str:
        return f"{self.where}: error: {self.message}" if self.where else f"error: {self.message}"


def error_text(error: LaminaError, model: str) -> str:
    """`<model>: error: <message>`, the message naming the ONNX node at fault (from the
    error's op) and the error's own `where` unless it already says them; a `where` inside
    the model file (`model.onnx:...`) replaces `<model>`."""
    message = error.message
    op = error.op
    if isinstance(op, Operation) and isinstance(op.location, NameLoc):
        node = op.location.desc.data
        if f"node '{node}'" not in message:
            message = f"node '{node}' ({op.name}): {message}"
    where = error.where or model
    if not where.startswith(model):
        if f"'{where}'" not in message:
            message = f"{where}: {message}"
        where = model
    return f"{where}: error: {message}"


class ModelImportError(LaminaError):
    """A model file that cannot be read or converted into the graph dialect."""


class UnsupportedError(LaminaError):
    """A valid input using something lamina does not support yet.

    The message always starts with "not supported: ".
    """

    def __init__(self, what: str, where: str | None = None, op: object | None = None) -> None:
        super().__init__(f"not supported: {what}", where, op)


class UnsupportedOpError(UnsupportedError):
    """An operator (or operator variant) with no implementation on the chosen path."""


def all_unsupported(errors: Sequence[UnsupportedError]) -> UnsupportedError:
    """One error reporting each of `errors` (at least one): the first alone, or

        not supported: 3 nodes:
          node 'a' (Foo): 'Foo' is not an operator of ONNX
          ...

    at the first error's place and op.
    """
    first = errors[0]
    if len(errors) == 1:
        return first
    reasons = "".join(f"\n  {e.message.removeprefix('not supported: ')}" for e in errors)
    return UnsupportedOpError(f"{len(errors)} nodes:{reasons}", first.where, first.op)


class RewriteRuleError(LaminaError):
    """A rewrite rule file with a syntax error or an unknown op, attribute or binding."""


class DeviceError(LaminaError):
    """An unknown device, or a device whose toolchain is missing on this machine."""


class LaminaWarning(UserWarning):
    """Something lamina changed or ignored in its input to accept it, issued with
    `warnings.warn`; tools print it as `<where>: warning: <message>`."""

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self) -> str:
        return (
            f"{self.where}: warning: {self.message}" if self.where else f"warning: {self.message}"
        )
