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

// -----

func.func @bytes_not_a_register(%x: vector<24xi8>) {
  // expected-error@+1 {{x86vector.vpmaddubsw: operands vector<24xi8> must be vector<16xi8>, vector<32xi8> or vector<64xi8>}}
  %r = x86vector.vpmaddubsw %x, %x : vector<24xi8> -> vector<12xi16>
  func.return
}

// -----

func.func @words_given_bytes(%x: vector<32xi8>) {
  // expected-error@+1 {{x86vector.vpmaddwd: operands vector<32xi8> must be vector<8xi16>, vector<16xi16> or vector<32xi16>}}
  %r = x86vector.vpmaddwd %x, %x : vector<32xi8> -> vector<16xi16>
  func.return
}

// -----

func.func @pairs_not_halved(%x: vector<32xi8>) {
  // expected-error@+1 {{x86vector.vpmaddubsw: result vector<32xi16> must be vector<16xi16> for operands vector<32xi8>}}
  %r = x86vector.vpmaddubsw %x, %x : vector<32xi8> -> vector<32xi16>
  func.return
}

// -----

func.func @sums_not_i32(%h: vector<16xi16>) {
  // expected-error@+1 {{x86vector.vpmaddwd: result vector<8xi16> must be vector<8xi32> for operands vector<16xi16>}}
  %r = x86vector.vpmaddwd %h, %h : vector<16xi16> -> vector<8xi16>
  func.return
}

// -----

func.func @operands_differ(%x: vector<32xi8>, %y: vector<16xi8>) {
  // expected-error@+1 {{operand 'rhs' at position 1 does not verify}}
  %r = "x86vector.vpmaddubsw"(%x, %y) : (vector<32xi8>, vector<16xi8>) -> vector<16xi16>
  func.return
}
