// RUN: lamina-opt %s --split-input-file --verify-diagnostics

// expected-error@+1 {{kernel @k: argument 0 : memref<4xf32, #loop.space<vtcm>> is not in the global, local or constant address space}}
ocl.kernel @k(%x: memref<4xf32, #loop.space<vtcm>>) {
  ocl.return
}

// -----

// expected-error@+1 {{kernel @k: argument 0 : index must be a memref, an integer or a float}}
ocl.kernel @k(%n: index) {
  ocl.return
}

// -----

// expected-error@+1 {{kernel @k: reqd_work_group_size must be three positive sizes, got [16, 16]}}
ocl.kernel @k() attributes {reqd_work_group_size = array<i64: 16, 16>} {
  ocl.return
}

// -----

ocl.kernel @k() {
  // expected-error@+1 {{ocl.global_id dimension 3 is not 0, 1 or 2}}
  %i = ocl.global_id 3
  ocl.return
}

// -----

func.func @f() {
  // expected-error@+1 {{'ocl.local_id' expects ancestor op 'ocl.kernel'}}
  %i = ocl.local_id 0
  func.return
}

// -----

ocl.kernel @k() {
  // expected-error@+1 {{ocl.local_alloc of memref<16xf32> must be in local space}}
  %t = ocl.local_alloc : memref<16xf32>
  ocl.return
}

// -----

ocl.kernel @k() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  loop.for %i = %c0 to %c1 step %c1 {
    // expected-error@+1 {{'ocl.local_alloc' expects parent op 'ocl.kernel'}}
    %t = ocl.local_alloc : memref<16xf32, #loop.space<local>>
  }
  ocl.return
}

// -----

ocl.kernel @k(%x: memref<64xf32>) {
  ocl.return
}
func.func @main(%arena: memref<256xi8>) {
  // expected-error@+1 {{launch of @k: local size [48] does not divide global size [64]}}
  ocl.launch @k global [64] local [48] (%arena[0]) : memref<256xi8>
  func.return
}

// -----

ocl.kernel @k(%x: memref<64xf32>) {
  ocl.return
}
func.func @main(%arena: memref<256xi8>) {
  // expected-error@+1 {{launch of @k: memref<64xf32> at offset 64 does not fit in memref<256xi8>}}
  ocl.launch @k global [64] (%arena[64]) : memref<256xi8>
  func.return
}

// -----

ocl.kernel @k(%x: memref<64xf32>, %y: memref<64xf32>) {
  ocl.return
}
func.func @main(%arena: memref<256xi8>) {
  // expected-error@+1 {{launch of @k: the kernel takes 2 buffers, 1 given}}
  ocl.launch @k global [64] (%arena[0]) : memref<256xi8>
  func.return
}

// -----

func.func @main(%arena: memref<256xi8>) {
  // expected-error@+1 {{launch of @k: global size [1, 2, 3, 4] needs 1 to 3 positive sizes}}
  ocl.launch @k global [1, 2, 3, 4] (%arena[0]) : memref<256xi8>
  func.return
}

// -----

func.func @dot_accumulator_not_int4(%acc: vector<8xi32>, %x: vector<32xi8>) {
  // expected-error@+1 {{ocl.dot_char4: accumulator vector<8xi32> must be vector<4xi32>}}
  %r = ocl.dot_char4 %acc, %x, %x : vector<8xi32>, vector<32xi8>
  func.return
}

// -----

func.func @dot_operands_not_char16(%acc: vector<4xi32>, %x: vector<16xi16>) {
  // expected-error@+1 {{ocl.dot_uchar4: operands vector<16xi16> must be vector<16xi8> for an accumulator vector<4xi32>}}
  %r = ocl.dot_uchar4 %acc, %x, %x : vector<4xi32>, vector<16xi16>
  func.return
}
