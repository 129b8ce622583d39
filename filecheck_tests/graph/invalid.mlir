// One hand-written verifier error per split.
// RUN: lamina-opt %s --split-input-file --verify-diagnostics

func.func @conv_channels(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>, %n: none) {
  // expected-error@+1 {{x : tensor<1x3x8x8xf32> has 3 channels but w : tensor<4x2x3x3xf32> with group = 1 expects 2}}
  %y = graph.conv %x, %w, %n : (tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>, none) -> tensor<1x4x6x6xf32>
  func.return
}

// -----

func.func @conv_output_shape(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %n: none) {
  // expected-error@+1 {{result 0 : tensor<1x4x8x8xf32> should have shape 1x4x6x6}}
  %y = graph.conv %x, %w, %n {kernel_shape = array<i64: 3, 3>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, none) -> tensor<1x4x8x8xf32>
  func.return
}

// -----

func.func @conv_strides(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %n: none) {
  // expected-error@+1 {{strides has 1 values but x : tensor<1x3x8x8xf32> needs 2}}
  %y = graph.conv %x, %w, %n {strides = array<i64: 2>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, none) -> tensor<*xf32>
  func.return
}

// -----

func.func @conv_bias(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<3xf32>) {
  // expected-error@+1 {{b : tensor<3xf32> should have shape 4}}
  %y = graph.conv %x, %w, %b : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<3xf32>) -> tensor<*xf32>
  func.return
}

// -----

func.func @gemm_inner(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>, %n: none) {
  // expected-error@+1 {{inner dimensions of a : tensor<2x3xf32> and b : tensor<4x5xf32> differ (3 != 4; trans_a = 0, trans_b = 0)}}
  %y = graph.gemm %a, %b, %n : (tensor<2x3xf32>, tensor<4x5xf32>, none) -> tensor<2x5xf32>
  func.return
}

// -----

func.func @gemm_bias(%a: tensor<2x3xf32>, %b: tensor<5x3xf32>, %c: tensor<2x4xf32>) {
  // expected-error@+1 {{c : tensor<2x4xf32> does not broadcast to 2x5}}
  %y = graph.gemm %a, %b, %c {transB = 1 : i64} : (tensor<2x3xf32>, tensor<5x3xf32>, tensor<2x4xf32>) -> tensor<2x5xf32>
  func.return
}

// -----

func.func @mat_mul_inner(%a: tensor<8x2x3xf32>, %b: tensor<4x5xf32>) {
  // expected-error@+1 {{inner dimensions of a : tensor<8x2x3xf32> and b : tensor<4x5xf32> differ}}
  %y = graph.mat_mul %a, %b : (tensor<8x2x3xf32>, tensor<4x5xf32>) -> tensor<8x2x5xf32>
  func.return
}

// -----

func.func @mat_mul_result(%a: tensor<8x2x3xf32>, %b: tensor<3x5xf32>) {
  // expected-error@+1 {{result 0 : tensor<2x5xf32> should have shape 8x2x5}}
  %y = graph.mat_mul %a, %b : (tensor<8x2x3xf32>, tensor<3x5xf32>) -> tensor<2x5xf32>
  func.return
}

// -----

func.func @add_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) {
  // expected-error@+1 {{operands do not broadcast: a : tensor<2x3xf32>, b : tensor<4xf32>}}
  %y = graph.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  func.return
}

// -----

func.func @sum_result(%a: tensor<2x1xf32>, %b: tensor<3xf32>, %c: tensor<1xf32>) {
  // expected-error@+1 {{result 0 : tensor<2x1xf32> should have shape 2x3}}
  %y = graph.sum %a, %b, %c : (tensor<2x1xf32>, tensor<3xf32>, tensor<1xf32>) -> tensor<2x1xf32>
  func.return
}

// -----

func.func @reshape_elements(%x: tensor<2x3xf32>, %s: tensor<2xi64>) {
  // expected-error@+1 {{data : tensor<2x3xf32> and result 0 : tensor<3x3xf32> have different numbers of elements}}
  %y = graph.reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<3x3xf32>
  func.return
}

// -----

func.func @reshape_rank(%x: tensor<2x3xf32>, %s: tensor<3xi64>) {
  // expected-error@+1 {{result 0 : tensor<6xf32> should have rank 3 like shape : tensor<3xi64>}}
  %y = graph.reshape %x, %s : (tensor<2x3xf32>, tensor<3xi64>) -> tensor<6xf32>
  func.return
}

// -----

func.func @concat_dims(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) {
  // expected-error@+1 {{inputs[1] : tensor<2x4xf32> does not match inputs[0] : tensor<2x3xf32> outside axis 0}}
  %y = graph.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<4x3xf32>
  func.return
}

// -----

func.func @concat_axis(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>) {
  // expected-error@+1 {{axis = 2 is out of range for inputs[0] : tensor<2x3xf32>}}
  %y = graph.concat %a, %b {axis = 2 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<*xf32>
  func.return
}

// -----

func.func @concat_result(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) {
  // expected-error@+1 {{result 0 : tensor<2x6xf32> should have shape 2x7}}
  %y = graph.concat %a, %b {axis = -1 : i64} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<2x6xf32>
  func.return
}

// -----

func.func @transpose_perm(%x: tensor<2x3x4xf32>) {
  // expected-error@+1 {{perm [0, 2, 2] is not a permutation for data : tensor<2x3x4xf32>}}
  %y = graph.transpose %x {perm = array<i64: 0, 2, 2>} : (tensor<2x3x4xf32>) -> tensor<*xf32>
  func.return
}

// -----

func.func @transpose_result(%x: tensor<2x3x4xf32>) {
  // expected-error@+1 {{result 0 : tensor<2x3x4xf32> should have shape 4x3x2}}
  %y = graph.transpose %x : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  func.return
}

// -----

func.func @batch_normalization_scale(%x: tensor<1x3x8x8xf32>, %s: tensor<4xf32>, %v: tensor<3xf32>) {
  // expected-error@+1 {{scale : tensor<4xf32> should have shape 3}}
  %y:3 = graph.batch_normalization %x, %s, %v, %v, %v : (tensor<1x3x8x8xf32>, tensor<4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<1x3x8x8xf32>, none, none)
  func.return
}

// -----

func.func @constant_not_tensor() {
  // expected-error@+1 {{graph.constant must be a tensor, got vector<2xf32>}}
  %c = graph.constant dense<1.0> : vector<2xf32>
  func.return
}

// -----

func.func @swish_shape(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{result 0 : tensor<3x2xf32> should have shape 2x3}}
  %y = graph.swish %x {alpha = 1.000000e+00 : f32} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  func.return
}

// -----

func.func @cum_prod_shape(%x: tensor<4xf32>, %axis: tensor<i64>) {
  // expected-error@+1 {{result 0 : tensor<5xf32> should have shape 4}}
  %y = graph.cum_prod %x, %axis : (tensor<4xf32>, tensor<i64>) -> tensor<5xf32>
  func.return
}

// -----

func.func @bit_cast_shape(%x: tensor<4xf32>) {
  // expected-error@+1 {{result 0 : tensor<2xi32> should have shape 4}}
  %y = graph.bit_cast %x {to = 6 : i64} : (tensor<4xf32>) -> tensor<2xi32>
  func.return
}

// -----

func.func @swi_glu_no_broadcast(%a: tensor<2x6xf32>, %b: tensor<1x6xf32>) {
  // expected-error@+1 {{b : tensor<1x6xf32> should have shape 2x6}}
  %y = graph.swi_glu %a, %b : (tensor<2x6xf32>, tensor<1x6xf32>) -> tensor<2x6xf32>
  func.return
}

// -----

func.func @tensor_scatter_rank(%past: tensor<2x4x8xf32>, %new: tensor<2x8xf32>, %n: none) {
  // expected-error@+1 {{update : tensor<2x8xf32> should have rank 3}}
  %y = graph.tensor_scatter %past, %new, %n : (tensor<2x4x8xf32>, tensor<2x8xf32>, none) -> tensor<2x4x8xf32>
  func.return
}

// -----

func.func @causal_conv_weight(%x: tensor<1x3x5xf32>, %w: tensor<4x1x3xf32>, %n: none) {
  // expected-error@+1 {{weight : tensor<4x1x3xf32> should have shape 3x1x3}}
  %y, %s = graph.causal_conv_with_state %x, %w, %n, %n : (tensor<1x3x5xf32>, tensor<4x1x3xf32>, none, none) -> (tensor<1x3x5xf32>, tensor<1x3x2xf32>)
  func.return
}

// -----

func.func @linear_attention_rank(%q: tensor<1x2x2x4xf32>, %k: tensor<1x2x8xf32>, %v: tensor<1x2x8xf32>, %n: none) {
  // expected-error@+1 {{query : tensor<1x2x2x4xf32> should have rank 3}}
  %y, %s = graph.linear_attention %q, %k, %v, %n, %n, %n {kv_num_heads = 2 : i64, q_num_heads = 2 : i64} : (tensor<1x2x2x4xf32>, tensor<1x2x8xf32>, tensor<1x2x8xf32>, none, none, none) -> (tensor<1x2x8xf32>, tensor<1x2x4x4xf32>)
  func.return
}

// -----

func.func @softmax_result(%x: tensor<1x10xf32>) {
  // expected-error@+1 {{result 0 : tensor<f32> should have shape 1x10}}
  %y = "graph.softmax"(%x) : (tensor<1x10xf32>) -> tensor<f32>
  func.return
}

// -----

func.func @relu_result(%x: tensor<2x?xf32>) {
  // expected-error@+1 {{result 0 : tensor<3x4xf32> should have shape 2x?}}
  %y = "graph.relu"(%x) : (tensor<2x?xf32>) -> tensor<3x4xf32>
  func.return
}

// -----

func.func @reduce_result_rank(%x: tensor<1x8x8x2xf32>) {
  %axes = graph.constant dense<[0, 1, 2, 3]> : tensor<4xi64>
  // expected-error@+1 {{result 0 : tensor<1x8x8x4xf32> should have rank 0 (4 minus 4 reduced axes)}}
  %y = graph.reduce_sum %x, %axes {keepdims = 0 : i64} : (tensor<1x8x8x2xf32>, tensor<4xi64>) -> tensor<1x8x8x4xf32>
  func.return
}

// -----

func.func @reduce_keepdims(%x: tensor<2x3xf32>) {
  %n = graph.none : none
  // expected-error@+1 {{result 0 : tensor<2x4xf32> should have rank 2, each dim that of 2x3 or 1}}
  %y = graph.reduce_max %x, %n : (tensor<2x3xf32>, none) -> tensor<2x4xf32>
  func.return
}

// -----

func.func @per_axis_scale_of_the_wrong_length(%x: tensor<1x3x4xi8>, %s: tensor<4xf32>) {
  %n = graph.none : none
  // expected-error@+1 {{x_scale : tensor<4xf32> should have shape 3 (one per index of dim 1 of x)}}
  %y = graph.dequantize_linear %x, %s, %n {axis = 1 : i64} : (tensor<1x3x4xi8>, tensor<4xf32>, none) -> tensor<1x3x4xf32>
  func.return
}

// -----

func.func @zero_point_of_another_shape(%x: tensor<1x3x4xf32>, %s: tensor<3xf32>, %z: tensor<1xi8>) {
  // expected-error@+1 {{y_zero_point : tensor<1xi8> should have the shape of y_scale : tensor<3xf32>}}
  %y = graph.quantize_linear %x, %s, %z {axis = 1 : i64} : (tensor<1x3x4xf32>, tensor<3xf32>, tensor<1xi8>) -> tensor<1x3x4xi8>
  func.return
}

// -----

func.func @zero_point_of_another_type(%x: tensor<1x3x4xf32>, %s: tensor<f32>, %z: tensor<ui8>) {
  // expected-error@+1 {{y_zero_point : tensor<ui8> should have the element type i8 of result 0 : tensor<1x3x4xi8>}}
  %y = graph.quantize_linear %x, %s, %z : (tensor<1x3x4xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x3x4xi8>
  func.return
}

// -----

func.func @blocked_scale(%x: tensor<3x5xi8>, %s: tensor<3x2xf32>) {
  %n = graph.none : none
  // expected-error@+1 {{x_scale : tensor<3x2xf32> should have shape 3x3 (x's shape with dim 1 in blocks of 2)}}
  %y = graph.dequantize_linear %x, %s, %n {axis = 1 : i64, block_size = 2 : i64} : (tensor<3x5xi8>, tensor<3x2xf32>, none) -> tensor<3x5xf32>
  func.return
}

// -----

func.func @negative_block_size(%x: tensor<3x4xi8>, %s: tensor<3x2xf32>) {
  %n = graph.none : none
  // expected-error@+1 {{block_size = -2 should be at least 0}}
  %y = graph.dequantize_linear %x, %s, %n {axis = 1 : i64, block_size = -2 : i64} : (tensor<3x4xi8>, tensor<3x2xf32>, none) -> tensor<3x4xf32>
  func.return
}

// -----

func.func @zero_scale(%x: tensor<2x3xf32>) {
  %s = graph.constant dense<0.0> : tensor<f32>
  %n = graph.none : none
  // expected-error@+1 {{y_scale : tensor<f32> holds 0.0: a scale must be nonzero and finite}}
  %y = graph.quantize_linear %x, %s, %n : (tensor<2x3xf32>, tensor<f32>, none) -> tensor<2x3xui8>
  func.return
}

// -----

func.func @q_linear_conv_per_axis_activation(%x: tensor<1x3x4x4xui8>, %xs: tensor<3xf32>, %xz: tensor<ui8>, %w: tensor<2x3x1x1xi8>, %ws: tensor<2xf32>, %wz: tensor<2xi8>, %ys: tensor<f32>, %yz: tensor<ui8>, %n: none) {
  // expected-error@+1 {{x_scale : tensor<3xf32> should have one element (per tensor)}}
  %y = graph.q_linear_conv %x, %xs, %xz, %w, %ws, %wz, %ys, %yz, %n : (tensor<1x3x4x4xui8>, tensor<3xf32>, tensor<ui8>, tensor<2x3x1x1xi8>, tensor<2xf32>, tensor<2xi8>, tensor<f32>, tensor<ui8>, none) -> tensor<1x2x4x4xui8>
  func.return
}

// -----

func.func @mat_mul_integer_column_zero_point(%a: tensor<5x7xui8>, %b: tensor<7x4xi8>, %az: tensor<ui8>, %bz: tensor<7xi8>) {
  // expected-error@+1 {{b_zero_point : tensor<7xi8> should have shape 4 (one per index of dim 1 of x)}}
  %y = graph.mat_mul_integer %a, %b, %az, %bz : (tensor<5x7xui8>, tensor<7x4xi8>, tensor<ui8>, tensor<7xi8>) -> tensor<5x4xi32>
  func.return
}

// -----

func.func @conv_integer_per_channel_input_zero_point(%x: tensor<1x3x4x4xui8>, %w: tensor<2x3x1x1xi8>, %xz: tensor<3xui8>, %wz: tensor<2xi8>) {
  // expected-error@+1 {{x_zero_point : tensor<3xui8> should have one element (per tensor)}}
  %y = graph.conv_integer %x, %w, %xz, %wz : (tensor<1x3x4x4xui8>, tensor<2x3x1x1xi8>, tensor<3xui8>, tensor<2xi8>) -> tensor<1x2x4x4xi32>
  func.return
}
