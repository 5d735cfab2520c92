// `perfcast predict --predictor sage|gin|gae-sage|gnn`: one graph through a saved graph predictor,
// with the interval and OOD verdict its sidecar supports (learn/gnn/gnn_sidecar.h).
#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_file.h"
#include "learn/gnn/gnn_commands.h"
#include "learn/gnn/gnn_predictor.h"
#include "learn/gnn/gnn_sidecar.h"
#include "learn/graph_features.h"

namespace perfcast::learn::gnn {

GnnPrediction run_gnn_predict(const GnnPredictArgs& args) {
  const GnnPredictor model = GnnPredictor::load(args.model);
  const std::string sidecar_file = meta_path(args.model);
  const nlohmann::json sidecar = read_json_file(sidecar_file, "graph predictor sidecar");
  require_current_features(sidecar, sidecar_file);
  GraphSample sample = args.sample;
  GnnPrediction p;
  p.prior_ms = naive_roofline_ms(sample);
  sample.prior = p.prior_ms;
  p.latency_ms = model.predict(sample);
  if (!std::isfinite(p.latency_ms) || p.latency_ms <= 0)
    throw Error(fmt::format("{}: the graph predictor returned {} ms for this graph", args.model, p.latency_ms));

  double lo = 0, hi = 0;
  if (sidecar.contains("interval")) {
    lo = json_number(sidecar.at("interval"), "log_residual_low", sidecar_file, -50, 0);
    hi = json_number(sidecar.at("interval"), "log_residual_high", sidecar_file, 0, 50);
    p.interval_from_held_out = true;
  } else {
    const nlohmann::json metrics = sidecar.value("metrics", nlohmann::json::object()).value("model", nlohmann::json::object());
    const double mape_pct = json_number(metrics, "mape_pct", sidecar_file, 0, 1e6, "metrics.model.mape_pct");
    lo = -std::log1p(mape_pct / 100.0);
    hi = -lo;
    p.notes.push_back(fmt::format("interval from the recorded test MAPE ({:.1f}%): {} stores no held-out residual "
                                  "quantiles; `perfcast evaluate --model {} --annotate` adds them",
                                  mape_pct, sidecar_file, args.model));
  }
  if (sidecar.contains("ood")) {
    const OodStatsByKind stats = ood_by_kind_from_json(sidecar.at("ood"), sidecar_file);
    if (args.row) {
      p.ood = check_ood(stats, *args.row, args.device);
    } else {
      p.ood = ood_verdict_for_unknown("not an image CNN like the NAS-Bench-201 training cells: " + args.row_why);
      for (const auto& [kind, s] : stats)
        p.ood.device_seen |= std::find(s.devices.begin(), s.devices.end(), args.device.id) != s.devices.end();
    }
  } else {
    p.ood = ood_verdict_for_unknown(fmt::format("{} stores no OOD statistics, so nothing is known to be in its "
                                                "distribution; `perfcast evaluate --model {} --annotate` adds them",
                                                sidecar_file, args.model));
  }
  if (p.ood.out_of_distribution) {
    lo *= kOodIntervalWidening;
    hi *= kOodIntervalWidening;
  }
  p.low_ms = p.latency_ms * std::exp(lo);
  p.high_ms = p.latency_ms * std::exp(hi);
  return p;
}

}  // namespace perfcast::learn::gnn
