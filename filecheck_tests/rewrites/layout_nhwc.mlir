// The graph-layout-nhwc rules, one function per rule (and where they must not apply).
// RUN: lamina-opt %s -p 'apply-rules{set=graph-layout-nhwc}' | filecheck %s

// three convs with activations between them: one transpose at the input, one at the output
// CHECK-LABEL: func.func @conv_chain
// CHECK-NOT:     graph.conv 
// CHECK:         %[[T:.*]] = graph.transpose %x {perm = array<i64: 0, 2, 3, 1>} : (tensor<1x3x8x8xf32>) -> tensor<1x8x8x3xf32>
// CHECK-NEXT:    %[[W1:.*]] = graph.constant dense<5.000000e-01> : tensor<1x1x3x4xf32>
// CHECK-NEXT:    %[[C1:.*]] = graph.nhwc_conv %[[T]], %[[W1]], %n : (tensor<1x8x8x3xf32>, tensor<1x1x3x4xf32>, none) -> tensor<1x8x8x4xf32>
// CHECK-NEXT:    %[[R1:.*]] = graph.relu %[[C1]] : tensor<1x8x8x4xf32>
// CHECK-NOT:     graph.transpose
// CHECK:         %[[C2:.*]] = graph.nhwc_conv %[[R1]]
// CHECK-NEXT:    %[[R2:.*]] = graph.tanh %[[C2]] : tensor<1x8x8x4xf32>
// CHECK-NOT:     graph.transpose
// CHECK:         %[[C3:.*]] = graph.nhwc_conv %[[R2]]
// CHECK-NEXT:    %[[Y:.*]] = graph.transpose %[[C3]] {perm = array<i64: 0, 3, 1, 2>} : (tensor<1x8x8x4xf32>) -> tensor<1x4x8x8xf32>
// CHECK-NEXT:    func.return %[[Y]]
func.func @conv_chain(%x: tensor<1x3x8x8xf32>) -> tensor<1x4x8x8xf32> {
  %n = graph.none : none
  %w1 = graph.constant dense<0.5> : tensor<4x3x1x1xf32>
  %w2 = graph.constant dense<0.25> : tensor<4x4x1x1xf32>
  %w3 = graph.constant dense<0.125> : tensor<4x4x1x1xf32>
  %c1 = graph.conv %x, %w1, %n : (tensor<1x3x8x8xf32>, tensor<4x3x1x1xf32>, none) -> tensor<1x4x8x8xf32>
  %r1 = graph.relu %c1 : tensor<1x4x8x8xf32>
  %c2 = graph.conv %r1, %w2, %n : (tensor<1x4x8x8xf32>, tensor<4x4x1x1xf32>, none) -> tensor<1x4x8x8xf32>
  %r2 = graph.tanh %c2 : tensor<1x4x8x8xf32>
  %c3 = graph.conv %r2, %w3, %n : (tensor<1x4x8x8xf32>, tensor<4x4x1x1xf32>, none) -> tensor<1x4x8x8xf32>
  func.return %c3 : tensor<1x4x8x8xf32>
}

// a filter that is not a constant is transposed by an op
// CHECK-LABEL: func.func @conv_filter_input
// CHECK-NEXT:    %[[T:.*]] = graph.transpose %x {perm = array<i64: 0, 2, 3, 1>}
// CHECK-NEXT:    %[[F:.*]] = graph.transpose %w {perm = array<i64: 2, 3, 1, 0>} : (tensor<4x3x3x3xf32>) -> tensor<3x3x3x4xf32>
// CHECK-NEXT:    %[[C:.*]] = graph.nhwc_conv %[[T]], %[[F]], %b : (tensor<1x8x8x3xf32>, tensor<3x3x3x4xf32>, tensor<4xf32>) -> tensor<1x6x6x4xf32>
// CHECK-NEXT:    %[[Y:.*]] = graph.transpose %[[C]] {perm = array<i64: 0, 3, 1, 2>}
// CHECK-NEXT:    func.return %[[Y]]
func.func @conv_filter_input(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x6x6xf32> {
  %y = graph.conv %x, %w, %b : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  func.return %y : tensor<1x4x6x6xf32>
}

// a 1-D conv stays NCHW
// CHECK-LABEL: func.func @conv_1d
// CHECK-NEXT:    graph.conv %x, %w, %n
// CHECK-NEXT:    func.return
func.func @conv_1d(%x: tensor<1x3x8xf32>, %w: tensor<4x3x3xf32>, %n: none) -> tensor<1x4x6xf32> {
  %y = graph.conv %x, %w, %n : (tensor<1x3x8xf32>, tensor<4x3x3xf32>, none) -> tensor<1x4x6xf32>
  func.return %y : tensor<1x4x6xf32>
}

// CHECK-LABEL: func.func @pools
// CHECK-NEXT:    %[[T:.*]] = graph.transpose %x {perm = array<i64: 0, 2, 3, 1>}
// CHECK-NEXT:    %[[M:.*]] = graph.nhwc_max_pool %[[T]] {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x8x8x4xf32>) -> tensor<1x4x4x4xf32>
// CHECK-NEXT:    %[[S:.*]] = graph.sigmoid %[[M]] : tensor<1x4x4x4xf32>
// CHECK-NEXT:    %[[A:.*]] = graph.nhwc_average_pool %[[S]] {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>} : tensor<1x4x4x4xf32>
// CHECK-NEXT:    %[[L:.*]] = graph.leaky_relu %[[A]] {alpha = 5.000000e-01 : f32} : tensor<1x4x4x4xf32>
// CHECK-NEXT:    %[[G:.*]] = graph.nhwc_global_average_pool %[[L]] : (tensor<1x4x4x4xf32>) -> tensor<1x1x1x4xf32>
// CHECK-NEXT:    %[[Y:.*]] = graph.transpose %[[G]] {perm = array<i64: 0, 3, 1, 2>} : (tensor<1x1x1x4xf32>) -> tensor<1x4x1x1xf32>
// CHECK-NEXT:    func.return %[[Y]]
func.func @pools(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x1x1xf32> {
  %m, %i = graph.max_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32>) -> (tensor<1x4x4x4xf32>, none)
  %s = graph.sigmoid %m : tensor<1x4x4x4xf32>
  %a = graph.average_pool %s {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>} : (tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %l = graph.leaky_relu %a {alpha = 0.5 : f32} : tensor<1x4x4x4xf32>
  %g = graph.global_average_pool %l : (tensor<1x4x4x4xf32>) -> tensor<1x4x1x1xf32>
  func.return %g : tensor<1x4x1x1xf32>
}

// a max pool whose indices are used stays NCHW
// CHECK-LABEL: func.func @max_pool_with_indices
// CHECK-NEXT:    graph.max_pool %x
// CHECK-NEXT:    func.return
func.func @max_pool_with_indices(%x: tensor<1x4x8x8xf32>) -> (tensor<1x4x4x4xf32>, tensor<1x4x4x4xi64>) {
  %m, %i = graph.max_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x4x8x8xf32>) -> (tensor<1x4x4x4xf32>, tensor<1x4x4x4xi64>)
  func.return %m, %i : tensor<1x4x4x4xf32>, tensor<1x4x4x4xi64>
}

// add / mul of two transposed values, and of a transposed value and a per-channel constant
// CHECK-LABEL: func.func @binary
// CHECK:         %[[P:.*]] = graph.nhwc_max_pool
// CHECK:         %[[C:.*]] = graph.nhwc_conv
// CHECK-NEXT:    %[[S:.*]] = graph.add %[[P]], %[[C]] : tensor<1x6x6x4xf32>
// CHECK-NEXT:    %[[M:.*]] = graph.mul %[[S]], %[[C]] : tensor<1x6x6x4xf32>
// CHECK-NEXT:    %[[K:.*]] = graph.constant dense<{{\[\[\[\[}}1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]]]]> : tensor<1x1x1x4xf32>
// CHECK-NEXT:    %[[A:.*]] = graph.add %[[M]], %[[K]] : (tensor<1x6x6x4xf32>, tensor<1x1x1x4xf32>) -> tensor<1x6x6x4xf32>
// CHECK-NEXT:    %[[J:.*]] = graph.constant dense<2.000000e+00> : tensor<1x1x1x1xf32>
// CHECK-NEXT:    %[[B:.*]] = graph.add %[[J]], %[[A]] : (tensor<1x1x1x1xf32>, tensor<1x6x6x4xf32>) -> tensor<1x6x6x4xf32>
// CHECK-NEXT:    %[[K2:.*]] = graph.constant
// CHECK-NEXT:    %[[Y:.*]] = graph.mul %[[B]], %[[K2]] : (tensor<1x6x6x4xf32>, tensor<1x1x1x4xf32>) -> tensor<1x6x6x4xf32>
// CHECK-NEXT:    %[[Q:.*]] = graph.clip %[[Y]], %n, %n : (tensor<1x6x6x4xf32>, none, none) -> tensor<1x6x6x4xf32>
// CHECK-NEXT:    %[[R:.*]] = graph.transpose %[[Q]] {perm = array<i64: 0, 3, 1, 2>}
// CHECK-NEXT:    func.return %[[R]]
func.func @binary(%x: tensor<1x4x6x6xf32>, %w: tensor<4x4x1x1xf32>) -> tensor<1x4x6x6xf32> {
  %n = graph.none : none
  %k = graph.constant dense<[[[1.0]], [[2.0]], [[3.0]], [[4.0]]]> : tensor<4x1x1xf32>
  %j = graph.constant dense<2.0> : tensor<f32>
  %p, %i = graph.max_pool %x {kernel_shape = array<i64: 1, 1>} : (tensor<1x4x6x6xf32>) -> (tensor<1x4x6x6xf32>, none)
  %c = graph.conv %x, %w, %n : (tensor<1x4x6x6xf32>, tensor<4x4x1x1xf32>, none) -> tensor<1x4x6x6xf32>
  %s = graph.add %p, %c : tensor<1x4x6x6xf32>
  %m = graph.mul %s, %c : tensor<1x4x6x6xf32>
  %a = graph.add %m, %k : (tensor<1x4x6x6xf32>, tensor<4x1x1xf32>) -> tensor<1x4x6x6xf32>
  %b = graph.add %j, %a : (tensor<f32>, tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  %y = graph.mul %b, %k : (tensor<1x4x6x6xf32>, tensor<4x1x1xf32>) -> tensor<1x4x6x6xf32>
  %q = graph.clip %y, %n, %n : (tensor<1x4x6x6xf32>, none, none) -> tensor<1x4x6x6xf32>
  func.return %q : tensor<1x4x6x6xf32>
}

// an add of a transposed value and a value that is not transposed keeps its transpose
// CHECK-LABEL: func.func @add_of_plain_value
// CHECK:         %[[G:.*]] = graph.nhwc_global_average_pool
// CHECK-NEXT:    %[[T:.*]] = graph.transpose %[[G]] {perm = array<i64: 0, 3, 1, 2>}
// CHECK-NEXT:    %[[S:.*]] = graph.add %[[T]], %z
// CHECK-NEXT:    func.return %[[S]]
func.func @add_of_plain_value(%x: tensor<1x4x6x6xf32>, %z: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  %g = graph.global_average_pool %x : (tensor<1x4x6x6xf32>) -> tensor<1x4x1x1xf32>
  %s = graph.add %g, %z : (tensor<1x4x1x1xf32>, tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  func.return %s : tensor<1x4x6x6xf32>
}

// concat on the channel axis becomes a concat on axis 3
// CHECK-LABEL: func.func @concat
// CHECK:         %[[A:.*]] = graph.nhwc_max_pool
// CHECK:         %[[B:.*]] = graph.nhwc_average_pool
// CHECK-NEXT:    %[[C2:.*]] = graph.concat %[[A]], %[[B]] {axis = 3 : i64} : (tensor<1x6x6x4xf32>, tensor<1x6x6x4xf32>) -> tensor<1x6x6x8xf32>
// CHECK-NEXT:    %[[C3:.*]] = graph.concat %[[C2]], %[[A]], %[[B]] {axis = 3 : i64}
// CHECK-NEXT:    %[[Y3:.*]] = graph.transpose %[[C3]] {perm = array<i64: 0, 3, 1, 2>}
// CHECK-NEXT:    %[[D:.*]] = graph.concat %[[A]], %[[B]], %[[A]] {axis = 3 : i64}
// CHECK-NEXT:    %[[YD:.*]] = graph.transpose %[[D]] {perm = array<i64: 0, 3, 1, 2>}
// CHECK-NEXT:    func.return %[[Y3]], %[[YD]]
func.func @concat(%x: tensor<1x4x6x6xf32>) -> (tensor<1x16x6x6xf32>, tensor<1x12x6x6xf32>) {
  %a, %i = graph.max_pool %x {kernel_shape = array<i64: 1, 1>} : (tensor<1x4x6x6xf32>) -> (tensor<1x4x6x6xf32>, none)
  %b = graph.average_pool %x {kernel_shape = array<i64: 1, 1>} : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  %c2 = graph.concat %a, %b {axis = -3 : i64} : (tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>) -> tensor<1x8x6x6xf32>
  %c3 = graph.concat %c2, %a, %b {axis = 1 : i64} : (tensor<1x8x6x6xf32>, tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>) -> tensor<1x16x6x6xf32>
  %d = graph.concat %a, %b, %a {axis = 1 : i64} : (tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>) -> tensor<1x12x6x6xf32>
  func.return %c3, %d : tensor<1x16x6x6xf32>, tensor<1x12x6x6xf32>
}
