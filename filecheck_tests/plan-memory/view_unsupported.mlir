// RUN: not lamina-opt %s -p plan-memory 2>&1 | filecheck %s

// CHECK: error: not supported: a loop.view of a buffer that memory planning does not place
func.func @view_of_argument(%weights: memref<0xi8>, %arena: memref<0xi8>, %out: memref<64xf32>) attributes {lamina.abi = "kernel-v1"} {
  %s = loop.view %out[0] : memref<64xf32> -> memref<16xf32>
  func.return
}
