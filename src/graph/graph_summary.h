#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "graph/graph.h"
#include "graph/op_cost.h"

namespace perfcast::graph {

struct OpTypeSummary {
  std::string op_type;
  int64_t count = 0;
  double macs = 0;
  double flops = 0;
  int64_t params = 0;
  int64_t param_bytes = 0;
  int64_t bytes_read = 0;
  int64_t bytes_written = 0;
};

struct InputSummary {
  std::string name;
  std::vector<int64_t> shape;
  DType dtype = DType::kUnknown;
};

// What a model is: the numbers `perfcast inspect` prints and every predictor starts from.
struct GraphSummary {
  int64_t nodes = 0;
  int64_t edges = 0;
  double macs = 0;
  double flops = 0;
  int64_t params = 0;            // trainable parameters
  int64_t buffers = 0;           // non-trainable stored state (BatchNorm running statistics)
  int64_t param_bytes = 0;       // bytes of parameters and buffers: the weights in memory
  int64_t activation_bytes = 0;
  int64_t peak_activation_bytes = 0;
  std::string peak_activation_node;
  std::string peak_activation_liveness;  // activation_memory.h: "eager-module-scope" or "last-reader"
  int64_t bytes_read = 0;
  int64_t bytes_written = 0;
  std::vector<InputSummary> inputs;
  std::vector<OpTypeSummary> ops;                 // sorted by FLOPs, largest first
  std::map<std::string, int64_t> unknown_ops;     // operator -> node count, never costed as zero silently
  std::vector<std::string> incomplete_nodes;      // known operators whose shapes could not be resolved
  std::vector<OpCost> node_costs;                 // indexed like Graph::nodes
};

GraphSummary summarize(const Graph& graph);

nlohmann::json to_json(const GraphSummary& summary);

}  // namespace perfcast::graph
