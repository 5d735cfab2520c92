#include "graph/op_cost.h"

#include <fmt/format.h>

#include "graph/op_cost_rules.h"

namespace perfcast::graph {
namespace cost_rules {

const Tensor& input(const Graph& graph, const Node& node, size_t index) {
  if (index >= node.inputs.size() || node.inputs[index] == kNoTensor) {
    throw MissingShape{fmt::format("input {} of node '{}'", index, node.name)};
  }
  const Tensor& t = graph.tensor(node.inputs[index]);
  if (!t.shape_known) throw MissingShape{t.name};
  return t;
}

const Tensor& output(const Graph& graph, const Node& node, size_t index) {
  if (index >= node.outputs.size() || node.outputs[index] == kNoTensor) {
    throw MissingShape{fmt::format("output {} of node '{}'", index, node.name)};
  }
  const Tensor& t = graph.tensor(node.outputs[index]);
  if (!t.shape_known) throw MissingShape{t.name};
  return t;
}

bool has_input(const Node& node, size_t index) {
  return index < node.inputs.size() && node.inputs[index] != kNoTensor;
}

double numel(const Tensor& tensor) { return static_cast<double>(tensor.element_count()); }

}  // namespace cost_rules

namespace {

const cost_rules::RuleTable& rule_table() {
  static const cost_rules::RuleTable table = [] {
    cost_rules::RuleTable t;
    cost_rules::add_linear_rules(t);
    cost_rules::add_pointwise_rules(t);
    cost_rules::add_movement_rules(t);
    return t;
  }();
  return table;
}

int64_t sum_bytes(const Graph& graph, const std::vector<TensorId>& ids) {
  int64_t total = 0;
  for (TensorId id : ids) {
    if (id == kNoTensor) continue;
    const int64_t bytes = graph.tensor(id).size_bytes();
    if (bytes < 0) throw cost_rules::MissingShape{graph.tensor(id).name};
    total += bytes;
  }
  return total;
}

}  // namespace

bool is_view_op(const std::string& op_type) {
  return op_type == "Reshape" || op_type == "Flatten" || op_type == "Squeeze" || op_type == "Unsqueeze" ||
         op_type == "Identity" || op_type == "Dropout";
}

std::string qualified_op_type(const Node& node) {
  return node.domain.empty() ? node.op_type : node.domain + "::" + node.op_type;
}

OpCost cost_node(const Graph& graph, const Node& node) {
  OpCost cost;
  if (node.has_subgraph) {
    cost.status = CostStatus::kUnknownOp;
    cost.reason = fmt::format("'{}' holds a subgraph (control flow), which perfcast does not expand", node.op_type);
    return cost;
  }
  const auto& table = rule_table();
  auto rule = node.domain.empty() ? table.find(node.op_type) : table.end();
  if (rule == table.end()) {
    cost.status = CostStatus::kUnknownOp;
    cost.reason = fmt::format("no cost rule for operator '{}'", qualified_op_type(node));
    return cost;
  }
  try {
    if (!is_view_op(node.op_type)) {
      cost.bytes_read = sum_bytes(graph, node.inputs);
      cost.bytes_written = sum_bytes(graph, node.outputs);
    }
    rule->second(graph, node, cost);
  } catch (const cost_rules::MissingShape& missing) {
    cost = OpCost{};
    cost.status = CostStatus::kMissingShape;
    cost.reason = fmt::format("shape of '{}' is unknown", missing.tensor);
  }
  return cost;
}

}  // namespace perfcast::graph
