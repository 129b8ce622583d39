// RUN: lamina-opt %s --verify-diagnostics

func.func @axis_out_of_range(%x: memref<?x8xf32>) -> index {
  // expected-error @+1 {{axis -1 is out of range for memref<?x8xf32> (rank 2)}}
  %n = loop.dim %x, -1 : memref<?x8xf32>
  func.return %n : index
}
