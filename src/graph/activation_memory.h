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

enum class Liveness {
  // A buffer is freed once its last reader has run (a graph runtime's memory planner).
  kLastReader,
  // Eager PyTorch: a module's forward arguments stay referenced by the Python frames on the call
  // stack until the module returns, so a tensor made outside module call S and read inside S lives
  // until the last node of S; the graph inputs are held by the caller until the end. Needs scoped
  // node names (module_scope.h) and `order` in the exporter's trace order.
  kEagerModuleScope,
};

// Tensor liveness over `order`: a buffer lives from the node that writes it until its last
// reader has run (graph inputs from the start, graph outputs to the end), extended as `liveness`
// says. View operators (Reshape, Squeeze, ...) alias their input's buffer instead of allocating
// one. Weights and constants are not activations.
ActivationMemory activation_memory(const Graph& graph, const std::vector<NodeId>& order,
                                   Liveness liveness = Liveness::kLastReader);

// The liveness of one inference in the framework the graph was exported from: kEagerModuleScope
// with its trace order when the node names carry PyTorch module scopes, else kLastReader over the
// topological order.
struct InferenceLiveness {
  Liveness liveness = Liveness::kLastReader;
  std::vector<NodeId> order;
};
InferenceLiveness inference_liveness(const Graph& graph);

const char* liveness_name(Liveness liveness);

}  // namespace perfcast::graph
