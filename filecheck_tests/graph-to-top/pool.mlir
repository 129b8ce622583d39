// RUN: lamina-opt %s -p convert-graph-to-top | filecheck %s
// RUN: lamina-opt %s -p convert-graph-to-top | lamina-opt --print-op-generic | lamina-opt | filecheck %s

// max_pool with its indices used: x padded with -inf, one generic over (n, c, oh, ow, kh, kw)
// reducing the kernel loops into (max, flat index); positions come from iotas
// CHECK-LABEL: func.func @max_pool_indices
// CHECK: %[[P:.*]] = top.pad constant %{{.*}} value %{{.*}} low [0, 0, 0, 0] high [0, 0, 0, 0] : (tensor<1x2x4x4xf32>, f32) -> tensor<1x2x4x4xf32>
// CHECK: %{{.*}}, %[[I:.*]] = top.generic {indexing_maps = [affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, ((d2 * 2) + d4), ((d3 * 2) + d5))>, {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]} ins(%[[P]]
// CHECK: arith.cmpf ogt
// CHECK: func.return %{{.*}}, %[[I]] : tensor<1x2x2x2xf32>, tensor<1x2x2x2xi64>
func.func @max_pool_indices(%x: tensor<1x2x4x4xf32>) -> (tensor<1x2x2x2xf32>, tensor<1x2x2x2xi64>) {
  %y, %i = graph.max_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x2x4x4xf32>) -> (tensor<1x2x2x2xf32>, tensor<1x2x2x2xi64>)
  func.return %y, %i : tensor<1x2x2x2xf32>, tensor<1x2x2x2xi64>
}
