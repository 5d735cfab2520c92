#pragma once
// Validation of a GraphSample before it reaches libtorch, so bad input is a perfcast::Error that
// says what is wrong instead of a c10::Error (or a crash) deep inside a kernel.
#include <cstdint>

#include "learn/graph_sample.h"

namespace perfcast::learn::gnn {

// Throws perfcast::Error when the graph is empty, the node matrix does not hold num_nodes x
// node_feature_dim values, an edge names a node outside [0, num_nodes), a feature is not finite,
// or the dimensions differ from the expected ones (a negative expected dimension is not checked).
// With `need_target`, the target must be finite and > 0.
void check_sample(const GraphSample& sample, int64_t expected_node_dim, int64_t expected_static_dim,
                  bool need_target);

}  // namespace perfcast::learn::gnn
