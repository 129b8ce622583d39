// RUN: lamina-opt %s --split-input-file --verify-diagnostics

func.func @fmla_lane_out_of_range(%c: vector<4xf32>, %a: vector<4xf32>) {
  // expected-error@+1 {{neon.fmla_lane: lane 4 is outside vector<4xf32>}}
  %r = neon.fmla_lane %c, %c, %a[4] : vector<4xf32>, vector<4xf32>
  func.return
}

// -----

func.func @fmla_lane_wide(%c: vector<8xf32>, %a: vector<4xf32>) {
  // expected-error@+1 {{neon.fmla_lane: vector<8xf32> is not a 64- or 128-bit vector}}
  %r = neon.fmla_lane %c, %c, %a[0] : vector<8xf32>, vector<4xf32>
  func.return
}

// -----

func.func @fmla_lane_int(%c: vector<4xi32>) {
  // expected-error@+1 {{neon.fmla_lane: vector<4xi32> must have f32 or f64 elements}}
  %r = neon.fmla_lane %c, %c, %c[0] : vector<4xi32>, vector<4xi32>
  func.return
}

// -----

func.func @fmla_lane_mixed(%c: vector<4xf32>, %a: vector<2xf64>) {
  // expected-error@+1 {{neon.fmla_lane: lane source vector<2xf64> and accumulator vector<4xf32> differ in element type}}
  %r = neon.fmla_lane %c, %c, %a[0] : vector<4xf32>, vector<2xf64>
  func.return
}

// -----

func.func @sdot_wrong_operands(%acc: vector<4xi32>, %x: vector<8xi8>) {
  // expected-error@+1 {{neon.sdot: operands vector<8xi8> must be vector<16xi8> for an accumulator vector<4xi32>}}
  %r = neon.sdot %acc, %x, %x : vector<4xi32>, vector<8xi8>
  func.return
}

// -----

func.func @udot_wrong_accumulator(%acc: vector<4xf32>, %x: vector<16xi8>) {
  // expected-error@+1 {{neon.udot: accumulator vector<4xf32> must be vector<4xi32> or vector<2xi32>}}
  %r = neon.udot %acc, %x, %x : vector<4xf32>, vector<16xi8>
  func.return
}
