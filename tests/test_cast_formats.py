"""Cast / CastLike among bf16, float8, float4 E2M1, int4 / uint4 and f32 / f16 on the
compiled path (host JIT), bit for bit against ONNX's reference implementation
(`onnx.reference`, which rounds with `ml_dtypes`): every bit pattern of the narrow format,
every f16 pattern, and random f32 patterns. NaNs compare by being NaN (their payloads are
free)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import ml_dtypes
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

import lamina
from lamina.codegen import hexagon_program
from lamina.compiler import compile_bundle, jit_model, lower_model
from lamina.context import make_context
from lamina.errors import UnsupportedOpError
from lamina.runtime import hexagon, opencl
from lamina.runtime.compiled_model import CompiledModel
from lamina.runtime.jit import JitFunction
from lamina.runtime.qemu import run_bundle
from lamina.targets import load_device

F32, F16 = TensorProto.FLOAT, TensorProto.FLOAT16
NARROW_FLOATS = [
    TensorProto.BFLOAT16,
    TensorProto.FLOAT8E4M3FN,
    TensorProto.FLOAT8E4M3FNUZ,
    TensorProto.FLOAT8E5M2,
    TensorProto.FLOAT8E5M2FNUZ,
    TensorProto.FLOAT4E2M1,
]
SATURATING = {
    TensorProto.FLOAT8E4M3FN,
    TensorProto.FLOAT8E4M3FNUZ,
    TensorProto.FLOAT8E5M2,
    TensorProto.FLOAT8E5M2FNUZ,
}


def dtype_of(elem: int) -> np.dtype:
    return np.dtype(helper.tensor_dtype_to_np_dtype(elem))


def cast_model(src: int, dst: int, n: int, saturate: int | None = None) -> onnx.ModelProto:
    node = helper.make_node("Cast", ["x"], ["y"], to=dst)
    if saturate is not None:
        node.attribute.append(helper.make_attribute("saturate", saturate))
    graph = helper.make_graph(
        [node],
        "cast",
        [helper.make_tensor_value_info("x", src, [n])],
        [helper.make_tensor_value_info("y", dst, [n])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])


def all_patterns(elem: int) -> np.ndarray:
    dtype = dtype_of(elem)
    bits = 4 if dtype == np.dtype(ml_dtypes.float4_e2m1fn) else dtype.itemsize * 8
    unsigned = np.dtype(f"<u{dtype.itemsize}")
    return np.arange(1 << bits, dtype=np.uint32).astype(unsigned).view(dtype)


def f32_probes(seed: int = 0) -> np.ndarray:
    """Every f16 and bf16 value (all binades, every tie of a float8 / float4 rounding),
    bf16 ties and their neighbours, and random f32 bit patterns."""
    halves = all_patterns(F16).astype(np.float32)
    bf16_bits = np.arange(1 << 16, dtype=np.uint32) << 16
    ties = [bf16_bits | offset for offset in (0x7FFF, 0x8000, 0x8001)]
    random = np.random.default_rng(seed).integers(0, 1 << 32, 50_000, dtype=np.uint32)
    bits = np.concatenate([bf16_bits, *ties, random])
    return np.concatenate([halves, bits.view(np.float32)])


def assert_same_bits(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape
    wide_got, wide_want = got.astype(np.float32), want.astype(np.float32)
    nan = np.isnan(wide_want)
    np.testing.assert_array_equal(np.isnan(wide_got), nan)
    unsigned = np.dtype(f"<u{got.dtype.itemsize}")
    wrong = np.flatnonzero(got.view(unsigned)[~nan] != want.view(unsigned)[~nan])
    assert wrong.size == 0, (
        f"{wrong.size} values differ, e.g. {wide_got[~nan][wrong[:5]]} "
        f"for {wide_want[~nan][wrong[:5]]}"
    )


def reference(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The outputs ONNX's reference implementation computes."""
    return [np.asarray(v) for v in ReferenceEvaluator(model).run(None, feeds)]


def compiled_and_reference(model: onnx.ModelProto, x: np.ndarray) -> tuple[np.ndarray, ...]:
    (got,) = lamina.compile(model, device="host")(x)
    (want,) = reference(model, {"x": x})
    return got, want


@pytest.mark.parametrize("elem", NARROW_FLOATS, ids=TensorProto.DataType.Name)
@pytest.mark.parametrize("wide", [F32, F16], ids=["f32", "f16"])
def test_every_narrow_float_widens_exactly(elem: int, wide: int):
    x = all_patterns(elem)
    got, want = compiled_and_reference(cast_model(elem, wide, x.size), x)
    assert_same_bits(got, want)


@pytest.mark.parametrize("elem", NARROW_FLOATS, ids=TensorProto.DataType.Name)
def test_f32_rounds_to_nearest_even_like_onnx(elem: int):
    x = f32_probes()
    got, want = compiled_and_reference(cast_model(F32, elem, x.size), x)
    assert_same_bits(got, want)


@pytest.mark.parametrize("elem", sorted(SATURATING), ids=TensorProto.DataType.Name)
def test_f32_without_saturation_overflows_to_inf_or_nan(elem: int):
    x = f32_probes(seed=1)
    got, want = compiled_and_reference(cast_model(F32, elem, x.size, saturate=0), x)
    assert_same_bits(got, want)


F16_NARROWING = [(e, 1) for e in NARROW_FLOATS] + [(e, 0) for e in sorted(SATURATING)]
"""(target, saturate): `saturate` only means something for the float8 targets."""


@pytest.mark.parametrize(
    ("elem", "saturate"),
    F16_NARROWING,
    ids=[f"{TensorProto.DataType.Name(e)}-saturate{s}" for e, s in F16_NARROWING],
)
def test_every_f16_narrows_like_onnx(elem: int, saturate: int):
    x = all_patterns(F16)
    got, want = compiled_and_reference(cast_model(F16, elem, x.size, saturate), x)
    assert_same_bits(got, want)


def test_float8_to_bf16_goes_through_f32_exactly():
    x = all_patterns(TensorProto.FLOAT8E4M3FN)
    got, want = compiled_and_reference(
        cast_model(TensorProto.FLOAT8E4M3FN, TensorProto.BFLOAT16, x.size), x
    )
    assert_same_bits(got, want)


@pytest.mark.parametrize("elem", [TensorProto.INT4, TensorProto.UINT4], ids=["int4", "uint4"])
def test_floats_to_4_bit_integers_truncate_and_zero_out_of_range(elem: int):
    x = np.concatenate(
        [np.arange(-20, 20, 0.125), [np.nan, np.inf, -np.inf, -0.0, 1e9, -1e9]]
    ).astype(np.float32)
    got, want = compiled_and_reference(cast_model(F32, elem, x.size), x)
    np.testing.assert_array_equal(got.view(np.uint8) & 0xF, want.view(np.uint8) & 0xF)
    assert got.dtype == want.dtype


@pytest.mark.parametrize("elem", [TensorProto.INT4, TensorProto.UINT4], ids=["int4", "uint4"])
@pytest.mark.parametrize("wide", [F32, F16, TensorProto.INT8, TensorProto.UINT8, TensorProto.INT32])
def test_every_4_bit_integer_widens_exactly(elem: int, wide: int):
    x = all_patterns(elem)
    got, want = compiled_and_reference(cast_model(elem, wide, x.size), x)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_bf16_arithmetic_computes_in_f32_and_rounds_once():
    """Add on bf16 tensors: each sum rounded once from the exact f32 sum of the inputs."""
    rng = np.random.default_rng(2)
    a, b = (rng.standard_normal(4096).astype(ml_dtypes.bfloat16) for _ in range(2))
    bf16 = TensorProto.BFLOAT16
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"])],
        "add",
        [helper.make_tensor_value_info(n, bf16, [4096]) for n in ("a", "b")],
        [helper.make_tensor_value_info("y", bf16, [4096])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    (got,) = lamina.compile(model, device="host")(a, b)
    want = (a.astype(np.float32) + b.astype(np.float32)).astype(ml_dtypes.bfloat16)
    assert_same_bits(got, want)


def narrowing_chain() -> onnx.ModelProto:
    """f16 -> f32 (x 2) -> f16, and f32 -> bf16 / float8 E4M3FN / float4 E2M1 / int4: every
    output a storage type through the kernel ABI."""
    half, nodes = TensorProto.FLOAT16, []
    nodes.append(helper.make_node("Cast", ["h"], ["wide"], to=F32))
    nodes.append(helper.make_node("Add", ["wide", "wide"], ["twice"]))
    nodes.append(helper.make_node("Cast", ["twice"], ["h2"], to=half))
    outputs = {"bf": TensorProto.BFLOAT16, "f8": TensorProto.FLOAT8E4M3FN}
    outputs |= {"f4": TensorProto.FLOAT4E2M1, "i4": TensorProto.INT4}
    nodes += [helper.make_node("Cast", ["x"], [name], to=elem) for name, elem in outputs.items()]
    graph = helper.make_graph(
        nodes,
        "chain",
        [
            helper.make_tensor_value_info("h", half, [256]),
            helper.make_tensor_value_info("x", F32, [256]),
        ],
        [helper.make_tensor_value_info("h2", half, [256])]
        + [helper.make_tensor_value_info(name, elem, [256]) for name, elem in outputs.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])


def test_storage_types_cross_the_aot_abi_on_cortex_a76_under_qemu(tmp_path: Path):
    model = narrowing_chain()
    rng = np.random.default_rng(3)
    h = (rng.standard_normal(256) * 100).astype(np.float16)
    x = np.concatenate([rng.standard_normal(250) * 4, [np.nan, np.inf, -np.inf, 1e6, -0.0, 0.3]])
    feeds = {"h": h, "x": x.astype(np.float32)}
    compile_bundle(model, "cortex-a76", tmp_path / "bundle")
    run = run_bundle(tmp_path / "bundle", feeds)
    expected = reference(model, feeds)
    assert len(run.outputs) == len(expected) == 5
    for got, want in zip(run.outputs, expected, strict=True):
        assert_same_bits(got, want)


def test_storage_types_cross_the_jit_abi_on_the_host():
    model = narrowing_chain()
    h = np.arange(-128, 128).astype(np.float16) * np.float16(0.37)
    x = np.linspace(-10, 10, 256).astype(np.float32)
    got = lamina.compile(model, device="host")(h, x)
    for got_one, want in zip(got, reference(model, {"h": h, "x": x}), strict=True):
        assert_same_bits(got_one, want)


@pytest.mark.skipif(not opencl.opencl_available(), reason="no OpenCL platform (pocl-opencl-icd)")
@pytest.mark.parametrize("elem", NARROW_FLOATS[:5], ids=TensorProto.DataType.Name)
def test_opencl_kernels_round_and_widen_like_onnx(elem: int):
    """f32 -> format -> f32 in OpenCL C (the same integer ops as the LLVM targets)."""
    nodes = [
        helper.make_node("Cast", ["x"], ["narrow"], to=elem),
        helper.make_node("Cast", ["narrow"], ["back"], to=F32),
    ]
    graph = helper.make_graph(
        nodes,
        "round_trip",
        [helper.make_tensor_value_info("x", F32, [4096])],
        [
            helper.make_tensor_value_info("narrow", elem, [4096]),
            helper.make_tensor_value_info("back", F32, [4096]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    x = f32_probes()[::40][:4096].copy()
    got = lamina.compile(model, device="opencl")(x)
    for got_one, want in zip(got, reference(model, {"x": x}), strict=True):
        assert_same_bits(got_one, want)


def graph_cast(src: str, dst: str, to: int, n: int, saturate: int = 1) -> ModuleOp:
    """A graph-level Cast: E8M0 and int2 / uint2 Casts are ONNX opsets 24 and 25, past the
    opset lamina imports, so these tests write the graph IR themselves."""
    text = f"""
    func.func @cast(%x: tensor<{n}x{src}>) -> tensor<{n}x{dst}> {{
      %y = graph.cast %x {{saturate = {saturate} : i64, to = {to} : i64}}
          : (tensor<{n}x{src}>) -> tensor<{n}x{dst}>
      func.return %y : tensor<{n}x{dst}>
    }}"""
    return Parser(make_context(), text).parse_module()


def e8m0_module(src: str, dst: str, n: int, saturate: int = 1) -> ModuleOp:
    return graph_cast(src, dst, TensorProto.FLOAT8E8M0 if dst == "f8E8M0FNU" else F32, n, saturate)


@pytest.mark.parametrize(
    ("mlir", "elem"), [("i2", TensorProto.INT2), ("ui2", TensorProto.UINT2)], ids=["int2", "uint2"]
)
def test_floats_to_2_bit_integers_and_back_like_ml_dtypes(mlir: str, elem: int):
    x = np.concatenate([np.arange(-6, 6, 0.25), [np.nan, np.inf, -np.inf]]).astype(np.float32)
    (got,) = lamina.compile(graph_cast("f32", mlir, elem, x.size), device="host")(x)
    with np.errstate(invalid="ignore"):
        want = x.astype(dtype_of(elem))
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got.view(np.uint8) & 3, want.view(np.uint8) & 3)
    codes = np.arange(4, dtype=np.uint8).view(dtype_of(elem))
    (back,) = lamina.compile(graph_cast(mlir, "f32", F32, 4), device="host")(codes)
    np.testing.assert_array_equal(back, codes.astype(np.float32))


def test_f32_to_e8m0_rounds_up_and_saturates_like_onnx():
    x = f32_probes(seed=4)
    (got,) = lamina.compile(e8m0_module("f32", "f8E8M0FNU", x.size), device="host")(x)
    want = onnx.numpy_helper.to_float8e8m0(x, saturate=True, round_mode="up")
    assert_same_bits(got, want)


def test_every_e8m0_widens_exactly():
    x = all_patterns(TensorProto.FLOAT8E8M0)
    (got,) = lamina.compile(e8m0_module("f8E8M0FNU", "f32", x.size), device="host")(x)
    assert_same_bits(got, x.astype(np.float32))


def test_e8m0_without_saturation_is_unsupported():
    with pytest.raises(UnsupportedOpError, match="FLOAT8E8M0 with saturate = 0"):
        lamina.compile(e8m0_module("f32", "f8E8M0FNU", 4, saturate=0), device="host")


@pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in [*hexagon_program.TOOLS, "make"]),
    reason="needs qemu-hexagon, llvm-mc, ld.lld and make (Debian: qemu-user, llvm, lld, make)",
)
def test_storage_types_and_f16_on_hexagon_under_qemu(tmp_path: Path):
    """Hexagon converts f16 as integer ops too (its LLVM conversions are libcalls)."""
    outputs = {"bf": TensorProto.BFLOAT16, "f8": TensorProto.FLOAT8E4M3FN}
    outputs |= {"f4": TensorProto.FLOAT4E2M1, "i4": TensorProto.INT4, "h": TensorProto.FLOAT16}
    nodes = [helper.make_node("Cast", ["x"], [name], to=elem) for name, elem in outputs.items()]
    nodes.append(helper.make_node("Cast", ["f8"], ["back"], to=F32))
    graph = helper.make_graph(
        nodes,
        "casts",
        [helper.make_tensor_value_info("x", F32, [1024])],
        [helper.make_tensor_value_info(name, elem, [1024]) for name, elem in outputs.items()]
        + [helper.make_tensor_value_info("back", F32, [1024])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
    x = f32_probes()[::100][:1024].copy()
    compile_bundle(model, hexagon.DEVICE, tmp_path / "bundle")
    run = run_bundle(tmp_path / "bundle", {"x": x})
    expected = reference(model, {"x": x})
    assert len(run.outputs) == len(expected) == 6
    for got, want in zip(run.outputs, expected, strict=True):
        assert_same_bits(got, want)


INTEGER_SOURCES: dict[int, np.ndarray] = {
    TensorProto.INT32: np.array([-70000, -1000, -3, 0, 5, 300, 70000, 7], np.int32),
    TensorProto.UINT8: np.array([0, 1, 200, 255, 17, 3, 240, 9], np.uint8),
    TensorProto.BOOL: np.array([True, False] * 4),
    TensorProto.DOUBLE: np.array([1e300, -0.3, 1 / 3, np.nan, 250, 1e-9, -1e300, 448.5]),
}


@pytest.mark.parametrize("src", list(INTEGER_SOURCES), ids=TensorProto.DataType.Name)
@pytest.mark.parametrize("dst", NARROW_FLOATS, ids=TensorProto.DataType.Name)
def test_integer_bool_and_double_sources_narrow_like_onnx(src: int, dst: int):
    """Integers saturate into float8 through f32; f64 rounds to f32 first (exact here)."""
    x = INTEGER_SOURCES[src]
    got, want = compiled_and_reference(cast_model(src, dst, x.size), x)
    assert_same_bits(got, want)


def compiled_with_f16_expanded(model: onnx.ModelProto) -> CompiledModel[JitFunction]:
    """`model` for the host with f16 converted by integer ops, as on Hexagon."""
    device = load_device("host")
    device = dataclasses.replace(
        device, extra={**device.extra, "passes": ["loop-expand-float-formats{f16=true}"]}
    )
    return jit_model(lower_model(model, device))


def test_f16_as_integer_ops_widens_every_pattern_and_rounds_like_onnx():
    x16 = all_patterns(F16)
    widen = cast_model(F16, F32, x16.size)
    (got,) = compiled_with_f16_expanded(widen)(x16)
    assert_same_bits(got, reference(widen, {"x": x16})[0])
    x32 = f32_probes(seed=5)
    narrow = cast_model(F32, F16, x32.size)
    (got,) = compiled_with_f16_expanded(narrow)(x32)
    assert_same_bits(got, reference(narrow, {"x": x32})[0])
