#include "graph/module_scope.h"

namespace perfcast::graph {

bool is_scoped_name(std::string_view node_name) { return !node_name.empty() && node_name.front() == '/'; }

std::vector<std::string_view> enclosing_scopes(std::string_view node_name) {
  std::vector<std::string_view> scopes;
  if (!is_scoped_name(node_name)) return scopes;
  // Every '/' after the first closes a scope; the text after the last one is the operator.
  for (size_t slash = node_name.find('/', 1); slash != std::string_view::npos; slash = node_name.find('/', slash + 1))
    scopes.push_back(node_name.substr(0, slash + 1));
  return scopes;
}

bool names_carry_module_scopes(const Graph& graph) {
  bool any_reader = false;
  for (const Node& node : graph.nodes) {
    bool reads_activation = false;
    for (TensorId in : node.inputs) {
      if (in == kNoTensor) continue;
      const TensorKind kind = graph.tensor(in).kind;
      if (kind == TensorKind::kInput || kind == TensorKind::kActivation) reads_activation = true;
    }
    // Constants and copies of stored tensors (exporters leave some unnamed) run on no activation.
    if (!reads_activation) continue;
    if (!is_scoped_name(node.name)) return false;
    any_reader = true;
  }
  return any_reader;
}

std::vector<NodeId> execution_order(const Graph& graph) {
  std::vector<bool> written(graph.tensors.size(), false);
  for (const Node& node : graph.nodes)
    for (TensorId out : node.outputs)
      if (out != kNoTensor) written[static_cast<size_t>(out)] = true;
  // File order is topological when no node reads an activation a later node writes.
  std::vector<bool> available(graph.tensors.size(), false);
  for (const Node& node : graph.nodes) {
    for (TensorId in : node.inputs)
      if (in != kNoTensor && written[static_cast<size_t>(in)] && !available[static_cast<size_t>(in)])
        return graph.topological_order();
    for (TensorId out : node.outputs)
      if (out != kNoTensor) available[static_cast<size_t>(out)] = true;
  }
  std::vector<NodeId> order(graph.nodes.size());
  for (size_t n = 0; n < order.size(); ++n) order[n] = static_cast<NodeId>(n);
  return order;
}

}  // namespace perfcast::graph
