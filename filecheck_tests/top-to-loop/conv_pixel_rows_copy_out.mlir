// RUN: lamina-opt %s -p 'convert-top-to-loop{vector_bits=512}' | filecheck %s

// A pixel-rows conv (32 filters x 49 pixels, K = 64) whose Y is an arena buffer (a pool
// reads it) copies Cp^T out in 16 x 16 squares into Y viewed as [1, 32, 49]: per square,
// one loop of 4 vectors of Cp^T x 8 shuffles into the staging square, one loop of 8
// shuffles in place on its vectors 4 apart, one loop adding the bias and storing a
// vector of 16 pixels of Y; the last square of pixels starts at min(16 * pb, 49 - 16).
// CHECK-LABEL: func.func @pixel_rows_in_arena
// CHECK: %[[Y:.*]] = loop.alloc() : memref<1x32x7x7xf32>
// CHECK-NEXT: %[[FLAT:.*]] = loop.view %[[Y]][0] : memref<1x32x7x7xf32> -> memref<1x32x49xf32>
// CHECK: %[[CP:.*]] = loop.alloc() : memref<49x32xf32>
// CHECK-NEXT: %[[SQ:.*]] = loop.alloc() : memref<2x16x16xf32>
// CHECK-COUNT-14: loop.vstore %{{.*}}, %[[CP]][%{{.*}}, %{{.*}}] : memref<49x32xf32>, vector<16xf32>
// CHECK: loop.for %[[FB:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK-NEXT: loop.for %[[PB:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK: %[[P0:.*]] = arith.minsi %{{.*}}, %{{.*}} : index
// CHECK-NEXT: loop.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} unroll 1 {
// CHECK-COUNT-4: loop.vload %[[CP]][%{{.*}}, %{{.*}}] : memref<49x32xf32>, vector<16xf32>
// CHECK-COUNT-8: vector.shuffle
// CHECK-COUNT-4: loop.vstore %{{.*}}, %[[SQ]][%[[FB]], %{{.*}}, %{{.*}}] : memref<2x16x16xf32>, vector<16xf32>
// CHECK: loop.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} unroll 1 {
// CHECK-COUNT-4: loop.vload %[[SQ]]
// CHECK-COUNT-8: vector.shuffle
// CHECK-COUNT-4: loop.vstore %{{.*}}, %[[SQ]]
// CHECK: loop.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} unroll 1 {
// CHECK-NEXT: %[[V:.*]] = loop.vload %[[SQ]][%[[FB]], %[[J]], %{{.*}}] : memref<2x16x16xf32>, vector<16xf32>
// CHECK-NEXT: %[[F:.*]] = arith.addi %{{.*}}, %[[J]] : index
// CHECK-NEXT: %[[BIAS:.*]] = loop.load %{{.*}}[%[[F]]] : memref<32xf32>
// CHECK-NEXT: %[[SPLAT:.*]] = vector.broadcast %[[BIAS]] : f32 to vector<16xf32>
// CHECK-NEXT: %[[SUM:.*]] = arith.addf %[[V]], %[[SPLAT]] : vector<16xf32>
// CHECK-NEXT: loop.vstore %[[SUM]], %[[FLAT]][%{{.*}}, %[[F]], %[[P0]]] : memref<1x32x49xf32>, vector<16xf32>
// CHECK-NOT: loop.store %{{.*}}, %[[Y]]
// CHECK: loop.dealloc %[[SQ]]
// CHECK: func.return
func.func @pixel_rows_in_arena(%x: tensor<1x64x7x7xf32>, %b: tensor<32xf32>) -> tensor<1x32x6x6xf32> {
  %w = graph.constant dense<5.000000e-01> : tensor<32x64x1x1xf32>
  %y = top.conv2d nchw_fchw %x, %w, %b strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 1 : (tensor<1x64x7x7xf32>, tensor<32x64x1x1xf32>, tensor<32xf32>) -> tensor<1x32x7x7xf32>
  %p = top.pool max nchw %y kernel [2, 2] strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] : tensor<1x32x7x7xf32> -> tensor<1x32x6x6xf32>
  func.return %p : tensor<1x32x6x6xf32>
}
