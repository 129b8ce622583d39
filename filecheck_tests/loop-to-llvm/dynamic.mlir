// RUN: lamina-opt %s -p 'convert-loop-to-llvm{device="x86-64-avx512"}' -t llvm | filecheck %s

// Dynamic dims in the kernel ABI: a memref with k `?` dims is its pointer then k i64
// extents; loop.dim reads the extent (a constant for a static dim); row-major addresses
// use the run-time extents; a dynamic loop.alloc is aligned_alloc(64, bytes rounded up to
// 64, at least 64) and its loop.dealloc a free; a call passes the extents after the pointer.

// CHECK-LABEL: define void @main(ptr noalias nofree align 64 %w, ptr noalias nofree align 64 %arena, ptr noalias nofree %x, i64 %x.dim0, i64 %x.dim2, ptr noalias nofree %y, i64 %y.dim0)
// CHECK:       %[[ROW:.*]] = mul nsw i64 64, %x.dim0
// CHECK-NEXT:  %[[UP:.*]] = add i64 %[[ROW]], 63
// CHECK-NEXT:  %[[ROUND:.*]] = and i64 %[[UP]], -64
// CHECK-NEXT:  %[[SMALL:.*]] = icmp ult i64 %[[ROUND]], 64
// CHECK-NEXT:  %[[BYTES:.*]] = select i1 %[[SMALL]], i64 64, i64 %[[ROUND]]
// CHECK-NEXT:  %t = call ptr @aligned_alloc(i64 64, i64 %[[BYTES]])
// CHECK:       call void @llvm.trap()
// CHECK:       %i.cond = icmp slt i64 %i, %x.dim0
// The address of x[i, 3, k] with x: memref<?x4x?xf32>: (i * 4 + 3) * x.dim2 + k
// CHECK:       %[[I4:.*]] = mul nsw i64 %i, 4
// CHECK-NEXT:  %[[I43:.*]] = add nsw i64 %[[I4]], 3
// CHECK-NEXT:  %[[SCALED:.*]] = mul nsw i64 %[[I43]], %x.dim2
// CHECK-NEXT:  %[[LINEAR:.*]] = add nsw i64 %[[SCALED]], %k
// CHECK-NEXT:  getelementptr inbounds float, ptr %x, i64 %[[LINEAR]]
// CHECK:       call void @copy(ptr %t, i64 %x.dim0, ptr %y, i64 %y.dim0)
// CHECK:       call void @free(ptr %t)
// CHECK-NEXT:  ret void
func.func @main(%w: memref<0xi8>, %arena: memref<0xi8>, %x: memref<?x4x?xf32>,
                %y: memref<?x16xf32>) attributes {lamina.abi = "kernel-v1"} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %n = loop.dim %x, 0 : memref<?x4x?xf32>
  %four = loop.dim %x, 1 : memref<?x4x?xf32>
  %m = loop.dim %x, 2 : memref<?x4x?xf32>
  %t = loop.alloc(%n) align 64 : memref<?x16xf32>
  loop.for %i = %c0 to %n step %c1 {
    loop.for %k = %c0 to %m step %c1 {
      %v = loop.load %x[%i, %c3, %k] : memref<?x4x?xf32>
      loop.store %v, %t[%i, %c0] : memref<?x16xf32>
    }
  }
  func.call @copy(%t, %y) : (memref<?x16xf32>, memref<?x16xf32>) -> ()
  loop.dealloc %t : memref<?x16xf32>
  func.return
}

// The static dim of loop.dim is a constant: the loop runs to 16.
// CHECK-LABEL: define void @copy(ptr %from, i64 %from.dim0, ptr %to, i64 %to.dim0)
// CHECK:       %j.cond = icmp slt i64 %j, 16
func.func @copy(%from: memref<?x16xf32>, %to: memref<?x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = loop.dim %from, 0 : memref<?x16xf32>
  %cols = loop.dim %from, 1 : memref<?x16xf32>
  loop.for %i = %c0 to %n step %c1 {
    loop.for %j = %c0 to %cols step %c1 {
      %v = loop.load %from[%i, %j] : memref<?x16xf32>
      loop.store %v, %to[%i, %j] : memref<?x16xf32>
    }
  }
  func.return
}

// Static kernels keep their exact bare-pointer signature.
// CHECK-LABEL: define void @static(ptr noalias nofree align 64 %w, ptr noalias nofree align 64 %arena, ptr noalias nofree %x, ptr noalias nofree %y)
func.func @static(%w: memref<0xi8>, %arena: memref<0xi8>, %x: memref<4x16xf32>,
                  %y: memref<4x16xf32>) attributes {lamina.abi = "kernel-v1"} {
  func.return
}

// The shape function is an ordinary C function: memref<Kxindex> is an int64_t *.
// CHECK-LABEL: define i32 @static_shapes(ptr %in, ptr %out)
func.func @static_shapes(%in: memref<2xindex>, %out: memref<1xindex>) -> i32 {
  %c0 = arith.constant 0 : index
  %n = loop.load %in[%c0] : memref<2xindex>
  loop.store %n, %out[%c0] : memref<1xindex>
  %ok = arith.constant 0 : i32
  func.return %ok : i32
}
