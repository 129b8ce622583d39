"""DFT and STFT -> one `top.matmul` each: a transform of a fixed length is a linear map of
the (real, imaginary) input along its axis, so its matrix M[k, c_out, n, c_in] is built at
compile time (numpy's FFT applied to each basis signal) and the samples, brought to rows
of n * c_in values, are multiplied by it on the GEMM path:

    dft(x : [b, n, c_in]) -> y[b, k, c_out] = sum_{n, c_in} M[k, c_out, n, c_in] x[b, n, c_in]
                          = reshape(matmul(reshape(x, [b, n c_in]), M^T [n c_in, k c_out]))

so zero padding / truncation to dft_length, onesided outputs, inverse scaling and the
inverse one-sided transform (a real output) are all in M; another axis is transposed
next to the last dim first. STFT first copies its overlapping frames times the window
(a generic reading (b, f, n, c) -> signal[b, f * step + n, c]). O(n k) per transform
(no FFT): meant for the short transforms of audio front ends.

dft_length, axis, frame_step and frame_length must be constants (they decide shapes).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

import numpy as np
from xdsl.dialects.builtin import TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.ir.affine import AffineDimExpr, AffineMap

from lamina.dialects import graph, top
from lamina.dialects.weights import numpy_dtype
from lamina.lowering.graph_to_top_common import Body, Emitter, GraphLowering, elt_of, is_none


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


def _transform(e: Emitter, samples: SSAValue, matrix: np.ndarray) -> SSAValue:
    """samples [..., n, c_in] -> [..., k, c_out] through M (one matmul on flat rows)."""
    *outer, n, c_in = e.static(samples)
    k, c_out = matrix.shape[:2]
    element = elt_of(samples)
    flat = matrix.reshape(k * c_out, n * c_in).T.astype(numpy_dtype(element))
    weights = e.emit(graph.ConstantOp.from_array(np.ascontiguousarray(flat), "dft"))
    rows = e.reshape(samples, (prod(outer), n * c_in))
    product = e.emit(top.MatmulOp(rows, weights, TensorType(element, (prod(outer), k * c_out))))
    return e.reshape(product, (*outer, k, c_out))


def _int_operand(e: Emitter, value: SSAValue, what: str) -> int | None:
    return None if is_none(value) else int(e.constant(value, what).reshape(-1)[0])


class DFTLowering(GraphLowering):
    """dft(x, dft_length, axis) -> sum over n, c_in of M * x (module doc)."""

    source = (graph.DFTOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        x, length_value, axis_value = op.operands
        xs, result = e.static_in_out(x)
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
        last = [d for d in range(rank - 1) if d != axis] + [axis, rank - 1]
        samples = x
        if last != list(range(rank)):
            moved = TensorType(elt_of(x), [xs[d] for d in last])
            samples = e.emit(top.TransposeOp(x, last, moved))
        spectrum = _transform(e, samples, matrix)
        if last == list(range(rank)):
            return [spectrum]
        back = [last.index(d) for d in range(rank)]
        return [e.emit(top.TransposeOp(spectrum, back, result))]


class STFTLowering(GraphLowering):
    """stft(signal, step, window, frame_length) -> per frame, sum over n, c_in of
    M * window * signal (module doc)."""

    source = (graph.STFTOp,)

    def lower(self, op: Operation, e: Emitter) -> Sequence[SSAValue | None]:
        signal, step_value, window, length_value = op.operands
        xs, result = e.static_in_out(signal)
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
        return [_transform(e, _frames(e, signal, window, frames, length, step), matrix)]


def _frames(
    e: Emitter, signal: SSAValue, window: SSAValue, frames: int, length: int, step: int
) -> SSAValue:
    """[b, frames, length, c]: frame f is signal[:, f * step + n, :] (times window[n])."""
    batch, _, parts = e.static(signal)
    b, f, n, c = (AffineDimExpr(d) for d in range(4))
    inputs, maps = [signal], [AffineMap(4, 0, (b, f * step + n, c))]
    if not is_none(window):
        inputs.append(window)
        maps.append(AffineMap(4, 0, (n,)))

    def body(body: Body, v: Sequence[SSAValue]) -> SSAValue:
        return body.mul(v[0], v[1]) if len(v) > 1 else v[0]

    result = TensorType(elt_of(signal), (batch, frames, length, parts))
    return e.generic(inputs, result, body, maps)


SIGNAL_LOWERINGS: tuple[type[GraphLowering], ...] = (DFTLowering, STFTLowering)
