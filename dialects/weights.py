"""Where lamina keeps the bytes of `dense_resource` weights.

A weight in the IR is `dense_resource<key> : tensor<...>`; its bytes live in one process-wide
`WeightStore` keyed by `key`, and print in the module's
`{-# dialect_resources: { builtin: { key: "0x..." } } #-}` section (the MLIR blob encoding:
a little-endian u32 alignment, then the raw bytes) only when printing weights is switched on.

xDSL's builtin `OpAsmDialectInterface` keeps blobs as hex strings and renames a key it has
seen before when parsing, so parsing the same text twice in one process leaves the second
module's attributes pointing at an empty blob. `WeightStore` replaces it:

- blobs are numpy byte arrays (hex only while printing, and only with `--print-weights`);
- a parsed key keeps its name: keys are process-wide, the last blob parsed for a key wins;
- parsing text whose blobs were elided leaves the blobs already in the store in place.

Importing this module installs `WEIGHTS` as the resource interface of xDSL's `Builtin`
dialect object, which every xDSL context uses; `lamina.dialects.graph` imports it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Generator, Iterable, Sequence
from contextlib import contextmanager
from typing import cast

import numpy as np
from xdsl.dialect_interfaces.op_asm import OpAsmDialectInterface
from xdsl.dialects.builtin import (
    BFloat16Type,
    Builtin,
    DenseIntOrFPElementsAttr,
    DenseResourceAttr,
    Float4E2M1FNType,
    Float8E4M3FNType,
    Float8E4M3FNUZType,
    Float8E5M2FNUZType,
    Float8E5M2Type,
    Float8E8M0FNUType,
    Float16Type,
    Float32Type,
    Float64Type,
    IntegerType,
    Signedness,
    TensorType,
)
from xdsl.ir import Attribute, Dialect
from xdsl.utils.exceptions import VerifyException

from lamina.errors import LaminaError, UnsupportedError

_KEY_CHARS = re.compile(r"[^A-Za-z0-9_.$]")
ALIGNMENT = 64
"""What the kernel ABI promises of the weights and arena buffers (and the JIT of its
inputs and outputs): a cache line, an AVX-512 vector."""


def aligned_empty(
    shape: Sequence[int], dtype: np.dtype | type, align: int = ALIGNMENT
) -> np.ndarray:
    """An uninitialised C-contiguous array whose data starts on an `align`-byte boundary."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    raw = np.empty(nbytes + align, np.uint8)
    start = -raw.ctypes.data % align
    return raw[start : start + nbytes].view(dtype).reshape(tuple(shape))


class WeightStore(OpAsmDialectInterface):
    """The blobs of `dense_resource` attributes: key -> read-only bytes (a uint8 array)."""

    def __init__(self) -> None:
        super().__init__()
        self._blobs: dict[str, np.ndarray] = {}
        self._alignments: dict[str, int] = {}
        self._elided: dict[str, tuple[int, tuple[str, ...]]] = {}
        """Keys whose bytes are unknown: their size and the elided weights they derive from."""
        self.print_weights = False
        """Whether printing a module prints the blobs it references (`--print-weights`)."""

    # --- the Python API ---------------------------------------------------------------------

    def add(self, name: str, array: np.ndarray) -> str:
        """Store `array`'s bytes under a new key derived from `name`; return the key.

        No per-element work: the bytes are copied once (not at all if `array` is already a
        read-only contiguous array), so the caller may mutate its array afterwards.
        """
        key = self.unique_key(name)
        data = np.ascontiguousarray(array)
        if data.dtype.byteorder == ">":
            data = data.astype(data.dtype.newbyteorder("<"))
        elif data.flags.writeable:
            data = data.copy()
        data.flags.writeable = False
        self._blobs[key] = data.reshape(-1).view(np.uint8)
        self._alignments[key] = data.dtype.alignment
        return key

    def unique_key(self, name: str) -> str:
        """A valid resource key from `name` that is not in the store yet."""
        base = _KEY_CHARS.sub("_", name) or "w"
        if not (base[0].isalpha() or base[0] == "_"):
            base = "w_" + base
        key, counter = base, 0
        while key in self._blobs or key in self._elided:
            key = f"{base}_{counter}"
            counter += 1
        return key

    def add_elided(self, name: str, size: int, sources: Iterable[str]) -> str:
        """A new key for `size` bytes that cannot be known because the weights `sources` were
        elided when printed; reading it raises the error naming `sources`."""
        key = self.unique_key(name)
        self._elided[key] = (size, tuple(sources))
        return key

    def is_elided(self, key: str) -> bool:
        """Whether the bytes under `key` are unknown (printed without `--print-weights`)."""
        return key not in self._blobs

    def size(self, key: str) -> int:
        """The byte size of the blob under `key`, also when its bytes were elided (0 if unknown)."""
        blob = self._blobs.get(key)
        if blob is not None:
            return blob.size
        return self._elided.get(key, (0, ()))[0]

    def require(self, key: str) -> np.ndarray:
        """The bytes under `key` for code that needs the values; raises naming the elided
        weights when they are not in the store."""
        blob = self._blobs.get(key)
        if blob is None:
            raise self.elided_error(key)
        return blob

    def kernel_blob(self, key: str | None, size: int) -> np.ndarray:
        """The weights blob of a kernel naming `key` (zeros of `size` bytes when it names
        none); raises when its bytes were elided, rather than running on zeros."""
        if key is None:
            return np.zeros(size, np.uint8)
        blob = self._blobs.get(key)
        if blob is None and size:
            raise self.elided_error(key)
        return np.zeros(size, np.uint8) if blob is None else blob

    def elided_error(self, key: str) -> LaminaError:
        """The error for reading `key` whose bytes were elided (naming its source weights)."""
        sources = self._elided.get(key, (0, (key,)))[1]
        names = ", ".join(f"'{s}'" for s in sources)
        return LaminaError(
            f"weights of {names} were elided when printed; print the IR with "
            "--print-weights to keep them"
        )

    def get(self, key: str) -> np.ndarray | None:
        """The bytes under `key` (read-only uint8 array, no copy), or None if absent."""
        return self._blobs.get(key)

    def array(self, key: str, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
        """The blob under `key` viewed as an array of `dtype` and `shape`, without copying."""
        blob = self.require(key)
        size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if blob.nbytes != size:
            raise LaminaError(
                f"weights of '{key}' have {blob.nbytes} bytes, but {dtype} {list(shape)} "
                f"needs {size}"
            )
        return blob.view(dtype).reshape(shape)

    def remove(self, key: str) -> None:
        """Forget the blob under `key` (a model that is no longer needed)."""
        self._blobs.pop(key, None)
        self._alignments.pop(key, None)
        self._elided.pop(key, None)

    def __contains__(self, key: str) -> bool:
        return key in self._blobs

    # --- OpAsmDialectInterface: what the parser and the printer call ------------------------

    def declare_resource(self, key: str) -> str:
        # The parser calls this for each key it meets: keep the name and any blob it has.
        return key

    def parse_resource(self, key: str, val: str) -> None:
        if not val.startswith("0x") or len(val) < 10:
            raise ValueError(f"blob must be a hex string with a 4-byte alignment, got: {val[:20]}")
        alignment = int.from_bytes(bytes.fromhex(val[2:10]), "little")
        self._blobs[key] = np.frombuffer(bytes.fromhex(val[10:]), np.uint8)
        self._alignments[key] = alignment
        self._elided.pop(key, None)

    def lookup(self, key: str) -> str | None:
        blob = self._blobs.get(key)
        return None if blob is None else self._hex(key, blob)

    def build_resources(self, keys: Iterable[str]) -> dict[str, str]:
        if not self.print_weights:
            return {}
        return {key: self._hex(key, self._blobs[key]) for key in keys if key in self._blobs}

    def _hex(self, key: str, blob: np.ndarray) -> str:
        # Lower-case hex (MLIR prints upper case and reads both): upper-casing 200 MB of
        # text costs ~0.3 s of ResNet-50's print.
        alignment = self._alignments.get(key, 1).to_bytes(4, "little").hex()
        return "0x" + alignment + blob.data.hex()


WEIGHTS = WeightStore()
"""The process-wide weight store, installed into xDSL's builtin dialect below."""


def install_weight_store(dialect: Dialect = Builtin) -> None:
    """Make `WEIGHTS` the resource interface of `dialect` (xDSL's builtin by default).

    xDSL's parser and printer ask the context's builtin dialect for its resource interface
    on every `dense_resource`, and every xDSL context (lamina-opt's, `make_context()`'s,
    plain `xdsl-opt`'s) holds this one `Builtin` object, so replacing its interface here
    covers them all without a lamina copy of the builtin dialect. Idempotent.
    """
    interfaces = dialect._interfaces  # pyright: ignore[reportPrivateUsage]
    interfaces[:] = [i for i in interfaces if not isinstance(i, OpAsmDialectInterface)]
    interfaces.append(WEIGHTS)


install_weight_store()


def set_print_weights(enabled: bool) -> None:
    """Print the bytes of `dense_resource` weights (`lamina-opt --print-weights`) or not."""
    WEIGHTS.print_weights = enabled


@contextmanager
def printing_weights(enabled: bool = True) -> Generator[None]:
    """Within the block, printing a module prints (or elides) its weights."""
    previous = WEIGHTS.print_weights
    WEIGHTS.print_weights = enabled
    try:
        yield
    finally:
        WEIGHTS.print_weights = previous


# --- element types ------------------------------------------------------------------------------

FloatElementType = (
    Float16Type
    | Float32Type
    | Float64Type
    | BFloat16Type
    | Float8E4M3FNType
    | Float8E4M3FNUZType
    | Float8E5M2Type
    | Float8E5M2FNUZType
    | Float8E8M0FNUType
    | Float4E2M1FNType
)

_FLOATS: dict[str, type[FloatElementType]] = {
    "float16": Float16Type,
    "float32": Float32Type,
    "float64": Float64Type,
    "bfloat16": BFloat16Type,
    "float8_e4m3fn": Float8E4M3FNType,
    "float8_e4m3fnuz": Float8E4M3FNUZType,
    "float8_e5m2": Float8E5M2Type,
    "float8_e5m2fnuz": Float8E5M2FNUZType,
    "float8_e8m0fnu": Float8E8M0FNUType,
    "float4_e2m1fn": Float4E2M1FNType,
}
"""numpy (and `ml_dtypes`) float dtype names -> MLIR float types."""

_NARROW_INTS: dict[str, tuple[int, bool]] = {
    "int4": (4, False),
    "uint4": (4, True),
    "int2": (2, False),
    "uint2": (2, True),
}
"""Sub-byte integers (width, unsigned) by their `ml_dtypes` name: numpy views of one element
a byte (the low bits hold it)."""


def _ml_dtype(name: str) -> np.dtype:
    """The numpy dtype `name` of `ml_dtypes`, imported on first use (it costs most of a
    second at start-up, which `lamina-opt` on float32 IR never needs)."""
    import ml_dtypes

    return np.dtype(getattr(ml_dtypes, name))


ElementType = IntegerType | FloatElementType


def element_type(dtype: np.dtype) -> ElementType:
    """The MLIR element type of a numpy dtype: bool -> i1, int8 -> i8, uint8 -> ui8, ..."""
    if dtype == np.bool_:
        return IntegerType(1)
    if dtype.name in _NARROW_INTS and dtype.kind == "V":
        width, unsigned = _NARROW_INTS[dtype.name]
        return IntegerType(width, Signedness.UNSIGNED if unsigned else Signedness.SIGNLESS)
    if dtype.kind == "i":
        return IntegerType(dtype.itemsize * 8)
    if dtype.kind == "u":
        return IntegerType(dtype.itemsize * 8, Signedness.UNSIGNED)
    if dtype.name in _FLOATS:
        return _FLOATS[dtype.name]()
    raise UnsupportedError(f"tensors of numpy dtype {dtype}")


def numpy_dtype(element: Attribute) -> np.dtype:
    """The little-endian numpy dtype of an MLIR element type (the inverse of element_type)."""
    if isinstance(element, IntegerType):
        integer = cast(IntegerType[int, Signedness], element)
        width = integer.bitwidth
        if width == 1:
            return np.dtype(np.bool_)
        unsigned = integer.signedness.data == Signedness.UNSIGNED
        if width in (8, 16, 32, 64):
            return np.dtype(f"<{'u' if unsigned else 'i'}{width // 8}")
        for name, narrow in _NARROW_INTS.items():
            if narrow == (width, unsigned):
                return _ml_dtype(name)
    for name, float_type in _FLOATS.items():
        if isinstance(element, float_type):
            dtype = np.dtype(name) if name in ("float16", "float32", "float64") else _ml_dtype(name)
            return dtype.newbyteorder("<")
    raise UnsupportedError(f"tensors of element type {element}")


def is_elided_tensor(attr: Attribute) -> bool:
    """Whether a TENSOR attribute is a weight whose bytes were elided when printed (its
    shape is known, its values are not)."""
    return isinstance(attr, DenseResourceAttr) and WEIGHTS.is_elided(attr.resource_handle.data)


def tensor_to_array(attr: Attribute) -> np.ndarray:
    """The value of a TENSOR attribute (`dense` or `dense_resource`) as a read-only array."""
    if isinstance(attr, DenseResourceAttr):
        type = cast(TensorType[Attribute], attr.type)
        shape = type.get_shape()
        return WEIGHTS.array(attr.resource_handle.data, numpy_dtype(type.element_type), shape)
    if isinstance(attr, DenseIntOrFPElementsAttr):
        dtype = numpy_dtype(cast(DenseIntOrFPElementsAttr, attr).get_element_type())
        dense = cast(DenseIntOrFPElementsAttr, attr)
        return np.frombuffer(dense.data.data, dtype).reshape(dense.get_shape())
    raise VerifyException(f"expected a dense or dense_resource tensor, got {attr}")
