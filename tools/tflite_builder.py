"""Small .tflite models built with the schema's flatbuffers builder (the `tflite` package),
for tests and benchmarks: no TensorFlow needed.

    m = TFLiteBuilder()
    x = m.input("x", [1, 8, 8, 3])
    w = m.constant("w", np.ones((4, 3, 3, 3), np.float32))
    y = m.tensor("y", [1, 8, 8, 4])
    m.op("CONV_2D", [x, w, -1], [y], "Conv2DOptions", Padding=0, StrideW=1, StrideH=1)
    m.output(y)
    data = m.finish()            # the bytes of a .tflite file
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import flatbuffers
import numpy as np
import numpy.typing as npt
import tflite
from tflite.utils import BUILTIN_OPCODE2NAME

_CODES = {name: code for code, name in BUILTIN_OPCODE2NAME.items()}
_TYPES = {np.dtype(np.float32): 0, np.dtype(np.float16): 1, np.dtype(np.int32): 2,
          np.dtype(np.uint8): 3, np.dtype(np.int64): 4, np.dtype(np.bool_): 6,
          np.dtype(np.int16): 7, np.dtype(np.int8): 9}  # fmt: skip

Quantization = tuple[list[float], list[int], int]
"""A tensor's affine quantization: (scales, zero points, quantized dimension)."""


@dataclass
class _Tensor:
    name: str
    shape: list[int]
    type_code: int
    buffer: int
    quantization: Quantization | None = None
    csr: tuple[np.ndarray, np.ndarray] | None = None
    """(row segments, column indices) of a 2-D constant stored sparse (CSR)."""


@dataclass
class _Op:
    opcode: int
    inputs: list[int]
    outputs: list[int]
    options_type: str | None
    options: dict[str, int | float | bool]
    custom_options: bytes = b""


@dataclass
class TFLiteBuilder:
    tensors: list[_Tensor] = field(default_factory=list[_Tensor])
    buffers: list[bytes] = field(default_factory=lambda: [b""])
    ops: list[_Op] = field(default_factory=list[_Op])
    codes: list[tuple[int, str, int]] = field(default_factory=list[tuple[int, str, int]])
    inputs: list[int] = field(default_factory=list[int])
    outputs: list[int] = field(default_factory=list[int])

    def tensor(
        self,
        name: str,
        shape: Sequence[int],
        dtype: npt.DTypeLike = np.float32,
        quantization: Quantization | None = None,
    ) -> int:
        """A run-time tensor; `quantization` (scales, zero points, axis) makes an integer
        one stand for real numbers."""
        self.tensors.append(_Tensor(name, list(shape), _TYPES[np.dtype(dtype)], 0, quantization))
        return len(self.tensors) - 1

    def input(
        self,
        name: str,
        shape: Sequence[int],
        dtype: npt.DTypeLike = np.float32,
        quantization: Quantization | None = None,
    ) -> int:
        index = self.tensor(name, shape, dtype, quantization)
        self.inputs.append(index)
        return index

    def output(self, index: int) -> None:
        self.outputs.append(index)

    def constant(
        self,
        name: str,
        array: np.ndarray,
        quantization: Quantization | None = None,
    ) -> int:
        self.buffers.append(np.ascontiguousarray(array).tobytes())
        tensor = _Tensor(
            name, list(array.shape), _TYPES[array.dtype], len(self.buffers) - 1, quantization
        )
        self.tensors.append(tensor)
        return len(self.tensors) - 1

    def sparse_constant(self, name: str, dense: np.ndarray) -> int:
        """A 2-D constant stored as its nonzeros, rows DENSE and columns SPARSE_CSR (the
        input a DENSIFY makes dense again)."""
        rows, cols = np.nonzero(dense)
        segments = np.searchsorted(rows, np.arange(dense.shape[0] + 1)).astype(np.int32)
        self.buffers.append(np.ascontiguousarray(dense[rows, cols]).tobytes())
        tensor = _Tensor(name, list(dense.shape), _TYPES[dense.dtype], len(self.buffers) - 1)
        tensor.csr = (segments, cols.astype(np.int32))
        self.tensors.append(tensor)
        return len(self.tensors) - 1

    def op(
        self,
        name: str,
        inputs: Sequence[int],
        outputs: Sequence[int],
        options_type: str | None = None,
        custom: str = "",
        version: int = 1,
        custom_options: bytes = b"",
        **options: int | float | bool,
    ) -> None:
        code = (_CODES["CUSTOM"], custom, version) if custom else (_CODES[name], "", version)
        if code not in self.codes:
            self.codes.append(code)
        index = self.codes.index(code)
        self.ops.append(
            _Op(index, list(inputs), list(outputs), options_type, options, custom_options)
        )

    def finish(self) -> bytes:
        b = flatbuffers.Builder(1024)
        buffers = [self._buffer(b, data) for data in self.buffers]
        tensors = [self._tensor(b, t) for t in self.tensors]
        ops = [self._operator(b, op) for op in self.ops]
        codes = [self._code(b, *code) for code in self.codes]
        graph_name = b.CreateString("main")
        fields = [self._vector(b, tensors), self._ints(b, self.inputs), self._ints(b, self.outputs),
                  self._vector(b, ops)]  # fmt: skip
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, fields[0])
        tflite.SubGraphAddInputs(b, fields[1])
        tflite.SubGraphAddOutputs(b, fields[2])
        tflite.SubGraphAddOperators(b, fields[3])
        tflite.SubGraphAddName(b, graph_name)
        graph = tflite.SubGraphEnd(b)
        model_fields = [self._vector(b, codes), self._vector(b, [graph]), self._vector(b, buffers)]
        description = b.CreateString("lamina test model")
        tflite.ModelStart(b)
        tflite.ModelAddVersion(b, 3)
        tflite.ModelAddOperatorCodes(b, model_fields[0])
        tflite.ModelAddSubgraphs(b, model_fields[1])
        tflite.ModelAddBuffers(b, model_fields[2])
        tflite.ModelAddDescription(b, description)
        b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())

    @staticmethod
    def _vector(b: flatbuffers.Builder, offsets: Sequence[int]) -> int:
        b.StartVector(4, len(offsets), 4)
        for offset in reversed(offsets):
            b.PrependUOffsetTRelative(offset)
        return b.EndVector()

    @staticmethod
    def _ints(b: flatbuffers.Builder, values: Sequence[int]) -> int:
        return b.CreateNumpyVector(np.array(values, np.int32))

    def _buffer(self, b: flatbuffers.Builder, data: bytes) -> int:
        vector = b.CreateNumpyVector(np.frombuffer(data, np.uint8)) if data else None
        tflite.BufferStart(b)
        if vector is not None:
            tflite.BufferAddData(b, vector)
        return tflite.BufferEnd(b)

    def _tensor(self, b: flatbuffers.Builder, t: _Tensor) -> int:
        name, shape = b.CreateString(t.name), self._ints(b, t.shape)
        quantization = None
        if t.quantization is not None:
            scale = b.CreateNumpyVector(np.array(t.quantization[0], np.float32))
            zero = b.CreateNumpyVector(np.array(t.quantization[1], np.int64))
            tflite.QuantizationParametersStart(b)
            tflite.QuantizationParametersAddScale(b, scale)
            tflite.QuantizationParametersAddZeroPoint(b, zero)
            tflite.QuantizationParametersAddQuantizedDimension(b, t.quantization[2])
            quantization = tflite.QuantizationParametersEnd(b)
        sparsity = self._sparsity(b, t) if t.csr is not None else None
        tflite.TensorStart(b)
        tflite.TensorAddName(b, name)
        if sparsity is not None:
            tflite.TensorAddSparsity(b, sparsity)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddType(b, t.type_code)
        tflite.TensorAddBuffer(b, t.buffer)
        if quantization is not None:
            tflite.TensorAddQuantization(b, quantization)
        return tflite.TensorEnd(b)

    def _sparsity(self, b: flatbuffers.Builder, t: _Tensor) -> int:
        assert t.csr is not None
        vectors = []
        for values in t.csr:
            data = b.CreateNumpyVector(values)
            tflite.Int32VectorStart(b)
            tflite.Int32VectorAddValues(b, data)
            vectors.append(tflite.Int32VectorEnd(b))
        tflite.DimensionMetadataStart(b)
        tflite.DimensionMetadataAddFormat(b, 0)
        tflite.DimensionMetadataAddDenseSize(b, t.shape[0])
        rows = tflite.DimensionMetadataEnd(b)
        tflite.DimensionMetadataStart(b)
        tflite.DimensionMetadataAddFormat(b, 1)
        tflite.DimensionMetadataAddArraySegmentsType(b, tflite.SparseIndexVector.Int32Vector)
        tflite.DimensionMetadataAddArraySegments(b, vectors[0])
        tflite.DimensionMetadataAddArrayIndicesType(b, tflite.SparseIndexVector.Int32Vector)
        tflite.DimensionMetadataAddArrayIndices(b, vectors[1])
        cols = tflite.DimensionMetadataEnd(b)
        order, levels = self._ints(b, [0, 1]), self._vector(b, [rows, cols])
        tflite.SparsityParametersStart(b)
        tflite.SparsityParametersAddTraversalOrder(b, order)
        tflite.SparsityParametersAddDimMetadata(b, levels)
        return tflite.SparsityParametersEnd(b)

    def _operator(self, b: flatbuffers.Builder, op: _Op) -> int:
        options = self._options(b, op) if op.options_type else None
        inputs, outputs = self._ints(b, op.inputs), self._ints(b, op.outputs)
        raw = (
            b.CreateNumpyVector(np.frombuffer(op.custom_options, np.uint8))
            if op.custom_options
            else None
        )
        tflite.OperatorStart(b)
        if raw is not None:
            tflite.OperatorAddCustomOptions(b, raw)
        tflite.OperatorAddOpcodeIndex(b, op.opcode)
        tflite.OperatorAddInputs(b, inputs)
        tflite.OperatorAddOutputs(b, outputs)
        if options is not None and op.options_type is not None:
            tflite.OperatorAddBuiltinOptionsType(b, getattr(tflite.BuiltinOptions, op.options_type))
            tflite.OperatorAddBuiltinOptions(b, options)
        return tflite.OperatorEnd(b)

    @staticmethod
    def _options(b: flatbuffers.Builder, op: _Op) -> int:
        kind = op.options_type
        getattr(tflite, f"{kind}Start")(b)
        for key, value in op.options.items():
            getattr(tflite, f"{kind}Add{key}")(b, value)
        return getattr(tflite, f"{kind}End")(b)

    @staticmethod
    def _code(b: flatbuffers.Builder, code: int, custom: str, version: int) -> int:
        name = b.CreateString(custom) if custom else None
        tflite.OperatorCodeStart(b)
        tflite.OperatorCodeAddVersion(b, version)
        tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
        tflite.OperatorCodeAddBuiltinCode(b, code)
        if name is not None:
            tflite.OperatorCodeAddCustomCode(b, name)
        return tflite.OperatorCodeEnd(b)
