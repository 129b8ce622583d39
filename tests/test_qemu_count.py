"""Instruction counts under qemu (runtime/qemu_count.py and its TCG plugin): a hand-written
Hexagon loop, whose counts grow by exactly its body per trip and agree with QEMU's own count
of executed instructions; a Hexagon and an AArch64 bundle's counts by function through
run_bundle."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper

from lamina.codegen import hexagon_program
from lamina.compiler import compile_bundle
from lamina.runtime.qemu import run_bundle
from lamina.runtime.qemu_count import OUTSIDE, InstructionCounter

pytestmark = [
    pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc builds the qemu plugin"),
    pytest.mark.skipif(
        any(shutil.which(tool) is None for tool in [*hexagon_program.TOOLS, "llvm-nm", "make"]),
        reason="needs qemu-hexagon, llvm-mc, llvm-nm, ld.lld, make (Debian: qemu-user, llvm, lld)",
    ),
]

# One packet of three instructions a trip: an add, and a duplex of two (the second holds
# a constant extender, which is no instruction). After the loop the program writes QEMU's
# own count of the instructions executed so far (control register c21 in user mode; the
# assembler has no name for it, hence the word) to stdout.
LOOP = """
    .text
    .globl    _start
    .p2align 4
_start:
    r2 = #0
    loop0(.Lbody, #{trips})
    .falign
.Lbody:
    {{ r2 = add(r2, #1)
      r3 = add(r2, #2)
      r4 = ##0x12345678 }}:endloop0
    {{ nop
      r5 = r2 }}
    .word 0x6a15c000            // {{ r0 = c21 }}
    r29 = add(r29, #-8)
    memw(r29+#0) = r0
    {{ r6 = #64                 // write(1, sp, 4)
      r0 = #1 }}
    r1 = r29
    r2 = #4
    trap0(#1)
    {{ r6 = #93                 // exit(0)
      r0 = #0 }}
    trap0(#1)
"""
BODY_INSTRUCTIONS = 3
TAIL_INSTRUCTIONS = 11
"""The packet reading c21 and what follows it: QEMU's count does not have them yet."""


def loop_program(trips: int, directory: Path) -> Path:
    (directory / "loop.s").write_text(LOOP.format(trips=trips))
    for command in (
        ["llvm-mc", "-triple=hexagon", "-filetype=obj", "loop.s", "-o", "loop.o"],
        [*hexagon_program.LINK, "-o", "loop", "loop.o"],
    ):
        subprocess.run(command, cwd=directory, check=True, capture_output=True)
    return directory / "loop"


def test_counts_of_a_hexagon_loop_grow_by_its_body_and_match_qemus_own_count(tmp_path: Path):
    counted = {}
    for trips in (10, 1010):
        directory = tmp_path / str(trips)
        directory.mkdir()
        program = loop_program(trips, directory)
        counter = InstructionCounter(program, directory)
        done = subprocess.run(
            ["qemu-hexagon", *counter.options, str(program)], capture_output=True, check=True
        )
        qemu_count = int.from_bytes(done.stdout, "little")
        count = counter.read()
        assert count.target == "hexagon" and list(count.functions) == ["_start"]  # no size
        counted[trips] = (count.total.packets, count.total.instructions, qemu_count)
    (packets, instructions, qemu), (packets2, instructions2, qemu2) = counted.values()
    assert packets2 - packets == 1000
    assert instructions2 - instructions == qemu2 - qemu == 1000 * BODY_INSTRUCTIONS
    assert instructions - qemu == instructions2 - qemu2 == TAIL_INSTRUCTIONS


@pytest.mark.parametrize("device", ["hexagon-v66-hvx128", "cortex-a76"])
def test_run_bundle_counts_a_bundle_by_function(device: str, tmp_path: Path):
    """The model's nest executes the same instructions in each of `repeat` calls, in a
    static Hexagon program and in a position-independent AArch64 one (loaded elsewhere)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 256])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 256])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    compile_bundle(model, device, tmp_path / "relu", name="relu")
    inputs = [np.linspace(-1, 1, 256, dtype=np.float32).reshape(1, 256)]
    once, thrice = (
        run_bundle(tmp_path / "relu", inputs, repeat=n, count_instructions=True).instructions
        for n in (1, 3)
    )
    assert once is not None and thrice is not None
    nest = "relu.nest0"
    assert thrice.functions[nest].instructions == 3 * once.functions[nest].instructions > 0
    assert "main" in once.functions or "lamina_program_main" in once.functions
    if device == "cortex-a76":  # an instruction a step; the C library is another object
        assert once.total.packets == once.total.instructions and OUTSIDE in once.functions
    else:
        assert once.total.packets < once.total.instructions and OUTSIDE not in once.functions
