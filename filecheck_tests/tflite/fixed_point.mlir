// int8 operators LiteRT computes in fixed point import as the same exact integer graph ops
// (parser/tflite_quant_integer.py): ADD with XNNPACK's multipliers (2^20 * 0.05 / 0.1,
// 2^20 * 0.025 / 0.1; shift 21) and its rounding shift as a division of a lifted sum;
// QUANTIZE to another int8 scale with the 8-bit multiplier 256 * 0.1 / 0.04 = 640;
// RESIZE_BILINEAR 2 -> 3 as gathers of the neighbours and 11-bit weights, rounded at 2^22.
// The module round-trips.
// RUN: python %S/inputs/fixed_point_model.py %t.tflite
// RUN: lamina-opt %t.tflite | filecheck %s
// RUN: lamina-opt %t.tflite --print-op-generic | lamina-opt | filecheck %s

// CHECK-LABEL: func.func @main(%a: tensor<1x2x2x1xi8>, %b: tensor<1x2x2x1xi8>) -> tensor<1x3x3x1xi8>
// CHECK:      %[[A:.*]] = graph.cast %a {to = 7 : i64} : (tensor<1x2x2x1xi8>) -> tensor<1x2x2x1xi64>
// CHECK:      graph.constant dense<1048576> : tensor<i64>
// CHECK:      graph.constant dense<524288> : tensor<i64>
// CHECK:      %[[SHIFT:.*]] = graph.constant dense<2097152> : tensor<i64>
// CHECK:      graph.div %{{.*}}, %[[SHIFT]]
// CHECK:      graph.clip
// CHECK:      %[[SUM:.*]] = graph.cast %{{.*}} {to = 3 : i64} : (tensor<1x2x2x1xi64>) -> tensor<1x2x2x1xi8>
// CHECK:      graph.cast %[[SUM]] {to = 6 : i64}
// CHECK:      graph.constant dense<640> : tensor<i32>
// CHECK:      %[[EIGHT:.*]] = graph.constant dense<256> : tensor<i32>
// CHECK:      graph.div %{{.*}}, %[[EIGHT]]
// CHECK:      %[[Q:.*]] = graph.cast %{{.*}} {to = 3 : i64} : (tensor<1x2x2x1xi32>) -> tensor<1x2x2x1xi8>
// CHECK:      graph.gather %{{.*}}, %{{.*}} {axis = 2 : i64} : (tensor<1x2x2x1xi32>, tensor<3xi64>) -> tensor<1x2x3x1xi32>
// CHECK:      graph.constant dense<{{\[\[\[\[}}0], [1024], [0]]]]> : tensor<1x1x3x1xi32>
// CHECK:      graph.gather %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<1x2x3x1xi32>, tensor<3xi64>) -> tensor<1x3x3x1xi32>
// CHECK:      %[[UNIT:.*]] = graph.constant dense<4194304> : tensor<i32>
// CHECK:      graph.div %{{.*}}, %[[UNIT]]
// CHECK:      %[[Y:.*]] = graph.cast %{{.*}} {to = 3 : i64} : (tensor<1x3x3x1xi32>) -> tensor<1x3x3x1xi8>
// CHECK:      func.return %[[Y]] : tensor<1x3x3x1xi8>
