"""SGEMM 1024^3 against numpy's SGEMM (1 thread): written by hand as loop IR, and lowered
from `top.matmul` by convert-top-to-loop (the packed GEMM of lowering/top_to_loop_gemm.py).

    OMP_NUM_THREADS=1 .venv/bin/python -m lamina.benchmarks.matmul [--mr 8 --nr 32 ...]

This is the structure the top -> loop lowering should emit for matmul (and conv as an
implicit matmul): the BLIS/GotoBLAS loop nest, all at the loop level, C = A·B row-major f32:

    zero C
    for pc in 0..K step KC:                         # K block: B panel (KC x N) lives in L3
      pack B[pc:pc+KC, :]    -> Bp[N/NR][KC][NR]     # NR-wide column panels, k-major
      for ic in 0..M step MC:                       # M block: A panel (MC x KC) lives in L2
        pack A[ic:ic+MC, pc:pc+KC] -> Ap[MC/MR][KC][MR]   # MR-tall row panels, k-major
        for jp in 0..N/NR (parallel):               # B micro-panel (KC x NR) stays in L1
          for ip in 0..MC/MR (parallel):            # the micro-kernel, MR x NR of C
            acc[r][v] = vload C[ic+ip*MR+r, jp*NR+16v]          # MR*NR/16 zmm registers
            for k in 0..KC iter_args(acc...):                   # register-blocked
              b[v] = vload Bp[jp, k, 16v]                       # NR/16 vector loads
              a[r] = broadcast(load Ap[ip, k, r])               # MR broadcasts (folded
              acc[r][v] = vector.fma a[r], b[v], acc[r][v]      #  into vfmadd231ps {1to16})
            vstore acc -> C

The accumulators are `iter_args` of the k loop (`vector<16xf32>` each), so LLVM keeps them
in registers; packing makes both operands of the k loop unit-stride, and the panel
buffers are carved from the arena (the planner's job in the real pipeline). Defaults:
MR=8, NR=32 (16 accumulators, 2 B loads + 8 broadcasts per 16 FMAs), KC=128 (the B
micro-panel is 16 KiB: half of a Zen 4 / Sapphire Rapids L1d), MC=128 (A panel 64 KiB).
Everything divides 1024, so there are no remainder loops.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("LAMINA_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from lamina.benchmarks.timing import best_seconds  # noqa: E402
from lamina.lowering.top_to_loop_gemm import matmul_gemm_blocking  # noqa: E402
from lamina.targets import Device, load_device  # noqa: E402

LANES = 16  # f32 lanes of a 512-bit vector


def matmul_loop_ir(m: int, n: int, k: int, mr: int, nr: int, kc: int, mc: int) -> str:
    """The loop IR of C[m,n] = A[m,k] · B[k,n] in the structure of the module docstring."""
    assert m % mc == 0 and mc % mr == 0 and n % nr == 0 and nr % LANES == 0 and k % kc == 0
    nv = nr // LANES
    bp_bytes = (n // nr) * kc * nr * 4
    ap_bytes = (mc // mr) * kc * mr * 4
    vec = f"vector<{LANES}xf32>"
    a_t, b_t, c_t = f"memref<{m}x{k}xf32>", f"memref<{k}x{n}xf32>", f"memref<{m}x{n}xf32>"
    bp_t = f"memref<{n // nr}x{kc}x{nr}xf32>"
    ap_t = f"memref<{mc // mr}x{kc}x{mr}xf32>"
    arena_t = f"memref<{bp_bytes + ap_bytes}xi8>"
    consts = sorted(
        {0, 1, LANES, m, n, k, kc, mc, mr, nr, n // nr, mc // mr} | set(range(max(mr, nv * LANES)))
    )
    lines = [
        f"func.func @main(%weights: memref<64xi8>, %arena: {arena_t}, %A: {a_t}, %B: {b_t}, "
        f'%C: {c_t}) attributes {{lamina.abi = "kernel-v1"}} {{',
        *(f"  %c{c} = arith.constant {c} : index" for c in consts),
        "  %zero = arith.constant 0.0 : f32",
        f"  %zv = vector.broadcast %zero : f32 to {vec}",
        f"  %Bp = loop.carve %arena[0] : {arena_t} -> {bp_t}",
        f"  %Ap = loop.carve %arena[{bp_bytes}] : {arena_t} -> {ap_t}",
        # zero C
        f"  loop.for %zi = %c0 to %c{m} step %c1 parallel {{",
        f"    loop.for %zj = %c0 to %c{n} step %c{LANES} parallel {{",
        f"      loop.vstore %zv, %C[%zi, %zj] : {c_t}, {vec}",
        "    }",
        "  }",
        f"  loop.for %pc = %c0 to %c{k} step %c{kc} {{",
        # pack B: Bp[jp, kk, jj] = B[pc + kk, jp*NR + jj]
        f"    loop.for %kk = %c0 to %c{kc} step %c1 parallel {{",
        "      %bk = arith.addi %pc, %kk : index",
        f"      loop.for %jp = %c0 to %c{n // nr} step %c1 parallel {{",
        f"        %jb = arith.muli %jp, %c{nr} : index",
        f"        loop.for %jj = %c0 to %c{nr} step %c{LANES} parallel {{",
        "          %bj = arith.addi %jb, %jj : index",
        f"          %bv = loop.vload %B[%bk, %bj] : {b_t}, {vec}",
        f"          loop.vstore %bv, %Bp[%jp, %kk, %jj] : {bp_t}, {vec}",
        "        }",
        "      }",
        "    }",
        f"    loop.for %ic = %c0 to %c{m} step %c{mc} {{",
        # pack A: Ap[ip, kk, ii] = A[ic + ip*MR + ii, pc + kk]
        f"      loop.for %ap = %c0 to %c{mc // mr} step %c1 parallel {{",
        f"        %ab = arith.muli %ap, %c{mr} : index",
        "        %ar = arith.addi %ic, %ab : index",
        f"        loop.for %ak = %c0 to %c{kc} step %c1 parallel {{",
        "          %acol = arith.addi %pc, %ak : index",
        f"          loop.for %ai = %c0 to %c{mr} step %c1 parallel {{",
        "            %arow = arith.addi %ar, %ai : index",
        f"            %av = loop.load %A[%arow, %acol] : {a_t}",
        f"            loop.store %av, %Ap[%ap, %ak, %ai] : {ap_t}",
        "          }",
        "        }",
        "      }",
        # the macro-kernel
        f"      loop.for %jp2 = %c0 to %c{n // nr} step %c1 parallel {{",
        f"        %j0 = arith.muli %jp2, %c{nr} : index",
        f"        loop.for %ip = %c0 to %c{mc // mr} step %c1 parallel {{",
        f"          %ib = arith.muli %ip, %c{mr} : index",
        "          %i0 = arith.addi %ic, %ib : index",
    ]
    accs = [(r, v) for r in range(mr) for v in range(nv)]
    for r in range(mr):
        lines.append(f"          %row{r} = arith.addi %i0, %c{r} : index")
    for v in range(nv):
        lines.append(f"          %col{v} = arith.addi %j0, %c{v * LANES} : index")
    for r, v in accs:
        lines.append(f"          %c_{r}_{v} = loop.vload %C[%row{r}, %col{v}] : {c_t}, {vec}")
    inits = ", ".join(f"%acc_{r}_{v} = %c_{r}_{v}" for r, v in accs)
    types = ", ".join([vec] * len(accs))
    results = ", ".join(f"%res#{i}" for i in range(len(accs)))
    lines.append(
        f"          %res:{len(accs)} = loop.for %k = %c0 to %c{kc} step %c1 iter_args({inits}) -> ({types}) {{"
    )
    for v in range(nv):
        lines.append(f"            %b{v} = loop.vload %Bp[%jp2, %k, %c{v * LANES}] : {bp_t}, {vec}")
    for r in range(mr):
        lines.append(f"            %a{r} = loop.load %Ap[%ip, %k, %c{r}] : {ap_t}")
        lines.append(f"            %s{r} = vector.broadcast %a{r} : f32 to {vec}")
        for v in range(nv):
            lines.append(f"            %n_{r}_{v} = vector.fma %s{r}, %b{v}, %acc_{r}_{v} : {vec}")
    yielded = ", ".join(f"%n_{r}_{v}" for r, v in accs)
    lines.append(f"            loop.yield {yielded} : {types}")
    lines.append("          }")
    for i, (r, v) in enumerate(accs):
        lines.append(f"          loop.vstore %res#{i}, %C[%row{r}, %col{v}] : {c_t}, {vec}")
    del results
    lines += ["        }", "      }", "    }", "  }", "  func.return", "}"]
    return "\n".join(lines) + "\n"


def pipeline_matmul(s: int, device: Device):  # noqa: ANN201
    """`top.matmul` on s x s f32 operands through convert-top-to-loop (for the vector
    width and data caches of `device`) + plan-memory + JIT."""
    from xdsl.parser import Parser

    from lamina.context import make_context
    from lamina.lowering.plan_memory import PlanMemoryPass
    from lamina.lowering.top_to_loop import ConvertTopToLoopPass
    from lamina.runtime.jit import JitFunction

    t = f"tensor<{s}x{s}xf32>"
    text = f"""func.func @main(%a: {t}, %b: {t}) -> {t} {{
      %c = top.matmul %a, %b : ({t}, {t}) -> {t}
      func.return %c : {t}
    }}"""
    module = Parser(make_context(), text).parse_module()
    caches = device.caches
    ConvertTopToLoopPass(
        vector_bits=device.vector_bits, l1d_bytes=caches.l1d, l2_bytes=caches.l2
    ).apply(make_context(), module)
    PlanMemoryPass().apply(make_context(), module)
    return JitFunction(module, threads=1)


def gflops(seconds: float, m: int, n: int, k: int) -> float:
    return 2.0 * m * n * k / seconds / 1e9


def main() -> None:
    from xdsl.parser import Parser

    from lamina.context import make_context
    from lamina.runtime.jit import JitFunction, aligned_copy

    p = argparse.ArgumentParser(description="hand-written loop-IR SGEMM vs numpy")
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--mr", type=int, default=8)
    p.add_argument("--nr", type=int, default=32)
    p.add_argument("--kc", type=int, default=128)
    p.add_argument("--mc", type=int, default=128)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--print-ir", action="store_true")
    p.add_argument("--print-asm", action="store_true")
    args = p.parse_args()
    s = args.size
    text = matmul_loop_ir(s, s, s, args.mr, args.nr, args.kc, args.mc)
    if args.print_ir:
        print(text)
    start = time.perf_counter()
    module = Parser(make_context(), text, "matmul.mlir").parse_module()
    module.verify()
    kernel = JitFunction(module)
    compile_seconds = time.perf_counter() - start
    if args.print_asm:
        print(kernel.jit.assembly())

    rng = np.random.default_rng(0)
    a = aligned_copy(rng.standard_normal((s, s), dtype=np.float32))
    b = aligned_copy(rng.standard_normal((s, s), dtype=np.float32))
    (c,) = kernel(a, b)
    expected = a @ b
    error = float(np.abs(c - expected).max() / np.abs(expected).max())
    host = load_device("host")
    blocking = matmul_gemm_blocking(s, s, s, host.vector_bits, host.caches)
    start = time.perf_counter()
    lowered = pipeline_matmul(s, host)
    lowered_compile = time.perf_counter() - start
    (c2,) = lowered(a, b)
    error2 = float(np.abs(c2 - expected).max() / np.abs(expected).max())
    ours = gflops(best_seconds(lambda: kernel(a, b), args.repeats), s, s, s)
    pipe = gflops(best_seconds(lambda: lowered(a, b), args.repeats), s, s, s)
    theirs = gflops(best_seconds(lambda: a @ b, args.repeats), s, s, s)
    print(
        f"sgemm {s}^3  MR={args.mr} NR={args.nr} KC={args.kc} MC={args.mc}  "
        f"compile {compile_seconds:.2f}s  max rel error {error:.1e}\n"
        f"  lamina loop IR: {ours:7.1f} GFLOP/s\n"
        f"  numpy (1 thr) : {theirs:7.1f} GFLOP/s\n"
        f"  ratio         : {ours / theirs:7.2f}x\n"
        f"  top.matmul via convert-top-to-loop (MR={blocking.mr} NR={blocking.nr} "
        f"KC={blocking.kc} MC={blocking.mc} NC={blocking.nc} for L1d {host.caches.l1d} "
        f"L2 {host.caches.l2}; compile {lowered_compile:.2f}s, max rel error {error2:.1e}):\n"
        f"  lamina pipeline: {pipe:7.1f} GFLOP/s  ratio {pipe / theirs:5.2f}x numpy"
    )


if __name__ == "__main__":
    main()
