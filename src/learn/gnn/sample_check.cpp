#include "learn/gnn/sample_check.h"

#include <cmath>

#include <fmt/format.h>

#include "common/error.h"

namespace perfcast::learn::gnn {

void check_sample(const GraphSample& s, int64_t node_dim, int64_t static_dim, bool need_target) {
  const std::string who = s.group.empty() ? std::string("graph sample") : fmt::format("graph sample '{}'", s.group);
  if (s.num_nodes <= 0) throw Error(who + " has no nodes; a graph predictor needs at least one operator");
  if (s.node_feature_dim <= 0) throw Error(who + " has node_feature_dim 0");
  if (static_cast<int64_t>(s.node_features.size()) != s.num_nodes * s.node_feature_dim)
    throw Error(fmt::format("{}: node feature matrix holds {} values, expected num_nodes x dim = {} x {}", who,
                            s.node_features.size(), s.num_nodes, s.node_feature_dim));
  if (node_dim >= 0 && s.node_feature_dim != node_dim)
    throw Error(fmt::format("{}: {} node features per node, the model expects {} (built by another feature version?)",
                            who, s.node_feature_dim, node_dim));
  if (static_dim >= 0 && static_cast<int64_t>(s.static_features.size()) != static_dim)
    throw Error(fmt::format("{}: {} static features, the model expects {}", who, s.static_features.size(),
                            static_dim));
  for (const auto& [a, b] : s.edges) {
    if (a < 0 || b < 0 || a >= s.num_nodes || b >= s.num_nodes)
      throw Error(fmt::format("{}: edge {} -> {} is outside the graph's {} nodes", who, a, b, s.num_nodes));
  }
  for (float v : s.node_features)
    if (!std::isfinite(v)) throw Error(who + ": a node feature is NaN or infinite");
  for (float v : s.static_features)
    if (!std::isfinite(v)) throw Error(who + ": a static feature is NaN or infinite");
  if (need_target && !(std::isfinite(s.target) && s.target > 0))
    throw Error(fmt::format("{}: target {} is not a positive number; training needs a measured value", who, s.target));
}

}  // namespace perfcast::learn::gnn
