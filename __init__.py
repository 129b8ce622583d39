"""lamina: a compiler for running trained models on edge CPUs, GPUs and DSPs.

    import lamina
    model = lamina.compile("model.onnx", device="host")   # a callable on numpy arrays
    module = lamina.import_onnx("model.onnx")              # the graph-level IR

The public names load on first use, so `import lamina.<submodule>` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lamina.compiler import CompiledModel, compile
    from lamina.errors import LaminaError, ModelImportError, UnsupportedError, UnsupportedOpError
    from lamina.parser.onnx import import_onnx

_PUBLIC = {
    "CompiledModel": "lamina.compiler",
    "compile": "lamina.compiler",
    "LaminaError": "lamina.errors",
    "ModelImportError": "lamina.errors",
    "UnsupportedError": "lamina.errors",
    "UnsupportedOpError": "lamina.errors",
    "import_onnx": "lamina.parser.onnx",
}

__all__ = [
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
