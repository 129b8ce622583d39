"""Nests equal but for some i64 constants share one function (codegen/llvm_slots.py,
codegen/llvm_split.py): a family's first nest keeps its constants, the others share a
function taking the constants they differ in as arguments, while nests that differ in
anything else (a float constant, an innermost loop's bound) stay apart;
either way each call computes what its own nest says."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from lamina.codegen.llvm_split import split_llvm
from lamina.runtime.jit import JitFunction
from lamina.targets import load_device

HOST = replace(load_device("host"), cores=1)
BUFFERS = "%x: memref<4x4xf32>, %y: memref<4x4xf32>, %z: memref<4x4xf32>"


def copy_rows(rows: str, columns: str, out: str, scale: str | None = None) -> str:
    """A nest writing `out[i, j] = x[i, j]` (times `scale`) for i < rows, j < columns."""
    value = "%v" if scale is None else "%s"
    multiply = "" if scale is None else f"      %s = arith.mulf %v, {scale} : f32\n"
    return (
        f"  loop.for %i = %c0 to {rows} step %c1 {{\n"
        f"    loop.for %j = %c0 to {columns} step %c1 {{\n"
        "      %v = loop.load %x[%i, %j] : memref<4x4xf32>\n"
        f"{multiply}"
        f"      loop.store {value}, {out}[%i, %j] : memref<4x4xf32>\n"
        "    }\n  }\n"
    )


def run(module) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.random.default_rng(3).standard_normal((4, 4), dtype=np.float32)
    y, z = JitFunction(module, threads=1)(x)
    return x, y, z


def test_nests_differing_in_an_outer_bound_share_a_function(kernel_module) -> None:
    # the first nest compiles as emitted, with its constants; the two that differ from it
    # share one function that takes the bound (and so the stride of z's rows) as arguments
    buffers = BUFFERS + ", %w: memref<4x4xf32>"
    body = copy_rows("%c2", "%c4", "%y") + copy_rows("%c3", "%c4", "%z")
    body += copy_rows("%c4", "%c4", "%w")
    split = split_llvm(kernel_module(buffers, body, outputs=3), HOST)
    assert (split.calls, len(split.nests)) == (3, 2)
    first, shared = split.nests.values()
    assert "slot" not in first and 'i64 %"slot' in shared.split("\n{")[0]
    assert "i64 3)" in split.main and "i64 4)" in split.main
    x = np.random.default_rng(3).standard_normal((4, 4), dtype=np.float32)
    y, z, w = JitFunction(kernel_module(buffers, body, outputs=3), threads=1)(x)
    np.testing.assert_array_equal(y[:2], x[:2])
    np.testing.assert_array_equal(z[:3], x[:3])
    np.testing.assert_array_equal(w, x)


def test_nests_differing_in_a_float_constant_stay_apart(kernel_module) -> None:
    body = copy_rows("%c4", "%c4", "%y", "%two") + copy_rows("%c4", "%c4", "%z", "%three")
    body = "  %two = arith.constant 2.0 : f32\n  %three = arith.constant 3.0 : f32\n" + body
    split = split_llvm(kernel_module(BUFFERS, body, outputs=2), HOST)
    assert (split.calls, len(split.nests)) == (2, 2)
    x, y, z = run(kernel_module(BUFFERS, body, outputs=2))
    np.testing.assert_array_equal(y, x * 2)
    np.testing.assert_array_equal(z, x * 3)


def test_nests_differing_in_an_innermost_bound_stay_apart(kernel_module) -> None:
    body = copy_rows("%c4", "%c2", "%y") + copy_rows("%c4", "%c3", "%z")
    split = split_llvm(kernel_module(BUFFERS, body, outputs=2), HOST)
    assert (split.calls, len(split.nests)) == (2, 2)
    assert all("slot" not in text for text in split.nests.values())
    x, y, z = run(kernel_module(BUFFERS, body, outputs=2))
    np.testing.assert_array_equal(y[:, :2], x[:, :2])
    np.testing.assert_array_equal(z[:, :3], x[:, :3])


def test_identical_nests_pass_no_arguments(kernel_module) -> None:
    body = copy_rows("%c4", "%c4", "%y") + copy_rows("%c4", "%c4", "%z")
    split = split_llvm(kernel_module(BUFFERS, body, outputs=2), HOST)
    assert (split.calls, len(split.nests)) == (2, 1)
    assert "slot" not in next(iter(split.nests.values()))
    x, y, z = run(kernel_module(BUFFERS, body, outputs=2))
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(z, x)


def test_a_first_nests_text_is_its_open_text_with_its_constants_filled_in() -> None:
    import llvmlite.ir as ir

    from lamina.codegen.llvm_slots import I64, close_slots, filled, open_slots

    module = ir.Module(name="nest")
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), [I64, ir.PointerType()]), "f")
    builder = ir.IRBuilder(fn.append_basic_block())
    total = builder.add(fn.args[0], ir.Constant(I64, 7))
    shifted = builder.mul(total, ir.Constant(I64, -3))
    offset = builder.sub(shifted, ir.Constant(I64, 70))
    where = builder.gep(fn.args[1], [offset], source_etype=ir.FloatType())
    builder.store(ir.Constant(ir.FloatType(), 1.0), where)
    builder.ret_void()
    slots, values = open_slots(fn, set())
    opened = str(module)
    assert values == (7, -3, 70) and opened.count('%"slot') == 3
    close_slots(fn, slots, [values])
    assert filled(opened, slots, values) == str(module)
