"""OpenCL back end vs onnxruntime and vs lamina's CPU JIT, measured side by side in one run.

    .venv/bin/python benchmarks/opencl_models.py [--models squeezenet,resnet50] [--repeat 3]

1. Each light model compiled with `lamina.compile(model, device="opencl")`: max error vs
   onnxruntime (rtol 1e-3 / atol 1e-4 as in tests/test_opencl.py) and the median latency
   ratio OpenCL / onnxruntime.
2. MatMul 1024^3 and ResNet-50: OpenCL latency / lamina CPU JIT (`lamina.compile(model)`)
   latency; for the matmul also the tiled local-memory kernel that convert-loop-to-ocl makes
   from an i-k-j loop nest (the form it recognises), on the same inputs.

Ratios, not seconds, are the figures to compare: the machine is shared. The first call of
each compiled model is a warm-up (PoCL compiles kernels lazily at their first launch).
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from xdsl.parser import Parser

import lamina
from lamina.benchmarks.timing import median_seconds
from lamina.context import make_context
from lamina.lowering.loop_to_ocl import ConvertLoopToOCLPass
from lamina.runtime.opencl import OpenCLFunction
from lamina.tools.models import LIGHT_MODELS, light_model, random_inputs, with_logits


def model_row(name: str, repeat: int) -> str:
    model = with_logits(light_model(name))
    feeds = random_inputs(model)
    session = ort.InferenceSession(model.SerializeToString())
    compiled = lamina.compile(model, device="opencl")
    got = compiled(*feeds.values())
    want = [np.asarray(w) for w in session.run(None, feeds)]
    ok = all(
        np.allclose(g.reshape(w.shape), w, rtol=1e-3, atol=1e-4)
        for g, w in zip(got, want, strict=True)
    )
    error = max(float(np.abs(g.reshape(w.shape) - w).max()) for g, w in zip(got, want, strict=True))
    ocl_s = median_seconds(lambda: compiled(*feeds.values()), repeat)
    ort_s = median_seconds(lambda: session.run(None, feeds), repeat)
    return f"{name:14s} {'ok' if ok else 'WRONG':5s} {error:10.2e} {ocl_s / ort_s:10.1f}x"


def matmul_model(n: int) -> Any:
    rng = np.random.default_rng(0)
    b = numpy_helper.from_array(rng.standard_normal((n, n)).astype(np.float32) / n, "b")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["y"])],
        "mm",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])],
        [b],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


IKJ_MATMUL = """
func.func @mm(%weights: memref<0xi8>, %arena: memref<0xi8>, %a: memref<{n}x{n}xf32>,
              %b: memref<{n}x{n}xf32>, %c: memref<{n}x{n}xf32>)
    attributes {{lamina.abi = "kernel-v1", lamina.num_outputs = 1 : i64}} {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %cn = arith.constant {n} : index
  %zero = arith.constant 0.000000e+00 : f32
  loop.for %i = %c0 to %cn step %c1 parallel {{
    loop.for %j = %c0 to %cn step %c1 parallel {{
      loop.store %zero, %c[%i, %j] : memref<{n}x{n}xf32>
    }}
  }}
  loop.for %i = %c0 to %cn step %c1 parallel {{
    loop.for %k = %c0 to %cn step %c1 {{
      %x = loop.load %a[%i, %k] : memref<{n}x{n}xf32>
      loop.for %j = %c0 to %cn step %c1 parallel {{
        %y = loop.load %b[%k, %j] : memref<{n}x{n}xf32>
        %p = arith.mulf %x, %y : f32
        %s = loop.load %c[%i, %j] : memref<{n}x{n}xf32>
        %t = arith.addf %s, %p : f32
        loop.store %t, %c[%i, %j] : memref<{n}x{n}xf32>
      }}
    }}
  }}
  func.return
}}
"""


def tiled_matmul(n: int) -> OpenCLFunction:
    module = Parser(make_context(), IKJ_MATMUL.format(n=n)).parse_module()
    ConvertLoopToOCLPass().apply(make_context(), module)
    return OpenCLFunction(module)


def versus_cpu(repeat: int, n: int) -> list[str]:
    rows: list[str] = []
    model = matmul_model(n)
    a = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
    b = numpy_helper.to_array(model.graph.initializer[0])
    cpu = lamina.compile(model)
    cpu_s = median_seconds(lambda: cpu(a), repeat)
    gpu = lamina.compile(model, device="opencl")
    gpu_s = median_seconds(lambda: gpu(a), repeat)
    tiled = tiled_matmul(n)
    error = float(np.abs(tiled(a, b)[0] - a @ b).max())
    tiled_s = median_seconds(lambda: tiled(a, b), repeat)
    rows.append(f"matmul {n}^3: opencl / cpu-jit = {gpu_s / cpu_s:.2f}x")
    rows.append(
        f"matmul {n}^3 tiled local-memory kernel / cpu-jit = {tiled_s / cpu_s:.2f}x "
        f"(max error {error:.1e})"
    )
    resnet = light_model("resnet50")
    feeds = random_inputs(resnet)
    cpu_model = lamina.compile(resnet)
    cpu_s = median_seconds(lambda: cpu_model(*feeds.values()), repeat)
    gpu_model = lamina.compile(resnet, device="opencl")
    gpu_s = median_seconds(lambda: gpu_model(*feeds.values()), repeat)
    rows.append(f"resnet50: opencl / cpu-jit = {gpu_s / cpu_s:.2f}x")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description="OpenCL back end vs onnxruntime and CPU JIT")
    parser.add_argument("--models", default=",".join(LIGHT_MODELS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--matmul", type=int, default=1024, help="matmul size (0: skip part 2)")
    args = parser.parse_args()
    print(f"{'model':14s} {'check':5s} {'max error':>10s} {'ocl / ort':>10s}")
    for name in args.models.split(","):
        print(model_row(name, args.repeat), flush=True)
    if args.matmul:
        for row in versus_cpu(args.repeat, args.matmul):
            print(row, flush=True)


if __name__ == "__main__":
    main()
