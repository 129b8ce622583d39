// RUN: lamina-opt %s -p convert-graph-to-top | filecheck %s
// RUN: lamina-opt %s -p convert-graph-to-top | lamina-opt --print-op-generic | lamina-opt | filecheck %s

// quantize_linear to uint8, per tensor: x / scale rounded half to even, plus the zero point
// (read as unsigned), clamped to [0, 255] (NaN to 0), as the bit pattern of a ui8
// CHECK-LABEL: func.func @quantize_per_tensor
// CHECK: top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> ()>, affine_map<(d0, d1) -> ()>, affine_map<(d0, d1) -> (d0, d1)>]
// CHECK: ^{{.*}}(%[[X:.*]]: f32, %[[S:.*]]: f32, %[[Z:.*]]: ui8, %{{.*}}: ui8):
// CHECK: %[[ZS:.*]] = arith.bitcast %[[Z]] : ui8 to i8
// CHECK: %[[ZF:.*]] = arith.uitofp %[[ZS]] : i8 to f32
// CHECK: %[[D:.*]] = arith.divf %[[X]], %[[S]] : f32
// CHECK: %[[R:.*]] = math.roundeven %[[D]] : f32
// CHECK: %[[Q:.*]] = arith.addf %[[R]], %[[ZF]] : f32
// CHECK: arith.constant 2.550000e+02 : f32
// CHECK: arith.cmpf uno, %[[Q]], %[[Q]] : f32
// CHECK: %[[I:.*]] = arith.fptosi %{{.*}} : f32 to i32
// CHECK: %[[T:.*]] = arith.trunci %[[I]] : i32 to i8
// CHECK: %[[U:.*]] = arith.bitcast %[[T]] : i8 to ui8
// CHECK: top.yield %[[U]] : ui8
// CHECK-NOT: graph.
func.func @quantize_per_tensor(%x: tensor<2x3xf32>, %s: tensor<f32>, %z: tensor<ui8>) -> tensor<2x3xui8> {
  %y = graph.quantize_linear %x, %s, %z : (tensor<2x3xf32>, tensor<f32>, tensor<ui8>) -> tensor<2x3xui8>
  func.return %y : tensor<2x3xui8>
}

// dequantize_linear per axis 1: scale and zero point indexed by d1
// CHECK-LABEL: func.func @dequantize_per_axis
// CHECK: top.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d1)>, affine_map<(d0, d1, d2) -> (d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>]
// CHECK: ^{{.*}}(%[[X:.*]]: i8, %[[S:.*]]: f32, %[[Z:.*]]: i8, %{{.*}}: f32):
// CHECK: %[[XF:.*]] = arith.sitofp %[[X]] : i8 to f32
// CHECK: %[[ZF:.*]] = arith.sitofp %[[Z]] : i8 to f32
// CHECK: %[[D:.*]] = arith.subf %[[XF]], %[[ZF]] : f32
// CHECK: %[[Y:.*]] = arith.mulf %[[D]], %[[S]] : f32
// CHECK: top.yield %[[Y]] : f32
func.func @dequantize_per_axis(%x: tensor<1x3x4xi8>, %s: tensor<3xf32>, %z: tensor<3xi8>) -> tensor<1x3x4xf32> {
  %y = graph.dequantize_linear %x, %s, %z {axis = 1 : i64} : (tensor<1x3x4xi8>, tensor<3xf32>, tensor<3xi8>) -> tensor<1x3x4xf32>
  func.return %y : tensor<1x3x4xf32>
}

// blocked (block_size 2 on axis 1): the scale is read at d1 floordiv 2; no zero point
// CHECK-LABEL: func.func @dequantize_blocked
// CHECK: affine_map<(d0, d1) -> (d0, (d1 floordiv 2))>
// CHECK: ^{{.*}}(%[[X:.*]]: i8, %[[S:.*]]: f32, %{{.*}}: f32):
// CHECK: %[[XF:.*]] = arith.sitofp %[[X]] : i8 to f32
// CHECK: arith.mulf %[[XF]], %[[S]] : f32
func.func @dequantize_blocked(%x: tensor<3x4xi8>, %s: tensor<3x2xf32>) -> tensor<3x4xf32> {
  %n = graph.none : none
  %y = graph.dequantize_linear %x, %s, %n {axis = 1 : i64, block_size = 2 : i64} : (tensor<3x4xi8>, tensor<3x2xf32>, none) -> tensor<3x4xf32>
  func.return %y : tensor<3x4xf32>
}

// mat_mul_integer by a constant: a (uint8) shifted to int8, the weights transposed into an
// int8 dot-product top.matmul, the zero points as corrections with a row sum (a dot product
// with ones) and the constant column sums of the shifted weights
// CHECK-LABEL: func.func @mat_mul_integer_by_constant
// CHECK: %[[AS:.*]] = top.generic {{.*}} ins(%{{.*}} : tensor<2x4xui8>) outs(%{{.*}} : tensor<2x4xi8>)
// CHECK: arith.subi %{{.*}}, %{{.*}} : i32
// CHECK: arith.trunci %{{.*}} : i32 to i8
// CHECK: %[[W:.*]] = graph.constant dense<{{\[\[}}1, 4, 7, -10], [-2, 5, 8, 11], [3, -6, 9, 12]]> : tensor<3x4xi8>
// CHECK: %[[P:.*]] = top.matmul %[[AS]], %[[W]] transpose_rhs : (tensor<2x4xi8>, tensor<3x4xi8>) -> tensor<2x3xi32>
// CHECK: %[[ONES:.*]] = graph.constant dense<1> : tensor<1x4xi8>
// CHECK: %[[ROWS:.*]] = top.matmul %[[AS]], %[[ONES]] transpose_rhs : (tensor<2x4xi8>, tensor<1x4xi8>) -> tensor<2x1xi32>
// CHECK: %[[BZ:.*]] = graph.constant dense<[1, 0, -1]> : tensor<3xi32>
// CHECK: %[[SUMS:.*]] = graph.constant dense<[2, 22, 18]> : tensor<3xi32>
// CHECK: top.generic {{.*}} ins(%[[P]], %[[ROWS]], %[[BZ]], %[[SUMS]], %{{.*}} : tensor<2x3xi32>, tensor<2x1xi32>, tensor<3xi32>, tensor<3xi32>, tensor<ui8>)
// CHECK-NOT: graph.mat_mul_integer
func.func @mat_mul_integer_by_constant(%a: tensor<2x4xui8>, %az: tensor<ui8>) -> tensor<2x3xi32> {
  %b = graph.constant dense<[[1, -2, 3], [4, 5, -6], [7, 8, 9], [-10, 11, 12]]> : tensor<4x3xi8>
  %bz = graph.constant dense<[1, 0, -1]> : tensor<3xi8>
  %y = graph.mat_mul_integer %a, %b, %az, %bz : (tensor<2x4xui8>, tensor<4x3xi8>, tensor<ui8>, tensor<3xi8>) -> tensor<2x3xi32>
  func.return %y : tensor<2x3xi32>
}

// conv_integer by constant weights in 2 groups of 2 channels: one 8-bit conv per group of
// x's channel slice by its filters, concatenated along the channels
// CHECK-LABEL: func.func @grouped_conv_integer
// CHECK: %[[X0:.*]] = top.slice %x offsets [0, 0, 0, 0] strides [1, 1, 1, 1] : tensor<1x4x5x5xi8> -> tensor<1x2x5x5xi8>
// CHECK: %[[W0:.*]] = graph.constant dense<{{\[}}{{\[}}{{\[}}[1]], {{\[}}[2]]], {{\[}}{{\[}}[3]], {{\[}}[4]]]]> : tensor<2x2x1x1xi8>
// CHECK: %[[Y0:.*]] = top.conv2d nchw_fchw %[[X0]], %[[W0]] {{.*}} groups 1 : (tensor<1x2x5x5xi8>, tensor<2x2x1x1xi8>) -> tensor<1x2x5x5xi32>
// CHECK: %[[X1:.*]] = top.slice %x offsets [0, 2, 0, 0] strides [1, 1, 1, 1]
// CHECK: %[[W1:.*]] = graph.constant dense<{{\[}}{{\[}}{{\[}}[5]], {{\[}}[6]]], {{\[}}{{\[}}[7]], {{\[}}[8]]]]> : tensor<2x2x1x1xi8>
// CHECK: %[[Y1:.*]] = top.conv2d nchw_fchw %[[X1]], %[[W1]] {{.*}} groups 1
// CHECK: top.concat %[[Y0]], %[[Y1]] axis 1 : (tensor<1x2x5x5xi32>, tensor<1x2x5x5xi32>) -> tensor<1x4x5x5xi32>
func.func @grouped_conv_integer(%x: tensor<1x4x5x5xi8>) -> tensor<1x4x5x5xi32> {
  %none = graph.none : none
  %w = graph.constant dense<[[[[1]], [[2]]], [[[3]], [[4]]], [[[5]], [[6]]], [[[7]], [[8]]]]> : tensor<4x2x1x1xi8>
  %y = graph.conv_integer %x, %w, %none, %none {auto_pad = "NOTSET", dilations = array<i64: 1, 1>, group = 2 : i64, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x4x5x5xi8>, tensor<4x2x1x1xi8>, none, none) -> tensor<1x4x5x5xi32>
  func.return %y : tensor<1x4x5x5xi32>
}

// a depthwise conv_integer (one channel per group) stays one i32 conv of the widened
// operands, which top-to-loop's depthwise kernel takes
// CHECK-LABEL: func.func @depthwise_conv_integer
// CHECK-NOT: top.slice
// CHECK: top.conv2d nchw_fchw %{{.*}}, %{{.*}} {{.*}} groups 2 : (tensor<1x2x5x5xi32>, tensor<2x1x1x1xi32>) -> tensor<1x2x5x5xi32>
func.func @depthwise_conv_integer(%x: tensor<1x2x5x5xi8>) -> tensor<1x2x5x5xi32> {
  %none = graph.none : none
  %w = graph.constant dense<[[[[1]]], [[[2]]]]> : tensor<2x1x1x1xi8>
  %y = graph.conv_integer %x, %w, %none, %none {auto_pad = "NOTSET", dilations = array<i64: 1, 1>, group = 2 : i64, kernel_shape = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 1, 1>} : (tensor<1x2x5x5xi8>, tensor<2x1x1x1xi8>, none, none) -> tensor<1x2x5x5xi32>
  func.return %y : tensor<1x2x5x5xi32>
}
