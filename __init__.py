"""lamina: a compiler for running trained models on edge CPUs, GPUs and DSPs."""

from lamina.errors import LaminaError, ModelImportError, UnsupportedError, UnsupportedOpError

__all__ = ["LaminaError", "ModelImportError", "UnsupportedError", "UnsupportedOpError"]
