#include "learn/evaluation.h"

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/quantile.h"
#include "learn/features.h"

namespace perfcast::learn {

std::string target_name(Target target) { return target == Target::kLatency ? "latency" : "throughput"; }

Target parse_target(const std::string& text) {
  if (text == "latency") return Target::kLatency;
  if (text == "throughput") return Target::kThroughput;
  throw Error("unknown target '" + text + "'; expected latency or throughput");
}

double kendall_tau_b(const std::vector<double>& a, const std::vector<double>& b) {
  const size_t n = a.size();
  long double concordant = 0, discordant = 0, ties_a = 0, ties_b = 0;
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = i + 1; j < n; ++j) {
      const double da = a[i] - a[j];
      const double db = b[i] - b[j];
      if (da == 0 && db == 0) continue;
      if (da == 0) {
        ties_a += 1;
      } else if (db == 0) {
        ties_b += 1;
      } else if ((da > 0) == (db > 0)) {
        concordant += 1;
      } else {
        discordant += 1;
      }
    }
  }
  const long double denom = std::sqrt((concordant + discordant + ties_a) * (concordant + discordant + ties_b));
  return denom > 0 ? static_cast<double>((concordant - discordant) / denom) : 0.0;
}

Metrics compute_metrics(const std::vector<double>& measured, const std::vector<double>& predicted) {
  if (measured.size() != predicted.size() || measured.empty())
    throw Error("metrics need as many predictions as measurements, at least one");
  Metrics m;
  m.n = measured.size();
  double ape_sum = 0, se_sum = 0;
  size_t within = 0;
  for (size_t i = 0; i < m.n; ++i) {
    const double ape = std::fabs(predicted[i] - measured[i]) / measured[i];
    ape_sum += ape;
    se_sum += (predicted[i] - measured[i]) * (predicted[i] - measured[i]);
    if (ape <= 0.10) ++within;
  }
  m.mape = 100.0 * ape_sum / static_cast<double>(m.n);
  m.rmse = std::sqrt(se_sum / static_cast<double>(m.n));
  m.acc10 = 100.0 * static_cast<double>(within) / static_cast<double>(m.n);
  m.kendall_tau = kendall_tau_b(measured, predicted);
  return m;
}

DenseMatrix feature_matrix(const TimmDataset& data, const std::vector<size_t>& rows,
                           const hardware::DeviceCatalog& catalog) {
  DenseMatrix x;
  x.rows = rows.size();
  x.cols = feature_names().size();
  x.values.reserve(x.rows * x.cols);
  for (size_t i : rows) append_features(data.rows[i].workload, catalog.get(data.rows[i].device_id), x.values);
  return x;
}

std::vector<double> prior_ms(const TimmDataset& data, const std::vector<size_t>& rows,
                             const hardware::DeviceCatalog& catalog) {
  std::vector<double> out;
  out.reserve(rows.size());
  for (size_t i : rows)
    out.push_back(1e3 * roofline_prior(data.rows[i].workload, catalog.get(data.rows[i].device_id)).time_s);
  return out;
}

std::vector<float> residual_targets(const TimmDataset& data, const std::vector<size_t>& rows,
                                    const std::vector<double>& prior) {
  std::vector<float> y;
  y.reserve(rows.size());
  for (size_t k = 0; k < rows.size(); ++k) y.push_back(static_cast<float>(std::log(data.rows[rows[k]].step_time_ms / prior[k])));
  return y;
}

std::vector<double> corrected_ms(const std::vector<double>& prior, const std::vector<float>& output) {
  std::vector<double> out(prior.size());
  for (size_t k = 0; k < prior.size(); ++k) out[k] = prior[k] * std::exp(static_cast<double>(output[k]));
  return out;
}

namespace {

// Measured and predicted values in the target's unit.
Metrics target_metrics(const TimmDataset& data, const std::vector<size_t>& rows, const std::vector<double>& pred_ms,
                       Target target) {
  std::vector<double> meas, pred;
  meas.reserve(rows.size());
  pred.reserve(rows.size());
  for (size_t k = 0; k < rows.size(); ++k) {
    const TimmRow& r = data.rows[rows[k]];
    if (target == Target::kLatency) {
      meas.push_back(r.step_time_ms);
      pred.push_back(pred_ms[k]);
    } else {
      meas.push_back(r.samples_per_s);
      pred.push_back(static_cast<double>(r.workload.batch) * 1e3 / pred_ms[k]);
    }
  }
  return compute_metrics(meas, pred);
}

}  // namespace

SplitResult evaluate_split(const TimmDataset& data, const hardware::DeviceCatalog& catalog, SplitKind kind,
                           uint64_t seed, Target target, const XgbParams& params, bool train_xgb,
                           XgbModel* model_out) {
  const Split split = make_split(data, kind, seed);
  SplitResult result;
  result.split = kind;
  result.seed = seed;
  result.target = target;
  result.n_train = split.train.size();
  result.n_test = split.test.size();

  const std::vector<double> prior_train = prior_ms(data, split.train, catalog);
  const std::vector<double> prior_test = prior_ms(data, split.test, catalog);
  const std::vector<float> y_train = residual_targets(data, split.train, prior_train);
  double log_sum = 0;
  for (float v : y_train) log_sum += v;
  result.global_scale = std::exp(log_sum / static_cast<double>(y_train.size()));

  result.roofline = target_metrics(data, split.test, prior_test, target);
  std::vector<double> scaled(prior_test);
  for (double& v : scaled) v *= result.global_scale;
  result.roofline_scaled = target_metrics(data, split.test, scaled, target);

  if (train_xgb) {
    XgbParams p = params;
    p.seed = params.seed + seed;
    XgbModel model = XgbModel::train(feature_matrix(data, split.train, catalog), y_train, p);
    const std::vector<float> out = model.predict(feature_matrix(data, split.test, catalog));
    result.xgb = target_metrics(data, split.test, corrected_ms(prior_test, out), target);
    result.xgb_trained = true;
    if (model_out) *model_out = std::move(model);
  }
  return result;
}

std::string sidecar_path(const std::string& model_path) {
  std::string base = model_path;
  if (base.size() > 5 && base.substr(base.size() - 5) == ".json") base.resize(base.size() - 5);
  return base + ".meta.json";
}

nlohmann::json to_json(const Metrics& m) {
  return {{"n", m.n}, {"mape_pct", m.mape}, {"rmse", m.rmse}, {"kendall_tau", m.kendall_tau}, {"acc10_pct", m.acc10}};
}

nlohmann::json to_json(const SplitResult& r) {
  nlohmann::json j = {{"split", split_name(r.split)},
                      {"seed", r.seed},
                      {"target", target_name(r.target)},
                      {"rmse_unit", r.target == Target::kLatency ? "ms per batch" : "samples/s"},
                      {"n_train", r.n_train},
                      {"n_test", r.n_test},
                      {"global_scale", r.global_scale},
                      {"roofline_prior", to_json(r.roofline)},
                      {"roofline_prior_scaled", to_json(r.roofline_scaled)}};
  if (r.xgb_trained) j["xgb"] = to_json(r.xgb);
  return j;
}

nlohmann::json to_json(const XgbParams& p) {
  return {{"objective", "reg:squarederror"}, {"tree_method", "hist"},
          {"rounds", p.rounds},               {"max_depth", p.max_depth},
          {"eta", p.eta},                     {"subsample", p.subsample},
          {"colsample_bytree", p.colsample_bytree}, {"min_child_weight", p.min_child_weight},
          {"lambda", p.lambda},               {"nthread", p.nthread},
          {"base_seed", p.seed}};
}

SavedModelCheck check_saved_model(const std::string& model_path, const TimmDataset& data,
                                  const hardware::DeviceCatalog& catalog) {
  const std::string meta_path = sidecar_path(model_path);
  std::ifstream in(meta_path);
  if (!in) throw Error(fmt::format("no sidecar '{}' next to the model", meta_path));
  nlohmann::json meta;
  try {
    in >> meta;
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: not valid JSON: {}", meta_path, e.what()));
  }
  if (meta.value("features", nlohmann::json::array()) != nlohmann::json(feature_names()))
    throw Error(fmt::format("{}: the model was trained on other features than this perfcast computes", meta_path));
  SavedModelCheck check;
  const auto& result = meta.at("result");
  check.recorded_split.split = parse_split(result.at("split").get<std::string>());
  check.recorded_split.seed = result.at("seed").get<uint64_t>();
  check.recorded_split.target = parse_target(result.at("target").get<std::string>());
  check.recorded_mape = result.at("xgb").at("mape_pct").get<double>();

  const XgbModel model = XgbModel::load(model_path);
  const Split split = make_split(data, check.recorded_split.split, check.recorded_split.seed);
  const std::vector<double> prior_test = prior_ms(data, split.test, catalog);
  const std::vector<float> out = model.predict(feature_matrix(data, split.test, catalog));
  check.reproduced = target_metrics(data, split.test, corrected_ms(prior_test, out), check.recorded_split.target);
  return check;
}

nlohmann::json held_out_interval_json(const std::vector<double>& resid, const std::string& computed_on) {
  const double lo = quantile(resid, 0.1), hi = quantile(resid, 0.9);
  size_t inside = 0;
  for (double r : resid)
    if (r >= lo && r <= hi) ++inside;
  return {{"log_residual_low", lo},
          {"log_residual_high", hi},
          {"quantiles", {0.1, 0.9}},
          {"factor_low", std::exp(lo)},
          {"factor_high", std::exp(hi)},
          {"held_out_rows", resid.size()},
          {"held_out_coverage_pct", 100.0 * static_cast<double>(inside) / static_cast<double>(resid.size())},
          {"computed_on", computed_on}};
}

}  // namespace perfcast::learn
