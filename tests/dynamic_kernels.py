"""Hand-written loop-level kernels with dynamic dims (`?`), shared by the JIT and AOT
tests of dynamic shapes (tests/test_dynamic_shapes_jit.py, tests/test_dynamic_bundles.py),
each with the numpy function it computes."""

from __future__ import annotations

import numpy as np
from helpers_kernels import index_constants
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

from lamina.context import make_context


def kernel_head(name: str, buffers: str, *extents: int) -> str:
    """The first lines of @<name>, a kernel-ABI function of one output and no weights or
    arena over `buffers`: its signature, then the index constants %c0, %c1 and %c<extent>."""
    return f"""
func.func @{name}(%w: memref<0xi8>, %arena: memref<0xi8>, {buffers})
    attributes {{lamina.abi = "kernel-v1", lamina.num_outputs = 1 : i64}} {{
""" + index_constants(0, 1, *extents)


def checked_shape_function(kernel: str, inputs: int, message: str, body: str) -> str:
    """@<kernel>_shapes(%in: memref<<inputs>xindex>, %out: memref<1xindex>) -> i32 with the
    one check `message`: `body` (after %c0) reads the input extents from %in, stores the
    output extent to %out and sets the i1 %failed; the function returns 1 if it is set."""
    return f"""
func.func @{kernel}_shapes(%in: memref<{inputs}xindex>, %out: memref<1xindex>) -> i32
    attributes {{lamina.checks = ["{message}"]}} {{
  %c0 = arith.constant 0 : index
{body.strip(chr(10))}
  %ok = arith.constant 0 : i32
  %fail = arith.constant 1 : i32
  %code = arith.select %failed, %fail, %ok : i32
  func.return %code : i32
}}
"""


ROWS = (
    kernel_head("rows", "%x: memref<?x16xf32>, %y: memref<?x16xf32>", 16)
    + """  %two = arith.constant 2.0 : f32
  %n = loop.dim %x, 0 : memref<?x16xf32>
  %t = loop.alloc(%n) align 64 : memref<?x16xf32>
  loop.for %i = %c0 to %n step %c1 parallel {
    loop.for %j = %c0 to %c16 step %c1 vector 8 {
      %v = loop.load %x[%i, %j] : memref<?x16xf32>
      %d = arith.mulf %v, %two : f32
      loop.store %d, %t[%i, %j] : memref<?x16xf32>
    }
  }
  loop.for %i2 = %c0 to %n step %c1 parallel {
    loop.for %j2 = %c0 to %c16 step %c1 {
      %rows = loop.dim %t, 0 : memref<?x16xf32>
      %last = arith.subi %rows, %c1 : index
      %r = arith.subi %last, %i2 : index
      %v = loop.load %t[%r, %j2] : memref<?x16xf32>
      %s = arith.addf %v, %two : f32
      loop.store %s, %y[%i2, %j2] : memref<?x16xf32>
    }
  }
  loop.dealloc %t : memref<?x16xf32>
  func.return
}
"""
    + checked_shape_function(
        "rows",
        1,
        "input 'x' has more than 100000 rows",
        """
  %max = arith.constant 100000 : index
  %n = loop.load %in[%c0] : memref<1xindex>
  loop.store %n, %out[%c0] : memref<1xindex>
  %failed = arith.cmpi sgt, %n, %max : index
""",
    )
)
"""y = 2 * x[::-1] + 2 through a heap buffer of x's rows; parallel loops up to loop.dim."""


def rows_reference(x: np.ndarray) -> np.ndarray:
    return 2 * x[::-1] + 2


MATMUL = (
    kernel_head("matmul", "%a: memref<?x?xf32>, %b: memref<?x12xf32>, %c: memref<?x12xf32>", 12)
    + """  %zero = arith.constant 0.0 : f32
  %m = loop.dim %a, 0 : memref<?x?xf32>
  %k = loop.dim %a, 1 : memref<?x?xf32>
  loop.for %i = %c0 to %m step %c1 parallel {
    loop.for %j = %c0 to %c12 step %c1 parallel vector 4 {
      %s = loop.for %p = %c0 to %k step %c1 unroll 4 iter_args(%acc = %zero) -> (f32) {
        %x = loop.load %a[%i, %p] : memref<?x?xf32>
        %y = loop.load %b[%p, %j] : memref<?x12xf32>
        %xy = arith.mulf %x, %y : f32
        %n = arith.addf %acc, %xy : f32
        loop.yield %n : f32
      }
      loop.store %s, %c[%i, %j] : memref<?x12xf32>
    }
  }
  func.return
}
"""
    + checked_shape_function(
        "matmul",
        3,
        "the columns of 'a' and the rows of 'b' differ",
        """
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %m = loop.load %in[%c0] : memref<3xindex>
  %k = loop.load %in[%c1] : memref<3xindex>
  %kb = loop.load %in[%c2] : memref<3xindex>
  loop.store %m, %out[%c0] : memref<1xindex>
  %failed = arith.cmpi ne, %k, %kb : index
""",
    )
)
"""c = a @ b, a: M x K with both dynamic, b: K x 12; the shape function checks the Ks."""

COLUMN_SUMS = (
    kernel_head("sums", "%x: memref<?x8xf32>, %y: memref<8xf32>", 8)
    + """  %zero = arith.constant 0.0 : f32
  %n = loop.dim %x, 0 : memref<?x8xf32>
  loop.for %j = %c0 to %c8 step %c1 {
    %s = loop.for %i = %c0 to %n step %c1 iter_args(%acc = %zero) -> (f32) {
      %v = loop.load %x[%i, %j] : memref<?x8xf32>
      %t = arith.addf %acc, %v : f32
      loop.yield %t : f32
    }
    loop.store %s, %y[%j] : memref<8xf32>
  }
  func.return
}
"""
)
"""y = x.sum(0): a dynamic input, a static output, no shape function."""


SCALE = (
    kernel_head("scale", "%x: memref<?xf32>, %y: memref<?xf32>")
    + """  %three = arith.constant 3.0 : f32
  %n = loop.dim %x, 0 : memref<?xf32>
  loop.for %i = %c0 to %n step %c1 parallel vector 8 unroll 2 {
    %v = loop.load %x[%i] : memref<?xf32>
    %s = arith.mulf %v, %three : f32
    loop.store %s, %y[%i] : memref<?xf32>
  }
  func.return
}

func.func @scale_shapes(%in: memref<1xindex>, %out: memref<1xindex>) -> i32 {
  %c0 = arith.constant 0 : index
  %n = loop.load %in[%c0] : memref<1xindex>
  loop.store %n, %out[%c0] : memref<1xindex>
  %ok = arith.constant 0 : i32
  func.return %ok : i32
}
"""
)
"""y = 3 * x over a run-time trip count with vector / unroll hints (LLVM's remainder loop)."""


BAD_SHAPES = """
func.func @rows_shapes(%in: memref<1xindex>, %out: memref<1xindex>) -> i32 {
  %c0 = arith.constant 0 : index
  %minus = arith.constant -3 : index
  loop.store %minus, %out[%c0] : memref<1xindex>
  %ok = arith.constant 0 : i32
  func.return %ok : i32
}
"""
"""A shape function for ROWS that gives a negative extent."""


def parse(text: str) -> ModuleOp:
    module = Parser(make_context(), text).parse_module()
    module.verify()
    return module
