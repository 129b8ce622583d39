// RUN: lamina-opt %s -p 'apply-rules{set=graph-default}' | filecheck %s
// RUN: lamina-opt %s -p 'apply-rules{set=graph-fold-pads}' | filecheck %s

// conv(pad(x, p, 0)) -> conv(x) {pads = pads + p}
// CHECK-LABEL: func.func @pad_conv
// CHECK:         %[[Y:.*]] = graph.conv %x, %w, %n {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 2, 1, 2>}
// CHECK-NEXT:    func.return %[[Y]]
func.func @pad_conv(%x: tensor<1x1x4x4xf32>, %w: tensor<1x1x3x3xf32>) -> tensor<1x1x4x6xf32> {
  %n = graph.none : none
  %pads = graph.constant dense<[0, 0, 1, 1, 0, 0, 1, 1]> : tensor<8xi64>
  %p = graph.pad %x, %pads, %n, %n : (tensor<1x1x4x4xf32>, tensor<8xi64>, none, none) -> tensor<1x1x6x6xf32>
  %y = graph.conv %p, %w, %n {kernel_shape = array<i64: 3, 3>, pads = array<i64: 0, 1, 0, 1>} : (tensor<1x1x6x6xf32>, tensor<1x1x3x3xf32>, none) -> tensor<1x1x4x6xf32>
  func.return %y : tensor<1x1x4x6xf32>
}

// a pad of the channel dim stays
// CHECK-LABEL: func.func @pad_channels_conv
// CHECK:         graph.pad
// CHECK:         graph.conv
func.func @pad_channels_conv(%x: tensor<1x1x4x4xf32>, %w: tensor<1x2x1x1xf32>) -> tensor<1x1x4x4xf32> {
  %n = graph.none : none
  %pads = graph.constant dense<[0, 0, 0, 0, 0, 1, 0, 0]> : tensor<8xi64>
  %p = graph.pad %x, %pads, %n, %n : (tensor<1x1x4x4xf32>, tensor<8xi64>, none, none) -> tensor<1x2x4x4xf32>
  %y = graph.conv %p, %w, %n : (tensor<1x2x4x4xf32>, tensor<1x2x1x1xf32>, none) -> tensor<1x1x4x4xf32>
  func.return %y : tensor<1x1x4x4xf32>
}

// max_pool(pad(x, p, lowest f32)) -> max_pool(x) {pads = p}
// CHECK-LABEL: func.func @pad_max_pool
// CHECK:         %[[Y:.*]], %{{.*}} = graph.max_pool %x {kernel_shape = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>}
// CHECK-NEXT:    func.return %[[Y]]
func.func @pad_max_pool(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x5x5xf32> {
  %n = graph.none : none
  %pads = graph.constant dense<[0, 0, 1, 1, 0, 0, 1, 1]> : tensor<8xi64>
  %v = graph.constant dense<-3.40282347e+38> : tensor<f32>
  %p = graph.pad %x, %pads, %v, %n : (tensor<1x1x4x4xf32>, tensor<8xi64>, tensor<f32>, none) -> tensor<1x1x6x6xf32>
  %y, %i = graph.max_pool %p {kernel_shape = array<i64: 2, 2>} : (tensor<1x1x6x6xf32>) -> (tensor<1x1x5x5xf32>, none)
  func.return %y : tensor<1x1x5x5xf32>
}

// average_pool(pad(x, p, 0)) folds only when pads count (count_include_pad = 1)
// CHECK-LABEL: func.func @pad_average_pool
// CHECK:         %[[Y:.*]] = graph.average_pool %x {count_include_pad = 1 : i64, kernel_shape = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>}
// CHECK-NEXT:    graph.pad
// CHECK-NEXT:    graph.average_pool
func.func @pad_average_pool(%x: tensor<1x1x4x4xf32>) -> (tensor<1x1x5x5xf32>, tensor<1x1x5x5xf32>) {
  %n = graph.none : none
  %pads = graph.constant dense<[0, 0, 1, 1, 0, 0, 1, 1]> : tensor<8xi64>
  %p = graph.pad %x, %pads, %n, %n : (tensor<1x1x4x4xf32>, tensor<8xi64>, none, none) -> tensor<1x1x6x6xf32>
  %y = graph.average_pool %p {count_include_pad = 1 : i64, kernel_shape = array<i64: 2, 2>} : (tensor<1x1x6x6xf32>) -> tensor<1x1x5x5xf32>
  %p2 = graph.pad %x, %pads, %n, %n : (tensor<1x1x4x4xf32>, tensor<8xi64>, none, none) -> tensor<1x1x6x6xf32>
  %z = graph.average_pool %p2 {kernel_shape = array<i64: 2, 2>} : (tensor<1x1x6x6xf32>) -> tensor<1x1x5x5xf32>
  func.return %y, %z : tensor<1x1x5x5xf32>, tensor<1x1x5x5xf32>
}

// nhwc_conv(pad(x, p, 0)) -> nhwc_conv(x) {pads = pads + p}: TFLite's PAD before a VALID conv
// CHECK-LABEL: func.func @pad_nhwc_conv
// CHECK:         %[[Y:.*]] = graph.nhwc_conv %x, %w, %n {group = 1 : i64, kernel_shape = array<i64: 3, 3>, pads = array<i64: 0, 0, 1, 1>, strides = array<i64: 2, 2>}
// CHECK-NEXT:    func.return %[[Y]]
func.func @pad_nhwc_conv(%x: tensor<1x8x8x4xf32>, %w: tensor<3x3x4x5xf32>) -> tensor<1x4x4x5xf32> {
  %n = graph.none : none
  %pads = graph.constant dense<[0, 0, 0, 0, 0, 1, 1, 0]> : tensor<8xi64>
  %p = graph.pad %x, %pads, %n, %n : (tensor<1x8x8x4xf32>, tensor<8xi64>, none, none) -> tensor<1x9x9x4xf32>
  %y = graph.nhwc_conv %p, %w, %n {group = 1 : i64, kernel_shape = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x9x9x4xf32>, tensor<3x3x4x5xf32>, none) -> tensor<1x4x4x5xf32>
  func.return %y : tensor<1x4x4x5xf32>
}

// an NHWC pad of the channels (BlazeFace's channel padding) stays
// CHECK-LABEL: func.func @pad_channels_nhwc_conv
// CHECK:         graph.pad
// CHECK:         graph.nhwc_conv
func.func @pad_channels_nhwc_conv(%x: tensor<1x4x4x2xf32>, %w: tensor<1x1x3x4xf32>) -> tensor<1x4x4x4xf32> {
  %n = graph.none : none
  %pads = graph.constant dense<[0, 0, 0, 0, 0, 0, 0, 1]> : tensor<8xi64>
  %p = graph.pad %x, %pads, %n, %n : (tensor<1x4x4x2xf32>, tensor<8xi64>, none, none) -> tensor<1x4x4x3xf32>
  %y = graph.nhwc_conv %p, %w, %n {group = 1 : i64, kernel_shape = array<i64: 1, 1>} : (tensor<1x4x4x3xf32>, tensor<1x1x3x4xf32>, none) -> tensor<1x4x4x4xf32>
  func.return %y : tensor<1x4x4x4xf32>
}
