// RUN: not lamina-opt %s -p 'convert-loop-to-llvm{device="hexagon-v66-hvx128"}' -t llvm 2>&1 | filecheck %s

// Hexagon's freestanding runtime has no heap: dynamic shapes are refused there, at the
// first value of dynamic shape (here a loop.alloc in a static function).
// CHECK: dynamic-hexagon.mlir:[[# @LINE + 5]]:{{[0-9]+}}: error: not supported: dynamic shapes on hexagon-v66-hvx128
// CHECK-NOT: Traceback
func.func @main(%w: memref<0xi8>, %arena: memref<0xi8>, %x: memref<4xf32>) attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %n = arith.constant 3 : index
  %t = loop.alloc(%n) : memref<?xf32>
  loop.dealloc %t : memref<?xf32>
  func.return
}
