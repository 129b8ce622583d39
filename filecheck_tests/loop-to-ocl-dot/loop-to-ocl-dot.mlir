// RUN: lamina-opt %s --split-input-file -p loop-to-ocl-dot | filecheck %s
// RUN: lamina-opt %s --split-input-file -p loop-to-ocl-dot | lamina-opt --split-input-file | filecheck %s
// RUN: lamina-opt %s --split-input-file -p loop-to-ocl-dot,convert-loop-to-ocl -t opencl | filecheck %s --check-prefix=CL
// RUN: not lamina-opt %s --split-input-file -p 'loop-to-ocl-dot{device="cortex-a76"}' 2>&1 | filecheck %s --check-prefix=CPU

// CPU: error: not supported: loop-to-ocl-dot for device 'cortex-a76' (aarch64-unknown-linux-gnu): it is not an OpenCL device

// An int8 matmul row by row (y[i, j] = x[i, :] . w[j, :], K = 40): the signed dot loop runs
// 32 bytes as two steps of an ocl.dot_char4 on vload16s into an int4, one horizontal add,
// the last 8 bytes in the original loop; the unsigned one (K = 32, no rest) on ocl.dot_uchar4.
// CHECK-LABEL: func.func @dot_rows
// CHECK-SAME: (%{{.*}}: memref<0xi8>, %{{.*}}: memref<0xi8>, %[[X:.*]]: memref<3x40xi8>, %[[W:.*]]: memref<5x40xi8>, %[[Y:.*]]: memref<3x5xi32>, %[[U:.*]]: memref<3x5xi32>)
// CHECK: loop.for %[[I:.*]] = {{.*}} parallel {
// CHECK-NEXT: loop.for %[[J:.*]] = {{.*}} parallel {
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant dense<0> : vector<4xi32>
// CHECK-NEXT: %[[LB:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[SPLIT:.*]] = arith.constant 32 : index
// CHECK-NEXT: %[[STEP:.*]] = arith.constant 16 : index
// CHECK-NEXT: %[[V:.*]] = loop.for %[[K:.*]] = %[[LB]] to %[[SPLIT]] step %[[STEP]] iter_args(%[[ACC:.*]] = %[[ZERO]]) -> (vector<4xi32>) {
// CHECK-NEXT: %[[A:.*]] = loop.vload %[[X]][%[[I]], %[[K]]] : memref<3x40xi8>, vector<16xi8>
// CHECK-NEXT: %[[B:.*]] = loop.vload %[[W]][%[[J]], %[[K]]] : memref<5x40xi8>, vector<16xi8>
// CHECK-NEXT: %[[D:.*]] = ocl.dot_char4 %[[ACC]], %[[A]], %[[B]] : vector<4xi32>, vector<16xi8>
// CHECK-NEXT: loop.yield %[[D]] : vector<4xi32>
// CHECK-NEXT: }
// CHECK-NEXT: %[[PART:.*]] = vector.reduction <add>, %[[V]], %{{.*}} : vector<4xi32> into i32
// CHECK-NEXT: %[[S:.*]] = loop.for %{{.*}} = %[[SPLIT]] to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[PART]]) -> (i32) {
// CHECK: arith.extsi
// CHECK: loop.store %[[S]], %[[Y]][%[[I]], %[[J]]]
// CHECK: ocl.dot_uchar4
// CHECK-NOT: arith.extui
// CHECK: loop.store %{{.*}}, %[[U]]

// The kernels print both forms of the char4 dot products: dot() where the device's OpenCL C
// has it, else the widened multiply-adds.
// CL-LABEL: __kernel void dot_rows_k0(
// CL: int4 acc = {{.*}};
// CL: const char16 [[A:v[0-9]*]] = vload16(0, p + {{.*}});
// CL-NEXT: const char16 [[B:v[0-9]*]] = vload16(0, p1 + {{.*}});
// CL-NEXT: #ifdef __opencl_c_integer_dot_product_input_4x8bit
// CL-NEXT: const int4 [[D:v[0-9]*]] = acc + (int4)(dot([[A]].s0123, [[B]].s0123), dot([[A]].s4567, [[B]].s4567), dot([[A]].s89ab, [[B]].s89ab), dot([[A]].scdef, [[B]].scdef));
// CL-NEXT: #else
// CL-NEXT: const int16 [[D]]_products = convert_int16([[A]]) * convert_int16([[B]]);
// CL-NEXT: const int8 [[D]]_pairs = [[D]]_products.even + [[D]]_products.odd;
// CL-NEXT: const int4 [[D]] = acc + [[D]]_pairs.even + [[D]]_pairs.odd;
// CL-NEXT: #endif
// CL: const int {{.*}} = zero + acc.s0 + acc.s1 + acc.s2 + acc.s3;
// CL-LABEL: __kernel void dot_rows_k1(
// CL: as_int4((uint4)(dot(as_uchar16([[UA:v[0-9]*]]).s0123, as_uchar16([[UB:v[0-9]*]]).s0123),
// CL: convert_int16(as_uchar16([[UA]])) * convert_int16(as_uchar16([[UB]]));
func.func @dot_rows(%weights: memref<0xi8>, %arena: memref<0xi8>, %x: memref<3x40xi8>,
                    %w: memref<5x40xi8>, %y: memref<3x5xi32>, %u: memref<3x5xi32>)
    attributes {lamina.abi = "kernel-v1", lamina.num_outputs = 2 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c5 = arith.constant 5 : index
  %c32 = arith.constant 32 : index
  %c40 = arith.constant 40 : index
  %zero = arith.constant 0 : i32
  loop.for %i = %c0 to %c3 step %c1 parallel {
    loop.for %j = %c0 to %c5 step %c1 parallel {
      %s = loop.for %k = %c0 to %c40 step %c1 iter_args(%acc = %zero) -> (i32) {
        %a = loop.load %x[%i, %k] : memref<3x40xi8>
        %ea = arith.extsi %a : i8 to i32
        %b = loop.load %w[%j, %k] : memref<5x40xi8>
        %eb = arith.extsi %b : i8 to i32
        %p = arith.muli %ea, %eb : i32
        %n = arith.addi %acc, %p : i32
        loop.yield %n : i32
      }
      loop.store %s, %y[%i, %j] : memref<3x5xi32>
    }
  }
  loop.for %i = %c0 to %c3 step %c1 parallel {
    loop.for %j = %c0 to %c5 step %c1 parallel {
      %s = loop.for %k = %c0 to %c32 step %c1 iter_args(%acc = %zero) -> (i32) {
        %a = loop.load %x[%i, %k] : memref<3x40xi8>
        %ea = arith.extui %a : i8 to i32
        %b = loop.load %w[%j, %k] : memref<5x40xi8>
        %eb = arith.extui %b : i8 to i32
        %p = arith.muli %ea, %eb : i32
        %n = arith.addi %acc, %p : i32
        loop.yield %n : i32
      }
      loop.store %s, %u[%i, %j] : memref<3x5xi32>
    }
  }
  func.return
}

// -----

// A loop shorter than one step (K = 12) and a float reduction stay as they are.
// CHECK-LABEL: func.func @short_and_float
// CHECK-NOT: ocl.dot
// CHECK: func.return
// CL-LABEL: __kernel void short_and_float_k0(
// CL-NOT: dot(
// CL: }
func.func @short_and_float(%weights: memref<0xi8>, %arena: memref<0xi8>, %x: memref<12xi8>,
                           %f: memref<64xf32>, %y: memref<1xi32>, %z: memref<1xf32>)
    attributes {lamina.abi = "kernel-v1", lamina.num_outputs = 2 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c12 = arith.constant 12 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0 : i32
  %fzero = arith.constant 0.000000e+00 : f32
  loop.for %i = %c0 to %c1 step %c1 parallel {
    %s = loop.for %k = %c0 to %c12 step %c1 iter_args(%acc = %zero) -> (i32) {
      %a = loop.load %x[%k] : memref<12xi8>
      %ea = arith.extsi %a : i8 to i32
      %p = arith.muli %ea, %ea : i32
      %n = arith.addi %acc, %p : i32
      loop.yield %n : i32
    }
    loop.store %s, %y[%i] : memref<1xi32>
    %t = loop.for %k = %c0 to %c64 step %c1 iter_args(%acc = %fzero) -> (f32) {
      %a = loop.load %f[%k] : memref<64xf32>
      %p = arith.mulf %a, %a : f32
      %n = arith.addf %acc, %p : f32
      loop.yield %n : f32
    }
    loop.store %t, %z[%i] : memref<1xf32>
  }
  func.return
}
