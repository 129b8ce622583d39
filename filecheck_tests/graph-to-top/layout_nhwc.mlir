// The NHWC layout ops lower to the nhwc forms of top.conv2d / top.pool / top.reduce.
// RUN: lamina-opt %s -p convert-graph-to-top | filecheck %s

// CHECK-LABEL: func.func @nhwc
// CHECK:         %[[C:.*]] = top.conv2d nhwc_hwcf %x, %w, %b strides [2, 2] dilations [1, 1] pad_low [1, 1] pad_high [1, 1] groups 2 : (tensor<1x8x8x4xf32>, tensor<3x3x2x6xf32>, tensor<6xf32>) -> tensor<1x4x4x6xf32>
// CHECK-NEXT:    %[[M:.*]] = top.pool max nhwc %[[C]] kernel [2, 2] strides [2, 2] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] : tensor<1x4x4x6xf32> -> tensor<1x2x2x6xf32>
// CHECK-NEXT:    %[[A:.*]] = top.pool avg nhwc %[[M]] kernel [2, 2] strides [1, 1] dilations [1, 1] pad_low [1, 1] pad_high [1, 1] count_include_pad : tensor<1x2x2x6xf32> -> tensor<1x3x3x6xf32>
// CHECK-NEXT:    %[[G:.*]] = top.reduce mean %[[A]] axes [1, 2] keepdims : tensor<1x3x3x6xf32> -> tensor<1x1x1x6xf32>
// CHECK-NEXT:    func.return %[[G]]
func.func @nhwc(%x: tensor<1x8x8x4xf32>, %w: tensor<3x3x2x6xf32>, %b: tensor<6xf32>) -> tensor<1x1x1x6xf32> {
  %c = graph.nhwc_conv %x, %w, %b {group = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x8x8x4xf32>, tensor<3x3x2x6xf32>, tensor<6xf32>) -> tensor<1x4x4x6xf32>
  %m = graph.nhwc_max_pool %c {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x4x4x6xf32>) -> tensor<1x2x2x6xf32>
  %a = graph.nhwc_average_pool %m {count_include_pad = 1 : i64, kernel_shape = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>} : (tensor<1x2x2x6xf32>) -> tensor<1x3x3x6xf32>
  %g = graph.nhwc_global_average_pool %a : (tensor<1x3x3x6xf32>) -> tensor<1x1x1x6xf32>
  func.return %g : tensor<1x1x1x6xf32>
}
