// The same graph on two SoCs: on this machine (soc-host: PoCL is the same CPU behind a
// launch cost) everything stays in one CPU segment; on the phone (soc-phone: a GPU with
// 7x the CPU's f32 throughput, 30 us transfers) the 4.7 MFLOP conv moves to the GPU and
// the cheap 3-channel conv and the add stay on the CPU.
// RUN: lamina-opt %s -p 'graph-partition{soc=host}' | filecheck %s --check-prefix=HOST
// RUN: lamina-opt %s -p 'graph-partition{soc=phone}' | filecheck %s --check-prefix=PHONE
// RUN: lamina-opt %s -p 'graph-partition{soc=phone}' | lamina-opt | filecheck %s --check-prefix=PHONE

// HOST-LABEL: func.func @cnn
// HOST-SAME: (%[[X:.*]]: tensor<1x3x32x32xf32>)
// HOST-NEXT: %[[S:.*]] = part.segment "cpu"(%[[X]])
// HOST: graph.conv
// HOST: graph.relu
// HOST: graph.conv
// HOST: graph.add
// HOST: part.yield
// HOST-NEXT: }
// HOST-NEXT: func.return %[[S]]
// HOST-NOT: part.transfer

// PHONE-LABEL: func.func @cnn
// PHONE-SAME: (%[[X:.*]]: tensor<1x3x32x32xf32>)
// PHONE-NEXT: %[[R:.*]] = part.segment "cpu"(%[[X]])
// PHONE:   graph.conv
// PHONE:   graph.relu
// PHONE:   part.yield
// PHONE: %[[RG:.*]] = part.transfer %[[R]] from "cpu" to "gpu" : tensor<1x16x32x32xf32>
// PHONE-NEXT: %[[C:.*]] = part.segment "gpu"(%[[RG]])
// PHONE:   graph.constant dense<2.500000e-01> : tensor<16x16x3x3xf32>
// PHONE:   graph.conv
// PHONE-NOT: graph.add
// PHONE:   part.yield
// PHONE: %[[CC:.*]] = part.transfer %[[C]] from "gpu" to "cpu" : tensor<1x16x32x32xf32>
// PHONE-NEXT: %[[S:.*]] = part.segment "cpu"(%[[CC]], %[[R]])
// PHONE:   graph.add
// PHONE: func.return %[[S]]
func.func @cnn(%x: tensor<1x3x32x32xf32>) -> tensor<1x16x32x32xf32> {
  %w = graph.constant dense<0.5> : tensor<16x3x3x3xf32>
  %n = graph.none : none
  %c = graph.conv %x, %w, %n {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x3x32x32xf32>, tensor<16x3x3x3xf32>, none) -> tensor<1x16x32x32xf32> loc("conv1")
  %r = graph.relu %c : tensor<1x16x32x32xf32> loc("relu1")
  %w2 = graph.constant dense<0.25> : tensor<16x16x3x3xf32>
  %c2 = graph.conv %r, %w2, %n {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x16x32x32xf32>, tensor<16x16x3x3xf32>, none) -> tensor<1x16x32x32xf32> loc("conv2")
  %s = graph.add %c2, %r : tensor<1x16x32x32xf32> loc("add")
  func.return %s : tensor<1x16x32x32xf32>
}
