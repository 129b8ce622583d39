// RUN: lamina-opt %s --split-input-file -p convert-top-to-loop | filecheck %s
// RUN: lamina-opt %s --split-input-file -p 'convert-top-to-loop{vector_bits=256}' | filecheck %s --check-prefix=AVX2

// The kernel ABI: (weights, arena, inputs..., outputs...) -> (); the constant rhs is carved
// from the weights blob; the result is written straight into the output buffer; i-k-j
// order with the contiguous j loop innermost.
// CHECK: builtin.module attributes {lamina.weights = {mm_weights = dense_resource<mm_weights> : tensor<256xi8>}}
// CHECK-LABEL: func.func @mm
// CHECK-SAME: (%[[W:.*]]: memref<256xi8>, %[[ARENA:.*]]: memref<0xi8>, %[[A:.*]]: memref<8x16xf32>, %[[OUT:.*]]: memref<8x4xf32>)
// CHECK-SAME: attributes {lamina.abi = "kernel-v1", lamina.weights = "mm_weights", lamina.num_outputs = 1 : i64}
// CHECK: %[[B:.*]] = loop.carve %[[W]][0] : memref<256xi8> -> memref<16x4xf32>
// CHECK: loop.for %[[I0:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK-NEXT: loop.for %[[J0:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel vector 4 {
// CHECK-NEXT: loop.store %{{.*}}, %[[OUT]][%[[I0]], %[[J0]]] : memref<8x4xf32>
// CHECK: loop.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK-NEXT: loop.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT: %[[AV:.*]] = loop.load %[[A]][%[[I]], %[[K]]] : memref<8x16xf32>
// CHECK-NEXT: loop.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel vector 4 {
// CHECK-NEXT: %[[BV:.*]] = loop.load %[[B]][%[[K]], %[[J]]] : memref<16x4xf32>
// CHECK-NEXT: %[[P:.*]] = arith.mulf %[[AV]], %[[BV]] : f32
// CHECK-NEXT: %[[C:.*]] = loop.load %[[OUT]][%[[I]], %[[J]]] : memref<8x4xf32>
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[C]], %[[P]] : f32
// CHECK-NEXT: loop.store %[[S]], %[[OUT]][%[[I]], %[[J]]] : memref<8x4xf32>
// CHECK-NOT: loop.alloc
// CHECK: func.return

// AVX2-LABEL: func.func @mm
// AVX2: parallel vector 4
func.func @mm(%a: tensor<8x16xf32>) -> tensor<8x4xf32> {
  %b = graph.constant dense<5.000000e-01> : tensor<16x4xf32>
  %c = top.matmul %a, %b : (tensor<8x16xf32>, tensor<16x4xf32>) -> tensor<8x4xf32>
  func.return %c : tensor<8x4xf32>
}

// -----

// A 64-wide row gets vector 16 (f32 on 512 bits) or 8 (256 bits).
// CHECK-LABEL: func.func @wide
// CHECK: loop.for %{{.*}} parallel vector 16 {
// AVX2-LABEL: func.func @wide
// AVX2: loop.for %{{.*}} parallel vector 8 {
func.func @wide(%a: tensor<2x8xf32>, %b: tensor<8x64xf32>) -> tensor<2x64xf32> {
  %c = top.matmul %a, %b : (tensor<2x8xf32>, tensor<8x64xf32>) -> tensor<2x64xf32>
  func.return %c : tensor<2x64xf32>
}

// -----

// An i8 matmul with B transposed (k contiguous in both): each output element is one
// loop-carried i32 sum over k, the dot-product loop loop-to-neon makes sdot.
// CHECK-LABEL: func.func @dot
// CHECK-SAME: (%{{.*}}: memref<0xi8>, %{{.*}}: memref<0xi8>, %[[A:.*]]: memref<8x96xi8>, %[[B:.*]]: memref<32x96xi8>, %[[OUT:.*]]: memref<8x32xi32>)
// CHECK: loop.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK-NEXT: loop.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} parallel {
// CHECK-NEXT: %[[S:.*]] = loop.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (i32) {
// CHECK-NEXT: %[[AV:.*]] = loop.load %[[A]][%[[I]], %[[K]]] : memref<8x96xi8>
// CHECK-NEXT: %[[AW:.*]] = arith.extsi %[[AV]] : i8 to i32
// CHECK-NEXT: %[[BV:.*]] = loop.load %[[B]][%[[J]], %[[K]]] : memref<32x96xi8>
// CHECK-NEXT: %[[BW:.*]] = arith.extsi %[[BV]] : i8 to i32
// CHECK-NEXT: %[[P:.*]] = arith.muli %[[AW]], %[[BW]] : i32
// CHECK-NEXT: %[[N:.*]] = arith.addi %[[ACC]], %[[P]] : i32
// CHECK-NEXT: loop.yield %[[N]] : i32
// CHECK: loop.store %[[S]], %[[OUT]][%[[I]], %[[J]]] : memref<8x32xi32>
// AVX2-LABEL: func.func @dot
// AVX2: iter_args
func.func @dot(%a: tensor<8x96xi8>, %b: tensor<32x96xi8>) -> tensor<8x32xi32> {
  %c = top.matmul %a, %b transpose_rhs : (tensor<8x96xi8>, tensor<32x96xi8>) -> tensor<8x32xi32>
  func.return %c : tensor<8x32xi32>
}
