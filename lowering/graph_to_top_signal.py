"""DFT and STFT -> one `top.generic` each: a transform of a fixed length is a linear map of
the (real, imaginary) input along its axis, so its matrix M[k, c_out, n, c_in] is built at
compile time (numpy's FFT applied to each basis signal) and the generic sums
M * x over n and c_in:

    dft(x : [b, n, c_in]) -> y[b, k, c_out] = sum_{n, c_in} M[k, c_out, n, c_in] x[b, n, c_in]

so zero padding / truncation to dft_length, onesided outputs, inverse scaling and the
inverse one-sided transform (a real output) are all in M. STFT reads frame f of the signal
through the map (b, f, k, c_out, n, c_in) -> (b, f * step + n, c_in) and multiplies by
the window. O(n k) per transform: meant for the short transforms of audio front ends.

dft_length, axis, frame_step and frame_length must be constants (they decide shapes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineExpr, AffineMap

from lamina.dialects import graph, top
from lamina.dialects.weights import numpy_dtype
from lamina.lowering.graph_to_top_common import Body, Emitter, GraphLowering, elt_of, is_none

_P, _R = top.IteratorType.PARALLEL, top.IteratorType.REDUCTION


def dft_matrix(size: int, parts: int, length: int, inverse: bool, onesided: bool) -> np.ndarray:
    """M[k, c_out, n, c_in] of the DFT of `length` of a signal of `size` samples with
    `parts` (1: real, 2: complex) values each, as ONNX DFT defines it."""
    basis = np.eye(size * parts).reshape(size * parts, size, parts)
    signals = basis[..., 0] + (1j * basis[..., 1] if parts == 2 else 0)
    if inverse and onesided:
        out = np.fft.irfft(signals, n=length, axis=1)[..., np.newaxis]
    else:
        spectra = (np.fft.ifft if inverse else np.fft.fft)(signals, n=length, axis=1)
        if onesided:
            spectra = spectra[:, : length // 2 + 1]
        out = np.stack([spectra.real, spectra.imag], axis=-1)
    # out[(n, c_in), k, c_out] -> M[k, c_out, n, c_in]
    return out.reshape(size, parts, *out.shape[1:]).transpose(2, 3, 0, 1)


def _transform(
    e: Emitter, inputs: list[tuple[SSAValue, AffineMap]], result: TensorType[Attribute]
) -> SSAValue:
    """A generic over (result dims..., n, c_in), the last two reduced, yielding
    acc + the product of its inputs (each read through its map)."""
    rank = len(result.get_shape())
    block = Block(arg_types=[*(elt_of(v) for v, _ in inputs), result.get_element_type()])
    b = Body(block)
    *values, acc = block.args
    product = values[0]
    for value in values[1:]:
        product = b.mul(product, value)
    block.add_op(top.YieldOp(b.add(acc, product)))
    out_map = AffineMap(rank + 2, 0, tuple(AffineDimExpr(d) for d in range(rank)))
    maps = [m for _, m in inputs] + [out_map]
    iterators = [_P] * rank + [_R] * 2
    init = e.fill(result)
    return e.emit(top.GenericOp([v for v, _ in inputs], [init], Region(block), maps, iterators))


def _matrix(e: Emitter, matrix: np.ndarray, element: Attribute) -> SSAValue:
    return e.emit(graph.ConstantOp.from_array(matrix.astype(numpy_dtype(element)), "dft"))


def _int_operand(e: Emitter, value: SSAValue, what: str) -> int | None:
    return None if is_none(value) else int(e.constant(value, what).reshape(-1)[0])


class DFTLowering(GraphLowering):
    """dft(x, dft_length, axis) -> sum over n, c_in of M * x (module doc)."""

    source = (graph.DFTOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, length_value, axis_value = op.operands
        xs = e.static(x)
        result = e.static_result()
        attrs = e.attrs()
        inverse, onesided = bool(attrs.get("inverse")), bool(attrs.get("onesided"))
        axis = _int_operand(e, axis_value, "axis")
        axis = int(attrs.get("axis", 1)) if axis is None else axis  # pyright: ignore[reportArgumentType]
        rank = len(xs)
        if not -rank <= axis < rank or axis % rank == rank - 1:
            raise e.fail(f"axis {axis} for an input of rank {rank}")
        axis %= rank
        size, parts = xs[axis], xs[-1]
        length = _int_operand(e, length_value, "dft_length")
        if length is None:
            length = 2 * (size - 1) if inverse and onesided else size
        if parts not in (1, 2) or length < 1:
            raise e.fail(f"input of shape {xs} with dft_length {length}")
        matrix = dft_matrix(size, parts, length, inverse, onesided)
        if result.get_shape() != (*xs[:axis], matrix.shape[0], *xs[axis + 1 : -1], matrix.shape[1]):
            raise e.fail(f"result type {result} for a transform of shape {matrix.shape[:2]}")
        loops = rank + 2  # the result's dims, then n and c_in
        n, c_in = AffineDimExpr(rank), AffineDimExpr(rank + 1)
        x_dims: list[AffineExpr] = [AffineDimExpr(d) for d in range(rank - 1)]
        x_map = AffineMap(loops, 0, (*x_dims[:axis], n, *x_dims[axis + 1 :], c_in))
        m_map = AffineMap(loops, 0, (AffineDimExpr(axis), AffineDimExpr(rank - 1), n, c_in))
        m = _matrix(e, matrix, result.get_element_type())
        return [_transform(e, [(m, m_map), (x, x_map)], result)]


class STFTLowering(GraphLowering):
    """stft(signal, step, window, frame_length) -> per frame, sum over n, c_in of
    M * window * signal (module doc)."""

    source = (graph.STFTOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        signal, step_value, window, length_value = op.operands
        xs = e.static(signal)
        result = e.static_result()
        step = _int_operand(e, step_value, "frame_step")
        length = _int_operand(e, length_value, "frame_length")
        if length is None:
            if is_none(window):
                raise e.fail("neither a window nor a frame_length")
            length = e.static(window)[0]
        onesided = bool(e.attrs().get("onesided", 1))
        if len(xs) != 3 or xs[-1] not in (1, 2) or step is None or step < 1:
            raise e.fail(f"signal of shape {xs} with frame_step {step}")
        matrix = dft_matrix(length, xs[-1], length, False, onesided)
        frames = (xs[1] - length) // step + 1
        if result.get_shape() != (xs[0], frames, matrix.shape[0], 2):
            raise e.fail(f"result type {result} for {frames} frames of {matrix.shape[0]} bins")
        b, f, k, c_out, n, c_in = (AffineDimExpr(d) for d in range(6))
        inputs = [
            (_matrix(e, matrix, result.get_element_type()), AffineMap(6, 0, (k, c_out, n, c_in))),
            (signal, AffineMap(6, 0, (b, f * step + n, c_in))),
        ]
        if not is_none(window):
            inputs.append((window, AffineMap(6, 0, (n,))))
        return [_transform(e, inputs, result)]


SIGNAL_LOWERINGS: tuple[type[GraphLowering], ...] = (DFTLowering, STFTLowering)
