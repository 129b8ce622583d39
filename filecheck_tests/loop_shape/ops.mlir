// RUN: lamina-opt %s | lamina-opt | filecheck %s
// RUN: lamina-opt %s --print-op-generic | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @rows
// CHECK:         %[[N:.*]] = loop.dim %{{.*}}, 0 : memref<?x8xf32>
// CHECK-NEXT:    %{{.*}} = loop.alloc(%[[N]]) : memref<?x8xf32>
func.func @rows(%x: memref<?x8xf32>) -> index {
  %n = loop.dim %x, 0 : memref<?x8xf32>
  %b = loop.alloc(%n) : memref<?x8xf32>
  loop.dealloc %b : memref<?x8xf32>
  func.return %n : index
}
