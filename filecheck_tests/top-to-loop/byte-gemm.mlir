// RUN: lamina-opt %s --split-input-file -p 'convert-top-to-loop{int8_gemm=true}' | filecheck %s
// RUN: lamina-opt %s --split-input-file -p convert-top-to-loop | filecheck %s --check-prefix=DOT

// An int8 matmul by constant weights (one row of activations) on the byte GEMM: the weights
// carved as panels of i32 words [N/64][1 + K/4][64] (row 0 each panel's accumulator start),
// the activation row packed into words, each byte xor 0x80; a tile of one row by four
// vectors, one loop.byte_dot (broadcast activations, weight vector) per accumulator.
// CHECK-LABEL: func.func @byte_matmul
// CHECK: %[[FLIP:.*]] = arith.constant -2139062144 : i32
// CHECK: %[[W:.*]] = loop.carve %{{.*}}[0] : memref<33280xi8> -> memref<2x65x64xi32>
// CHECK: %[[AP:.*]] = loop.alloc() : memref<1x64x1xi32>
// CHECK: %[[WORD:.*]] = arith.xori %{{.*}}, %[[FLIP]] : i32
// CHECK-NEXT: loop.store %[[WORD]], %[[AP]]
// CHECK: loop.for %{{.*}} iter_args(%[[ACC0:.*]] = %{{.*}}, %[[ACC1:.*]] = %{{.*}}, %[[ACC2:.*]] = %{{.*}}, %[[ACC3:.*]] = %{{.*}}) -> (vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>) {
// CHECK: %[[B0:.*]] = loop.vload %[[W]][%{{.*}}, %{{.*}}, %{{.*}}] : memref<2x65x64xi32>, vector<16xi32>
// CHECK: %[[A:.*]] = loop.load %[[AP]]
// CHECK-NEXT: %[[AS:.*]] = vector.broadcast %[[A]] : i32 to vector<16xi32>
// CHECK-NEXT: %[[AB:.*]] = vector.bitcast %[[AS]] : vector<16xi32> to vector<64xi8>
// CHECK-NEXT: %[[BB:.*]] = vector.bitcast %[[B0]] : vector<16xi32> to vector<64xi8>
// CHECK-NEXT: %{{.*}} = loop.byte_dot %[[ACC0]], %[[AB]], %[[BB]] : vector<16xi32>, vector<64xi8>
// CHECK-COUNT-3: loop.byte_dot
// Without int8_gemm: the dot-product loops.
// DOT-LABEL: func.func @byte_matmul
// DOT-NOT: loop.byte_dot
// DOT: arith.extsi
func.func @byte_matmul(%a: tensor<1x256xi8>) -> tensor<1x128xi32> {
  %w = graph.constant dense<3> : tensor<128x256xi8>
  %c = top.matmul %a, %w transpose_rhs : (tensor<1x256xi8>, tensor<128x256xi8>) -> tensor<1x128xi32>
  func.return %c : tensor<1x128xi32>
}

// -----

// An int8 conv: the filter as A panels [F/8][1 + 72/4][8] (broadcast), each K block of
// im2col packed into words Bp[18][224] (14 rows of 14 outputs, rounded up to 32), the
// sums in Cp[16][224]; 8 x 2 tiles of loop.byte_dot (im2col vector, filter word).
// CHECK-LABEL: func.func @byte_conv
// CHECK: %[[F:.*]] = loop.carve %{{.*}}[0] : memref<1216xi8> -> memref<2x19x8xi32>
// CHECK: %[[BP:.*]] = loop.alloc() : memref<18x224xi32>
// CHECK: %[[CP:.*]] = loop.alloc() : memref<16x224xi32>
// CHECK: loop.store %{{.*}}, %[[BP]][%{{.*}}, %{{.*}}] : memref<18x224xi32>
// CHECK-COUNT-16: loop.byte_dot
// CHECK: loop.store %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : memref<1x16x14x14xi32>
// Without int8_gemm: the patches [14*14][72] copied once, one dot-product loop of a patch
// and a filter row [16][72] per output.
// DOT-LABEL: func.func @byte_conv
// DOT: %[[F:.*]] = loop.carve %{{.*}}[0] : memref<1152xi8> -> memref<16x72xi8>
// DOT: %[[P:.*]] = loop.alloc() : memref<196x72xi8>
// DOT: loop.store %{{.*}}, %[[P]][%{{.*}}, %{{.*}}] : memref<196x72xi8>
// DOT: loop.for %{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (i32) {
// DOT-NEXT: loop.load %[[P]]
// DOT-NEXT: arith.extsi
// DOT-NEXT: loop.load %[[F]]
// DOT-NOT: loop.byte_dot
func.func @byte_conv(%x: tensor<1x8x16x16xi8>) -> tensor<1x16x14x14xi32> {
  %w = graph.constant dense<3> : tensor<16x8x3x3xi8>
  %y = top.conv2d nchw_fchw %x, %w strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] groups 1 : (tensor<1x8x16x16xi8>, tensor<16x8x3x3xi8>) -> tensor<1x16x14x14xi32>
  func.return %y : tensor<1x16x14x14xi32>
}
