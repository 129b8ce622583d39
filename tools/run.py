"""lamina-run: run a model on inputs (random or .npy), compare with onnxruntime, time it.

    lamina-run model.onnx --reference --compare ort
    lamina-run model.onnx --reference --inputs data=x.npy --input-shape data=1x3x224x224

Only the reference interpreter exists so far (`--reference`); compiled execution on a
device is not supported yet and says so.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import onnx

from lamina.errors import LaminaError, UnsupportedError

Runner = Callable[[dict[str, np.ndarray]], list[np.ndarray]]


def graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """The graph inputs a caller must feed (initializers excluded)."""
    initializers = {init.name for init in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in initializers]


def random_inputs(
    model: onnx.ModelProto, shapes: dict[str, list[int]], seed: int = 0
) -> dict[str, np.ndarray]:
    """Seeded random inputs for every graph input; dynamic dims must be bound in `shapes`."""
    rng = np.random.default_rng(seed)
    feeds: dict[str, np.ndarray] = {}
    for value in graph_inputs(model):
        tensor = value.type.tensor_type
        dims = shapes.get(value.name) or [
            d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim
        ]
        if any(d < 0 for d in dims):
            raise LaminaError(
                f"input '{value.name}' has dynamic dims {dims}: bind them with "
                f"--input-shape {value.name}=1x..."
            )
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        if np.issubdtype(dtype, np.floating):
            feeds[value.name] = rng.standard_normal(dims).astype(dtype)
        elif dtype == np.bool_:
            feeds[value.name] = rng.integers(0, 2, dims).astype(dtype)
        elif np.issubdtype(dtype, np.integer):
            feeds[value.name] = rng.integers(0, 10, dims).astype(dtype)
        else:
            raise UnsupportedError(f"random input of dtype {dtype} for '{value.name}'")
    return feeds


def load_inputs(specs: Sequence[str], model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """Inputs from `name=file.npy` (or bare `file.npy`, in graph input order)."""
    names = [i.name for i in graph_inputs(model)]
    feeds: dict[str, np.ndarray] = {}
    for position, spec in enumerate(specs):
        name, _, path = spec.rpartition("=")
        if not name:
            if position >= len(names):
                raise LaminaError(f"{len(specs)} inputs given, the model takes {len(names)}")
            name = names[position]
        if name not in names:
            raise LaminaError(f"the model has no input '{name}' (inputs: {', '.join(names)})")
        try:
            feeds[name] = np.load(path)
        except (OSError, ValueError) as e:
            raise LaminaError(f"cannot read input array: {e}", where=path) from None
    return feeds


def time_runs(run: Runner, feeds: dict[str, np.ndarray], repeat: int) -> tuple[list, float]:
    """The outputs of one run and the median latency in ms over `repeat` runs."""
    times: list[float] = []
    outputs: list[np.ndarray] = []
    for _ in range(max(repeat, 1)):
        start = time.perf_counter()
        outputs = run(feeds)
        times.append((time.perf_counter() - start) * 1e3)
    return outputs, statistics.median(times)


def describe(name: str, value: np.ndarray) -> str:
    """One line about an output: shape, dtype, range and its first values."""
    flat = np.asarray(value).reshape(-1)
    head = ", ".join(f"{v:.4g}" if flat.dtype.kind == "f" else str(v) for v in flat[:6])
    text = f"{name}: {value.dtype}{list(value.shape)} [{head}{', ...' if flat.size > 6 else ''}]"
    if value.ndim == 2 and value.shape[0] == 1 and value.shape[1] >= 5 and flat.dtype.kind == "f":
        top5 = np.argsort(flat)[::-1][:5]
        text += "\n  top-5: " + ", ".join(f"#{i} ({flat[i]:.4g})" for i in top5)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `lamina-run`; returns the exit code."""
    parser = argparse.ArgumentParser(prog="lamina-run", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("model", type=Path, help="an .onnx file")
    parser.add_argument("--reference", action="store_true", help="run the reference interpreter")
    parser.add_argument("--device", default="host")
    parser.add_argument("--inputs", nargs="*", default=[], metavar="[NAME=]FILE.npy")
    parser.add_argument("--input-shape", action="append", default=[], metavar="NAME=DIMS")
    parser.add_argument("--compare", choices=["ort"], help="compare with onnxruntime")
    parser.add_argument("--repeat", type=int, default=3, help="runs to take the median of")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except LaminaError as e:
        if e.where is None:
            e.where = str(args.model)
        print(e, file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from lamina.parser.onnx import import_onnx, parse_input_shapes

    if not args.reference:
        raise UnsupportedError(
            f"compiled execution on device '{args.device}' (no code generation yet); "
            "use --reference"
        )
    shapes = parse_input_shapes(args.input_shape)
    module = import_onnx(args.model, input_shapes=shapes)
    model = onnx.load(str(args.model), load_external_data=False)
    feeds = load_inputs(args.inputs, model) if args.inputs else {}
    feeds = {**random_inputs(model, shapes, args.seed), **feeds}

    from lamina.runtime.reference import run_reference

    outputs, ms = time_runs(lambda f: run_reference(module, f), feeds, args.repeat)
    names = [o.name for o in model.graph.output]
    for name, value in zip(names, outputs, strict=True):
        print(describe(name, value))
    print(f"latency (reference interpreter, median of {max(args.repeat, 1)}): {ms:.1f} ms")
    if args.compare == "ort":
        import onnxruntime as ort

        session = ort.InferenceSession(str(args.model), providers=["CPUExecutionProvider"])
        expected = session.run(None, feeds)
        for name, want, got in zip(names, expected, outputs, strict=True):
            error = np.abs(np.asarray(got, np.float64) - np.asarray(want, np.float64))
            print(f"{name}: max abs error vs onnxruntime {float(error.max(initial=0)):.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
