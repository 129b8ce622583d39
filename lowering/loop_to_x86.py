"""`loop-to-x86`: the signed i8 dot-product loops of loop-level IR (lowering/dot_loops.py) ->
x86 int8 multiply-adds, for x86-64 devices.

With `+avx512vnni`, AVX-512 VNNI `vpdpbusd`: 64 bytes a step into a vector<16xi32>.
`vpdpbusd` multiplies unsigned by signed bytes, so a signed `a` is read as `a xor 0x80`
(= a + 128 unsigned) and the step subtracts what that adds:

    acc' = vpdpbusd(acc, a ^ 0x80, b) - vpdpbusd(0, splat(0x80), b)    (= acc + a . b)

Without VNNI but with AVX2, `vpmaddubsw` (u8 x s8 -> i16 pair sums) and `vpmaddwd` by ones
(i16 pairs -> i32): 32 bytes a step into a vector<8xi32> (64 into a vector<16xi32> with
`+avx512bw`). `vpmaddubsw` saturates its i16 sums, which `a xor 0x80` would reach
(255 * 127 * 2 > 32767), so `a` is split at its sign bit instead, `a = (a & 0x7f) - (a & 0x80)`
with both parts read unsigned, and each part's pair sums fit in i16: (a & 0x7f) . b within
127 * 128 * 2 = 32512, (a & 0x80) . b within [-32768, 32512]:

    acc' = acc + vpmaddwd(vpmaddubsw(a & 0x7f, b), 1) - vpmaddwd(vpmaddubsw(a & 0x80, b), 1)

Both exact: i32 addition wraps and is associative. Loops of unsigned bytes stay as they are
(the int8 matmuls of lowering/graph_to_top_quant.py shift their operands to signed bytes).

The int8 GEMM's `loop.byte_dot` (u8 x s8, lowering/top_to_loop_byte_gemm.py) is `vpdpbusd`
itself with VNNI; on AVX2 the same split, its left bytes being unsigned adding both parts:

    acc' = acc + vpmaddwd(vpmaddubsw(u & 0x7f, s), 1) + vpmaddwd(vpmaddubsw(u & 0x80, s), 1)

((u & 0x80) . s pairs lie within [-32768, 32512]). A byte_dot wider than the device's
registers stays for LLVM's generic lowering. On an x86-64 device with neither nothing is
rewritten (LLVM's vectorizer keeps the loops); on another architecture the pass is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, IntegerType, ModuleOp, VectorType
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter
from xdsl.utils.hints import isa

from lamina.dialects.isa.x86 import VpdpbusdOp, VpmaddubswOp, VpmaddwdOp
from lamina.dialects.loop_dot import ByteDotOp
from lamina.lowering.dot_loops import DotLoop, DotStep, require_device, rewrite_dot_loops
from lamina.targets import Device, has_avx2, has_avx512bw, has_vnni, load_device

ZMM_BYTES, YMM_BYTES = 64, 32
"""Bytes of a zmm and a ymm register: one step."""


def _splat(element_bits: int, lanes: int, value: int) -> arith.ConstantOp:
    t = VectorType(IntegerType(element_bits), [lanes])
    return arith.ConstantOp(DenseIntOrFPElementsAttr.from_list(t, [value]))


def _vnni_step(acc: SSAValue, a: SSAValue, b: SSAValue) -> Sequence[Operation]:
    bias, zero = _splat(8, ZMM_BYTES, -128), _splat(32, ZMM_BYTES // 4, 0)
    unsigned = arith.XOrIOp(a, bias)
    products = VpdpbusdOp(acc, unsigned.result, b)
    excess = VpdpbusdOp(zero.result, bias.result, b)
    return [bias, zero, unsigned, products, excess, arith.SubiOp(products, excess)]


def _madd_step(
    acc: SSAValue, a: SSAValue, b: SSAValue, unsigned: bool = False
) -> Sequence[Operation]:
    """acc + a . b on vpmaddubsw + vpmaddwd, `a` split at its sign bit (module doc): the
    high part's sums taken off for signed bytes, added for `unsigned` ones."""
    t = a.type
    assert isa(t, VectorType[Attribute])
    lanes = t.get_shape()[0]
    low_bits, sign_bit, ones = (
        _splat(8, lanes, 0x7F),
        _splat(8, lanes, -128),
        _splat(16, lanes // 2, 1),
    )
    low, sign = arith.AndIOp(a, low_bits), arith.AndIOp(a, sign_bit)
    low_pairs, sign_pairs = VpmaddubswOp(low.result, b), VpmaddubswOp(sign.result, b)
    low_sums = VpmaddwdOp(low_pairs.result, ones.result)
    sign_sums = VpmaddwdOp(sign_pairs.result, ones.result)
    added = arith.AddiOp(acc, low_sums)
    return [
        *(low_bits, sign_bit, ones, low, sign),
        *(low_pairs, sign_pairs, low_sums, sign_sums),
        *(added, (arith.AddiOp if unsigned else arith.SubiOp)(added, sign_sums)),
    ]


def _byte_dot_rewrite(device: Device) -> Callable[[ByteDotOp], Sequence[Operation]] | None:
    """What a `loop.byte_dot` becomes on `device` (None: it stays), by register width."""
    if has_vnni(device):
        return lambda op: [VpdpbusdOp(op.acc, op.lhs, op.rhs)]
    if not has_avx2(device):
        return None
    widest = ZMM_BYTES if has_avx512bw(device) else YMM_BYTES

    def madd(op: ByteDotOp) -> Sequence[Operation]:
        t = op.lhs.type
        assert isa(t, VectorType[Attribute])
        if t.get_shape()[0] > widest:
            return []
        return _madd_step(op.acc, op.lhs, op.rhs, unsigned=True)

    return madd


def _rewrite_byte_dots(module: ModuleOp, device: Device) -> int:
    rewrite = _byte_dot_rewrite(device)
    if rewrite is None:
        return 0
    count = 0
    for op in [op for op in module.walk() if isinstance(op, ByteDotOp)]:
        ops = rewrite(op)
        if ops:
            Rewriter.replace_op(op, ops, [ops[-1].results[0]])
            count += 1
    return count


def loop_to_x86(module: ModuleOp, device: Device) -> int:
    """Rewrite the signed dot-product loops and the `loop.byte_dot`s of `module` for
    `device`; returns how many."""
    require_device(
        "loop-to-x86", device, device.triple.startswith("x86_64"), "it needs an x86-64 device"
    )
    return _rewrite_dot_loops(module, device) + _rewrite_byte_dots(module, device)


def _rewrite_dot_loops(module: ModuleOp, device: Device) -> int:
    if has_vnni(device):
        lanes, step = ZMM_BYTES, _vnni_step
    elif has_avx2(device):
        lanes, step = (ZMM_BYTES if has_avx512bw(device) else YMM_BYTES), _madd_step
    else:
        return 0

    def signed_step(dot: DotLoop) -> DotStep | None:
        return None if dot.unsigned else step

    return rewrite_dot_loops(module, lanes, signed_step)


@dataclass(frozen=True)
class LoopToX86Pass(ModulePass):
    """Rewrite the int8 dot-product loops and `loop.byte_dot`s of loop-level IR into AVX-512
    VNNI `vpdpbusd`, or AVX2 / AVX-512BW `vpmaddubsw` + `vpmaddwd`, for `device` (an x86-64
    device name in `targets/`, or `host`)."""

    name = "loop-to-x86"

    device: str = "host"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        loop_to_x86(op, load_device(self.device))
