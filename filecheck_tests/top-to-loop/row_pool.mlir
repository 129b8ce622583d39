// RUN: lamina-opt %s -p 'convert-top-to-loop{vector_bits=512}' | filecheck %s

// SqueezeNet's 3x3 stride-2 max pool (27x27 -> 13x13, every window inside X) reads X
// straight (no phase planes): 8 output columns a vector, the last block at column 13 - 8 = 5
// overlapping the first; taps 0 and 1 are the even and odd lanes of the same two loads,
// tap 2 passes the row's end that way and takes a load shifted back one element
// CHECK-LABEL: func.func @max_3x3_stride_2
// CHECK-NOT: loop.alloc
// CHECK: %[[LAST:.*]] = arith.constant 5 : index
// CHECK: %[[OW0:.*]] = arith.minsi %{{.*}}, %[[LAST]] : index
// CHECK: %[[A:.*]] = loop.vload %{{.*}} : memref<1x64x27x27xf32>, vector<8xf32>
// CHECK: %[[B:.*]] = loop.vload %{{.*}} : memref<1x64x27x27xf32>, vector<8xf32>
// CHECK: %[[EVEN:.*]] = vector.shuffle %[[A]], %[[B]] [0, 2, 4, 6, 8, 10, 12, 14]
// CHECK: %[[ODD:.*]] = vector.shuffle %[[A]], %[[B]] [1, 3, 5, 7, 9, 11, 13, 15]
// CHECK: arith.maximumf %[[EVEN]], %[[ODD]] fastmath<nsz> : vector<8xf32>
// CHECK: %[[C:.*]] = loop.vload %{{.*}} : memref<1x64x27x27xf32>, vector<8xf32>
// CHECK: %[[D:.*]] = loop.vload %{{.*}} : memref<1x64x27x27xf32>, vector<8xf32>
// CHECK: vector.shuffle %[[C]], %[[D]] [0, 2, 4, 6, 9, 11, 13, 15]
// CHECK: loop.vstore %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %[[OW0]]] : memref<1x64x13x13xf32>, vector<8xf32>
func.func @max_3x3_stride_2(%x: tensor<1x64x27x27xf32>) -> tensor<1x64x13x13xf32> {
  %y = top.pool max nchw %x kernel [3, 3] strides [2, 2] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] : tensor<1x64x27x27xf32> -> tensor<1x64x13x13xf32>
  func.return %y : tensor<1x64x13x13xf32>
}

// Stride 1: each tap one load, 16 columns a vector
// CHECK-LABEL: func.func @max_2x2_stride_1
// CHECK-NOT: vector.shuffle
// CHECK: loop.vload %{{.*}} : memref<1x4x17x17xf32>, vector<16xf32>
// CHECK: loop.vstore %{{.*}} : memref<1x4x16x16xf32>, vector<16xf32>
func.func @max_2x2_stride_1(%x: tensor<1x4x17x17xf32>) -> tensor<1x4x16x16xf32> {
  %y = top.pool max nchw %x kernel [2, 2] strides [1, 1] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] : tensor<1x4x17x17xf32> -> tensor<1x4x16x16xf32>
  func.return %y : tensor<1x4x16x16xf32>
}

// A padded window (ResNet's stem pool) stays on the phase planes, its max also any sign
// of zero
// CHECK-LABEL: func.func @max_padded
// CHECK: loop.alloc
// CHECK-NOT: vector.shuffle
// CHECK: arith.maximumf %{{.*}}, %{{.*}} fastmath<nsz> : vector<16xf32>
func.func @max_padded(%x: tensor<1x4x16x16xf32>) -> tensor<1x4x8x8xf32> {
  %y = top.pool max nchw %x kernel [3, 3] strides [2, 2] dilations [1, 1] pad_low [1, 1] pad_high [1, 1] : tensor<1x4x16x16xf32> -> tensor<1x4x8x8xf32>
  func.return %y : tensor<1x4x8x8xf32>
}

// An average pool on the phase planes copies each 7-wide output row out as explicit
// vectors (4 + 2 + 1 lanes at 16) divided by rows * KW, the count of a window whose three
// columns all count; column 0, whose window the left padding cuts to two columns, is then
// stored again with its own count (rows * 2).
// CHECK-LABEL: func.func @avg_padded
// CHECK: arith.index_cast %{{.*}} : index to i64
// CHECK: loop.vload %{{.*}} : memref<4x64xf32>, vector<4xf32>
// CHECK: arith.divf %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK: loop.vstore %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}, %[[OH:.*]], %{{.*}}] : memref<1x4x7x7xf32>, vector<4xf32>
// CHECK: loop.vstore %{{.*}} : memref<1x4x7x7xf32>, vector<2xf32>
// CHECK: loop.store %{{.*}} : memref<1x4x7x7xf32>
// CHECK-NOT: loop.vstore
// CHECK: arith.sitofp
// CHECK-NEXT: arith.divf %{{.*}}, %{{.*}} : f32
// CHECK-NEXT: loop.store %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}, %[[OH]], %{{.*}}] : memref<1x4x7x7xf32>
// CHECK-NEXT: }
func.func @avg_padded(%x: tensor<1x4x14x14xf32>) -> tensor<1x4x7x7xf32> {
  %y = top.pool avg nchw %x kernel [3, 3] strides [2, 2] dilations [1, 1] pad_low [1, 1] pad_high [1, 1] : tensor<1x4x14x14xf32> -> tensor<1x4x7x7xf32>
  func.return %y : tensor<1x4x7x7xf32>
}
