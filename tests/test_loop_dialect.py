"""The `loop` dialect built from Python: builders, round-trips and every verifier error."""

from __future__ import annotations

from io import StringIO

import pytest
from xdsl.builder import Builder
from xdsl.context import Context
from xdsl.dialects.arith import AddfOp, Arith, ConstantOp
from xdsl.dialects.builtin import (
    ArrayAttr,
    BoolAttr,
    Builtin,
    FloatAttr,
    IndexType,
    IntegerAttr,
    MemRefType,
    ModuleOp,
    StridedLayoutAttr,
    VectorType,
    f16,
    f32,
    i8,
    i32,
)
from xdsl.dialects.func import Func, FuncOp, ReturnOp
from xdsl.dialects.math import Math
from xdsl.dialects.vector import Vector
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.rewriter import InsertPoint
from xdsl.utils.exceptions import VerifyException

from lamina.dialects.loop import (
    AllocOp,
    ArenaOp,
    CarveOp,
    DeallocOp,
    ForOp,
    LoadOp,
    Loop,
    MemorySpace,
    SpaceAttr,
    StoreOp,
    VLoadOp,
    VStoreOp,
    YieldOp,
    buffer_bytes,
    byte_size,
    memory_space_of,
    natural_alignment,
)

VTCM = SpaceAttr(MemorySpace.VTCM)


def _context() -> Context:
    ctx = Context()
    for dialect in (Builtin, Func, Arith, Math, Vector, Loop):
        ctx.load_dialect(dialect)
    return ctx


def _print(op: Operation, generic: bool = False) -> str:
    out = StringIO()
    Printer(stream=out, print_generic_format=generic).print_op(op)
    return out.getvalue()


def _arg(type_: Attribute, name: str | None = None) -> SSAValue:
    """A value of `type_` (a block argument), optionally named for diagnostics."""
    value = Block(arg_types=[type_]).args[0]
    value.name_hint = name
    return value


def _index(value: int) -> ConstantOp:
    return ConstantOp(IntegerAttr(value, IndexType()))


def _verify_fails(op: Operation, match: str) -> None:
    with pytest.raises(VerifyException, match=match):
        op.verify()


def _sum_kernel() -> ModuleOp:
    """`out[0] = sum(exp(x))` over a 64-element VTCM buffer, with a vector loop and a
    reduction loop, built through the Python builders."""
    buf = MemRefType(f32, [64], memory_space=VTCM)
    out = MemRefType(f32, [1])
    func = FuncOp("sum_exp", ((out,), ()))
    (out_arg,) = func.body.block.args
    builder = Builder(InsertPoint.at_end(func.body.block))
    arena = builder.insert(ArenaOp(4096, alignment=128, space=MemorySpace.VTCM))
    x = builder.insert(CarveOp(arena, 256, buf, alignment=128))
    c0, c1, c8, c64 = (builder.insert(_index(v)) for v in (0, 1, 8, 64))
    zero = builder.insert(ConstantOp(FloatAttr(0.0, f32)))

    vec = builder.insert(ForOp(c0, c64, c8, parallel=True, vector=8))
    inner = Builder(InsertPoint.at_end(vec.body.block))
    v = inner.insert(VLoadOp(x, [vec.induction_var], VectorType(f32, [8])))
    inner.insert(VStoreOp(v, x, [vec.induction_var]))
    inner.insert(YieldOp())

    red = builder.insert(ForOp(c0, c64, c1, [zero], unroll=4))
    acc = red.body.block.args[1]
    inner = Builder(InsertPoint.at_end(red.body.block))
    e = inner.insert(LoadOp(x, [red.induction_var]))
    total = inner.insert(AddfOp(acc, e))
    inner.insert(YieldOp(total))

    builder.insert(StoreOp(red, out_arg, [c0]))
    builder.insert(ReturnOp())
    return ModuleOp([func])


def test_built_kernel_verifies_and_round_trips_in_both_forms():
    module = _sum_kernel()
    module.verify()
    text = _print(module)
    assert "parallel vector 8 {" in text
    assert "unroll 4 iter_args(" in text
    assert "loop.carve" in text and "align 128" in text
    for generic in (False, True):
        reparsed = Parser(_context(), _print(module, generic)).parse_module()
        reparsed.verify()
        assert _print(reparsed) == text


def test_for_builder_makes_the_body_block_with_induction_and_carried_values():
    c1 = _index(1)
    x = ConstantOp(FloatAttr(1.0, f32))
    loop = ForOp(c1, c1, c1, [x])
    assert [a.type for a in loop.body.block.args] == [IndexType(), f32]
    assert [r.type for r in loop.results] == [f32]
    assert loop.parallel is None and loop.unroll is None and loop.vector is None


def test_memory_space_helpers():
    assert memory_space_of(MemRefType(f32, [4])) is MemorySpace.GLOBAL
    assert memory_space_of(MemRefType(f32, [4], memory_space=VTCM)) is MemorySpace.VTCM
    assert memory_space_of(MemRefType(f32, [4], memory_space=IntegerAttr(3, i32))) is None
    assert byte_size(f16) == 2
    assert byte_size(VectorType(f32, [8])) == 32
    assert byte_size(IndexType()) is None
    assert natural_alignment(VectorType(f32, [32])) == 4
    assert natural_alignment(i8) == 1
    assert buffer_bytes(MemRefType(f32, [64, 64])) == 16384
    assert buffer_bytes(MemRefType(f32, [-1, 64])) is None
    assert ArenaOp(1 << 20, 64, MemorySpace.STACK).size == 1 << 20


# Verifier errors, one test per check. Values built in Python have no names, so messages
# name them by role ("buffer : memref<...>"); named values print as `%name`.


def test_arena_must_be_bytes():
    arena = ArenaOp.create(
        result_types=[MemRefType(f32, [256])], properties={"alignment": IntegerAttr(64, 64)}
    )
    _verify_fails(arena, r"arena : memref<256xf32> must be a 1-D memref of i8")


def test_arena_alignment_must_be_power_of_two():
    _verify_fails(ArenaOp(1024, alignment=48), "alignment 48 is not a power of two")


def test_carve_needs_arena_shaped_source():
    x = _arg(MemRefType(f32, [64]), "x")
    _verify_fails(CarveOp(x, 0, MemRefType(f32, [4])), r"arena %x : memref<64xf32> must be")


def test_carve_needs_static_buffer():
    arena = ArenaOp(1024)
    _verify_fails(CarveOp(arena, 0, MemRefType(f32, [-1])), "needs a static shape")
    _verify_fails(CarveOp(arena, 0, MemRefType(IndexType(), [4])), "target-independent size")


def test_carve_needs_identity_layout():
    strided = MemRefType(f32, [4], StridedLayoutAttr([2]))
    _verify_fails(CarveOp(ArenaOp(1024), 0, strided), "must have the identity layout")


def test_carve_needs_arena_memory_space():
    arena = ArenaOp(1024, space=MemorySpace.VTCM)
    _verify_fails(CarveOp(arena, 0, MemRefType(f32, [4])), "not in the memory space of arena")
    CarveOp(arena, 0, MemRefType(f32, [4], memory_space=VTCM)).verify()


def test_carve_must_fit_in_arena():
    arena = ArenaOp(1024)
    CarveOp(arena, 0, MemRefType(f32, [16, 16])).verify()
    _verify_fails(
        CarveOp(arena, 64, MemRefType(f32, [16, 16])),
        "of 1024 bytes at offset 64 does not fit in arena arena : memref<1024xi8, "
        r"#loop.space<global>> of 1024 bytes",
    )
    _verify_fails(CarveOp(arena, -16, MemRefType(f32, [4])), "at offset -16 does not fit")


def test_carve_alignment_must_be_power_of_two():
    carve = CarveOp(ArenaOp(1024), 0, MemRefType(f32, [4]), alignment=24)
    _verify_fails(carve, "alignment 24 is not a power of two")


def test_carve_offset_must_respect_alignment():
    arena = ArenaOp(1024)
    _verify_fails(CarveOp(arena, 6, MemRefType(f32, [4])), "not aligned to 4 bytes")
    _verify_fails(CarveOp(arena, 32, MemRefType(i8, [4]), 64), "not aligned to 64 bytes")
    # A buffer of vectors needs only scalar alignment unless it asks for more.
    CarveOp(arena, 4, MemRefType(VectorType(f32, [8]), [2])).verify()


def test_carve_alignment_cannot_exceed_known_arena_alignment():
    carve = CarveOp(ArenaOp(1024, alignment=16), 0, MemRefType(f32, [4]), alignment=64)
    _verify_fails(carve, "asks for alignment 64 but arena .* is only aligned to 16 bytes")
    # An arena passed in by the caller has no known alignment: only the offset is checked.
    CarveOp(_arg(MemRefType(i8, [1024])), 0, MemRefType(f32, [4]), alignment=64).verify()


def test_alloc_needs_one_size_per_dynamic_dimension():
    n = _index(4)
    AllocOp(MemRefType(f32, [-1, 8]), [n]).verify()
    _verify_fails(AllocOp(MemRefType(f32, [-1, -1]), [n]), "2 dynamic dimensions but 1 sizes")


def test_alloc_alignment_must_be_power_of_two():
    _verify_fails(AllocOp(MemRefType(f32, [4]), alignment=12), "alignment 12 is not a power")


def test_dealloc_rejects_arena_buffers():
    carve = CarveOp(ArenaOp(1024), 0, MemRefType(f32, [4]))
    _verify_fails(DeallocOp(carve), "cannot deallocate buffer : memref<4xf32.*lives in an arena")
    DeallocOp(AllocOp(MemRefType(f32, [4]))).verify()


def test_for_body_needs_index_induction_variable():
    c1 = _index(1)
    loop = ForOp(c1, c1, c1, body=Block([YieldOp()]))
    _verify_fails(loop, "must take the index induction variable first")


def test_for_body_arguments_must_match_iter_args():
    c1, x = _index(1), ConstantOp(FloatAttr(1.0, f32))
    loop = ForOp(c1, c1, c1, [x], body=Block([YieldOp(x)], arg_types=[IndexType(), i32]))
    _verify_fails(loop, r"body arguments \(i32\) do not match its iter_args \(f32\)")


def test_parallel_for_cannot_carry_values():
    c1, x = _index(1), ConstantOp(FloatAttr(1.0, f32))
    loop = ForOp(c1, c1, c1, [x], parallel=True)
    loop.body.block.add_op(YieldOp(loop.body.block.args[1]))
    _verify_fails(loop, "parallel loop.for cannot carry iter_args")


@pytest.mark.parametrize("hint", ["unroll", "vector"])
def test_for_hints_must_be_positive(hint: str):
    c1 = _index(1)
    loop = ForOp(c1, c1, c1, unroll=0) if hint == "unroll" else ForOp(c1, c1, c1, vector=0)
    loop.body.block.add_op(YieldOp())
    _verify_fails(loop, f"loop.for {hint} factor must be positive, got 0")


def test_for_constant_step_must_be_positive():
    c0 = _index(0)
    c0.result.name_hint = "c0"
    loop = ForOp(c0, c0, c0)
    loop.body.block.add_op(YieldOp())
    _verify_fails(loop, "loop.for step %c0 : index = 0 must be positive")


def test_yield_must_match_iter_args():
    c1, x, y = _index(1), ConstantOp(FloatAttr(1.0, f32)), ConstantOp(IntegerAttr(1, i32))
    loop = ForOp(c1, c1, c1, [x])
    loop.body.block.add_op(YieldOp(y))
    _verify_fails(loop, r"loop.yield types \(i32\) do not match the loop.for iter_args \(f32\)")


def test_load_and_store_need_one_index_per_dimension():
    a, i = _arg(MemRefType(f32, [4, 4]), "a"), _index(0)
    _verify_fails(LoadOp(a, [i]), r"1 indices given for %a : memref<4x4xf32> of rank 2")
    x = ConstantOp(FloatAttr(1.0, f32))
    _verify_fails(StoreOp(x, a, [i, i, i]), "3 indices given for %a")


def test_load_result_must_be_element_type():
    a, i = _arg(MemRefType(f32, [4]), "a"), _index(0)
    load = LoadOp.create(operands=[a, i.result], result_types=[i32])
    _verify_fails(load, r"loaded value result : i32 does not have the element type of %a")


def test_store_value_must_be_element_type():
    a, i = _arg(MemRefType(f32, [4]), "a"), _index(0)
    x = _arg(f16, "x")
    _verify_fails(StoreOp(x, a, [i]), r"stored value %x : f16 does not have the element type")


@pytest.mark.parametrize(
    ("vector_type", "message"),
    [
        (VectorType(f32, [2, 4]), "must be 1-D with a fixed length"),
        (
            VectorType(f32, [4], ArrayAttr([BoolAttr.from_bool(True)])),
            "must be 1-D with a fixed length",
        ),
        (VectorType(f32, [0]), "must have at least one lane"),
        (VectorType(f16, [8]), "does not have the element type of %a"),
        (VectorType(f32, [128]), "longer than the innermost dimension of %a"),
    ],
)
def test_vector_access_checks(vector_type: VectorType[Attribute], message: str):
    a, i = _arg(MemRefType(f32, [4, 64]), "a"), _index(0)
    _verify_fails(VLoadOp(a, [i, i], vector_type), message)
    _verify_fails(VStoreOp(_arg(vector_type, "v"), a, [i, i]), message)


def test_vector_access_needs_indices_and_rank():
    i = _index(0)
    _verify_fails(VLoadOp(_arg(MemRefType(f32, [4, 64])), [i], VectorType(f32, [8])), "1 indices")
    rank0 = _arg(MemRefType(f32, []), "s")
    _verify_fails(VLoadOp(rank0, [], VectorType(f32, [8])), "needs a buffer of rank >= 1")
