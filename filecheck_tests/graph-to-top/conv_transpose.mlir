// RUN: lamina-opt %s -p convert-graph-to-top | filecheck %s
// RUN: lamina-opt %s -p convert-graph-to-top | lamina-opt --print-op-generic | lamina-opt | filecheck %s

// k2 s2 (the PP-OCR DB head): every phase has one tap, so the phase conv is a 1x1 conv with
// 4x the output channels, filter[(f*2 + rh)*2 + rw, c] = w[c, f, rh, rw]; the generic
// interleaves the phases and adds the bias
// CHECK-LABEL: func.func @k2_s2
// CHECK-SAME: (%[[X:.*]]: tensor<1x2x3x3xf32>, %[[B:.*]]: tensor<1xf32>)
// CHECK: %[[F:.*]] = graph.constant dense<{{\[}}{{\[}}{{\[}}[1.000000e+00]], {{\[}}[5.000000e+00]]], {{\[}}{{\[}}[2.000000e+00]], {{\[}}[6.000000e+00]]], {{\[}}{{\[}}[3.000000e+00]], {{\[}}[7.000000e+00]]], {{\[}}{{\[}}[4.000000e+00]], {{\[}}[8.000000e+00]]]]> : tensor<4x2x1x1xf32>
// CHECK: %[[C:.*]] = top.conv2d nchw_fchw %[[X]], %[[F]] strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 1 : (tensor<1x2x3x3xf32>, tensor<4x2x1x1xf32>) -> tensor<1x4x3x3xf32>
// CHECK: %[[Y:.*]] = top.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, (((d1 * 4) + ((d2 mod 2) * 2)) + (d3 mod 2)), (d2 floordiv 2), (d3 floordiv 2))>, affine_map<(d0, d1, d2, d3) -> (d1)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%[[C]], %[[B]] : tensor<1x4x3x3xf32>, tensor<1xf32>)
// CHECK: arith.addf
// CHECK: func.return %[[Y]] : tensor<1x1x6x6xf32>
func.func @k2_s2(%x: tensor<1x2x3x3xf32>, %b: tensor<1xf32>) -> tensor<1x1x6x6xf32> {
  %w = graph.constant dense<[[[[1.0, 2.0], [3.0, 4.0]]], [[[5.0, 6.0], [7.0, 8.0]]]]> : tensor<2x1x2x2xf32>
  %y = graph.conv_transpose %x, %w, %b {strides = array<i64: 2, 2>} : (tensor<1x2x3x3xf32>, tensor<2x1x2x2xf32>, tensor<1xf32>) -> tensor<1x1x6x6xf32>
  func.return %y : tensor<1x1x6x6xf32>
}

// 1-D (over a height of 1), k3 s2, pads [1, 0], computed filter: T = 2 taps per phase,
// gathered flipped from the zero-padded kernel: phase 0 <- (w[2], w[0]), phase 1 <- (zero
// = index 3, w[1]). The generic reads position d3 + 1 (pad_low 1) of the full output.
// CHECK-LABEL: func.func @computed_filter_1d
// CHECK: top.pad constant %{{.*}} low [0, 0, 0, 0] high [0, 0, 1, 1] : (tensor<2x3x1x3xf32>) -> tensor<2x3x2x4xf32>
// CHECK: %[[TAPS:.*]] = graph.constant dense<{{\[}}[2, 0], [3, 1]]> : tensor<2x2xi64>
// CHECK: top.gather %{{.*}}[%[[TAPS]]] axis 4 : (tensor<2x3x1x1x4xf32>, tensor<2x2xi64>) -> tensor<2x3x1x1x2x2xf32>
// CHECK: top.transpose %{{.*}} permutation [0, 2, 3, 5, 1, 4, 6]
// CHECK: top.conv2d nchw_fchw {{.*}} pad_low [0, 1] pad_high [0, 1] groups 1 : (tensor<1x2x1x4xf32>, tensor<6x2x1x2xf32>) -> tensor<1x6x1x5xf32>
// CHECK: top.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, ((d1 * 2) + ((d3 + 1) mod 2)), d2, ((d3 + 1) floordiv 2))>
// CHECK: top.reshape %{{.*}} : tensor<1x3x1x8xf32> -> tensor<1x3x8xf32>
func.func @computed_filter_1d(%x: tensor<1x2x4xf32>, %w: tensor<2x3x3xf32>) -> tensor<1x3x8xf32> {
  %n = graph.none : none
  %y = graph.conv_transpose %x, %w, %n {strides = array<i64: 2>, pads = array<i64: 1, 0>} : (tensor<1x2x4xf32>, tensor<2x3x3xf32>, none) -> tensor<1x3x8xf32>
  func.return %y : tensor<1x3x8xf32>
}

// col2im: a ConvTranspose with a one-hot filter, one group per image channel (stride 1:
// the conv alone)
// CHECK-LABEL: func.func @col2im
// CHECK: top.reshape %{{.*}} : tensor<1x4x6xf32> -> tensor<1x4x2x3xf32>
// CHECK: graph.constant dense<{{.*}}> : tensor<1x4x2x2xf32>
// CHECK: %[[Y:.*]] = top.conv2d nchw_fchw {{.*}} pad_low [1, 1] pad_high [1, 1] groups 1 : (tensor<1x4x2x3xf32>, tensor<1x4x2x2xf32>) -> tensor<1x1x3x4xf32>
// CHECK-NEXT: func.return %[[Y]]
func.func @col2im(%x: tensor<1x4x6xf32>) -> tensor<1x1x3x4xf32> {
  %image = graph.constant dense<[3, 4]> : tensor<2xi64>
  %block = graph.constant dense<[2, 2]> : tensor<2xi64>
  %y = graph.col2im %x, %image, %block : (tensor<1x4x6xf32>, tensor<2xi64>, tensor<2xi64>) -> tensor<1x1x3x4xf32>
  func.return %y : tensor<1x1x3x4xf32>
}

// stride 1: one phase; the pads fold into the conv's (K - 1 - pad) and the bias into the
// conv, so no interleaving generic remains
// CHECK-LABEL: func.func @stride_1_pads
// CHECK: %[[TAPS:.*]] = graph.constant dense<{{\[}}[2, 1, 0]]> : tensor<1x3xi64>
// CHECK: %[[Y:.*]] = top.conv2d nchw_fchw %{{.*}}, %{{.*}}, %{{.*}} strides [1, 1] dilations [1, 1] pad_low [1, 1] pad_high [1, 1] groups 1 : (tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>, tensor<3xf32>) -> tensor<1x3x5x5xf32>
// CHECK-NEXT: func.return %[[Y]]
func.func @stride_1_pads(%x: tensor<1x2x5x5xf32>, %w: tensor<2x3x3x3xf32>, %b: tensor<3xf32>) -> tensor<1x3x5x5xf32> {
  %y = graph.conv_transpose %x, %w, %b {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x2x5x5xf32>, tensor<2x3x3x3xf32>, tensor<3xf32>) -> tensor<1x3x5x5xf32>
  func.return %y : tensor<1x3x5x5xf32>
}

// 3-D: depth is a dense map from the 2 input to the 3 output depths (taps[i, o] = the
// kernel index carrying i to o, 2 = the zero pad), folded into the channels of a 2-D
// ConvTranspose: x [1, 1*2, 2, 2], filter [1*2, 1*3, 1, 1]
// CHECK-LABEL: func.func @conv_transpose_3d
// CHECK: top.reshape %{{.*}} : tensor<1x1x2x2x2xf32> -> tensor<1x2x2x2xf32>
// CHECK: %[[TAPS:.*]] = graph.constant dense<{{\[}}[0, 1, 2], [2, 0, 1]]> : tensor<2x3xi64>
// CHECK: top.gather %{{.*}}[%[[TAPS]]] axis 2 : (tensor<1x1x3x1x1xf32>, tensor<2x3xi64>) -> tensor<1x1x2x3x1x1xf32>
// CHECK: top.transpose %{{.*}} permutation [0, 2, 1, 3, 4, 5] : tensor<1x1x2x3x1x1xf32> -> tensor<1x2x1x3x1x1xf32>
// CHECK: top.conv2d nchw_fchw {{.*}} : (tensor<1x2x2x2xf32>, tensor<3x2x1x1xf32>) -> tensor<1x3x2x2xf32>
// CHECK: top.reshape %{{.*}} : tensor<1x3x2x2xf32> -> tensor<1x1x3x2x2xf32>
func.func @conv_transpose_3d(%x: tensor<1x1x2x2x2xf32>, %w: tensor<1x1x2x1x1xf32>) -> tensor<1x1x3x2x2xf32> {
  %n = graph.none : none
  %y = graph.conv_transpose %x, %w, %n : (tensor<1x1x2x2x2xf32>, tensor<1x1x2x1x1xf32>, none) -> tensor<1x1x3x2x2xf32>
  func.return %y : tensor<1x1x3x2x2xf32>
}
