#pragma once
#include <cstdint>
#include <vector>

#include "graph/graph.h"

namespace perfcast::graph {

struct ActivationMemory {
  int64_t peak_bytes = 0;   // most bytes of activations alive at once during one inference
  NodeId peak_node = kNoNode;  // the node running when the peak is reached
  int64_t total_bytes = 0;  // every activation buffer summed, as if nothing were freed
};

// Tensor liveness over `order`: a buffer lives from the node that writes it until its last
// reader has run (graph inputs from the start, graph outputs to the end). View operators
// (Reshape, Squeeze, ...) alias their input's buffer instead of allocating one. Weights and
// constants are not activations.
ActivationMemory activation_memory(const Graph& graph, const std::vector<NodeId>& order);

}  // namespace perfcast::graph
