#pragma once
// One model graph as the graph neural network predictors read it: a node feature matrix, the
// data-flow edges between nodes, graph-level (static + hardware) features and the label.
// Built from a graph::Graph by graph_features.h; consumed by src/learn/gnn. Plain vectors, so code
// that builds samples does not depend on libtorch.
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace perfcast::learn {

struct GraphSample {
  int64_t num_nodes = 0;
  int64_t node_feature_dim = 0;
  std::vector<float> node_features;                 // num_nodes x node_feature_dim, row-major
  std::vector<std::pair<int32_t, int32_t>> edges;   // producer node index -> consumer node index
  std::vector<float> static_features;               // graph-level + hardware features
  double target = std::nan("");                     // label (e.g. latency_ms); NaN when unlabelled
  double prior = std::nan("");                      // roofline prediction of the same target, when known
  std::string group;                                // model family / architecture id, for held-out splits
  std::string device_id;                            // catalog id of the device the label was measured on
};

}  // namespace perfcast::learn
