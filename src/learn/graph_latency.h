#pragma once
// Running a saved graph neural network predictor (sage, gin, gae-sage) for one workload from the
// core: the graph sample and OOD row are built here (no libtorch), the network runs in
// libperfcast_gnn.so (learn/gnn_plugin.h). The result has the XGBoost predictor's shape, so
// `perfcast predict` treats both alike.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/graph_summary.h"
#include "hardware/device.h"
#include "learn/features.h"
#include "learn/learned_latency.h"
#include "learn/predictor_registry.h"

namespace perfcast::learn {

// Predictor names the graph plugin runs; "gnn" in `predict --predictor` means the best validated of them.
const std::vector<std::string>& graph_predictor_names();

// `graph` at `batch` on `device`, through the model of `entry`. `row` (the graph's totals; nullopt
// with `row_why` when it is not an image model) feeds the OOD check. Throws perfcast::Error when the
// plugin cannot be loaded, the model file is missing or the graph cannot be featurised.
LearnedPrediction predict_graph_latency(const RegisteredPredictor& entry, const graph::Graph& graph,
                                        const graph::GraphSummary& summary, int64_t batch,
                                        const hardware::Device& device, const std::optional<WorkloadRow>& row,
                                        const std::string& row_why);

}  // namespace perfcast::learn
