"""The per-nest cost model deciding parallel or serial (codegen/llvm_parallel_cost.py): a
small nest stays serial, a big one is threaded, a bandwidth-bound one gains only what the
second core adds to DRAM bandwidth, an uneven split gains less, a run-time trip count is
compared with the fewest trips that pay; and the device's `[threads]` table is read."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
from xdsl.parser import Parser

from lamina.codegen.llvm_parallel import should_run_threaded
from lamina.codegen.llvm_parallel_cost import (
    NestCost,
    min_parallel_trips,
    nest_cost,
    parallel_gain_ns,
)
from lamina.context import make_context
from lamina.dialects import loop
from lamina.errors import DeviceError
from lamina.targets import load_device
from lamina.targets.threads import ThreadCosts, thread_costs

COSTS = ThreadCosts(
    handoff_ns=4000, ops_per_ns=4, core_gbs=20, all_cores_gbs=28, cache_bytes=8 << 20
)


def scale_nest(rows: int, cols: int, vector: int = 1) -> loop.ForOp:
    """`y[i, j] = x[i, j] * 2` over a parallel loop of `rows` and an inner loop of `cols`
    (vectorized `vector` wide)."""
    hint = f" vector {vector}" if vector > 1 else ""
    text = f"""
func.func @scale(%x: memref<{rows}x{cols}xf32>, %y: memref<{rows}x{cols}xf32>) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %rows = arith.constant {rows} : index
  %cols = arith.constant {cols} : index
  %two = arith.constant 2.0 : f32
  loop.for %i = %c0 to %rows step %c1 parallel {{
    loop.for %j = %c0 to %cols step %c1{hint} {{
      %v = loop.load %x[%i, %j] : memref<{rows}x{cols}xf32>
      %d = arith.mulf %v, %two : f32
      loop.store %d, %y[%i, %j] : memref<{rows}x{cols}xf32>
    }}
  }}
  func.return
}}
"""
    module = Parser(make_context(), text).parse_module()
    return next(o for o in module.walk() if isinstance(o, loop.ForOp))


def threaded(op: loop.ForOp, costs: ThreadCosts = COSTS, threads: int = 2) -> bool:
    return should_run_threaded(SimpleNamespace(threads=threads, thread_costs=costs), op)  # pyright: ignore[reportArgumentType]


def whole(op: loop.ForOp) -> NestCost:
    cost = NestCost()
    cost.add(nest_cost(op.body.block), op.constant_trip_count() or 1)
    return cost


def test_nest_cost_counts_ops_per_vector_and_bytes_capped_at_the_buffer() -> None:
    op = scale_nest(64, 256, vector=16)
    cost = whole(op)
    assert cost.ops == 64 * 16 * 3  # load, mulf, store per vector step: 256 / 16 of them
    assert cost.footprint == 2 * 64 * 256 * 4  # x read once, y written once
    assert whole(scale_nest(64, 256)).ops == 64 * 256 * 3


def test_address_arithmetic_is_free_and_copies_cost_their_bytes() -> None:
    text = """
func.func @flatten(%x: memref<512x49xf32>, %y: memref<25088xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c49 = arith.constant 49 : index
  %n = arith.constant 25088 : index
  loop.for %i = %c0 to %n step %c1 parallel {
    %r = arith.divui %i, %c49 : index
    %c = arith.remui %i, %c49 : index
    %v = loop.load %x[%r, %c] : memref<512x49xf32>
    loop.store %v, %y[%i] : memref<25088xf32>
  }
  func.return
}
"""
    module = Parser(make_context(), text).parse_module()
    copy = whole(next(o for o in module.walk() if isinstance(o, loop.ForOp)))
    assert copy.ops == 2 * 25088  # the load and the store; divui / remui are addressing
    assert copy.moved == 2 * 25088 * 4
    # 50k ops take 12.5 us at 4 ops per ns; through a 1 GB/s cache its bytes decide
    slow_cache = ThreadCosts(cache_gbs=1, cache_bytes=8 << 20)
    assert parallel_gain_ns(copy, 25088, 2, slow_cache) == pytest.approx(copy.moved / 1 / 2 - 4000)


def test_small_nest_stays_serial_and_a_large_one_is_threaded() -> None:
    small, large = scale_nest(16, 64), scale_nest(256, 1024)
    assert not threaded(small)
    assert parallel_gain_ns(whole(small), 16, 2, COSTS) < 0
    assert threaded(large)
    # 786k ops: 197 us alone, 98 us + 4 us handoff on two threads
    assert parallel_gain_ns(whole(large), 256, 2, COSTS) == pytest.approx(
        256 * 1024 * 3 / 4 / 2 - 4000
    )
    assert not threaded(large, threads=1)


def test_a_dearer_handoff_keeps_a_mid_sized_nest_serial() -> None:
    mid = scale_nest(64, 256)  # ~49k ops, ~12 us alone
    assert threaded(mid)
    assert not threaded(mid, ThreadCosts(handoff_ns=20_000, cache_bytes=8 << 20))


def test_bandwidth_bound_nest_gains_only_the_second_core_bandwidth() -> None:
    big = scale_nest(4096, 1024, vector=16)  # 32 MB through a 8 MB cache, few ops
    cost = whole(big)
    streamed = cost.footprint
    assert streamed > COSTS.cache_bytes
    gain = parallel_gain_ns(cost, 4096, 2, COSTS)
    assert gain == pytest.approx(streamed / 20 - streamed / 28 - 4000)
    assert threaded(big)
    flat = ThreadCosts(core_gbs=20, all_cores_gbs=20, cache_bytes=8 << 20)
    assert not threaded(big, flat)  # DRAM does not get faster with a second core
    cached = ThreadCosts(core_gbs=20, all_cores_gbs=20, cache_bytes=64 << 20)
    assert threaded(big, cached)  # in cache: compute-bound, split in two


def test_uneven_split_gains_less() -> None:
    three, four = scale_nest(3, 4096), scale_nest(4, 4096)
    per_row = whole(three).ops / 3 / 4  # ns per row
    assert parallel_gain_ns(whole(three), 3, 2, COSTS) == pytest.approx(
        3 * per_row - 2 * per_row - 4000
    )
    assert parallel_gain_ns(whole(four), 4, 2, COSTS) == pytest.approx(2 * per_row - 4000)


def test_run_time_trip_count_pays_from_the_handoff_over_the_saving_per_trip() -> None:
    body = nest_cost(scale_nest(8, 64).body.block)  # 192 ops: 48 ns alone, 24 ns on two
    assert min_parallel_trips(body, None, 2, COSTS) == -(-4000 // int(192 / 4 - 192 / 8))
    assert min_parallel_trips(body, None, 1, COSTS) is None


def test_device_threads_table_is_read_and_checked() -> None:
    host = load_device("host")
    assert thread_costs(host).handoff_ns == host.extra["threads"]["handoff_ns"]
    assert thread_costs(host).cache_bytes == host.l3_bytes
    generic = load_device("x86-64-avx512")
    assert thread_costs(generic).handoff_ns == ThreadCosts().handoff_ns
    with pytest.raises(DeviceError, match=r"host: error: unknown \[threads\] keys \['handof'\]"):
        thread_costs(replace(host, extra={"threads": {"handof": 1}}))
    with pytest.raises(DeviceError, match="positive"):
        thread_costs(replace(host, extra={"threads": {"core_gbs": 0}}))
