// Quantized TFLite tensors through lamina-opt (parser/tflite_quant.py): CONV_2D sums on the
// integers (parser/tflite_quant_accumulate.py): conv_integer of the int8 input and its zero
// point by the OIHW int8 filter, the int32 bias added in i32, the sum cast to f32 and
// requantized by the per-channel multiplier sx * sw / sy, RELU6 clamped in output steps,
// quantized at scale 1; LOGISTIC is its float meaning between DequantizeLinear and
// QuantizeLinear. The module round-trips.
// RUN: python %S/inputs/quantized_model.py %t.tflite
// RUN: lamina-opt %t.tflite | filecheck %s
// RUN: lamina-opt %t.tflite --print-op-generic | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @main(%x: tensor<1x4x4x2xi8>) -> tensor<1x4x4x2xi8>
// CHECK:      %[[XT:.*]] = graph.transpose %x {perm = array<i64: 0, 3, 1, 2>} : (tensor<1x4x4x2xi8>) -> tensor<1x2x4x4xi8>
// CHECK:      %[[W:.*]] = graph.constant dense_resource<conv.filter> : tensor<2x2x3x3xi8>
// CHECK:      %[[ZX:.*]] = graph.constant dense<-3> : tensor<i8>
// CHECK:      %[[ZW:.*]] = graph.constant dense<0> : tensor<2xi8>
// CHECK:      %[[SUM:.*]] = graph.conv_integer %[[XT]], %[[W]], %[[ZX]], %[[ZW]] {{.*}}group = 1 : i64{{.*}} : (tensor<1x2x4x4xi8>, tensor<2x2x3x3xi8>, tensor<i8>, tensor<2xi8>) -> tensor<1x2x4x4xi32>
// CHECK:      %[[NHWC:.*]] = graph.transpose %[[SUM]] {perm = array<i64: 0, 2, 3, 1>}
// CHECK:      %[[B:.*]] = graph.constant dense<[100, -100]> : tensor<2xi32>
// CHECK:      %[[BIASED:.*]] = graph.add %[[NHWC]], %[[B]] : (tensor<1x4x4x2xi32>, tensor<2xi32>) -> tensor<1x4x4x2xi32>
// CHECK:      %[[ACC:.*]] = graph.cast %[[BIASED]] {to = 1 : i64} : (tensor<1x4x4x2xi32>) -> tensor<1x4x4x2xf32>
// CHECK:      %[[M:.*]] = graph.constant dense<[2.125000e-02, 4.250000e-02]> : tensor<2xf32>
// CHECK:      %[[STEPS:.*]] = graph.mul %[[ACC]], %[[M]]
// CHECK:      %[[HIGH:.*]] = graph.constant dense<2.550000e+02> : tensor<f32>
// CHECK:      %[[CLAMPED:.*]] = graph.clip %[[STEPS]], %{{.*}}, %[[HIGH]]
// CHECK:      %[[Q:.*]] = graph.quantize_linear %[[CLAMPED]], %{{.*}}, %{{.*}} : (tensor<1x4x4x2xf32>, tensor<f32>, tensor<i8>) -> tensor<1x4x4x2xi8>
// CHECK:      %[[S:.*]] = graph.constant dense<0.0235294122> : tensor<f32>
// CHECK:      %[[REAL:.*]] = graph.dequantize_linear %[[Q]], %[[S]], %{{.*}}
// CHECK:      %[[Y:.*]] = graph.sigmoid %[[REAL]]
// CHECK:      %[[OUT:.*]] = graph.quantize_linear %[[Y]], %{{.*}}, %{{.*}} : (tensor<1x4x4x2xf32>, tensor<f32>, tensor<i8>) -> tensor<1x4x4x2xi8>
// CHECK:      func.return %[[OUT]] : tensor<1x4x4x2xi8>
