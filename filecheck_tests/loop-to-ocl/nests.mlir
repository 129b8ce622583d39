// RUN: lamina-opt %s --split-input-file -p convert-loop-to-ocl | filecheck %s
// RUN: lamina-opt %s --split-input-file -p convert-loop-to-ocl | lamina-opt --split-input-file | filecheck %s
// RUN: lamina-opt %s --split-input-file -p convert-loop-to-ocl -t opencl | filecheck %s --check-prefix=CL

// The bias fill becomes a 2-D NDRange (j fastest); the i-k-j matmul becomes the tiled
// local-memory kernel: 16x16 work-groups, two __local tiles, two barriers per K step, the
// last K step (40 = 2*16 + 8) reading zeros past K.
// CHECK-LABEL: ocl.kernel @mm_k0
// CHECK-SAME: (%[[C0:.*]]: memref<64x48xf32>)
// CHECK: %[[J0:.*]] = ocl.global_id 0
// CHECK-NEXT: %[[I0:.*]] = ocl.global_id 1
// CHECK-NEXT: loop.store %{{.*}}, %[[C0]][%[[I0]], %[[J0]]] : memref<64x48xf32>
// CHECK-LABEL: ocl.kernel @mm_k1
// CHECK-SAME: attributes {reqd_work_group_size = array<i64: 16, 16, 1>}
// CHECK: %[[TA:.*]] = ocl.local_alloc : memref<16x16xf32, #loop.space<local>>
// CHECK-NEXT: %[[TB:.*]] = ocl.local_alloc : memref<16x16xf32, #loop.space<local>>
// CHECK: loop.for %{{.*}} iter_args
// CHECK: arith.cmpi ult
// CHECK: loop.store %{{.*}}, %[[TA]]
// CHECK: loop.store %{{.*}}, %[[TB]]
// CHECK-NEXT: ocl.barrier
// CHECK-NEXT: loop.for
// CHECK: ocl.barrier
// CHECK-LABEL: func.func @mm
// CHECK-SAME: (%{{.*}}: memref<0xi8>, %{{.*}}: memref<0xi8>, %[[A:.*]]: memref<64x40xf32>, %[[B:.*]]: memref<40x48xf32>, %[[C:.*]]: memref<64x48xf32>)
// CHECK-NEXT: ocl.launch @mm_k0 global [48, 64] (%[[C]][0]) : memref<64x48xf32>
// CHECK-NEXT: ocl.launch @mm_k1 global [48, 64] local [16, 16] (%[[A]][0], %[[B]][0], %[[C]][0])
// CHECK-NEXT: func.return

// CL-LABEL: __kernel void mm_k0(__global uchar* p_base, ulong p_offset) {
// CL-NEXT: __global float* p = (__global float*)(p_base + p_offset);
// CL: const int [[J:.*]] = (int)get_global_id(0);
// CL-NEXT: const int [[I:.*]] = (int)get_global_id(1);
// CL-NEXT: p[([[I]]) * 48 + [[J]]] = {{.*}};
// CL-LABEL: __kernel __attribute__((reqd_work_group_size(16, 16, 1))) void mm_k1(
// CL: __local float tile[256];
// CL-NEXT: __local float tile1[256];
// CL: barrier(CLK_LOCAL_MEM_FENCE);
// CL: barrier(CLK_LOCAL_MEM_FENCE);
// CL: // launch mm_k1 global [48, 64] local [16, 16] (%a+0, %b+0, %c+0)

func.func @mm(%weights: memref<0xi8>, %arena: memref<0xi8>, %a: memref<64x40xf32>,
              %b: memref<40x48xf32>, %c: memref<64x48xf32>)
    attributes {lamina.abi = "kernel-v1", lamina.num_outputs = 1 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c40 = arith.constant 40 : index
  %c48 = arith.constant 48 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.000000e+00 : f32
  loop.for %i = %c0 to %c64 step %c1 parallel {
    loop.for %j = %c0 to %c48 step %c1 parallel {
      loop.store %zero, %c[%i, %j] : memref<64x48xf32>
    }
  }
  loop.for %i = %c0 to %c64 step %c1 parallel {
    loop.for %k = %c0 to %c40 step %c1 {
      %x = loop.load %a[%i, %k] : memref<64x40xf32>
      loop.for %j = %c0 to %c48 step %c1 parallel vector 16 {
        %y = loop.load %b[%k, %j] : memref<40x48xf32>
        %p = arith.mulf %x, %y : f32
        %s = loop.load %c[%i, %j] : memref<64x48xf32>
        %t = arith.addf %s, %p : f32
        loop.store %t, %c[%i, %j] : memref<64x48xf32>
      }
    }
  }
  func.return
}


// -----

// CHECK-LABEL: ocl.kernel @conv_k0
// CHECK-SAME: (%[[Y:.*]]: memref<8x8x8xf32>, %[[W:.*]]: memref<8x4xf32>, %[[X:.*]]: memref<4x10x10xf32>)
// CHECK: %[[OW:.*]] = ocl.global_id 0
// CHECK-NEXT: %[[OH:.*]] = ocl.global_id 1
// CHECK-NEXT: %[[OC:.*]] = ocl.global_id 2
// CHECK-NEXT: %[[INIT:.*]] = loop.load %[[Y]][%[[OC]], %[[OH]], %[[OW]]]
// CHECK-NEXT: %[[SUM:.*]] = loop.for %{{.*}} iter_args(%[[ACC:.*]] = %[[INIT]]) -> (f32) {
// CHECK: arith.addf %[[ACC]]
// CHECK: loop.store %[[SUM]], %[[Y]][%[[OC]], %[[OH]], %[[OW]]]
// CHECK-LABEL: func.func @conv
// CHECK: ocl.launch @conv_k0 global [8, 8, 8] (%{{.*}}[0], %{{.*}}[64], %{{.*}}[0])
// CHECK-NOT: loop.carve
// CL-LABEL: __kernel void conv_k0(
// CL: float acc = {{.*}};
// CL-NEXT: for (int ic = {{.*}}; ic < {{.*}}; ic += {{.*}}) {
// CL: // launch conv_k0 global [8, 8, 8] (%y+0, %weights+64, %x+0)
// A conv-shaped nest: the inner parallel (oh, ow) loops under the sequential reduction
// join the NDRange, and the accumulator lives in a register.
func.func @conv(%weights: memref<256xi8>, %arena: memref<4096xi8>, %x: memref<4x10x10xf32>,
                %y: memref<8x8x8xf32>) attributes {lamina.abi = "kernel-v1", lamina.num_outputs = 1 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %w = loop.carve %weights[64] : memref<256xi8> -> memref<8x4xf32>
  loop.for %oc = %c0 to %c8 step %c1 parallel {
    loop.for %ic = %c0 to %c4 step %c1 {
      %k = loop.load %w[%oc, %ic] : memref<8x4xf32>
      loop.for %oh = %c0 to %c8 step %c1 parallel {
        loop.for %ow = %c0 to %c8 step %c1 parallel {
          %v = loop.load %x[%ic, %oh, %ow] : memref<4x10x10xf32>
          %p = arith.mulf %v, %k : f32
          %acc = loop.load %y[%oc, %oh, %ow] : memref<8x8x8xf32>
          %s = arith.addf %acc, %p : f32
          loop.store %s, %y[%oc, %oh, %ow] : memref<8x8x8xf32>
        }
      }
    }
  }
  func.return
}
