// Each rule of rewrites/graph/fuse_activation.rw, and where the rules must not apply.
// RUN: lamina-opt %s -p 'apply-rules{set=graph-default}' | filecheck %s
// RUN: lamina-opt %s -p 'apply-rules{set=graph-fuse-activation}' | filecheck %s --check-prefix=ALONE

// relu(conv(x, w, b)) -> fused_conv(x, w, b){activation = relu}
// CHECK-LABEL: func.func @conv_relu
// CHECK-NOT:     graph.conv
// CHECK:         %[[Y:.*]] = graph.fused_conv %x, %w, %b {activation = "relu"} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
// CHECK-NEXT:    func.return %[[Y]]
// ALONE-LABEL: func.func @conv_relu
// ALONE:         graph.fused_conv
func.func @conv_relu(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x6x6xf32> {
  %c = graph.conv %x, %w, %b : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  %y = graph.relu %c : tensor<1x4x6x6xf32>
  func.return %y : tensor<1x4x6x6xf32>
}

// sigmoid(conv(x, w, b)) -> fused_conv(x, w, b){activation = sigmoid}
// CHECK-LABEL: func.func @conv_sigmoid
// CHECK-NOT:     graph.conv
// CHECK:         %[[Y:.*]] = graph.fused_conv %x, %w, %b {activation = "sigmoid"} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
// CHECK-NEXT:    func.return %[[Y]]
// ALONE-LABEL: func.func @conv_sigmoid
// ALONE:         graph.fused_conv
func.func @conv_sigmoid(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x6x6xf32> {
  %c = graph.conv %x, %w, %b : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  %y = graph.sigmoid %c : tensor<1x4x6x6xf32>
  func.return %y : tensor<1x4x6x6xf32>
}

// tanh(conv(x, w, b)) -> fused_conv(x, w, b){activation = tanh}
// CHECK-LABEL: func.func @conv_tanh
// CHECK-NOT:     graph.conv
// CHECK:         %[[Y:.*]] = graph.fused_conv %x, %w, %b {activation = "tanh"} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
// CHECK-NEXT:    func.return %[[Y]]
// ALONE-LABEL: func.func @conv_tanh
// ALONE:         graph.fused_conv
func.func @conv_tanh(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x6x6xf32> {
  %c = graph.conv %x, %w, %b : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  %y = graph.tanh %c : tensor<1x4x6x6xf32>
  func.return %y : tensor<1x4x6x6xf32>
}

// leaky_relu(conv(x, w, b)) -> fused_conv(x, w, b){activation = leaky_relu}
// CHECK-LABEL: func.func @conv_leaky_relu
// CHECK-NOT:     graph.conv
// CHECK:         %[[Y:.*]] = graph.fused_conv %x, %w, %b {activation = "leaky_relu", activation_params = array<f32: 2.000000e-01>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
// CHECK-NEXT:    func.return %[[Y]]
// ALONE-LABEL: func.func @conv_leaky_relu
// ALONE:         graph.fused_conv
func.func @conv_leaky_relu(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x6x6xf32> {
  %c = graph.conv %x, %w, %b : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  %y = graph.leaky_relu %c {alpha = 2.000000e-01 : f32} : tensor<1x4x6x6xf32>
  func.return %y : tensor<1x4x6x6xf32>
}

// hard_sigmoid(conv(x, w, b)) -> fused_conv(x, w, b){activation = hard_sigmoid}
// CHECK-LABEL: func.func @conv_hard_sigmoid
// CHECK-NOT:     graph.conv
// CHECK:         %[[Y:.*]] = graph.fused_conv %x, %w, %b {activation = "hard_sigmoid", activation_params = array<f32: 2.000000e-01, 2.500000e-01>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
// CHECK-NEXT:    func.return %[[Y]]
// ALONE-LABEL: func.func @conv_hard_sigmoid
// ALONE:         graph.fused_conv
func.func @conv_hard_sigmoid(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x6x6xf32> {
  %c = graph.conv %x, %w, %b : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  %y = graph.hard_sigmoid %c {beta = 2.500000e-01 : f32} : tensor<1x4x6x6xf32>
  func.return %y : tensor<1x4x6x6xf32>
}

// clip(conv(x, w, b)) -> fused_conv(x, w, b){activation = clip}
// CHECK-LABEL: func.func @conv_clip
// CHECK-NOT:     graph.conv
// CHECK:         %[[Y:.*]] = graph.fused_conv %x, %w, %b {activation = "clip", activation_params = array<f32: 0.000000e+00, 6.000000e+00>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
// CHECK-NEXT:    func.return %[[Y]]
// ALONE-LABEL: func.func @conv_clip
// ALONE:         graph.fused_conv
func.func @conv_clip(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x6x6xf32> {
  %lo = graph.constant dense<0.0> : tensor<f32>
  %hi = graph.constant dense<6.0> : tensor<f32>
  %c = graph.conv %x, %w, %b : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  %y = graph.clip %c, %lo, %hi : (tensor<1x4x6x6xf32>, tensor<f32>, tensor<f32>) -> tensor<1x4x6x6xf32>
  func.return %y : tensor<1x4x6x6xf32>
}

// relu(gemm(a, b, c)) -> fused_gemm(a, b, c){activation = relu}
// CHECK-LABEL: func.func @gemm_relu
// CHECK-NOT:     graph.gemm
// CHECK:         %[[Y:.*]] = graph.fused_gemm %a, %b, %n {transB = 1 : i64, activation = "relu"} : (tensor<2x8xf32>, tensor<4x8xf32>, none) -> tensor<2x4xf32>
// CHECK-NEXT:    func.return %[[Y]]
// ALONE-LABEL: func.func @gemm_relu
// ALONE:         graph.fused_gemm
func.func @gemm_relu(%a: tensor<2x8xf32>, %b: tensor<4x8xf32>) -> tensor<2x4xf32> {
  %n = graph.none : none
  %g = graph.gemm %a, %b, %n {transB = 1 : i64} : (tensor<2x8xf32>, tensor<4x8xf32>, none) -> tensor<2x4xf32>
  %y = graph.relu %g : tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}

// sigmoid(gemm(a, b, c)) -> fused_gemm(a, b, c){activation = sigmoid}
// CHECK-LABEL: func.func @gemm_sigmoid
// CHECK-NOT:     graph.gemm
// CHECK:         %[[Y:.*]] = graph.fused_gemm %a, %b, %n {transB = 1 : i64, activation = "sigmoid"} : (tensor<2x8xf32>, tensor<4x8xf32>, none) -> tensor<2x4xf32>
// CHECK-NEXT:    func.return %[[Y]]
// ALONE-LABEL: func.func @gemm_sigmoid
// ALONE:         graph.fused_gemm
func.func @gemm_sigmoid(%a: tensor<2x8xf32>, %b: tensor<4x8xf32>) -> tensor<2x4xf32> {
  %n = graph.none : none
  %g = graph.gemm %a, %b, %n {transB = 1 : i64} : (tensor<2x8xf32>, tensor<4x8xf32>, none) -> tensor<2x4xf32>
  %y = graph.sigmoid %g : tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}

// tanh(gemm(a, b, c)) -> fused_gemm(a, b, c){activation = tanh}
// CHECK-LABEL: func.func @gemm_tanh
// CHECK-NOT:     graph.gemm
// CHECK:         %[[Y:.*]] = graph.fused_gemm %a, %b, %n {transB = 1 : i64, activation = "tanh"} : (tensor<2x8xf32>, tensor<4x8xf32>, none) -> tensor<2x4xf32>
// CHECK-NEXT:    func.return %[[Y]]
// ALONE-LABEL: func.func @gemm_tanh
// ALONE:         graph.fused_gemm
func.func @gemm_tanh(%a: tensor<2x8xf32>, %b: tensor<4x8xf32>) -> tensor<2x4xf32> {
  %n = graph.none : none
  %g = graph.gemm %a, %b, %n {transB = 1 : i64} : (tensor<2x8xf32>, tensor<4x8xf32>, none) -> tensor<2x4xf32>
  %y = graph.tanh %g : tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}

// leaky_relu(gemm(a, b, c)) -> fused_gemm(a, b, c){activation = leaky_relu}
// CHECK-LABEL: func.func @gemm_leaky_relu
// CHECK-NOT:     graph.gemm
// CHECK:         %[[Y:.*]] = graph.fused_gemm %a, %b, %n {transB = 1 : i64, activation = "leaky_relu", activation_params = array<f32: 2.000000e-01>} : (tensor<2x8xf32>, tensor<4x8xf32>, none) -> tensor<2x4xf32>
// CHECK-NEXT:    func.return %[[Y]]
// ALONE-LABEL: func.func @gemm_leaky_relu
// ALONE:         graph.fused_gemm
func.func @gemm_leaky_relu(%a: tensor<2x8xf32>, %b: tensor<4x8xf32>) -> tensor<2x4xf32> {
  %n = graph.none : none
  %g = graph.gemm %a, %b, %n {transB = 1 : i64} : (tensor<2x8xf32>, tensor<4x8xf32>, none) -> tensor<2x4xf32>
  %y = graph.leaky_relu %g {alpha = 2.000000e-01 : f32} : tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}

// hard_sigmoid(gemm(a, b, c)) -> fused_gemm(a, b, c){activation = hard_sigmoid}
// CHECK-LABEL: func.func @gemm_hard_sigmoid
// CHECK-NOT:     graph.gemm
// CHECK:         %[[Y:.*]] = graph.fused_gemm %a, %b, %n {transB = 1 : i64, activation = "hard_sigmoid", activation_params = array<f32: 2.000000e-01, 2.500000e-01>} : (tensor<2x8xf32>, tensor<4x8xf32>, none) -> tensor<2x4xf32>
// CHECK-NEXT:    func.return %[[Y]]
// ALONE-LABEL: func.func @gemm_hard_sigmoid
// ALONE:         graph.fused_gemm
func.func @gemm_hard_sigmoid(%a: tensor<2x8xf32>, %b: tensor<4x8xf32>) -> tensor<2x4xf32> {
  %n = graph.none : none
  %g = graph.gemm %a, %b, %n {transB = 1 : i64} : (tensor<2x8xf32>, tensor<4x8xf32>, none) -> tensor<2x4xf32>
  %y = graph.hard_sigmoid %g {beta = 2.500000e-01 : f32} : tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}

// clip(gemm(a, b, c)) -> fused_gemm(a, b, c){activation = clip}
// CHECK-LABEL: func.func @gemm_clip
// CHECK-NOT:     graph.gemm
// CHECK:         %[[Y:.*]] = graph.fused_gemm %a, %b, %n {transB = 1 : i64, activation = "clip", activation_params = array<f32: 0.000000e+00, 6.000000e+00>} : (tensor<2x8xf32>, tensor<4x8xf32>, none) -> tensor<2x4xf32>
// CHECK-NEXT:    func.return %[[Y]]
// ALONE-LABEL: func.func @gemm_clip
// ALONE:         graph.fused_gemm
func.func @gemm_clip(%a: tensor<2x8xf32>, %b: tensor<4x8xf32>) -> tensor<2x4xf32> {
  %lo = graph.constant dense<0.0> : tensor<f32>
  %hi = graph.constant dense<6.0> : tensor<f32>
  %n = graph.none : none
  %g = graph.gemm %a, %b, %n {transB = 1 : i64} : (tensor<2x8xf32>, tensor<4x8xf32>, none) -> tensor<2x4xf32>
  %y = graph.clip %g, %lo, %hi : (tensor<2x4xf32>, tensor<f32>, tensor<f32>) -> tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}
// relu(batch_normalization(conv(x, w))): BN folds first, then the relu fuses
// CHECK-LABEL: func.func @conv_bn_relu
// CHECK-NOT:     graph.batch_normalization
// CHECK-NOT:     graph.relu
// CHECK:         %[[Y:.*]] = graph.fused_conv %x, %{{.*}}, %{{.*}} {kernel_shape = array<i64: 1, 1>, activation = "relu"}
// CHECK-NEXT:    func.return %[[Y]]
func.func @conv_bn_relu(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = graph.constant dense<[[[[1.0]]], [[[2.0]]]]> : tensor<2x1x1x1xf32>
  %n = graph.none : none
  %c = graph.conv %x, %w, %n {kernel_shape = array<i64: 1, 1>} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, none) -> tensor<1x2x4x4xf32>
  %s = graph.constant dense<[2.0, 3.0]> : tensor<2xf32>
  %o = graph.constant dense<[0.5, -0.5]> : tensor<2xf32>
  %m = graph.constant dense<[0.0, 1.0]> : tensor<2xf32>
  %v = graph.constant dense<[1.0, 4.0]> : tensor<2xf32>
  %bn, %rm, %rv = graph.batch_normalization %c, %s, %o, %m, %v {epsilon = 0.0 : f32} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> (tensor<1x2x4x4xf32>, none, none)
  %y = graph.relu %bn : tensor<1x2x4x4xf32>
  func.return %y : tensor<1x2x4x4xf32>
}

// fused_conv(pad(x, p, 0)) -> fused_conv(x) {pads = pads + p}, whichever rule fires first
// CHECK-LABEL: func.func @pad_conv_relu
// CHECK-NOT:     graph.pad
// CHECK:         graph.fused_conv %x, %w, %n {kernel_shape = array<i64: 3, 3>, pads = array<i64: 1, 1, 1, 1>, activation = "relu"}
// ALONE-LABEL: func.func @pad_conv_relu
// ALONE-NOT:     graph.pad
// ALONE:         graph.fused_conv %x, %w, %n {kernel_shape = array<i64: 3, 3>, activation = "relu", pads = array<i64: 1, 1, 1, 1>}
func.func @pad_conv_relu(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32> {
  %n = graph.none : none
  %pads = graph.constant dense<[0, 0, 1, 1, 0, 0, 1, 1]> : tensor<8xi64>
  %p = graph.pad %x, %pads, %n, %n {mode = "constant"} : (tensor<1x3x8x8xf32>, tensor<8xi64>, none, none) -> tensor<1x3x10x10xf32>
  %c = graph.conv %p, %w, %n {kernel_shape = array<i64: 3, 3>} : (tensor<1x3x10x10xf32>, tensor<4x3x3x3xf32>, none) -> tensor<1x4x8x8xf32>
  %y = graph.relu %c : tensor<1x4x8x8xf32>
  func.return %y : tensor<1x4x8x8xf32>
}

// not fused: the conv has another use, the clip bound is computed, the shape is dynamic
// CHECK-LABEL: func.func @not_fused
// CHECK-NOT:     graph.fused_conv
// CHECK:         graph.relu
// CHECK:         graph.clip
// CHECK:         graph.sigmoid
func.func @not_fused(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %lo: tensor<f32>, %xd: tensor<?x3x8x8xf32>) -> (tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>, tensor<?x4x6x6xf32>) {
  %n = graph.none : none
  %c = graph.conv %x, %w, %n : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, none) -> tensor<1x4x6x6xf32>
  %r = graph.relu %c : tensor<1x4x6x6xf32>
  %c2 = graph.conv %x, %w, %n {group = 1 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, none) -> tensor<1x4x6x6xf32>
  %k = graph.clip %c2, %lo, %n : (tensor<1x4x6x6xf32>, tensor<f32>, none) -> tensor<1x4x6x6xf32>
  %cd = graph.conv %xd, %w, %n : (tensor<?x3x8x8xf32>, tensor<4x3x3x3xf32>, none) -> tensor<?x4x6x6xf32>
  %s = graph.sigmoid %cd : tensor<?x4x6x6xf32>
  func.return %r, %c, %k, %s : tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>, tensor<?x4x6x6xf32>
}
