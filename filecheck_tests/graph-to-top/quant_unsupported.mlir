// RUN: lamina-opt %s --split-input-file --verify-diagnostics -p convert-graph-to-top

// DynamicQuantizeLinear is defined on f32 to ui8 only (the graph op admits any float)
func.func @dynamic_quantization_of_f16(%x: tensor<2x3xf16>) -> tensor<2x3xui8> {
  // expected-error@+1 {{not supported: 'graph.dynamic_quantize_linear': a dynamic quantization of tensor<2x3xf16>}}
  %y, %s, %z = graph.dynamic_quantize_linear %x : (tensor<2x3xf16>) -> (tensor<2x3xui8>, tensor<f16>, tensor<ui8>)
  func.return %y : tensor<2x3xui8>
}
