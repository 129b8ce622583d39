// RUN: lamina-opt %s -p 'convert-top-to-loop{vector_bits=128},convert-loop-to-ocl' -t opencl | filecheck %s

// A stride-2 max pool read straight from X (lowering/top_to_loop_row_pool.py) on 4-lane
// vectors: its `vector.shuffle`s of two loads become float4 built from their components
// CHECK-LABEL: __kernel void pool_k0(
// CHECK: const float4 [[A:.*]] = vload4(0, {{.*}});
// CHECK: const float4 [[B:.*]] = vload4(0, {{.*}});
// CHECK-NEXT: const float4 [[EVEN:.*]] = (float4)([[A]].s0, [[A]].s2, [[B]].s0, [[B]].s2);
// CHECK-NEXT: const float4 [[ODD:.*]] = (float4)([[A]].s1, [[A]].s3, [[B]].s1, [[B]].s3);
// CHECK-NEXT: fmax([[EVEN]], [[ODD]]);
// CHECK: const float4 [[C:.*]] = vload4(0, {{.*}});
// CHECK: const float4 [[D:.*]] = vload4(0, {{.*}});
// CHECK-NEXT: (float4)([[C]].s0, [[C]].s2, [[D]].s1, [[D]].s3);
// CHECK: vstore4(
func.func @pool(%x: tensor<1x2x9x9xf32>) -> tensor<1x2x4x4xf32> {
  %y = top.pool max nchw %x kernel [3, 3] strides [2, 2] dilations [1, 1] pad_low [0, 0] pad_high [0, 0] : tensor<1x2x9x9xf32> -> tensor<1x2x4x4xf32>
  func.return %y : tensor<1x2x4x4xf32>
}
