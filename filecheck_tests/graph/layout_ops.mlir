// Round trip of the NHWC layout ops (dialects/graph_layout.py), custom and generic form.
// RUN: lamina-opt %s | lamina-opt | filecheck %s
// RUN: lamina-opt %s --print-op-generic | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @nhwc_conv(
// CHECK:         %[[Y:.*]] = graph.nhwc_conv %x, %w, %b {group = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x8x8x4xf32>, tensor<3x3x2x6xf32>, tensor<6xf32>) -> tensor<1x4x4x6xf32>
// CHECK-NEXT:    func.return %[[Y]]
func.func @nhwc_conv(%x: tensor<1x8x8x4xf32>, %w: tensor<3x3x2x6xf32>, %b: tensor<6xf32>) -> tensor<1x4x4x6xf32> {
  %y = graph.nhwc_conv %x, %w, %b {group = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x8x8x4xf32>, tensor<3x3x2x6xf32>, tensor<6xf32>) -> tensor<1x4x4x6xf32>
  func.return %y : tensor<1x4x4x6xf32>
}

// CHECK-LABEL: func.func @nhwc_conv_without_bias(
// CHECK:         graph.nhwc_conv %x, %w, %n : (tensor<1x8x8x3xf32>, tensor<3x3x3x4xf32>, none) -> tensor<1x6x6x4xf32>
func.func @nhwc_conv_without_bias(%x: tensor<1x8x8x3xf32>, %w: tensor<3x3x3x4xf32>, %n: none) -> tensor<1x6x6x4xf32> {
  %y = graph.nhwc_conv %x, %w, %n : (tensor<1x8x8x3xf32>, tensor<3x3x3x4xf32>, none) -> tensor<1x6x6x4xf32>
  func.return %y : tensor<1x6x6x4xf32>
}

// CHECK-LABEL: func.func @nhwc_pools(
// CHECK:         %[[M:.*]] = graph.nhwc_max_pool %x {ceil_mode = 1 : i64, kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>} : (tensor<1x8x8x4xf32>) -> tensor<1x4x4x4xf32>
// CHECK-NEXT:    %[[A:.*]] = graph.nhwc_average_pool %[[M]] {count_include_pad = 1 : i64, kernel_shape = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>} : (tensor<1x4x4x4xf32>) -> tensor<1x5x5x4xf32>
// CHECK-NEXT:    %[[G:.*]] = graph.nhwc_global_average_pool %[[A]] : (tensor<1x5x5x4xf32>) -> tensor<1x1x1x4xf32>
// CHECK-NEXT:    func.return %[[G]]
func.func @nhwc_pools(%x: tensor<1x8x8x4xf32>) -> tensor<1x1x1x4xf32> {
  %m = graph.nhwc_max_pool %x {ceil_mode = 1 : i64, kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>} : (tensor<1x8x8x4xf32>) -> tensor<1x4x4x4xf32>
  %a = graph.nhwc_average_pool %m {count_include_pad = 1 : i64, kernel_shape = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>} : (tensor<1x4x4x4xf32>) -> tensor<1x5x5x4xf32>
  %g = graph.nhwc_global_average_pool %a : (tensor<1x5x5x4xf32>) -> tensor<1x1x1x4xf32>
  func.return %g : tensor<1x1x1x4xf32>
}
