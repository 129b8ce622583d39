// RUN: lamina-opt %s -p convert-graph-to-top | filecheck %s
// RUN: lamina-opt %s -p convert-graph-to-top | lamina-opt --print-op-generic | lamina-opt | filecheck %s

// A bf16 matmul runs in f32: both operands widen, the f32 product rounds to bf16 once.
// CHECK-LABEL: func.func @matmul_bf16
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xbf16>, %[[B:.*]]: tensor<3x4xbf16>)
// CHECK: %[[A32:.*]] = top.generic {{.*}} ins(%[[A]] : tensor<2x3xbf16>)
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: %[[B32:.*]] = top.generic {{.*}} ins(%[[B]] : tensor<3x4xbf16>)
// CHECK: %[[P:.*]] = top.matmul %[[A32]], %[[B32]] : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
// CHECK: %[[Y:.*]] = top.generic {{.*}} ins(%[[P]] : tensor<2x4xf32>)
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK: func.return %[[Y]] : tensor<2x4xbf16>
func.func @matmul_bf16(%a: tensor<2x3xbf16>, %b: tensor<3x4xbf16>) -> tensor<2x4xbf16> {
  %y = graph.mat_mul %a, %b : (tensor<2x3xbf16>, tensor<3x4xbf16>) -> tensor<2x4xbf16>
  func.return %y : tensor<2x4xbf16>
}

// Cast to float8 with saturate (the default) clamps to +-448 by compare-and-select, NaN
// selected back explicitly, then truncf rounds (loop-expand-float-formats spells it out).
// CHECK-LABEL: func.func @cast_f16_to_f8
// CHECK: ^bb0(%[[X:.*]]: f16, %{{.*}}: f8E4M3FN):
// CHECK: %[[HI:.*]] = arith.constant 4.480000e+02 : f16
// CHECK: %[[LO:.*]] = arith.constant -4.480000e+02 : f16
// CHECK: %[[GT:.*]] = arith.cmpf ogt, %[[X]], %[[HI]] : f16
// CHECK: %[[C1:.*]] = arith.select %[[GT]], %[[HI]], %[[X]] : f16
// CHECK: %[[LT:.*]] = arith.cmpf olt, %[[C1]], %[[LO]] : f16
// CHECK: %[[C2:.*]] = arith.select %[[LT]], %[[LO]], %[[C1]] : f16
// CHECK: %[[NAN:.*]] = arith.cmpf uno, %[[X]], %[[X]] : f16
// CHECK: %[[C3:.*]] = arith.select %[[NAN]], %[[X]], %[[C2]] : f16
// CHECK: %[[N:.*]] = arith.truncf %[[C3]] : f16 to f8E4M3FN
// CHECK: top.yield %[[N]] : f8E4M3FN
func.func @cast_f16_to_f8(%x: tensor<4xf16>) -> tensor<4xf8E4M3FN> {
  %y = graph.cast %x {to = 17 : i64} : (tensor<4xf16>) -> tensor<4xf8E4M3FN>
  func.return %y : tensor<4xf8E4M3FN>
}

// Without saturation there is no clamp.
// CHECK-LABEL: func.func @cast_f32_to_f8_no_saturate
// CHECK-NOT: arith.cmpf
// CHECK: arith.truncf %{{.*}} : f32 to f8E5M2
func.func @cast_f32_to_f8_no_saturate(%x: tensor<4xf32>) -> tensor<4xf8E5M2> {
  %y = graph.cast %x {saturate = 0 : i64, to = 19 : i64} : (tensor<4xf32>) -> tensor<4xf8E5M2>
  func.return %y : tensor<4xf8E5M2>
}

// A float cast to int4 truncates toward zero and gives 0 out of [-8, 7].
// CHECK-LABEL: func.func @cast_f32_to_i4
// CHECK: arith.constant -9.000000e+00 : f32
// CHECK: arith.constant 8.000000e+00 : f32
// CHECK: %[[SAFE:.*]] = arith.select
// CHECK: %[[I:.*]] = arith.fptosi %[[SAFE]] : f32 to i32
// CHECK: arith.trunci %[[I]] : i32 to i4
func.func @cast_f32_to_i4(%x: tensor<4xf32>) -> tensor<4xi4> {
  %y = graph.cast %x {to = 22 : i64} : (tensor<4xf32>) -> tensor<4xi4>
  func.return %y : tensor<4xi4>
}
