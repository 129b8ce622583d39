// RUN: not lamina-opt %s -p 'convert-loop-to-llvm{device="x86-64-avx512"}' -t llvm 2>&1 | filecheck %s --check-prefix=NOVNNI
// RUN: not lamina-opt %s -p 'convert-loop-to-llvm{device="cortex-a76"}' -t llvm 2>&1 | filecheck %s --check-prefix=ARM

// x86vector ops name their op, line and device when the device cannot run them.
func.func @k(%acc: vector<16xi32>, %x: vector<64xi8>) -> vector<16xi32> {
  // NOVNNI: unsupported.mlir:7:3: error: not supported: 'x86vector.vpdpbusd' on device 'x86-64-avx512' (x86_64-unknown-linux-gnu): it needs an x86-64 device with +avx512vnni
  %r = x86vector.vpdpbusd %acc, %x, %x : vector<16xi32>, vector<64xi8>
  // ARM: unsupported.mlir:7:3: error: not supported: 'x86vector.vpdpbusd' on device 'cortex-a76' (aarch64-unknown-linux-gnu): it needs an x86-64 device with +avx512vnni
  func.return %r : vector<16xi32>
}
