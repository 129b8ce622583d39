// RUN: lamina-opt %s --split-input-file -p convert-graph-to-top | filecheck %s
// RUN: lamina-opt %s --split-input-file -p convert-graph-to-top | lamina-opt | filecheck %s

// Dynamic dims: the size `n` (a dim_param shared by both inputs) is read with top.dim of
// the first input; the elementwise init and the reshape take it as their size operand; the
// Shape -> Gather -> Concat target of the reshape is folded into that size (and its ops
// erased); the shape function writes the output's `?` and checks the inputs agree on `n`.
// CHECK-LABEL: func.func @rows
// CHECK:         %[[N:.*]] = top.dim %x, 0 : tensor<?x8xf32>
// CHECK-NEXT:    %[[INIT:.*]] = top.fill %{{.*}}(%[[N]]) : f32 -> tensor<?x8xf32>
// CHECK-NEXT:    %[[SUM:.*]] = top.generic {{.*}} ins(%x, %y : tensor<?x8xf32>, tensor<?x8xf32>) outs(%[[INIT]] : tensor<?x8xf32>)
// CHECK:         %[[N2:.*]] = top.dim %x, 0 : tensor<?x8xf32>
// CHECK-NEXT:    %[[R:.*]] = top.reshape %[[SUM]](%[[N2]]) : tensor<?x8xf32> -> tensor<?x2x4xf32>
// CHECK-NEXT:    func.return %[[R]] : tensor<?x2x4xf32>
// CHECK-LABEL: func.func @rows_shapes(%in_dims: memref<2xindex>, %out_dims: memref<1xindex>) -> i32
// CHECK-SAME:    lamina.shapes_of = "rows"
// CHECK-SAME:    lamina.checks = ["input 'y' dim 0 is not the size 'n' the inputs before it have"]
// CHECK:         %[[IN0:.*]] = loop.load %in_dims[%{{.*}}] : memref<2xindex>
// CHECK:         loop.store %[[IN0]], %out_dims[%{{.*}}] : memref<1xindex>
// CHECK:         %[[IN1:.*]] = loop.load %in_dims[%{{.*}}] : memref<2xindex>
// CHECK-NEXT:    %[[DIFFER:.*]] = arith.cmpi ne, %[[IN0]], %[[IN1]] : index
// CHECK:         %[[STATUS:.*]] = arith.select %[[DIFFER]], %{{.*}}, %{{.*}} : i32
// CHECK-NEXT:    func.return %[[STATUS]] : i32
func.func @rows(%x: tensor<?x8xf32>, %y: tensor<?x8xf32>) -> tensor<?x2x4xf32> attributes {lamina.dim_params = [["n", ""], ["n", ""]]} {
  %s = graph.add %x, %y : (tensor<?x8xf32>, tensor<?x8xf32>) -> tensor<?x8xf32>
  %shape = graph.shape %s : (tensor<?x8xf32>) -> tensor<2xi64>
  %i0 = graph.constant dense<[0]> : tensor<1xi64>
  %n = graph.gather %shape, %i0 : (tensor<2xi64>, tensor<1xi64>) -> tensor<1xi64>
  %rest = graph.constant dense<[2, 4]> : tensor<2xi64>
  %target = graph.concat %n, %rest {axis = 0 : i64} : (tensor<1xi64>, tensor<2xi64>) -> tensor<3xi64>
  %r = graph.reshape %s, %target : (tensor<?x8xf32>, tensor<3xi64>) -> tensor<?x2x4xf32>
  func.return %r : tensor<?x2x4xf32>
}

// -----

// A Slice whose end is the input's length (positions of a table) and a nearest Resize by
// 2 of a dynamic image: copies through affine maps, sizes from symbolic arithmetic
// (min(64, n) rows; 2 * h).
// CHECK-LABEL: func.func @slice_resize
// CHECK:         %[[N:.*]] = top.dim %ids, 1 : tensor<1x?xi64>
// CHECK:         arith.minsi %{{.*}}, %[[N]] : index
// CHECK:         top.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>]
// CHECK-SAME:      ins(%table : tensor<64x8xf32>) outs(%{{.*}} : tensor<?x8xf32>)
// CHECK:         %[[H:.*]] = top.dim %image, 2 : tensor<1x3x?x?xf32>
// CHECK:         arith.muli %{{.*}}, %[[H]] : index
// CHECK:         top.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, (d2 floordiv 2), (d3 floordiv 2))>
func.func @slice_resize(%ids: tensor<1x?xi64>, %image: tensor<1x3x?x?xf32>) -> (tensor<?x8xf32>, tensor<1x3x?x?xf32>) attributes {lamina.dim_params = [["", "seq"], ["", "", "h", "w"]]} {
  %table = graph.constant dense<1.0> : tensor<64x8xf32>
  %shape = graph.shape %ids : (tensor<1x?xi64>) -> tensor<2xi64>
  %one = graph.constant dense<[1]> : tensor<1xi64>
  %length = graph.gather %shape, %one : (tensor<2xi64>, tensor<1xi64>) -> tensor<1xi64>
  %zero = graph.constant dense<[0]> : tensor<1xi64>
  %none = graph.none : none
  %rows = graph.slice %table, %zero, %length, %zero, %none : (tensor<64x8xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<?x8xf32>
  %scales = graph.constant dense<[1.0, 1.0, 2.0, 2.0]> : tensor<4xf32>
  %up = graph.resize %image, %none, %scales, %none {coordinate_transformation_mode = "asymmetric", mode = "nearest", nearest_mode = "floor"} : (tensor<1x3x?x?xf32>, none, tensor<4xf32>, none) -> tensor<1x3x?x?xf32>
  func.return %rows, %up : tensor<?x8xf32>, tensor<1x3x?x?xf32>
}
