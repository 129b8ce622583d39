// RUN: lamina-opt %s -p convert-top-to-loop | filecheck %s

// A grouped conv runs the GEMM once per group (the group's filter panels from row
// group * Fp), and copies each 14-wide output row of Cp out as explicit vectors, the whole
// ones (none here: 14 < 16 lanes), then the binary split of the rest: 8 + 4 + 2 lanes, the
// bias added to each piece. (A loop over the row left to LLVM became gathers and scatters
// over the rows.)
// CHECK-LABEL: func.func @grouped_rows
// CHECK: %[[CP:.*]] = loop.alloc() : memref<24x224xf32>
// CHECK: loop.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(
// CHECK: vector.fma
// CHECK: loop.for %[[F:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK-NEXT: loop.for %[[OH:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK: %[[BIAS:.*]] = loop.load %{{.*}}[%[[FILTER:.*]]] : memref<40xf32>
// CHECK: %[[C8:.*]] = loop.vload %[[CP]][%[[F]], %{{.*}}] : memref<24x224xf32>, vector<8xf32>
// CHECK-NEXT: %[[B8:.*]] = vector.broadcast %[[BIAS]] : f32 to vector<8xf32>
// CHECK-NEXT: %[[S8:.*]] = arith.addf %[[C8]], %[[B8]] : vector<8xf32>
// CHECK-NEXT: loop.vstore %[[S8]], %{{.*}}[%{{.*}}, %[[FILTER]], %[[OH]], %{{.*}}] : memref<1x40x14x14xf32>, vector<8xf32>
// CHECK: loop.vload %[[CP]][%[[F]], %{{.*}}] : memref<24x224xf32>, vector<4xf32>
// CHECK: loop.vstore %{{.*}} : memref<1x40x14x14xf32>, vector<4xf32>
// CHECK: loop.vload %[[CP]][%[[F]], %{{.*}}] : memref<24x224xf32>, vector<2xf32>
// CHECK: loop.vstore %{{.*}} : memref<1x40x14x14xf32>, vector<2xf32>
// CHECK-NOT: loop.store
// CHECK: func.return
func.func @grouped_rows(%x: tensor<1x40x14x14xf32>, %b: tensor<40xf32>) -> tensor<1x40x14x14xf32> {
  %w = graph.constant dense<5.000000e-01> : tensor<40x20x1x1xf32>
  %y = top.conv2d nchw_fchw %x, %w, %b strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 2 : (tensor<1x40x14x14xf32>, tensor<40x20x1x1xf32>, tensor<40xf32>) -> tensor<1x40x14x14xf32>
  func.return %y : tensor<1x40x14x14xf32>
}
