#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace perfcast::graph {

enum class CostStatus : uint8_t {
  kCosted,        // every number below is computed from the node's shapes
  kUnknownOp,     // perfcast has no cost rule for this operator: reported, never counted as zero silently
  kMissingShape,  // a shape the rule needs is unknown
};

// The work one node does. FLOPs count every floating-point operation (a MAC is 2);
// MACs count only the multiply-accumulates of Conv/ConvTranspose/Gemm/MatMul/Einsum.
struct OpCost {
  CostStatus status = CostStatus::kCosted;
  double macs = 0;
  double flops = 0;
  int64_t bytes_read = 0;     // inputs, weights included; 0 for views (Reshape, Squeeze, ...)
  int64_t bytes_written = 0;  // outputs
  std::string reason;         // why the status is not kCosted
};

OpCost cost_node(const Graph& graph, const Node& node);

// True when the operator only re-labels its input's memory (no copy in any framework).
bool is_view_op(const std::string& op_type);

// Name used in reports: "Conv", or "com.microsoft::FusedConv" outside the default domain.
std::string qualified_op_type(const Node& node);

}  // namespace perfcast::graph
