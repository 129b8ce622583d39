// RUN: lamina-opt %s --split-input-file --verify-diagnostics

func.func @wrong_lane_type(%a: vector<64xi16>, %b: vector<64xi16>) {
  // expected-error@+1 {{'hvx.vaddbsat' takes (vector<128xi8>, vector<128xi8>) -> vector<128xi8>, got (vector<64xi16>, vector<64xi16>) -> vector<128xi8>}}
  %s = hvx.vaddbsat %a, %b : (vector<64xi16>, vector<64xi16>) -> vector<128xi8>
  func.return
}

// -----

func.func @not_a_full_register(%a: vector<16xi8>, %b: vector<16xi8>) {
  // expected-error@+1 {{'hvx.vrmpybusv' takes (vector<128xi8>, vector<128xi8>) -> vector<32xi32>, got (vector<16xi8>, vector<16xi8>) -> vector<32xi32>}}
  %d = hvx.vrmpybusv %a, %b : (vector<16xi8>, vector<16xi8>) -> vector<32xi32>
  func.return
}

// -----

func.func @widening_result_not_a_pair(%a: vector<128xi8>) {
  // expected-error@+1 {{'hvx.vmpybv' takes (vector<128xi8>, vector<128xi8>) -> vector<128xi16>, got (vector<128xi8>, vector<128xi8>) -> vector<64xi16>}}
  %p = hvx.vmpybv %a, %a : (vector<128xi8>, vector<128xi8>) -> vector<64xi16>
  func.return
}

// -----

func.func @missing_scalar_operand(%a: vector<32xi32>) {
  // expected-error@+1 {{'hvx.vasrw' takes (vector<32xi32>, i32) -> vector<32xi32>, got (vector<32xi32>) -> vector<32xi32>}}
  %s = hvx.vasrw %a : (vector<32xi32>) -> vector<32xi32>
  func.return
}

// -----

func.func @float_lanes(%a: vector<32xf32>) {
  // expected-error@+1 {{'hvx.vmaxw' takes (vector<32xi32>, vector<32xi32>) -> vector<32xi32>, got (vector<32xf32>, vector<32xf32>) -> vector<32xi32>}}
  %m = hvx.vmaxw %a, %a : (vector<32xf32>, vector<32xf32>) -> vector<32xi32>
  func.return
}

// -----

func.func @cast_between_sizes(%a: vector<32xi32>) {
  // expected-error@+1 {{'hvx.vcast' needs two integer HVX registers of the same size, got vector<32xi32> to vector<128xi16>}}
  %c = hvx.vcast %a : vector<32xi32> to vector<128xi16>
  func.return
}

// -----

func.func @cast_of_a_predicate(%q: vector<128xi1>) {
  // expected-error@+1 {{'hvx.vcast' needs two integer HVX registers of the same size, got vector<128xi1> to vector<128xi8>}}
  %c = hvx.vcast %q : vector<128xi1> to vector<128xi8>
  func.return
}
