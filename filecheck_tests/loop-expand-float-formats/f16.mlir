// RUN: lamina-opt %s -p 'loop-expand-float-formats{f16=true}' | filecheck %s
// RUN: lamina-opt %s -p loop-expand-float-formats | filecheck %s --check-prefix=KEEP

// With f16=true (Hexagon, where LLVM's f16 <-> f32 are libcalls) f16 converts on its bits;
// by default f16 is left to LLVM.
func.func @widen_f16(%x: memref<4xf16>, %y: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %v = loop.load %x[%c0] : memref<4xf16>
  %w = arith.extf %v : f16 to f32
  loop.store %w, %y[%c0] : memref<4xf32>
  func.return
}

// CHECK-LABEL: func.func @widen_f16
// CHECK:         %[[RAW:.*]] = arith.bitcast %{{.*}} : f16 to i16
// CHECK-NEXT:    arith.extui %[[RAW]] : i16 to i32
// CHECK-NOT:     arith.extf
// CHECK:         loop.store

// KEEP-LABEL: func.func @widen_f16
// KEEP:         arith.extf %{{.*}} : f16 to f32
