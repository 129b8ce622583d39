// RUN: not lamina-opt %s -p 'convert-loop-to-llvm{device="%S/inputs/x86-64-v2.toml"}' -t llvm 2>&1 | filecheck %s --check-prefix=NOAVX2
// RUN: not lamina-opt %s -p 'convert-loop-to-llvm{device="x86-64-avx2"}' -t llvm 2>&1 | filecheck %s --check-prefix=NOBW

// The pair multiply-adds need AVX2, their 512-bit forms AVX-512BW.
func.func @k(%h: vector<16xi16>, %x: vector<64xi8>) -> vector<32xi16> {
  // NOAVX2: unsupported-pair.mlir:7:3: error: not supported: 'x86vector.vpmaddwd' on device 'x86-64-v2' (x86_64-unknown-linux-gnu): it needs an x86-64 device with +avx2
  %s = x86vector.vpmaddwd %h, %h : vector<16xi16> -> vector<8xi32>
  // NOBW: unsupported-pair.mlir:9:3: error: not supported: 'x86vector.vpmaddubsw' on device 'x86-64-avx2' (x86_64-unknown-linux-gnu): it needs an x86-64 device with +avx512bw
  %p = x86vector.vpmaddubsw %x, %x : vector<64xi8> -> vector<32xi16>
  func.return %p : vector<32xi16>
}
