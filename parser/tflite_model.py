"""Reading a .tflite flatbuffer into plain, checked Python records.

    model = read_tflite("face_detection.tflite")
    model.operators[0].name, model.operators[0].options["StrideW"]

Everything is read through the schema's generated Python (the `tflite` package) and
eagerly, inside one guard: a truncated or random file fails here as a `ModelImportError`
("malformed flatbuffer"), never later as an IndexError. Every vector length is checked
against the file size before it is walked (a random length cannot make the reader loop for
long), every tensor and buffer index against its table. Subgraph 0 is the model.
"""

from __future__ import annotations

import inspect
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import flatbuffers
import numpy as np
import tflite
from flatbuffers import number_types
from tflite.utils import BUILTIN_OPCODE2NAME

from lamina.errors import ModelImportError
from lamina.limits import WEIGHTS
from lamina.parser.tflite_source import FILE_IDENTIFIER, TFLiteSource, is_tflite
from lamina.parser.tflite_sparse import densify, read_levels

TENSOR_DTYPES: dict[int, np.dtype[Any]] = {
    0: np.dtype(np.float32),
    1: np.dtype(np.float16),
    2: np.dtype(np.int32),
    3: np.dtype(np.uint8),
    4: np.dtype(np.int64),
    6: np.dtype(np.bool_),
    7: np.dtype(np.int16),
    9: np.dtype(np.int8),
    10: np.dtype(np.float64),
}
"""TFLite TensorType -> numpy dtype, for the types lamina imports."""

TENSOR_TYPE_NAMES = {v: k for k, v in vars(tflite.TensorType).items() if isinstance(v, int)}


@dataclass(frozen=True)
class Quantization:
    """Affine quantization: real = scale * (q - zero_point), per `axis` when several."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    type_code: int
    data: np.ndarray | None
    """The constant's elements in `shape`, None for a run-time value."""
    quantization: Quantization | None


@dataclass(frozen=True)
class Operator:
    index: int
    name: str
    """The builtin's name (CONV_2D) or, for CUSTOM, the custom code."""
    custom: bool
    inputs: tuple[int, ...]
    """Tensor indices; -1 marks an omitted optional input."""
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict[str, Any])
    custom_options: bytes = b""
    """A custom op's options, in the format its implementation defines."""

    @property
    def label(self) -> str:
        return f"operator {self.index} ({self.name})"


@dataclass(frozen=True)
class TFLiteModel:
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    name: str


def tflite_bytes(source: TFLiteSource) -> tuple[bytes, str]:
    """The file's bytes and the place errors name (the path, or `<bytes>`)."""
    if isinstance(source, bytes):
        return source, "<bytes>"
    where = os.fspath(source)
    try:
        with open(where, "rb") as file:
            return file.read(), where
    except OSError as err:
        raise ModelImportError(f"cannot read the model: {err.strerror}", where) from None


def read_tflite(source: TFLiteSource) -> tuple[TFLiteModel, str]:
    """The model and where it came from; a `ModelImportError` for a file that is not one."""
    data, where = tflite_bytes(source)
    if len(data) < 8 or not is_tflite(data):
        found = data[4:8] if len(data) >= 8 else b""
        raise ModelImportError(
            f"not a TFLite model: file identifier {found!r}, expected {FILE_IDENTIFIER!r}", where
        )
    try:
        return _Reader(data, where).model(), where
    except UnicodeDecodeError:
        raise ModelImportError("malformed flatbuffer (a name is not UTF-8)", where) from None
    except (IndexError, struct.error, ValueError, TypeError, OverflowError) as err:
        reason = type(err).__name__ if not str(err) else str(err).splitlines()[0]
        raise ModelImportError(f"malformed flatbuffer ({reason})", where) from None


class _Reader:
    def __init__(self, data: bytes, where: str) -> None:
        self.data = data
        self.where = where
        self.root = tflite.Model.GetRootAs(data, 0)

    def fail(self, message: str) -> ModelImportError:
        return ModelImportError(message, self.where)

    def length(self, n: int, what: str, item_bytes: int = 4) -> int:
        """`n`, refused when a vector that long cannot fit in the file."""
        if n < 0 or item_bytes * n > len(self.data):
            raise self.fail(f"malformed flatbuffer ({what} has {n} entries)")
        return n

    def model(self) -> TFLiteModel:
        if self.length(self.root.SubgraphsLength(), "the subgraph list") == 0:
            raise self.fail("the model has no subgraph")
        graph: Any = self.root.Subgraphs(0)
        tensors = [
            self.tensor(i, graph.Tensors(i))
            for i in range(self.length(graph.TensorsLength(), "the tensor list"))
        ]
        codes = [
            self.opcode(self.root.OperatorCodes(i))
            for i in range(self.length(self.root.OperatorCodesLength(), "the opcode list"))
        ]
        operators = [
            self.operator(i, graph.Operators(i), codes, len(tensors))
            for i in range(self.length(graph.OperatorsLength(), "the operator list"))
        ]
        inputs = self.indices(graph.InputsAsNumpy(), graph.InputsLength(), len(tensors), "input")
        outputs = self.indices(
            graph.OutputsAsNumpy(), graph.OutputsLength(), len(tensors), "output"
        )
        name = (graph.Name() or b"main").decode()
        return TFLiteModel(tensors, operators, inputs, outputs, name)

    def indices(self, array: Any, n: int, count: int, what: str) -> list[int]:
        values = [int(v) for v in array] if self.length(n, f"the {what} list") else []
        for v in values:
            if v != -1 and not 0 <= v < count:
                raise self.fail(f"{what} tensor index {v} is out of range (the model has {count})")
        return values

    def opcode(self, code: Any) -> tuple[str, bool]:
        builtin = max(_raw_builtin_code(code), code.DeprecatedBuiltinCode())
        if builtin == tflite.BuiltinOperator.CUSTOM:
            return (code.CustomCode() or b"").decode(), True
        return BUILTIN_OPCODE2NAME.get(builtin, f"builtin #{builtin}"), False

    def operator(self, index: int, op: Any, codes: list[tuple[str, bool]], count: int) -> Operator:
        opcode = op.OpcodeIndex()
        if not 0 <= opcode < len(codes):
            raise self.fail(f"operator {index}: opcode index {opcode} is out of range")
        name, custom = codes[opcode]
        where = f"operator {index} ({name})"
        inputs = self.indices(op.InputsAsNumpy(), op.InputsLength(), count, f"{where}: its input")
        outputs = self.indices(
            op.OutputsAsNumpy(), op.OutputsLength(), count, f"{where}: its output"
        )
        options = {} if custom else _options(op, name)
        n = self.length(op.CustomOptionsLength(), f"{where}: its custom options", 1)
        raw = op.CustomOptionsAsNumpy().tobytes() if n else b""
        return Operator(index, name, custom, tuple(inputs), tuple(outputs), options, raw)

    def tensor(self, index: int, t: Any) -> Tensor:
        shape = (
            tuple(int(d) for d in t.ShapeAsNumpy())
            if self.length(t.ShapeLength(), "a shape")
            else ()
        )
        if any(d < 0 for d in shape):
            raise self.fail(f"tensor {index} has a negative dimension in shape {list(shape)}")
        name = (t.Name() or f"t{index}".encode()).decode()
        sparsity = t.Sparsity()
        data = self.buffer(index, t.Buffer(), shape if sparsity is None else None, t.Type())
        if sparsity is not None and data is not None:
            dense_bytes = int(np.prod(shape, dtype=object)) * data.dtype.itemsize
            WEIGHTS.check(dense_bytes, f"sparse tensor {index} made dense", self.where)
            data = densify(data, shape, *read_levels(sparsity))
        return Tensor(index, name, shape, t.Type(), data, _quantization(t))

    def buffer(
        self, index: int, buffer: int, shape: tuple[int, ...] | None, type_code: int
    ) -> np.ndarray | None:
        """The tensor's constant elements in `shape` (None: a flat vector of the sparse
        values), None when it has no data."""
        if buffer == 0:
            return None  # buffer 0 is the empty sentinel every run-time tensor points at
        if not 0 < buffer < self.length(self.root.BuffersLength(), "the buffer list"):
            raise self.fail(f"tensor {index}: buffer index {buffer} is out of range")
        entry = self.root.Buffers(buffer)
        raw = self._buffer_bytes(entry)
        if raw is None:
            return None
        dtype = TENSOR_DTYPES.get(type_code)
        if dtype is None:
            return None  # the importer names the type when it meets the tensor
        if shape is None:
            if len(raw) % dtype.itemsize:
                raise self.fail(f"tensor {index}: sparse values of {len(raw)} bytes")
            return np.frombuffer(raw, dtype)
        count = int(np.prod(shape, dtype=np.int64))
        if len(raw) != count * dtype.itemsize:
            raise self.fail(
                f"tensor {index}: buffer {buffer} holds {len(raw)} bytes, the shape "
                f"{list(shape)} of {dtype} needs {count * dtype.itemsize}"
            )
        return np.frombuffer(raw, dtype).reshape(shape)

    def _buffer_bytes(self, entry: Any) -> bytes | None:
        offset, size = entry.Offset(), entry.Size()
        if offset > 1:  # models over 2 GB keep the data after the flatbuffer
            if offset + size > len(self.data):
                raise self.fail(f"a buffer at offset {offset} runs past the end of the file")
            return self.data[offset : offset + size]
        if self.length(entry.DataLength(), "a buffer", 1) == 0:
            return None
        return entry.DataAsNumpy().tobytes()


def _raw_builtin_code(code: Any) -> int:
    """The `builtin_code` field as stored: the `tflite` package's `BuiltinCode()` answers
    `deprecated_builtin_code` for codes below 127, but writers may leave that field 0 (the
    runtime takes the larger of the two, as `opcode` does)."""
    offset = code._tab.Offset(10)  # pyright: ignore[reportPrivateUsage]
    if offset == 0:
        return 0
    return int(code._tab.Get(number_types.Int32Flags, offset + code._tab.Pos))  # pyright: ignore[reportPrivateUsage]


def _quantization(t: Any) -> Quantization | None:
    q = t.Quantization()
    if q is None or q.ScaleLength() == 0:
        return None
    scale = tuple(float(s) for s in q.ScaleAsNumpy())
    zero = tuple(int(z) for z in q.ZeroPointAsNumpy()) if q.ZeroPointLength() else (0,) * len(scale)
    return Quantization(scale, zero, q.QuantizedDimension())


_OPTION_TYPES = {v: k for k, v in vars(tflite.BuiltinOptions).items() if isinstance(v, int)}
_OPTION2_TYPES = {v: k for k, v in vars(tflite.BuiltinOptions2).items() if isinstance(v, int)}
_SKIPPED = {"Init", "GetRootAs"}


def _options(op: Any, name: str) -> dict[str, Any]:
    """The builtin options table as {field: value}: the schema's defaults where the table or
    a field is absent; vector fields as lists."""
    kind, table = op.BuiltinOptionsType(), op.BuiltinOptions()
    type_name = _OPTION_TYPES.get(kind)
    if kind == 0 or type_name is None:
        kind, table = op.BuiltinOptions2Type(), op.BuiltinOptions2()
        type_name = _OPTION2_TYPES.get(kind)
    if kind == 0 or type_name is None:
        type_name = _default_options_type(name)
        if type_name is None:
            return {}
    options = getattr(tflite, type_name)()
    if table is None:
        options.Init(_EMPTY_TABLE, _EMPTY_TABLE_ROOT)
    else:
        options.Init(table.Bytes, table.Pos)
    return _fields(options)


def _fields(options: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    methods = {n for n, _ in inspect.getmembers(options, inspect.ismethod)}
    for field_name in sorted(methods - _SKIPPED):
        if field_name.startswith("GetRootAs") or field_name.endswith(
            ("Length", "IsNone", "AsNumpy")
        ):
            continue
        if f"{field_name}AsNumpy" in methods:
            n = getattr(options, f"{field_name}Length")()
            values[field_name] = (
                [int(v) for v in getattr(options, f"{field_name}AsNumpy")()] if n else []
            )
        elif len(inspect.signature(getattr(options, field_name)).parameters) == 0:
            values[field_name] = getattr(options, field_name)()
    return values


_SHARED_OPTIONS = {"MAX_POOL_2D": "Pool2DOptions", "AVERAGE_POOL_2D": "Pool2DOptions",
                   "L2_POOL_2D": "Pool2DOptions", "MEAN": "ReducerOptions",
                   "SUM": "ReducerOptions", "REDUCE_MAX": "ReducerOptions",
                   "REDUCE_MIN": "ReducerOptions", "REDUCE_PROD": "ReducerOptions",
                   "REDUCE_ANY": "ReducerOptions", "PADV2": "PadV2Options",
                   "BATCH_MATMUL": "BatchMatMulOptions"}  # fmt: skip
"""Builtins whose options table is named for another op."""


def _default_options_type(name: str) -> str | None:
    """Options class of a builtin whose model left out its (all-default) options table:
    CONV_2D -> Conv2DOptions, PADV2 -> PadV2Options, ..."""
    if name in _SHARED_OPTIONS:
        return _SHARED_OPTIONS[name]
    camel = "".join(part.capitalize() for part in name.split("_")).replace("2d", "2D")
    return f"{camel}Options" if hasattr(tflite, f"{camel}Options") else None


def _empty_table() -> bytes:
    builder = flatbuffers.Builder(16)
    builder.StartObject(0)
    builder.Finish(builder.EndObject())
    return bytes(builder.Output())


_EMPTY_TABLE = _empty_table()
"""A table with no fields: its reader returns every field's schema default."""
_EMPTY_TABLE_ROOT = int.from_bytes(_EMPTY_TABLE[:4], "little")
