// RUN: lamina-opt %s --split-input-file --verify-diagnostics

func.func @arena_not_bytes() {
  // expected-error@+1 {{arena %arena : memref<64xf32> must be a 1-D memref of i8 with a static size}}
  %arena = loop.arena align 64 : memref<64xf32>
  func.return
}

// -----

func.func @arena_alignment_not_power_of_two() {
  // expected-error@+1 {{arena %arena : memref<1024xi8>: alignment 48 is not a power of two}}
  %arena = loop.arena align 48 : memref<1024xi8>
  func.return
}

// -----

func.func @carve_from_non_arena(%x: memref<64xf32>) {
  // expected-error@+1 {{arena %x : memref<64xf32> must be a 1-D memref of i8 with a static size}}
  %b = loop.carve %x[0] : memref<64xf32> -> memref<4xf32>
  func.return
}

// -----

func.func @carve_dynamic_shape(%ws: memref<1024xi8>) {
  // expected-error@+1 {{carved buffer %b : memref<?xf32> needs a static shape and an element type of target-independent size}}
  %b = loop.carve %ws[0] : memref<1024xi8> -> memref<?xf32>
  func.return
}

// -----

func.func @carve_index_elements(%ws: memref<1024xi8>) {
  // expected-error@+1 {{carved buffer %b : memref<4xindex> needs a static shape and an element type of target-independent size}}
  %b = loop.carve %ws[0] : memref<1024xi8> -> memref<4xindex>
  func.return
}

// -----

func.func @carve_strided(%ws: memref<1024xi8>) {
  // expected-error@+1 {{carved buffer %b : memref<4xf32, strided<[2]>> must have the identity layout}}
  %b = loop.carve %ws[0] : memref<1024xi8> -> memref<4xf32, strided<[2]>>
  func.return
}

// -----

func.func @carve_other_space() {
  %arena = loop.arena align 64 : memref<1024xi8, #loop.space<vtcm>>
  // expected-error@+1 {{carved buffer %b : memref<4xf32> is not in the memory space of arena %arena : memref<1024xi8, #loop.space<vtcm>>}}
  %b = loop.carve %arena[0] : memref<1024xi8, #loop.space<vtcm>> -> memref<4xf32>
  func.return
}

// -----

func.func @carve_overflows_arena() {
  %arena = loop.arena align 64 : memref<1024xi8>
  // expected-error@+1 {{carved buffer %b : memref<16x16xf32> of 1024 bytes at offset 64 does not fit in arena %arena : memref<1024xi8> of 1024 bytes}}
  %b = loop.carve %arena[64] : memref<1024xi8> -> memref<16x16xf32>
  func.return
}

// -----

func.func @carve_negative_offset(%ws: memref<1024xi8>) {
  // expected-error@+1 {{carved buffer %b : memref<4xf32> of 16 bytes at offset -16 does not fit in arena %ws : memref<1024xi8> of 1024 bytes}}
  %b = loop.carve %ws[-16] : memref<1024xi8> -> memref<4xf32>
  func.return
}

// -----

func.func @carve_alignment_not_power_of_two(%ws: memref<1024xi8>) {
  // expected-error@+1 {{carved buffer %b : memref<4xf32>: alignment 24 is not a power of two}}
  %b = loop.carve %ws[0] align 24 : memref<1024xi8> -> memref<4xf32>
  func.return
}

// -----

func.func @carve_misaligned_for_element(%ws: memref<1024xi8>) {
  // expected-error@+1 {{carved buffer %b : memref<4xf32> at offset 6 is not aligned to 4 bytes}}
  %b = loop.carve %ws[6] : memref<1024xi8> -> memref<4xf32>
  func.return
}

// -----

func.func @carve_misaligned_for_request(%ws: memref<1024xi8>) {
  // expected-error@+1 {{carved buffer %b : memref<4xf32> at offset 32 is not aligned to 64 bytes}}
  %b = loop.carve %ws[32] align 64 : memref<1024xi8> -> memref<4xf32>
  func.return
}

// -----

func.func @carve_alignment_above_arena() {
  %arena = loop.arena align 16 : memref<1024xi8>
  // expected-error@+1 {{carved buffer %b : memref<4xf32> asks for alignment 64 but arena %arena : memref<1024xi8> is only aligned to 16 bytes}}
  %b = loop.carve %arena[0] align 64 : memref<1024xi8> -> memref<4xf32>
  func.return
}

// -----

func.func @alloc_missing_dynamic_size() {
  // expected-error@+1 {{buffer %b : memref<?x?xf32> has 2 dynamic dimensions but 0 sizes were given}}
  %b = loop.alloc() : memref<?x?xf32>
  func.return
}

// -----

func.func @alloc_alignment_not_power_of_two() {
  // expected-error@+1 {{buffer %b : memref<4xf32>: alignment 12 is not a power of two}}
  %b = loop.alloc() align 12 : memref<4xf32>
  func.return
}

// -----

func.func @dealloc_carved(%ws: memref<1024xi8>) {
  %b = loop.carve %ws[0] : memref<1024xi8> -> memref<4xf32>
  // expected-error@+1 {{cannot deallocate %b : memref<4xf32>: it lives in an arena}}
  loop.dealloc %b : memref<4xf32>
  func.return
}

// -----

func.func @for_without_induction_variable(%n: index) {
  // expected-error@+1 {{loop.for body must take the index induction variable first}}
  "loop.for"(%n, %n, %n) ({
    "loop.yield"() : () -> ()
  }) : (index, index, index) -> ()
  func.return
}

// -----

func.func @for_body_arguments_mismatch(%n: index, %x: f32) {
  // expected-error@+1 {{loop.for body arguments (i32) do not match its iter_args (f32)}}
  %r = "loop.for"(%n, %n, %n, %x) ({
  ^bb0(%i: index, %acc: i32):
    "loop.yield"(%x) : (f32) -> ()
  }) : (index, index, index, f32) -> f32
  func.return
}

// -----

func.func @parallel_with_iter_args(%n: index, %x: f32) {
  // expected-error@+1 {{parallel loop.for cannot carry iter_args: its iterations must be independent}}
  %r = loop.for %i = %n to %n step %n parallel iter_args(%acc = %x) -> (f32) {
    loop.yield %acc : f32
  }
  func.return
}

// -----

func.func @unroll_zero(%n: index) {
  // expected-error@+1 {{loop.for unroll factor must be positive, got 0}}
  loop.for %i = %n to %n step %n unroll 0 {
  }
  func.return
}

// -----

func.func @vector_negative(%n: index) {
  // expected-error@+1 {{loop.for vector factor must be positive, got -4}}
  loop.for %i = %n to %n step %n vector -4 {
  }
  func.return
}

// -----

func.func @zero_step(%n: index) {
  %c0 = arith.constant 0 : index
  // expected-error@+1 {{loop.for step %c0 : index = 0 must be positive}}
  loop.for %i = %n to %n step %c0 {
  }
  func.return
}

// -----

func.func @yield_type_mismatch(%n: index, %x: f32, %y: i32) {
  // expected-error@+1 {{loop.yield types (i32) do not match the loop.for iter_args (f32)}}
  %r = loop.for %i = %n to %n step %n iter_args(%acc = %x) -> (f32) {
    loop.yield %y : i32
  }
  func.return
}

// -----

func.func @yield_outside_for() {
  // expected-error@+1 {{'loop.yield' expects parent op 'loop.for'}}
  loop.yield
}

// -----

func.func @load_wrong_index_count(%a: memref<4x4xf32>, %i: index) {
  // expected-error@+1 {{1 indices given for %a : memref<4x4xf32> of rank 2}}
  %x = loop.load %a[%i] : memref<4x4xf32>
  func.return
}

// -----

func.func @load_wrong_result_type(%a: memref<4xf32>, %i: index) {
  // expected-error@+1 {{loaded value %x : i32 does not have the element type of %a : memref<4xf32>}}
  %x = "loop.load"(%a, %i) : (memref<4xf32>, index) -> i32
  func.return
}

// -----

func.func @store_wrong_index_count(%a: memref<4xf32>, %i: index, %x: f32) {
  // expected-error@+1 {{2 indices given for %a : memref<4xf32> of rank 1}}
  loop.store %x, %a[%i, %i] : memref<4xf32>
  func.return
}

// -----

func.func @store_wrong_value_type(%a: memref<4xf32>, %i: index, %x: f16) {
  // expected-error@+1 {{stored value %x : f16 does not have the element type of %a : memref<4xf32>}}
  "loop.store"(%x, %a, %i) : (f16, memref<4xf32>, index) -> ()
  func.return
}

// -----

func.func @vload_wrong_index_count(%a: memref<4x64xf32>, %i: index) {
  // expected-error@+1 {{1 indices given for %a : memref<4x64xf32> of rank 2}}
  %v = loop.vload %a[%i] : memref<4x64xf32>, vector<8xf32>
  func.return
}

// -----

func.func @vload_2d_vector(%a: memref<64xf32>, %i: index) {
  // expected-error@+1 {{vector %v : vector<2x4xf32> must be 1-D with a fixed length}}
  %v = loop.vload %a[%i] : memref<64xf32>, vector<2x4xf32>
  func.return
}

// -----

func.func @vload_scalable_vector(%a: memref<64xf32>, %i: index) {
  // expected-error@+1 {{vector %v : vector<[4]xf32> must be 1-D with a fixed length}}
  %v = loop.vload %a[%i] : memref<64xf32>, vector<[4]xf32>
  func.return
}

// -----

func.func @vload_no_lanes(%a: memref<64xf32>, %i: index) {
  // expected-error@+1 {{vector %v : vector<0xf32> must have at least one lane}}
  %v = loop.vload %a[%i] : memref<64xf32>, vector<0xf32>
  func.return
}

// -----

func.func @vload_element_mismatch(%a: memref<64xf32>, %i: index) {
  // expected-error@+1 {{vector %v : vector<8xf16> does not have the element type of %a : memref<64xf32>}}
  %v = loop.vload %a[%i] : memref<64xf32>, vector<8xf16>
  func.return
}

// -----

func.func @vload_rank_zero(%a: memref<f32>) {
  // expected-error@+1 {{vector access needs a buffer of rank >= 1, got %a : memref<f32>}}
  %v = loop.vload %a[] : memref<f32>, vector<8xf32>
  func.return
}

// -----

func.func @vload_longer_than_row(%a: memref<16x4xf32>, %i: index) {
  // expected-error@+1 {{vector %v : vector<8xf32> is longer than the innermost dimension of %a : memref<16x4xf32>}}
  %v = loop.vload %a[%i, %i] : memref<16x4xf32>, vector<8xf32>
  func.return
}

// -----

func.func @vstore_element_mismatch(%a: memref<64xf32>, %i: index, %v: vector<8xi32>) {
  // expected-error@+1 {{vector %v : vector<8xi32> does not have the element type of %a : memref<64xf32>}}
  loop.vstore %v, %a[%i] : memref<64xf32>, vector<8xi32>
  func.return
}

// -----

func.func @byte_dot_accumulator_not_a_register(%acc: vector<32xi32>, %x: vector<128xi8>) {
  // expected-error@+1 {{loop.byte_dot: accumulator vector<32xi32> must be vector<4xi32>, vector<8xi32> or vector<16xi32>}}
  %r = loop.byte_dot %acc, %x, %x : vector<32xi32>, vector<128xi8>
  func.return
}

// -----

func.func @byte_dot_operands_too_short(%acc: vector<8xi32>, %x: vector<16xi8>) {
  // expected-error@+1 {{loop.byte_dot: operands vector<16xi8> must be vector<32xi8> for an accumulator vector<8xi32>}}
  %r = loop.byte_dot %acc, %x, %x : vector<8xi32>, vector<16xi8>
  func.return
}

// -----

func.func @view_out_of_bounds(%y: memref<1x8x4x4xf32>) {
  // expected-error@+1 {{view %s : memref<1x5x4x4xf32> of 320 bytes at offset 256 does not fit in %y : memref<1x8x4x4xf32> of 512 bytes}}
  %s = loop.view %y[256] : memref<1x8x4x4xf32> -> memref<1x5x4x4xf32>
  func.return
}

// -----

func.func @view_misaligned(%y: memref<64xf32>) {
  // expected-error@+1 {{view %s : memref<4xf32> at offset 6 is not aligned to 4 bytes}}
  %s = loop.view %y[6] : memref<64xf32> -> memref<4xf32>
  func.return
}

// -----

func.func @view_dynamic(%y: memref<?xf32>) {
  // expected-error@+1 {{view %y : memref<?xf32> needs a static shape, the identity layout and an element type of target-independent size}}
  %s = loop.view %y[0] : memref<?xf32> -> memref<4xf32>
  func.return
}

// -----

func.func @view_other_space(%y: memref<64xf32>) {
  // expected-error@+1 {{view %s : memref<4xf32, #loop.space<vtcm>> is not in the memory space of %y : memref<64xf32>}}
  %s = loop.view %y[0] : memref<64xf32> -> memref<4xf32, #loop.space<vtcm>>
  func.return
}
