// Manual placement: per op type, per node name (a name wins over its type), and a DSP op
// that the cost model alone would never choose (f32 runs on the DSP's scalar core).
// RUN: lamina-opt %s -p 'graph-partition{soc=host force="Relu:gpu"}' | filecheck %s --check-prefix=TYPE
// RUN: lamina-opt %s -p 'graph-partition{soc=host force="Relu:gpu","relu2:cpu"}' | filecheck %s --check-prefix=NAME
// RUN: lamina-opt %s -p 'graph-partition{soc=phone force="tanh:dsp"}' | filecheck %s --check-prefix=DSP
// RUN: lamina-opt %s -p 'graph-partition{soc=host force="Relu:gpu" dump="%t.dot"}' && filecheck %s --check-prefix=DOT < %t.dot

// TYPE-LABEL: func.func @chain
// TYPE-NEXT: %[[XG:.*]] = part.transfer %{{.*}} from "cpu" to "gpu"
// TYPE-NEXT: %[[G:.*]] = part.segment "gpu"(%[[XG]])
// TYPE-NEXT: ^{{.*}}(%[[A:.*]]: tensor<64xf32>):
// TYPE-NEXT:   %[[R1:.*]] = graph.relu %[[A]]
// TYPE-NEXT:   %[[R2:.*]] = graph.relu %[[R1]]
// TYPE-NEXT:   part.yield %[[R2]]
// TYPE: part.transfer %[[G]] from "gpu" to "cpu"
// TYPE-NEXT: part.segment "cpu"
// TYPE-NEXT: ^{{.*}}:
// TYPE-NEXT: graph.tanh

// NAME-LABEL: func.func @chain
// NAME: part.segment "gpu"
// NAME-NEXT: ^{{.*}}(%[[A:.*]]: tensor<64xf32>):
// NAME-NEXT:   %[[R1:.*]] = graph.relu %[[A]]
// NAME-NEXT:   part.yield %[[R1]]
// NAME: part.transfer %{{.*}} from "gpu" to "cpu"
// NAME-NEXT: part.segment "cpu"
// NAME-NEXT: ^{{.*}}:
// NAME-NEXT:   graph.relu
// NAME-NEXT:   graph.tanh

// DSP-LABEL: func.func @chain
// DSP: part.segment "cpu"
// DSP: part.transfer %{{.*}} from "cpu" to "dsp"
// DSP-NEXT: part.segment "dsp"
// DSP-NEXT: ^{{.*}}:
// DSP-NEXT:   graph.tanh
// DSP-NEXT:   part.yield
// DSP: part.transfer %{{.*}} from "dsp" to "cpu"
// DSP-NEXT: func.return

// DOT: digraph partition {
// DOT: subgraph cluster_0_0 { label="gpu #0
// DOT-NEXT: n0_0 [label="relu1 (Relu)", fillcolor=palegreen];
// DOT-NEXT: n0_1 [label="relu2 (Relu)", fillcolor=palegreen];
// DOT: subgraph cluster_0_1 { label="cpu #1
// DOT-NEXT: n0_2 [label="tanh (Tanh)", fillcolor=lightblue];
// DOT: n0_0 -> n0_1;
// DOT: n0_1 -> n0_2 [label="256 B", color=red];
func.func @chain(%x: tensor<64xf32>) -> tensor<64xf32> {
  %a = graph.relu %x : tensor<64xf32> loc("relu1")
  %b = graph.relu %a : tensor<64xf32> loc("relu2")
  %c = graph.tanh %b : tensor<64xf32> loc("tanh")
  func.return %c : tensor<64xf32>
}
