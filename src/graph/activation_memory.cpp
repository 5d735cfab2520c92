#include "graph/activation_memory.h"

#include <string>
#include <unordered_map>

#include "graph/module_scope.h"
#include "graph/op_cost.h"

namespace perfcast::graph {
namespace {

bool is_activation(const Tensor& t) {
  return t.kind == TensorKind::kInput || t.kind == TensorKind::kActivation;
}

// Position of the last node of each module call, by scope string ("/layer1/layer1.0/").
std::unordered_map<std::string_view, size_t> scope_ends(const Graph& graph, const std::vector<NodeId>& order) {
  std::unordered_map<std::string_view, size_t> ends;
  for (size_t i = 0; i < order.size(); ++i)
    for (std::string_view scope : enclosing_scopes(graph.node(order[i]).name)) ends[scope] = i;
  return ends;
}

// The outermost module call around `consumer` that `producer` ran outside of: the call that took
// the tensor as an argument. Empty when both ran in the same scopes.
std::string_view outermost_call_receiving(const Node& producer, const Node& consumer) {
  for (std::string_view scope : enclosing_scopes(consumer.name))
    if (std::string_view(producer.name).substr(0, scope.size()) != scope) return scope;
  return {};
}

}  // namespace

const char* liveness_name(Liveness liveness) {
  return liveness == Liveness::kEagerModuleScope ? "eager-module-scope" : "last-reader";
}

InferenceLiveness inference_liveness(const Graph& graph) {
  if (names_carry_module_scopes(graph)) return {Liveness::kEagerModuleScope, execution_order(graph)};
  return {Liveness::kLastReader, graph.topological_order()};
}

ActivationMemory activation_memory(const Graph& graph, const std::vector<NodeId>& order, Liveness liveness) {
  const size_t tensor_count = graph.tensors.size();
  std::vector<size_t> position(graph.nodes.size(), 0);
  for (size_t i = 0; i < order.size(); ++i) position[static_cast<size_t>(order[i])] = i;

  // Buffer root of each tensor: itself, or the root of the input a view op re-labels.
  std::vector<TensorId> root(tensor_count);
  for (size_t t = 0; t < tensor_count; ++t) root[t] = static_cast<TensorId>(t);
  for (NodeId id : order) {
    const Node& node = graph.node(id);
    if (!is_view_op(node.op_type) || node.inputs.empty() || node.inputs[0] == kNoTensor) continue;
    if (!is_activation(graph.tensor(node.inputs[0]))) continue;
    for (TensorId out : node.outputs)
      if (out != kNoTensor) root[static_cast<size_t>(out)] = root[static_cast<size_t>(node.inputs[0])];
  }

  const bool eager = liveness == Liveness::kEagerModuleScope;
  const auto ends = eager ? scope_ends(graph, order) : std::unordered_map<std::string_view, size_t>{};

  // Last step at which each root buffer is needed.
  const size_t end_of_graph = order.size();
  std::vector<size_t> last_use(tensor_count, 0);
  for (size_t t = 0; t < tensor_count; ++t) {
    const Tensor& tensor = graph.tensors[t];
    if (!is_activation(tensor)) continue;
    const auto r = static_cast<size_t>(root[t]);
    size_t last = tensor.producer == kNoNode ? 0 : position[static_cast<size_t>(tensor.producer)];
    for (NodeId consumer : tensor.consumers) {
      last = std::max(last, position[static_cast<size_t>(consumer)]);
      if (!eager || tensor.producer == kNoNode) continue;
      const std::string_view call = outermost_call_receiving(graph.node(tensor.producer), graph.node(consumer));
      if (!call.empty()) last = std::max(last, ends.at(call));
    }
    last_use[r] = std::max(last_use[r], last);
  }
  for (TensorId out : graph.outputs) last_use[static_cast<size_t>(root[static_cast<size_t>(out)])] = end_of_graph;
  if (eager)
    for (TensorId in : graph.inputs) last_use[static_cast<size_t>(root[static_cast<size_t>(in)])] = end_of_graph;

  std::vector<std::vector<TensorId>> frees_after(order.size() + 1);
  ActivationMemory result;
  int64_t live_bytes = 0;
  auto allocate = [&](TensorId t) {
    const Tensor& tensor = graph.tensor(t);
    if (!is_activation(tensor) || root[static_cast<size_t>(t)] != t) return;
    const int64_t bytes = std::max<int64_t>(tensor.size_bytes(), 0);
    live_bytes += bytes;
    result.total_bytes += bytes;
    frees_after[last_use[static_cast<size_t>(t)]].push_back(t);
  };
  auto release = [&](size_t step) {
    for (TensorId t : frees_after[step]) live_bytes -= std::max<int64_t>(graph.tensor(t).size_bytes(), 0);
  };

  for (TensorId in : graph.inputs) allocate(in);
  result.peak_bytes = live_bytes;
  for (size_t step = 0; step < order.size(); ++step) {
    for (TensorId out : graph.node(order[step]).outputs)
      if (out != kNoTensor) allocate(out);
    if (live_bytes > result.peak_bytes) {
      result.peak_bytes = live_bytes;
      result.peak_node = order[step];
    }
    release(step);
  }
  return result;
}

}  // namespace perfcast::graph
