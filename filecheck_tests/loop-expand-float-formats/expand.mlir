// RUN: lamina-opt %s -p loop-expand-float-formats | filecheck %s
// RUN: lamina-opt %s -p 'loop-expand-float-formats,convert-loop-to-llvm{device="x86-64-avx512"}' -t llvm | filecheck %s --check-prefix=LLVM

// f32 -> float8 rounds on the f32 bits: no truncf to f8 is left, the result is the bit
// pattern of an i8.
func.func @narrow(%x: memref<4xf32>, %y: memref<4xf8E4M3FN>) {
  %c0 = arith.constant 0 : index
  %v = loop.load %x[%c0] : memref<4xf32>
  %n = arith.truncf %v : f32 to f8E4M3FN
  loop.store %n, %y[%c0] : memref<4xf8E4M3FN>
  func.return
}

// CHECK-LABEL: func.func @narrow
// CHECK:         %[[V:.*]] = loop.load
// CHECK-NEXT:    %[[BITS:.*]] = arith.bitcast %[[V]] : f32 to i32
// CHECK-NOT:     arith.truncf
// CHECK:         %[[BYTE:.*]] = arith.trunci %{{.*}} : i32 to i8
// CHECK-NEXT:    %[[N:.*]] = arith.bitcast %[[BYTE]] : i8 to f8E4M3FN
// CHECK-NEXT:    loop.store %[[N]], %{{.*}}[%{{.*}}] : memref<4xf8E4M3FN>

// LLVM-LABEL: define void @narrow
// LLVM:         bitcast float %{{.*}} to i32
// LLVM:         trunc i32 %{{.*}} to i8
// LLVM:         store i8

// bf16 arithmetic happens in f32: operands widen by a shift, the sum rounds back once;
// a bf16 constant becomes its bits.
func.func @add_bf16(%a: memref<4xbf16>, %y: memref<4xbf16>) {
  %c0 = arith.constant 0 : index
  %one = arith.constant 1.5 : bf16
  %v = loop.load %a[%c0] : memref<4xbf16>
  %s = arith.addf %v, %one : bf16
  loop.store %s, %y[%c0] : memref<4xbf16>
  func.return
}

// CHECK-LABEL: func.func @add_bf16
// CHECK:         %[[C:.*]] = arith.constant 16320 : i16
// CHECK-NEXT:    %[[ONE:.*]] = arith.bitcast %[[C]] : i16 to bf16
// CHECK:         %[[RAW:.*]] = arith.bitcast %{{.*}} : bf16 to i16
// CHECK-NEXT:    %[[WIDE:.*]] = arith.extui %[[RAW]] : i16 to i32
// CHECK:         arith.shli %[[WIDE]]
// CHECK:         %[[SUM:.*]] = arith.addf %{{.*}}, %{{.*}} : f32
// CHECK-NEXT:    arith.bitcast %[[SUM]] : f32 to i32
// CHECK-NOT:     arith.addf
// CHECK:         arith.trunci %{{.*}} : i32 to i16
// CHECK:         loop.store %{{.*}} : memref<4xbf16>

// LLVM-LABEL: define void @add_bf16
// LLVM:         load i16
// LLVM:         fadd float
// LLVM:         store i16

// float8 -> f32 is exact: normals by an exponent rebias, subnormals by an f32 multiply.
func.func @widen(%x: memref<4xf8E5M2FNUZ>, %y: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %v = loop.load %x[%c0] : memref<4xf8E5M2FNUZ>
  %w = arith.extf %v : f8E5M2FNUZ to f32
  loop.store %w, %y[%c0] : memref<4xf32>
  func.return
}

// CHECK-LABEL: func.func @widen
// CHECK:         %[[RAW8:.*]] = arith.bitcast %{{.*}} : f8E5M2FNUZ to i8
// CHECK-NEXT:    arith.extui %[[RAW8]] : i8 to i32
// CHECK:         arith.uitofp %{{.*}} : i32 to f32
// CHECK:         arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK-NOT:     arith.extf
// CHECK:         %[[F:.*]] = arith.bitcast %{{.*}} : i32 to f32
// CHECK-NEXT:    loop.store %[[F]]
