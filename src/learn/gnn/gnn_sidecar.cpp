#include "learn/gnn/gnn_sidecar.h"

#include <cmath>
#include <map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/error.h"
#include "dataset/nasbench201_network.h"
#include "graph/graph_summary.h"
#include "learn/evaluation.h"
#include "learn/graph_features.h"
#include "learn/graph_totals.h"
#include "learn/ood.h"

namespace perfcast::learn::gnn {
namespace {

nlohmann::json interval_json(const GnnPredictor& predictor, const Nb201Split& split) {
  const std::vector<double> pred = predictor.predict(split.test);
  std::vector<double> resid;
  resid.reserve(pred.size());
  for (size_t k = 0; k < pred.size(); ++k) resid.push_back(std::log(split.test[k].target / pred[k]));
  return held_out_interval_json(resid, "the split's held-out test rows, which the model never saw");
}

// The batch a sample's graph was built with (its first static feature is log1p_batch).
int64_t sample_batch(const GraphSample& s) {
  return static_cast<int64_t>(std::llround(std::expm1(static_cast<double>(s.static_features.at(0)))));
}

nlohmann::json ood_json(const Nb201Split& split, const hardware::DeviceCatalog& catalog) {
  std::map<std::pair<std::string, int64_t>, WorkloadRow> rows_by_graph;  // one graph per (arch, batch)
  std::vector<WorkloadRow> rows;
  std::vector<const hardware::Device*> devices;
  for (const auto* part : {&split.train, &split.val}) {
    for (const auto& s : *part) {
      const int64_t batch = sample_batch(s);
      auto it = rows_by_graph.find({s.group, batch});
      if (it == rows_by_graph.end()) {
        const graph::Graph g = dataset::build_nasbench201_network(s.group, batch);
        std::string why;
        const auto row = workload_row_from_graph(s.group, g, graph::summarize(g), batch, hardware::Precision::kFp32, &why);
        if (!row) throw Error(fmt::format("NAS-Bench-201 cell {}: no totals for the OOD statistics: {}", s.group, why));
        it = rows_by_graph.emplace(std::make_pair(s.group, batch), *row).first;
      }
      rows.push_back(it->second);
      devices.push_back(&catalog.get(s.device_id));
    }
  }
  return to_json(fit_ood_by_kind(rows, devices));
}

}  // namespace

nlohmann::json gnn_sidecar_annotation(const GnnPredictor& predictor, const Nb201Split& split,
                                      const hardware::DeviceCatalog& catalog) {
  // A task `predict --predictor auto` never recognises: the graph predictors run only when named,
  // with the OOD check deciding whether the input resembles their training cells.
  const nlohmann::json applies_to = {
      {"task", "nas-bench-201-cell"},
      {"mode", "inference"},
      {"precisions", {"fp32"}},
      {"inputs", "the operator graph (node features, edges) + graph totals + device spec; trained on NAS-Bench-201 "
                 "CIFAR cells (32x32, batch 32 on 5 GPUs, batch 1 on 4 Xeons)"}};
  return {{"interval", interval_json(predictor, split)}, {"ood", ood_json(split, catalog)}, {"applies_to", applies_to}};
}

void require_current_features(const nlohmann::json& meta, const std::string& origin) {
  if (meta.value("node_feature_names", nlohmann::json()) != nlohmann::json(node_feature_names()) ||
      meta.value("static_feature_names", nlohmann::json()) != nlohmann::json(static_feature_names()))
    throw Error(origin + ": the model was trained on other graph features than this perfcast computes; retrain it "
                         "with perfcast fit");
}

}  // namespace perfcast::learn::gnn
