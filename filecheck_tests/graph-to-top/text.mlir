// RUN: lamina-opt %s -p convert-graph-to-top | filecheck %s
// RUN: lamina-opt %s -p convert-graph-to-top | lamina-opt --print-op-generic | lamina-opt | filecheck %s

// tf_idf_vectorizer, bigrams [2, 3] and [5, 6] without skips: item k of each start is read
// from rows sliced at k; one generic counts matches per (row, n-gram) over the 5 starts,
// then a 0/1 matrix places the counts on the output slots
// CHECK-LABEL: func.func @tfidf
// CHECK-SAME: (%[[X:.*]]: tensor<6xi64>)
// CHECK: %[[ROWS:.*]] = top.reshape %[[X]] : tensor<6xi64> -> tensor<1x6xi64>
// CHECK: %[[POOL:.*]] = graph.constant dense<{{\[}}[2, 3], [5, 6]]> : tensor<2x2xi64>
// CHECK: %[[FIRST:.*]] = top.slice %[[ROWS]] offsets [0, 0] strides [1, 1] : tensor<1x6xi64> -> tensor<1x5xi64>
// CHECK: %[[SECOND:.*]] = top.slice %[[ROWS]] offsets [0, 1] strides [1, 1] : tensor<1x6xi64> -> tensor<1x5xi64>
// CHECK: %[[COUNTS:.*]] = top.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d1, 0)>, affine_map<(d0, d1, d2) -> (d1, 1)>, affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[POOL]], %[[POOL]], %[[FIRST]], %[[SECOND]] : tensor<2x2xi64>, tensor<2x2xi64>, tensor<1x5xi64>, tensor<1x5xi64>)
// CHECK: arith.cmpi eq
// CHECK: arith.andi
// CHECK: %[[SLOTS:.*]] = graph.constant dense<{{.*}}> : tensor<2x3xf32>
// CHECK: top.generic {{.*}} ins(%[[COUNTS]], %[[SLOTS]] : tensor<1x2xf32>, tensor<2x3xf32>)
func.func @tfidf(%x: tensor<6xi64>) -> tensor<3xf32> {
  %y = graph.tf_idf_vectorizer %x {max_gram_length = 2 : i64, max_skip_count = 0 : i64, min_gram_length = 2 : i64, mode = "TF", ngram_counts = array<i64: 0, 0>, ngram_indexes = array<i64: 0, 2>, pool_int64s = array<i64: 2, 3, 5, 6>} : (tensor<6xi64>) -> tensor<3xf32>
  func.return %y : tensor<3xf32>
}
