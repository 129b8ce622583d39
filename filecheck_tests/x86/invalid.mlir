// RUN: lamina-opt %s --split-input-file --verify-diagnostics

func.func @accumulator_too_wide(%acc: vector<32xi32>, %x: vector<128xi8>) {
  // expected-error@+1 {{x86vector.vpdpbusd: accumulator vector<32xi32> must be vector<4xi32>, vector<8xi32> or vector<16xi32>}}
  %r = x86vector.vpdpbusd %acc, %x, %x : vector<32xi32>, vector<128xi8>
  func.return
}

// -----

func.func @operands_too_short(%acc: vector<16xi32>, %x: vector<16xi8>) {
  // expected-error@+1 {{x86vector.vpdpbusd: operands vector<16xi8> must be vector<64xi8> for an accumulator vector<16xi32>}}
  %r = x86vector.vpdpbusd %acc, %x, %x : vector<16xi32>, vector<16xi8>
  func.return
}
