"""The `loop` dialect: buffers with a memory space, explicit loop nests, scalar and vector
memory access.

Buffers are builtin `memref` types whose memory space is a `#loop.space<...>` attribute
(no memory space means `global`). Reusing `memref` rather than a buffer type of our own keeps
xDSL's `vector`, `memref` and `llvm` tooling usable on loop-level IR, and a memref already
carries all a buffer needs (shape, element type, layout, space). Computation stays in xDSL's
`arith`, `math` and `vector`; functions are `func.func` taking memrefs.

Memory is planned in two steps. Before planning, buffers come from `loop.alloc` and go back
with `loop.dealloc`. The planner replaces them with `loop.carve`s at static byte offsets into
one `loop.arena` per memory space, and the verifier checks that each carved buffer fits;
a `loop.view` (a slice of a buffer at a byte offset) becomes a carve inside its source's.

    func.func @scale(%x: memref<64xf32>, %y: memref<64xf32>, %s: f32) {
      %c0 = arith.constant 0 : index
      %c64 = arith.constant 64 : index
      %c8 = arith.constant 8 : index
      loop.for %i = %c0 to %c64 step %c8 parallel vector 8 {
        %v = loop.vload %x[%i] : memref<64xf32>, vector<8xf32>
        %sv = vector.broadcast %s : f32 to vector<8xf32>
        %r = arith.mulf %v, %sv : vector<8xf32>
        loop.vstore %r, %y[%i] : memref<64xf32>, vector<8xf32>
      }
      func.return
    }

The ops live in one module per family, and this module gathers them into the `Loop`
dialect object: loop_buffer.py (arena, carve, view, alloc, dealloc), loop_for.py (for, yield),
loop_access.py (load, store, vload, vstore), loop_dot.py (the int8 GEMM's byte dot
product), loop_control.py and loop_shape.py;
loop_base.py holds the memory spaces and the byte sizes of buffer types.
"""

from __future__ import annotations

from xdsl.dialects import vector
from xdsl.dialects.arith import Arith
from xdsl.dialects.math import Math
from xdsl.ir import Dialect

from lamina.dialects.loop_access import LoadOp, StoreOp, VLoadOp, VStoreOp
from lamina.dialects.loop_base import (
    MemorySpace,
    SpaceAttr,
    buffer_bytes,
    byte_size,
    memory_space_of,
    natural_alignment,
)
from lamina.dialects.loop_buffer import (
    AllocOp,
    ArenaOp,
    CarveOp,
    DeallocOp,
    ViewOp,
    uses_through_views,
)
from lamina.dialects.loop_control import LOOP_CONTROL_OPS
from lamina.dialects.loop_dot import ByteDotOp
from lamina.dialects.loop_for import ForOp, YieldOp
from lamina.dialects.loop_shape import LOOP_SHAPE_OPS
from lamina.xdsl_patches import verify_once_per_signature

for _op in (
    *Arith.operations,
    *Math.operations,
    vector.FMAOp,
    vector.BroadcastOp,
    vector.ShuffleOp,
):
    verify_once_per_signature(_op)

Loop = Dialect(
    "loop",
    [
        ArenaOp,
        CarveOp,
        AllocOp,
        DeallocOp,
        ViewOp,
        ForOp,
        YieldOp,
        LoadOp,
        StoreOp,
        VLoadOp,
        VStoreOp,
        ByteDotOp,
        *LOOP_CONTROL_OPS,
        *LOOP_SHAPE_OPS,
    ],
    [SpaceAttr],
)

__all__ = [
    "AllocOp",
    "ArenaOp",
    "ByteDotOp",
    "CarveOp",
    "DeallocOp",
    "ForOp",
    "LoadOp",
    "Loop",
    "MemorySpace",
    "SpaceAttr",
    "StoreOp",
    "VLoadOp",
    "VStoreOp",
    "ViewOp",
    "YieldOp",
    "buffer_bytes",
    "byte_size",
    "memory_space_of",
    "natural_alignment",
    "uses_through_views",
]
