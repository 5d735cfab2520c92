#pragma once
#include <vector>

#include "graph/graph.h"

namespace perfcast::graph {

// Broadcast two shapes (numpy rules); nullopt when they are incompatible.
std::optional<std::vector<int64_t>> broadcast_shapes(const std::vector<int64_t>& a, const std::vector<int64_t>& b);

// perfcast's own shape rules for what ONNX shape inference left unknown (elementwise ops after
// an op ONNX has no schema for, for example). Tensors it cannot resolve stay unknown and the
// cost model reports their nodes as incomplete.
void infer_missing_shapes(Graph& graph, const std::vector<NodeId>& topological_order);

}  // namespace perfcast::graph
