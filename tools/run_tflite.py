"""lamina-run's TFLite side: a .tflite model's inputs and outputs, and LiteRT as the
reference runtime (`--compare litert`, from the `ai-edge-litert` test dependency)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from lamina.errors import LaminaError, UnsupportedError
from lamina.limits import INPUTS
from lamina.parser.tflite_model import TENSOR_DTYPES, TENSOR_TYPE_NAMES, read_tflite
from lamina.tools.run_io import InputSpec


def tflite_io(path: Path) -> tuple[list[InputSpec], list[str]]:
    """The specs of the model's inputs and the names of its outputs, in the model's order."""
    model, _ = read_tflite(path)
    specs: list[InputSpec] = []
    for index in model.inputs:
        tensor = model.tensors[index]
        dtype = TENSOR_DTYPES.get(tensor.type_code)
        if dtype is None:
            kind = TENSOR_TYPE_NAMES.get(tensor.type_code, f"#{tensor.type_code}")
            raise UnsupportedError(f"input '{tensor.name}' of type {kind}")
        specs.append((tensor.name, list(tensor.shape), dtype))
    total = sum(int(np.prod(dims, dtype=object)) * dtype.itemsize for _, dims, dtype in specs)
    INPUTS.check(total, ", ".join(f"{name} {'x'.join(map(str, d))}" for name, d, _ in specs))
    return specs, [model.tensors[i].name for i in model.outputs]


def litert_runner(
    path: Path, threads: int = 1
) -> Callable[[dict[str, np.ndarray]], list[np.ndarray]]:
    """Runs the model under LiteRT's interpreter (XNNPACK, `threads` threads) on feeds given
    in the model's input order."""
    try:  # a test dependency: only --compare litert needs it
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise LaminaError("--compare litert needs the ai-edge-litert package") from None
    try:
        interpreter = Interpreter(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
    except (RuntimeError, ValueError) as e:
        raise _litert_error(e) from None
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()

    def run(feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        try:
            for detail, value in zip(inputs, feeds.values(), strict=True):
                interpreter.set_tensor(detail["index"], value)
            interpreter.invoke()
        except (RuntimeError, ValueError) as e:
            raise _litert_error(e) from None
        return [np.array(interpreter.get_tensor(d["index"])) for d in outputs]

    return run


def _litert_error(error: Exception) -> LaminaError:
    first = (str(error).strip().splitlines() or [""])[0][:300]
    return LaminaError(f"LiteRT cannot run the model: {first}")
