#pragma once
// A graph's totals in timm's units, for the tabular learned predictor: parameters (millions), GMACs
// and activation count (millions) per sample, batch and square image side. The activation count
// follows fvcore (what timm reports): output elements of Conv, ConvTranspose, Gemm, MatMul and
// Einsum nodes.
#include <optional>
#include <string>

#include "graph/graph.h"
#include "graph/graph_summary.h"
#include "learn/features.h"

namespace perfcast::learn {

// nullopt with *why when the graph is not an image model (first input not [N, C, H, W]) or has no
// costed MACs.
std::optional<WorkloadRow> workload_row_from_graph(const std::string& name, const graph::Graph& graph,
                                                   const graph::GraphSummary& summary, int64_t batch,
                                                   hardware::Precision precision, std::string* why);

}  // namespace perfcast::learn
