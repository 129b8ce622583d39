// RUN: not lamina-opt %s --split-input-file -p convert-loop-to-ocl 2>&1 | filecheck %s

// A store outside any loop nest has no kernel to go to.
// CHECK: error: not supported: loop.store outside a loop nest on OpenCL
func.func @scalar(%weights: memref<0xi8>, %arena: memref<0xi8>, %x: memref<1xf32>)
    attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.000000e+00 : f32
  loop.store %one, %x[%c0] : memref<1xf32>
  func.return
}

// -----

// CHECK: error: not supported: a module without a lamina.abi = "kernel-v1" function
func.func @plain(%x: memref<4xf32>) {
  func.return
}
