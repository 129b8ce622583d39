// The TFLite importer through lamina-opt: NHWC convolutions and pools stay NHWC, the
// filters re-laid to KH x KW x C x F, fused activations become their own ops; the imported
// module round-trips; a bad file is one diagnostic.
// RUN: python %S/inputs/seed_model.py %t.tflite
// RUN: lamina-opt %t.tflite | filecheck %s
// RUN: lamina-opt %t.tflite | lamina-opt | filecheck %s
// RUN: lamina-opt %t.tflite --print-op-generic | lamina-opt | filecheck %s
// RUN: python %S/inputs/seed_model.py %t.short.tflite --truncate 100
// RUN: not lamina-opt %t.short.tflite 2>&1 | filecheck %s --check-prefix=BAD

// CHECK-LABEL: func.func @main(%x: tensor<1x8x8x2xf32>) -> (tensor<1x10xf32>, tensor<1x10xf32>)
// CHECK:      %[[W:.*]] = graph.constant dense_resource<{{.*}}> : tensor<3x3x2x4xf32>
// CHECK:      %[[CONV:.*]] = graph.nhwc_conv %x, %[[W]], %{{.*}} {{.*}}group = 1 : i64{{.*}} : (tensor<1x8x8x2xf32>, tensor<3x3x2x4xf32>, tensor<4xf32>) -> tensor<1x8x8x4xf32>
// CHECK:      graph.clip %[[CONV]]
// CHECK:      graph.nhwc_conv {{.*}}group = 4 : i64{{.*}} -> tensor<1x8x8x4xf32>
// CHECK:      graph.nhwc_max_pool {{.*}} -> tensor<1x4x4x4xf32>
// CHECK:      graph.add
// CHECK:      graph.relu
// CHECK:      %[[FLAT:.*]] = graph.reshape {{.*}} -> tensor<1x64xf32>
// CHECK:      %[[LOGITS:.*]] = graph.gemm %[[FLAT]], {{.*}}transB = 1 : i64
// CHECK:      %[[PROBS:.*]] = graph.softmax %[[LOGITS]] {axis = -1 : i64}
// CHECK:      func.return %[[LOGITS]], %[[PROBS]]

// BAD: short.tflite: error: malformed flatbuffer
