"""The fp32 peak loop of the benchmarks (benchmarks/fma_peak.py): the IR it builds, the
values it computes, and a positive rate."""

from __future__ import annotations

import llvmlite.binding as llvm
import numpy as np
import pytest

from lamina.benchmarks.fma_peak import OFFSET, SCALE, PeakLoop, fma_peak_module
from lamina.codegen.llvm_target import assembly


@pytest.fixture(scope="module")
def loop() -> PeakLoop:
    return PeakLoop()


def test_the_loop_holds_one_fma_per_chain_on_registers_only():
    text = str(llvm.parse_assembly(str(fma_peak_module(lanes=8, chains=6))))
    loop_body = text.split("loop:")[1].split("done:")[0]
    assert loop_body.count("call <8 x float> @llvm.fma.v8f32") == 6
    assert loop_body.count("phi <8 x float>") == 6
    assert "load" not in loop_body and "store" not in loop_body
    assert text.split("done:")[1].count("store <8 x float>") == 6


def test_the_loop_is_sized_from_the_host_and_computes_its_recurrence(loop: PeakLoop):
    if "+avx512f" in loop.device.features:
        assert (loop.lanes, loop.chains) == (16, 16)
        assert "vfmadd213ps\t%zmm" in assembly(loop.module, loop.device, 2)
    want = np.arange(1, loop.chains + 1, dtype=np.float64)[:, None] * np.ones(loop.lanes)
    for _ in range(5):
        want = want * SCALE + OFFSET
    np.testing.assert_allclose(loop.run(5), want, rtol=1e-6)


def test_the_peak_is_a_positive_rate(loop: PeakLoop):
    assert loop.gflops(calls=1) > 0
