// RUN: lamina-opt %s --split-input-file -p convert-top-to-loop | filecheck %s

// Before: top.concat copies each input into its slice of the result. After: the concat's
// buffer is allocated before the first producer of any slice, each producer writes its
// slice (a loop.view at the slice's byte offset) and the concat copies nothing. Chained
// (DenseNet): %c1 is itself a slice of %c2, so %p and %q are views of %c2 too; %c1 is also
// read by the slice (before %c2), which is allowed.
// CHECK-LABEL: func.func @chained
// CHECK-SAME: (%{{.*}}: memref<0xi8>, %{{.*}}: memref<0xi8>, %[[X:.*]]: memref<1x2x2x2xf32>, %[[OUT:.*]]: memref<1x6x2x2xf32>)
// CHECK: %[[C2:.*]] = loop.alloc() : memref<1x6x2x2xf32>
// CHECK-NEXT: %[[P:.*]] = loop.view %[[C2]][0] : memref<1x6x2x2xf32> -> memref<1x2x2x2xf32>
// CHECK: loop.store %{{.*}}, %[[P]]
// CHECK: %[[Q:.*]] = loop.view %[[C2]][32] : memref<1x6x2x2xf32> -> memref<1x2x2x2xf32>
// CHECK: loop.load %[[P]]
// CHECK: loop.store %{{.*}}, %[[Q]]
// CHECK: %[[C1:.*]] = loop.view %[[C2]][0] : memref<1x6x2x2xf32> -> memref<1x4x2x2xf32>
// CHECK: %[[S:.*]] = loop.view %[[C2]][64] : memref<1x6x2x2xf32> -> memref<1x2x2x2xf32>
// CHECK: loop.load %[[C1]]
// CHECK: loop.store %{{.*}}, %[[S]]
// CHECK-NOT: loop.store %{{.*}}, %[[C2]]
// CHECK: loop.load %[[C2]]
// CHECK: loop.store %{{.*}}, %[[OUT]]
// CHECK: loop.dealloc %[[C2]]
func.func @chained(%x: tensor<1x2x2x2xf32>) -> tensor<1x6x2x2xf32> {
  %p = top.transpose %x permutation [0, 1, 3, 2] : tensor<1x2x2x2xf32> -> tensor<1x2x2x2xf32>
  %q = top.transpose %p permutation [0, 1, 3, 2] : tensor<1x2x2x2xf32> -> tensor<1x2x2x2xf32>
  %c1 = top.concat %p, %q axis 1 : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x4x2x2xf32>
  %s = top.slice %c1 offsets [0, 1, 0, 0] strides [1, 1, 1, 1] : tensor<1x4x2x2xf32> -> tensor<1x2x2x2xf32>
  %c2 = top.concat %c1, %s axis 1 : (tensor<1x4x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x6x2x2xf32>
  %r = top.transpose %c2 permutation [0, 1, 3, 2] : tensor<1x6x2x2xf32> -> tensor<1x6x2x2xf32>
  func.return %r : tensor<1x6x2x2xf32>
}

// -----

// The copies that stay: of a function argument (%x), and of a value read after the concat
// (%p, read by %u); %p gets a buffer of its own.
// CHECK-LABEL: func.func @kept
// CHECK-SAME: (%{{.*}}: memref<0xi8>, %{{.*}}: memref<0xi8>, %[[X:.*]]: memref<1x2x2x2xf32>,
// CHECK: %[[P:.*]] = loop.alloc() : memref<1x2x2x2xf32>
// CHECK: %[[C:.*]] = loop.alloc() : memref<1x4x2x2xf32>
// CHECK-NOT: loop.view
// CHECK: %[[VX:.*]] = loop.load %[[X]]
// CHECK-NEXT: loop.store %[[VX]], %[[C]]
// CHECK: %[[VP:.*]] = loop.load %[[P]]
// CHECK-NEXT: loop.store %[[VP]], %[[C]]
func.func @kept(%x: tensor<1x2x2x2xf32>) -> (tensor<1x4x2x2xf32>, tensor<1x2x2x2xf32>) {
  %p = top.transpose %x permutation [0, 1, 3, 2] : tensor<1x2x2x2xf32> -> tensor<1x2x2x2xf32>
  %c = top.concat %x, %p axis 1 : (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) -> tensor<1x4x2x2xf32>
  %r = top.transpose %c permutation [0, 1, 3, 2] : tensor<1x4x2x2xf32> -> tensor<1x4x2x2xf32>
  %u = top.transpose %p permutation [0, 1, 3, 2] : tensor<1x2x2x2xf32> -> tensor<1x2x2x2xf32>
  func.return %r, %u : tensor<1x4x2x2xf32>, tensor<1x2x2x2xf32>
}

// -----

// Slices that are not one byte range (a non-unit dim before the axis), and a concat that
// is a function result (its buffer is the output argument): copies.
// CHECK-LABEL: func.func @not_contiguous
// CHECK-NOT: loop.view
// CHECK: func.return
func.func @not_contiguous(%x: tensor<2x2x2xf32>) -> (tensor<2x4x2xf32>, tensor<4x2x2xf32>) {
  %p = top.transpose %x permutation [0, 2, 1] : tensor<2x2x2xf32> -> tensor<2x2x2xf32>
  %q = top.transpose %x permutation [1, 0, 2] : tensor<2x2x2xf32> -> tensor<2x2x2xf32>
  %c = top.concat %p, %q axis 1 : (tensor<2x2x2xf32>, tensor<2x2x2xf32>) -> tensor<2x4x2xf32>
  %a = top.transpose %x permutation [2, 1, 0] : tensor<2x2x2xf32> -> tensor<2x2x2xf32>
  %b = top.transpose %x permutation [1, 2, 0] : tensor<2x2x2xf32> -> tensor<2x2x2xf32>
  %d = top.concat %a, %b axis 0 : (tensor<2x2x2xf32>, tensor<2x2x2xf32>) -> tensor<4x2x2xf32>
  func.return %c, %d : tensor<2x4x2xf32>, tensor<4x2x2xf32>
}
