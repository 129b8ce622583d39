// RUN: lamina-opt %s -p 'apply-rules{set=graph-default}' | filecheck %s
// RUN: lamina-opt %s -p 'apply-rules{set=graph-simplify}' | filecheck %s

// identity(x) -> x ; dropout(x) -> x
// CHECK-LABEL: func.func @identity_and_dropout
// CHECK-NEXT:    %[[R:.*]] = graph.relu %x
// CHECK-NEXT:    func.return %[[R]]
func.func @identity_and_dropout(%x: tensor<4xf32>) -> tensor<4xf32> {
  %n = graph.none : none
  %i = graph.identity %x : (tensor<4xf32>) -> tensor<4xf32>
  %d, %mask = graph.dropout %i, %n, %n : (tensor<4xf32>, none, none) -> (tensor<4xf32>, none)
  %r = graph.relu %d : (tensor<4xf32>) -> tensor<4xf32>
  func.return %r : tensor<4xf32>
}

// a dropout whose mask is used stays
// CHECK-LABEL: func.func @dropout_with_mask
// CHECK-NEXT:    graph.none
// CHECK-NEXT:    graph.dropout
func.func @dropout_with_mask(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xi1>) {
  %n = graph.none : none
  %d, %mask = graph.dropout %x, %n, %n : (tensor<4xf32>, none, none) -> (tensor<4xf32>, tensor<4xi1>)
  func.return %d, %mask : tensor<4xf32>, tensor<4xi1>
}

// transpose(transpose(x, p), q) -> x when q undoes p
// CHECK-LABEL: func.func @cancel_transpose_pair
// CHECK-NEXT:    func.return %x
func.func @cancel_transpose_pair(%x: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %t = graph.transpose %x {perm = array<i64: 0, 2, 3, 1>} : (tensor<1x2x3x4xf32>) -> tensor<1x3x4x2xf32>
  %y = graph.transpose %t {perm = array<i64: 0, 3, 1, 2>} : (tensor<1x3x4x2xf32>) -> tensor<1x2x3x4xf32>
  func.return %y : tensor<1x2x3x4xf32>
}

// transpose(transpose(x, p), q) -> transpose(x, p . q); an absent perm reverses the dims
// CHECK-LABEL: func.func @merge_transpose_pair
// CHECK-NEXT:    %[[T:.*]] = graph.transpose %x {perm = array<i64: 2, 0, 1>}
// CHECK-NEXT:    func.return %[[T]]
func.func @merge_transpose_pair(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %t = graph.transpose %x : (tensor<2x3x4xf32>) -> tensor<4x3x2xf32>
  %y = graph.transpose %t {perm = array<i64: 0, 2, 1>} : (tensor<4x3x2xf32>) -> tensor<4x2x3xf32>
  func.return %y : tensor<4x2x3xf32>
}

// transpose(x, identity) -> x
// CHECK-LABEL: func.func @identity_transpose
// CHECK-NEXT:    func.return %x
func.func @identity_transpose(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %y = graph.transpose %x {perm = array<i64: 0, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %y : tensor<2x3xf32>
}

// reshape(reshape(x, s1), s2) -> reshape(x, s2)
// CHECK-LABEL: func.func @merge_reshape_chain
// CHECK-NEXT:    %[[S:.*]] = graph.constant dense<[4, 6]>
// CHECK-NEXT:    %[[Y:.*]] = graph.reshape %x, %[[S]] : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<4x6xf32>
// CHECK-NEXT:    func.return %[[Y]]
func.func @merge_reshape_chain(%x: tensor<2x3x4xf32>) -> tensor<4x6xf32> {
  %s1 = graph.constant dense<[-1]> : tensor<1xi64>
  %r = graph.reshape %x, %s1 : (tensor<2x3x4xf32>, tensor<1xi64>) -> tensor<24xf32>
  %s2 = graph.constant dense<[4, 6]> : tensor<2xi64>
  %y = graph.reshape %r, %s2 : (tensor<24xf32>, tensor<2xi64>) -> tensor<4x6xf32>
  func.return %y : tensor<4x6xf32>
}

// a second reshape that copies a dim (0) of its input stays
// CHECK-LABEL: func.func @reshape_chain_with_zero
// CHECK:         graph.reshape %x
// CHECK:         graph.reshape %r
func.func @reshape_chain_with_zero(%x: tensor<2x3x4xf32>) -> tensor<6x2x2xf32> {
  %s1 = graph.constant dense<[6, 4]> : tensor<2xi64>
  %r = graph.reshape %x, %s1 : (tensor<2x3x4xf32>, tensor<2xi64>) -> tensor<6x4xf32>
  %s2 = graph.constant dense<[0, 2, 2]> : tensor<3xi64>
  %y = graph.reshape %r, %s2 : (tensor<6x4xf32>, tensor<3xi64>) -> tensor<6x2x2xf32>
  func.return %y : tensor<6x2x2xf32>
}

// reshape / unsqueeze to the input's own static type -> x
// CHECK-LABEL: func.func @noop_reshape
// CHECK-NEXT:    func.return %x
func.func @noop_reshape(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %s = graph.constant dense<[2, 3]> : tensor<2xi64>
  %y = graph.reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  func.return %y : tensor<2x3xf32>
}

// channel shuffle: reshape(transpose(reshape(x), [0, 2, 1, 3]) -> gather(x, idx, axis 1)
// CHECK-LABEL: func.func @channel_shuffle_as_gather
// CHECK-NEXT:    %[[I:.*]] = graph.constant dense<[0, 3, 1, 4, 2, 5]> : tensor<6xi64>
// CHECK-NEXT:    %[[Y:.*]] = graph.gather %x, %[[I]] {axis = 1 : i64}
// CHECK-NEXT:    func.return %[[Y]]
func.func @channel_shuffle_as_gather(%x: tensor<1x6x5xf32>) -> tensor<1x6x5xf32> {
  %s1 = graph.constant dense<[1, 2, 3, 5]> : tensor<4xi64>
  %g = graph.reshape %x, %s1 : (tensor<1x6x5xf32>, tensor<4xi64>) -> tensor<1x2x3x5xf32>
  %t = graph.transpose %g {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x2x3x5xf32>) -> tensor<1x3x2x5xf32>
  %s2 = graph.constant dense<[1, 6, 5]> : tensor<3xi64>
  %y = graph.reshape %t, %s2 : (tensor<1x3x2x5xf32>, tensor<3xi64>) -> tensor<1x6x5xf32>
  func.return %y : tensor<1x6x5xf32>
}

// a shuffle whose split keeps batch and spatial dims is decided on the channels alone,
// however large the tensor (here 4M elements)
// CHECK-LABEL: func.func @large_channel_shuffle_as_gather
// CHECK-NEXT:    %[[I:.*]] = graph.constant dense<[0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]> : tensor<12xi64>
// CHECK-NEXT:    %[[Y:.*]] = graph.gather %x, %[[I]] {axis = 1 : i64}
func.func @large_channel_shuffle_as_gather(%x: tensor<1x12x512x683xf32>) -> tensor<1x12x512x683xf32> {
  %s1 = graph.constant dense<[1, 3, 4, 512, 683]> : tensor<5xi64>
  %g = graph.reshape %x, %s1 : (tensor<1x12x512x683xf32>, tensor<5xi64>) -> tensor<1x3x4x512x683xf32>
  %t = graph.transpose %g {perm = array<i64: 0, 2, 1, 3, 4>} : (tensor<1x3x4x512x683xf32>) -> tensor<1x4x3x512x683xf32>
  %s2 = graph.constant dense<[1, 12, 512, 683]> : tensor<4xi64>
  %y = graph.reshape %t, %s2 : (tensor<1x4x3x512x683xf32>, tensor<4xi64>) -> tensor<1x12x512x683xf32>
  func.return %y : tensor<1x12x512x683xf32>
}

// a split that drops the unit batch dim is checked element by element: still a shuffle
// CHECK-LABEL: func.func @batchless_split_shuffle_as_gather
// CHECK-NEXT:    %[[I:.*]] = graph.constant dense<[0, 3, 1, 4, 2, 5]> : tensor<6xi64>
// CHECK-NEXT:    %[[Y:.*]] = graph.gather %x, %[[I]] {axis = 1 : i64}
func.func @batchless_split_shuffle_as_gather(%x: tensor<1x6x5xf32>) -> tensor<1x6x5xf32> {
  %s1 = graph.constant dense<[2, 3, 5]> : tensor<3xi64>
  %g = graph.reshape %x, %s1 : (tensor<1x6x5xf32>, tensor<3xi64>) -> tensor<2x3x5xf32>
  %t = graph.transpose %g {perm = array<i64: 1, 0, 2>} : (tensor<2x3x5xf32>) -> tensor<3x2x5xf32>
  %s2 = graph.constant dense<[1, 6, 5]> : tensor<3xi64>
  %y = graph.reshape %t, %s2 : (tensor<3x2x5xf32>, tensor<3xi64>) -> tensor<1x6x5xf32>
  func.return %y : tensor<1x6x5xf32>
}

// a transpose that moves a spatial dim is no channel shuffle: it stays
// CHECK-LABEL: func.func @spatial_transpose_stays
// CHECK:         graph.transpose
func.func @spatial_transpose_stays(%x: tensor<1x6x5xf32>) -> tensor<1x6x5xf32> {
  %s1 = graph.constant dense<[1, 6, 5]> : tensor<3xi64>
  %g = graph.reshape %x, %s1 : (tensor<1x6x5xf32>, tensor<3xi64>) -> tensor<1x6x5xf32>
  %t = graph.transpose %g {perm = array<i64: 0, 2, 1>} : (tensor<1x6x5xf32>) -> tensor<1x5x6xf32>
  %s2 = graph.constant dense<[1, 6, 5]> : tensor<3xi64>
  %y = graph.reshape %t, %s2 : (tensor<1x5x6xf32>, tensor<3xi64>) -> tensor<1x6x5xf32>
  func.return %y : tensor<1x6x5xf32>
}
