// Quantized TFLite tensors through lamina-opt (parser/tflite_quant.py): CONV_2D computes in
// levels (x - zx at scale 1, integer weights and bias, the per-channel multiplier
// sx * sw / sy, RELU6 clamped in output steps, quantized at scale 1); LOGISTIC is its float
// meaning between DequantizeLinear and QuantizeLinear. The module round-trips.
// RUN: python %S/inputs/quantized_model.py %t.tflite
// RUN: lamina-opt %t.tflite | filecheck %s
// RUN: lamina-opt %t.tflite --print-op-generic | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @main(%x: tensor<1x4x4x2xi8>) -> tensor<1x4x4x2xi8>
// CHECK:      %[[ONE:.*]] = graph.constant dense<1.000000e+00> : tensor<f32>
// CHECK:      %[[ZX:.*]] = graph.constant dense<-3> : tensor<i8>
// CHECK:      %[[LEVELS:.*]] = graph.dequantize_linear %x, %[[ONE]], %[[ZX]] : (tensor<1x4x4x2xi8>, tensor<f32>, tensor<i8>) -> tensor<1x4x4x2xf32>
// CHECK:      %[[B:.*]] = graph.constant dense<[1.000000e+02, -1.000000e+02]> : tensor<2xf32>
// CHECK:      %[[ACC:.*]] = graph.nhwc_conv %[[LEVELS]], %{{.*}}, %[[B]]
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
