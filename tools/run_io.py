"""The inputs and outputs of lamina-run: graph inputs from files or inline values (or seeded
random ones), outputs saved as .npy files or one .npz, and one printed line per output.

    --inputs x=x.npy             a .npy file for input x (a bare x.npy: the next input in order)
    --inputs feeds.npz           every array of an .npz, by name (x=feeds.npz: its array x)
    --inputs 'x=[1,2,3]' y=0.5   inline values, cast to the input's dtype; a scalar or any
                                 smaller array broadcasts to the input's shape
    --input x=@x.npy             iree-run-module's spelling (--input repeats, `@` marks a file)
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx

from lamina.errors import LaminaError, UnsupportedError
from lamina.limits import INPUTS

InputSpec = tuple[str, list[int], np.dtype]
"""(name, dims, numpy dtype) of a graph input, with dynamic dims bound."""


def graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """The graph inputs a caller must feed (initializers excluded)."""
    initializers = {init.name for init in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in initializers]


def input_specs(model: onnx.ModelProto, shapes: dict[str, list[int]]) -> list[InputSpec]:
    """The specs of every graph input, checked (bound dims, total size) before allocating."""
    specs = [_input_spec(value, shapes) for value in graph_inputs(model)]
    # zero dims count as 1: numpy cannot even make an empty 0x2**40x2**40 array
    total = sum(
        int(np.prod([d or 1 for d in dims], dtype=object)) * dtype.itemsize
        for _, dims, dtype in specs
    )
    INPUTS.check(total, ", ".join(f"{name} {'x'.join(map(str, dims))}" for name, dims, _ in specs))
    return specs


def random_inputs(
    model: onnx.ModelProto, shapes: dict[str, list[int]], seed: int = 0
) -> dict[str, np.ndarray]:
    """Seeded random inputs for every graph input; dynamic dims must be bound in `shapes`."""
    return random_feeds(input_specs(model, shapes), seed)


def random_feeds(specs: Sequence[InputSpec], seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded random values for `specs`: floats standard normal, ints in [0, 10)."""
    rng = np.random.default_rng(seed)
    feeds: dict[str, np.ndarray] = {}
    for name, dims, dtype in specs:
        if np.issubdtype(dtype, np.floating):
            feeds[name] = rng.standard_normal(dims).astype(dtype)
        elif dtype == np.bool_:
            feeds[name] = rng.integers(0, 2, dims).astype(dtype)
        elif np.issubdtype(dtype, np.integer):
            feeds[name] = rng.integers(0, 10, dims).astype(dtype)
        else:
            raise UnsupportedError(f"random input of dtype {dtype} for '{name}'")
    return feeds


def _input_spec(value: onnx.ValueInfoProto, shapes: dict[str, list[int]]) -> InputSpec:
    if value.type.WhichOneof("value") != "tensor_type":
        raise UnsupportedError(f"input '{value.name}' is not a tensor")
    tensor = value.type.tensor_type
    try:
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type))
    except (KeyError, TypeError, ValueError):
        raise LaminaError(
            f"input '{value.name}' has no usable element type ({tensor.elem_type})"
        ) from None
    dims = shapes.get(value.name) or [
        d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim
    ]
    if any(d < 0 for d in dims):
        raise LaminaError(
            f"input '{value.name}' has dynamic dims {dims}: bind them with "
            f"--input-shape {value.name}=1x..."
        )
    return value.name, list(dims), dtype


def load_inputs(arguments: Sequence[str], specs: Sequence[InputSpec]) -> dict[str, np.ndarray]:
    """The inputs the `--inputs` arguments give, by input name (see the module docstring)."""
    names = [name for name, _, _ in specs]
    feeds: dict[str, np.ndarray] = {}
    for argument in arguments:
        name, _, value = argument.rpartition("=") if _is_file(argument) else argument.partition("=")
        if not value:
            name, value = "", argument
        value = value.removeprefix("@")  # iree-run-module's `x=@file.npy`
        if value.endswith(".npz"):
            loaded = _load_npz(value, name)
        elif value.endswith(".npy"):
            loaded = {name or _next_name(names, feeds, argument): _load_npy(value)}
        elif name:
            loaded = {name: _inline(value, _spec_of(name, specs))}
        else:
            raise LaminaError(f"cannot read input '{argument}': give NAME=VALUE, a .npy or a .npz")
        for key, array in loaded.items():
            _spec_of(key, specs)
            feeds[key] = array
    return feeds


def _spec_of(name: str, specs: Sequence[InputSpec]) -> InputSpec:
    spec = next((s for s in specs if s[0] == name), None)
    if spec is None:
        names = ", ".join(s[0] for s in specs)
        raise LaminaError(f"the model has no input '{name}' (inputs: {names})")
    return spec


def missing_inputs(specs: Sequence[InputSpec], given: dict[str, np.ndarray]) -> LaminaError:
    """The error for inputs without a value (when `--random-inputs` is not passed)."""
    missing = [name for name, _, _ in specs if name not in given]
    return LaminaError(
        f"no value for input{'s' * (len(missing) > 1)} {', '.join(repr(m) for m in missing)}: "
        "give it with --inputs NAME=FILE.npy (or .npz, or NAME=VALUE), or pass --random-inputs"
    )


def _is_file(argument: str) -> bool:
    return argument.endswith((".npy", ".npz"))


def _next_name(names: list[str], feeds: dict[str, np.ndarray], argument: str) -> str:
    free = [n for n in names if n not in feeds]
    if not free:
        raise LaminaError(f"'{argument}': every input of the model already has a value")
    return free[0]


def _load_npy(path: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except OSError as e:
        raise LaminaError(f"cannot read input array '{path}': {e.strerror}") from None
    except ValueError as e:
        raise LaminaError(f"cannot read input array '{path}': {_first_line(e)}") from None


def _load_npz(path: str, name: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except OSError as e:
        raise LaminaError(f"cannot read input arrays '{path}': {e.strerror}") from None
    except ValueError as e:
        raise LaminaError(f"cannot read input arrays '{path}': {_first_line(e)}") from None
    if not name:
        return arrays
    if name not in arrays:
        raise LaminaError(f"'{path}' has no array '{name}' (arrays: {', '.join(arrays)})")
    return {name: arrays[name]}


def _inline(text: str, spec: InputSpec) -> np.ndarray:
    """An inline value (a Python literal: number, bool or nested list) as the input's dtype,
    broadcast to its shape."""
    name = spec[0]
    try:
        value = np.asarray(ast.literal_eval(text))
        return np.ascontiguousarray(np.broadcast_to(value.astype(spec[2]), spec[1]))
    except (ValueError, SyntaxError, TypeError, MemoryError) as e:
        raise LaminaError(
            f"input '{name}': cannot use '{text}' as {spec[2]}{spec[1]}: {_first_line(e)}"
        ) from None


def save_outputs(path: Path, names: Sequence[str], outputs: Sequence[np.ndarray]) -> None:
    """Outputs into one .npz (`path` ends in .npz) or one `<name>.npy` each in folder `path`."""
    arrays = dict(zip(names, outputs, strict=True))
    try:
        if path.suffix == ".npz":
            np.savez(path, **arrays)  # pyright: ignore[reportArgumentType]
            return
        path.mkdir(parents=True, exist_ok=True)
        for name, array in arrays.items():
            np.save(path / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.npy", array)
    except OSError as e:
        raise LaminaError(f"cannot write outputs: {e.strerror}", where=str(path)) from None


def describe(name: str, value: np.ndarray, top: int = 0) -> str:
    """One line about an output: shape, dtype, range and its first values; with `top`, the
    `top` largest of a 1-D-ish float output with at least that many classes."""
    flat = np.asarray(value).reshape(-1)
    head = ", ".join(f"{v:.4g}" if flat.dtype.kind == "f" else str(v) for v in flat[:6])
    text = f"{name}: {value.dtype}{list(value.shape)} [{head}{', ...' if flat.size > 6 else ''}]"
    if top > 0 and np.squeeze(value).ndim == 1 and flat.size >= top and flat.dtype.kind == "f":
        best = np.argsort(flat)[::-1][:top]
        text += f"\n  top-{top}: " + ", ".join(f"#{i} ({flat[i]:.4g})" for i in best)
    return text


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
