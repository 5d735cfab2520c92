#pragma once
// Internal to op_cost*.cpp: the helpers and rule tables the cost rules share.
#include <functional>
#include <string>
#include <unordered_map>

#include "graph/op_cost.h"

namespace perfcast::graph::cost_rules {

// A rule fills macs/flops (and may adjust bytes); it throws MissingShape when it cannot.
using Rule = std::function<void(const Graph&, const Node&, OpCost&)>;
using RuleTable = std::unordered_map<std::string, Rule>;

struct MissingShape {
  std::string tensor;
};

// The tensor at input/output `index`, requiring a known shape.
const Tensor& input(const Graph& graph, const Node& node, size_t index);
const Tensor& output(const Graph& graph, const Node& node, size_t index);
bool has_input(const Node& node, size_t index);
double numel(const Tensor& tensor);

void add_linear_rules(RuleTable& table);      // Conv, ConvTranspose, Gemm, MatMul, Einsum
void add_pointwise_rules(RuleTable& table);   // elementwise, activations, norms, softmax, pooling, reductions
void add_movement_rules(RuleTable& table);    // reshape, transpose, gather, concat, ...: bytes, no FLOPs

}  // namespace perfcast::graph::cost_rules
