"""lamina: a compiler for running trained models on edge CPUs, GPUs and DSPs.

    import lamina
    model = lamina.compile("model.onnx", device="host")   # a callable on numpy arrays
    module = lamina.import_onnx("model.onnx")              # the graph-level IR

The public names load on first use, so `import lamina.<submodule>` stays cheap.
"""

from __future__ import annotations

from importlib import import_module, metadata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lamina.compiler import compile
    from lamina.errors import LaminaError, ModelImportError, UnsupportedError, UnsupportedOpError
    from lamina.parser.onnx import import_onnx
    from lamina.runtime.compiled_model import CompiledModel

_PUBLIC = {
    "CompiledModel": "lamina.runtime.compiled_model",
    "compile": "lamina.compiler",
    "LaminaError": "lamina.errors",
    "ModelImportError": "lamina.errors",
    "UnsupportedError": "lamina.errors",
    "UnsupportedOpError": "lamina.errors",
    "import_onnx": "lamina.parser.onnx",
}


def _package_version() -> str:
    try:
        return metadata.version("lamina")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0.1.0"


__version__ = _package_version()
"""lamina's version, from the installed package's metadata ("0.1.0" without one)."""

__all__ = [
    "__version__",
    "CompiledModel",
    "LaminaError",
    "ModelImportError",
    "UnsupportedError",
    "UnsupportedOpError",
    "compile",
    "import_onnx",
]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'lamina' has no attribute '{name}'")
    return getattr(import_module(_PUBLIC[name]), name)
