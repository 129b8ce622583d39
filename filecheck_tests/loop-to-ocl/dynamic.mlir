// RUN: not lamina-opt %s -p convert-loop-to-ocl 2>&1 | filecheck %s

// OpenCL does not take dynamic shapes yet: a located error, no traceback.
// CHECK: dynamic.mlir:[[# @LINE + 2]]:1: error: not supported: dynamic shapes on opencl
// CHECK-NOT: Traceback
func.func @main(%w: memref<0xi8>, %arena: memref<0xi8>, %x: memref<?x16xf32>,
                %y: memref<?x16xf32>) attributes {lamina.abi = "kernel-v1"} {
  func.return
}
