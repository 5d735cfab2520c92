#include "graph/graph_summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "graph/activation_memory.h"

namespace perfcast::graph {

GraphSummary summarize(const Graph& graph) {
  GraphSummary s;
  s.nodes = static_cast<int64_t>(graph.nodes.size());
  s.edges = static_cast<int64_t>(graph.edges().size());
  for (TensorId in : graph.inputs) {
    const Tensor& t = graph.tensor(in);
    s.inputs.push_back({t.name, t.shape, t.dtype});
  }

  std::map<std::string, OpTypeSummary> by_type;
  std::unordered_set<TensorId> counted_params;  // a shared weight counts once, at its first reader
  s.node_costs.reserve(graph.nodes.size());
  for (const Node& node : graph.nodes) {
    OpCost cost = cost_node(graph, node);
    const std::string type = qualified_op_type(node);
    if (cost.status == CostStatus::kUnknownOp) {
      ++s.unknown_ops[type];
    } else if (cost.status == CostStatus::kMissingShape) {
      s.incomplete_nodes.push_back(fmt::format("{} ({}): {}", node.name, type, cost.reason));
    }
    OpTypeSummary& row = by_type[type];
    row.op_type = type;
    ++row.count;
    row.macs += cost.macs;
    row.flops += cost.flops;
    row.bytes_read += cost.bytes_read;
    row.bytes_written += cost.bytes_written;
    // An Identity of a weight stands for a distinct parameter (see mark_weight_roles); the
    // parameter is its output, counted at the operator that reads it.
    for (TensorId in : node.op_type == "Identity" ? std::vector<TensorId>{} : node.inputs) {
      if (in == kNoTensor) continue;
      const Tensor& t = graph.tensor(in);
      if (t.kind != TensorKind::kParameter && t.kind != TensorKind::kBuffer) continue;
      if (!counted_params.insert(in).second) continue;
      (t.kind == TensorKind::kParameter ? row.params : s.buffers) += t.element_count();
      row.param_bytes += t.size_bytes();
    }
    s.node_costs.push_back(std::move(cost));
  }
  for (auto& [type, row] : by_type) {
    s.macs += row.macs;
    s.flops += row.flops;
    s.params += row.params;
    s.param_bytes += row.param_bytes;
    s.bytes_read += row.bytes_read;
    s.bytes_written += row.bytes_written;
    s.ops.push_back(std::move(row));
  }
  std::stable_sort(s.ops.begin(), s.ops.end(), [](const auto& a, const auto& b) {
    return a.flops != b.flops ? a.flops > b.flops : a.bytes_written > b.bytes_written;
  });

  const InferenceLiveness liveness = inference_liveness(graph);
  const ActivationMemory memory = activation_memory(graph, liveness.order, liveness.liveness);
  s.peak_activation_liveness = liveness_name(liveness.liveness);
  s.activation_bytes = memory.total_bytes;
  s.peak_activation_bytes = memory.peak_bytes;
  if (memory.peak_node != kNoNode) s.peak_activation_node = graph.node(memory.peak_node).name;
  return s;
}

nlohmann::json to_json(const GraphSummary& s) {
  nlohmann::json j;
  j["nodes"] = s.nodes;
  j["edges"] = s.edges;
  j["macs"] = s.macs;
  j["flops"] = s.flops;
  j["params"] = s.params;
  j["buffers"] = s.buffers;
  j["param_bytes"] = s.param_bytes;
  j["activation_bytes"] = s.activation_bytes;
  j["peak_activation_bytes"] = s.peak_activation_bytes;
  j["peak_activation_node"] = s.peak_activation_node;
  j["peak_activation_liveness"] = s.peak_activation_liveness;
  j["bytes_read"] = s.bytes_read;
  j["bytes_written"] = s.bytes_written;
  j["inputs"] = nlohmann::json::array();
  for (const auto& in : s.inputs)
    j["inputs"].push_back({{"name", in.name}, {"shape", in.shape}, {"dtype", dtype_name(in.dtype)}});
  j["ops"] = nlohmann::json::array();
  for (const auto& op : s.ops) {
    j["ops"].push_back({{"op_type", op.op_type}, {"count", op.count}, {"macs", op.macs}, {"flops", op.flops},
                        {"params", op.params}, {"param_bytes", op.param_bytes}, {"bytes_read", op.bytes_read},
                        {"bytes_written", op.bytes_written}});
  }
  j["unknown_ops"] = nlohmann::json::object();
  for (const auto& [type, count] : s.unknown_ops) j["unknown_ops"][type] = count;
  j["incomplete_nodes"] = s.incomplete_nodes;
  return j;
}

}  // namespace perfcast::graph
