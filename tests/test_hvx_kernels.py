"""The HVX int8 kernels (lowering/hvx_kernels.py) run under qemu-hexagon, bit-exact against
numpy integer references on random inputs that include the saturation edges."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from lamina.codegen import hexagon_program
from lamina.codegen.llvm import emit_llvm
from lamina.errors import LaminaError, UnsupportedError, UnsupportedOpError
from lamina.lowering import hvx_kernels as k
from lamina.runtime.hexagon import HexagonModule
from lamina.targets import load_device

pytestmark = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in hexagon_program.TOOLS),
    reason="needs qemu-hexagon, llvm-mc and ld.lld (Debian: qemu-user, llvm, lld)",
)

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def _edges_and_random(dtype: np.dtype, n: int, rng: np.random.Generator) -> np.ndarray:
    info = np.iinfo(dtype)
    values = rng.integers(info.min, info.max, n, endpoint=True, dtype=np.int64)
    values[:8] = [info.min, info.max, info.min, -1, 0, 1, info.max, info.min + 1]
    values[n // 2 :] //= 1 << rng.integers(0, info.bits - 1, n - n // 2)  # small values too
    return values


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32"])
@pytest.mark.parametrize("op", ["add", "sub", "mul"])
def test_saturating_elementwise_matches_numpy(op: str, dtype: str) -> None:
    rng = np.random.default_rng(7)
    t = np.dtype(dtype)
    n = 2 * 128 // t.itemsize * 2
    a, b = _edges_and_random(t, n, rng), _edges_and_random(t, n, rng)[::-1].copy()
    exact = {"add": a.astype(object) + b, "sub": a.astype(object) - b, "mul": a.astype(object) * b}
    info = np.iinfo(t)
    expected = np.array([min(max(int(v), info.min), info.max) for v in exact[op]], t)
    run = HexagonModule(k.elementwise(op, dtype, n)).function("elementwise")
    (got,) = run(a.astype(t), b.astype(t), np.empty(n, t))
    np.testing.assert_array_equal(got, expected)


def _srdhm(a: int, b: int) -> int:
    """gemmlowp's SaturatingRoundingDoublingHighMul."""
    if a == b == INT32_MIN:
        return INT32_MAX
    product = a * b
    nudged = product + ((1 << 30) if product >= 0 else 1 - (1 << 30))
    return nudged // 2**31 if nudged >= 0 else -(-nudged // 2**31)


def _rounding_divide_by_pot(x: int, exponent: int) -> int:
    mask = (1 << exponent) - 1
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if (x & mask) > threshold else 0)


def requantize_reference(x: np.ndarray, multiplier: int, shift: int, zero_point: int) -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplier + zero point, clamped to int8."""
    out = []
    for value in x.tolist():
        if shift > 0:
            value = ((value << shift) + 2**31) % 2**32 - 2**31
        value = _srdhm(value, multiplier)
        if shift < 0:
            value = _rounding_divide_by_pot(value, -shift)
        out.append(min(max(value + zero_point, -128), 127))
    return np.array(out, np.int8)


@pytest.mark.parametrize(
    ("multiplier", "shift", "zero_point"),
    [(1 << 30, -3, 5), (1518500250, -9, -12), (INT32_MAX, 0, 0), (1234567890, 2, 3)],
)
def test_requantize_rounds_like_tflite(multiplier: int, shift: int, zero_point: int) -> None:
    rng = np.random.default_rng(multiplier % 1000)
    n = 512
    x = _edges_and_random(np.dtype(np.int32), n, rng).astype(np.int32)
    # with multiplier 2^30 (x / 2): ties of the high multiply (+-1, +-3) and of the shift (+-8, +-24)
    x[8:16] = [8, -8, 24, -24, 1, -1, 3, -3]
    run = HexagonModule(k.requantize(n, multiplier, shift, zero_point)).function("requantize")
    (got,) = run(x, np.empty(n, np.int8))
    expected = requantize_reference(x, multiplier, shift, zero_point)
    assert len(np.unique(expected)) > 20  # the data exercises more than the clamps
    np.testing.assert_array_equal(got, expected)


def _int8(shape: tuple[int, ...], signed: bool, rng: np.random.Generator) -> np.ndarray:
    if signed:
        return rng.integers(-128, 128, shape).astype(np.int8)
    return rng.integers(0, 256, shape).astype(np.uint8)


@pytest.mark.parametrize("signed_lhs", [False, True], ids=["u8xs8", "s8xs8"])
def test_vrmpy_matmul_is_exact(signed_lhs: bool) -> None:
    rng = np.random.default_rng(3)
    m, kk, n = 5, 64, 64
    a, b = _int8((m, kk), signed_lhs, rng), _int8((kk, n), True, rng)
    a[0], b[:, 0] = (-128 if signed_lhs else 255), -128  # the largest products
    run = HexagonModule(k.matmul(m, kk, n, signed_lhs)).function("matmul")
    (got,) = run(a.view(np.int32), k.pack_rhs(b), np.empty((m, n), np.int32))
    np.testing.assert_array_equal(got, a.astype(np.int64) @ b.astype(np.int64))


@pytest.mark.parametrize("signed_lhs", [False, True], ids=["u8", "s8"])
def test_direct_conv_with_stride_is_exact(signed_lhs: bool) -> None:
    rng = np.random.default_rng(4)
    h, w, c, oc, kernel, stride = 7, 6, 8, 64, 3, 2
    x, wt = _int8((h, w, c), signed_lhs, rng), _int8((kernel, kernel, c, oc), True, rng)
    oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    run = HexagonModule(k.conv2d(h, w, c, oc, kernel, stride, signed_lhs)).function("conv2d")
    x_words = x.view(np.int32).reshape(h, w, c // 4)
    (got,) = run(x_words, k.pack_rhs(wt), np.empty((oh, ow, oc), np.int32))
    expected = np.zeros((oh, ow, oc), np.int64)
    for r in range(oh):
        for s in range(ow):
            patch = x[r * stride : r * stride + kernel, s * stride : s * stride + kernel]
            expected[r, s] = np.einsum("hwc,hwco->o", patch.astype(np.int64), wt.astype(np.int64))
    np.testing.assert_array_equal(got, expected)


def _windows(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    h, w, _ = x.shape
    oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    return np.array(
        [
            [
                x[r * stride : r * stride + kernel, s * stride : s * stride + kernel]
                for s in range(ow)
            ]
            for r in range(oh)
        ]
    )


def test_max_pool_int8_matches_numpy() -> None:
    rng = np.random.default_rng(5)
    x = _int8((5, 6, 256), True, rng)
    x[:3, :3, :4] = -128
    run = HexagonModule(k.max_pool(5, 6, 256, 3, 2)).function("max_pool")
    (got,) = run(x, np.empty((2, 2, 256), np.int8))
    np.testing.assert_array_equal(got, _windows(x, 3, 2).max(axis=(2, 3)))


@pytest.mark.parametrize("kernel", [2, 3])
def test_avg_pool_int8_rounds_half_away_from_zero(kernel: int) -> None:
    rng = np.random.default_rng(6)
    x = _int8((5, 6, 128), True, rng)
    x[:3, :3, 0], x[:3, :3, 1] = -128, 127
    x[:2, :2, 2] = [[1, 1], [0, 0]]  # a tie: 2 / 4 = 0.5 -> 1
    x[:2, :2, 3] = [[-1, -1], [0, 0]]  # -0.5 -> -1
    oh, ow = (5 - kernel) // 2 + 1, (6 - kernel) // 2 + 1
    run = HexagonModule(k.avg_pool(5, 6, 128, kernel, 2)).function("avg_pool")
    (got,) = run(x, np.empty((oh, ow, 128), np.int8))
    sums = _windows(x, kernel, 2).astype(np.int64).sum(axis=(2, 3))
    count = kernel * kernel
    expected = np.sign(sums) * ((np.abs(sums) + count // 2) // count)
    np.testing.assert_array_equal(got, expected.astype(np.int8))


def test_matmul_object_uses_vrmpy(tmp_path) -> None:  # noqa: ANN001
    module = HexagonModule(k.matmul(4, 16, 32))
    assert "llvm.hexagon.V6.vrmpybusv.acc.128B" in str(module.llvm_module)
    path = tmp_path / "matmul.o"
    path.write_bytes(module.object)
    disassembly = subprocess.run(
        ["llvm-objdump", "-d", "--mcpu=hexagonv66", "--mattr=+hvxv66,+hvx-length128b", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "vrmpy(" in disassembly


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: k.elementwise("add", "int8", 100), "100 int8 elements: a multiple of 128"),
        (lambda: k.elementwise("div", "int8", 128), "HVX elementwise 'div'"),
        (lambda: k.matmul(4, 6, 32), "matmul 4x6x32: k a multiple of 4"),
        (lambda: k.avg_pool(20, 20, 128, 17, 1), "average pooling over 289 > 256 values"),
    ],
)
def test_unsupported_kernel_shapes_say_what(build, message: str) -> None:  # noqa: ANN001
    with pytest.raises(UnsupportedError, match=f"not supported: {message}"):
        build()


def test_hvx_ops_on_a_cpu_device_are_rejected() -> None:
    with pytest.raises(UnsupportedOpError, match="'hvx.vaddbsat' on device 'x86-64-avx512'"):
        emit_llvm(k.elementwise("add", "int8", 128), load_device("x86-64-avx512"))


def test_missing_tool_names_its_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda tool: None if tool == "ld.lld" else "/bin/true")
    with pytest.raises(LaminaError, match="ld.lld not found: install the Debian package lld"):
        hexagon_program.require_tools()


def test_wrong_input_shape_is_an_error_not_a_crash() -> None:
    run = HexagonModule(k.elementwise("add", "int8", 128)).function("elementwise")
    with pytest.raises(LaminaError, match="argument 1 of @elementwise must be int8 of shape"):
        run(np.zeros(128, np.int8), np.zeros(64, np.int8), np.empty(128, np.int8))
