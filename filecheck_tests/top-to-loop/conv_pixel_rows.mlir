// RUN: lamina-opt %s -p convert-top-to-loop | filecheck %s

// An NCHW conv of 7x7 outputs runs its GEMM transposed (pixel rows): 49 pixels fill 64
// vector lanes badly, 32 filters fill two vectors. The filter is carved as W^T in B
// panels (1 panel x K = 64 x NR = 32), im2col packs Bp[K][49], the micro-kernel's k loop
// carries 7 pixels x 2 vectors of filters, loading two filter vectors and broadcasting
// 7 pixels of Bp's row k; Cp^T [49][32] is copied out to Y in blocks of 16 filters.
// CHECK-LABEL: func.func @pixel_rows
// CHECK: %[[W:.*]] = loop.carve %{{.*}}[0] : memref<8192xi8> -> memref<1x64x32xf32>
// CHECK: %[[BP:.*]] = loop.alloc() : memref<64x49xf32>
// CHECK: %[[CP:.*]] = loop.alloc() : memref<49x32xf32>
// CHECK: loop.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{([^,]*, ){13}[^,]*}}) -> (
// CHECK: %[[DEPTH:.*]] = arith.addi %{{.*}}, %[[K]] : index
// CHECK-NEXT: loop.vload %[[W]][%{{.*}}, %[[DEPTH]], %{{.*}}] : memref<1x64x32xf32>, vector<16xf32>
// CHECK: loop.vload %[[W]][%{{.*}}, %{{.*}}, %{{.*}}] : memref<1x64x32xf32>, vector<16xf32>
// CHECK-COUNT-7: loop.load %[[BP]][%[[K]], %{{.*}}] : memref<64x49xf32>
// CHECK: loop.yield
// CHECK-COUNT-14: loop.vstore %{{.*}}, %[[CP]][%{{.*}}, %{{.*}}] : memref<49x32xf32>, vector<16xf32>
// CHECK: %[[C:.*]] = loop.load %[[CP]][%{{.*}}, %{{.*}}] : memref<49x32xf32>
// CHECK-NEXT: %[[BIAS:.*]] = loop.load %{{.*}}[%{{.*}}] : memref<32xf32>
// CHECK-NEXT: %[[SUM:.*]] = arith.addf %[[C]], %[[BIAS]] : f32
// CHECK-NEXT: loop.store %[[SUM]], %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : memref<1x32x7x7xf32>
// CHECK-NOT: top.
// CHECK: loop.dealloc %[[BP]]
// CHECK-NOT: loop.dealloc %[[BP]]
// CHECK: loop.dealloc %[[CP]]
// CHECK-NOT: loop.dealloc
// CHECK: func.return
func.func @pixel_rows(%x: tensor<1x64x7x7xf32>, %b: tensor<32xf32>) -> tensor<1x32x7x7xf32> {
  %w = graph.constant dense<5.000000e-01> : tensor<32x64x1x1xf32>
  %y = top.conv2d nchw_fchw %x, %w, %b strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 1 : (tensor<1x64x7x7xf32>, tensor<32x64x1x1xf32>, tensor<32xf32>) -> tensor<1x32x7x7xf32>
  func.return %y : tensor<1x32x7x7xf32>
}
