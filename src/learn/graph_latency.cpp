#include "learn/graph_latency.h"

#include <fmt/format.h>

#include "common/error.h"
#include "learn/gnn_plugin.h"
#include "learn/graph_features.h"

namespace perfcast::learn {

const std::vector<std::string>& graph_predictor_names() {
  static const std::vector<std::string> names = {"sage", "gin", "gae-sage"};
  return names;
}

LearnedPrediction predict_graph_latency(const RegisteredPredictor& entry, const graph::Graph& graph,
                                        const graph::GraphSummary& summary, int64_t batch,
                                        const hardware::Device& device, const std::optional<WorkloadRow>& row,
                                        const std::string& row_why) {
  if (entry.model_path.empty()) throw Error(fmt::format("{}: names no model_file", entry.meta_path));
  gnn::GnnPredictArgs args;
  args.model = entry.model_path;
  args.sample = make_graph_sample(graph, summary, device, batch);
  args.row = row;
  args.row_why = row_why;
  args.device = device;
  const gnn::GnnPrediction g = gnn_commands().predict(args);
  LearnedPrediction p;
  p.latency_ms = g.latency_ms;
  p.low_ms = g.low_ms;
  p.high_ms = g.high_ms;
  p.prior_ms = g.prior_ms;
  p.model_ms = g.latency_ms;
  p.interval_from_held_out = g.interval_from_held_out;
  p.ood = g.ood;
  p.notes = g.notes;
  return p;
}

}  // namespace perfcast::learn
