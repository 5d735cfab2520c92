#include "learn/reference_transfer.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/quantile.h"

namespace perfcast::learn {
namespace {

std::string model_key(const WorkloadRow& r) { return fmt::format("{}|{}", r.model, r.img_size); }

std::string settings_name(const WorkloadRow& r) {
  return fmt::format("{}/{}/{}", hardware::precision_name(r.precision), r.channels_last ? "nhwc" : "nchw",
                     r.compiled ? "compiled" : "eager");
}

int settings_mismatch(const WorkloadRow& a, const WorkloadRow& b) {
  return (a.precision != b.precision) + (a.channels_last != b.channels_last) + (a.compiled != b.compiled);
}

// Offsets fitted on the rows in `idx` (every device with at least one of them).
std::map<std::string, std::vector<double>> log_ratios(const std::vector<ReferenceLogMs>& refs,
                                                      const std::vector<double>& measured_ms, const std::vector<size_t>& idx) {
  std::map<std::string, std::vector<double>> by_device;
  for (size_t i : idx)
    for (const auto& [device, log_ms] : refs[i]) by_device[device].push_back(std::log(measured_ms[i]) - log_ms);
  return by_device;
}

std::optional<double> predict_log_ms(const std::map<std::string, double>& offsets, const ReferenceLogMs& ref) {
  double sum = 0;
  size_t n = 0;
  for (const auto& [device, log_ms] : ref) {
    const auto it = offsets.find(device);
    if (it == offsets.end()) continue;
    sum += log_ms + it->second;
    ++n;
  }
  if (n == 0) return std::nullopt;
  return sum / static_cast<double>(n);
}

}  // namespace

ReferenceTable ReferenceTable::from_timm(const TimmDataset& data, const std::string& exclude_device) {
  ReferenceTable t;
  for (const TimmRow& r : data.rows) {
    if (r.device_id == exclude_device || !(r.samples_per_s > 0)) continue;
    t.by_model_[model_key(r.workload)].push_back({r.device_id, r.workload, r.samples_per_s});
    ++t.measurements_;
  }
  return t;
}

ReferenceLogMs ReferenceTable::lookup(const WorkloadRow& row) const {
  ReferenceLogMs out;
  const auto it = by_model_.find(model_key(row));
  if (it == by_model_.end()) return out;
  // Per device, the closest run: fewest differing settings, then the same batch, then the nearest PyTorch version.
  using Rank = std::tuple<int, bool, double>;
  std::map<std::string, std::pair<Rank, const Measurement*>> best;
  int fewest_mismatches = 3;
  for (const Measurement& m : it->second) {
    const Rank rank{settings_mismatch(m.workload, row), m.workload.batch != row.batch,
                    std::fabs(m.workload.torch_version - row.torch_version)};
    fewest_mismatches = std::min(fewest_mismatches, std::get<0>(rank));
    const auto found = best.find(m.device_id);
    if (found == best.end() || rank < found->second.first) best[m.device_id] = {rank, &m};
  }
  for (const auto& [device, chosen] : best) {
    const auto& [rank, m] = chosen;
    if (std::get<0>(rank) != fewest_mismatches) continue;
    const std::string label = fewest_mismatches == 0 ? device : device + " " + settings_name(m->workload) + " for " +
                                                                    settings_name(row);
    out[label] = std::log(static_cast<double>(row.batch) * 1e3 / m->samples_per_s);
  }
  return out;
}

std::vector<WorkloadRow> ReferenceTable::workloads() const {
  std::vector<WorkloadRow> out;
  std::set<std::tuple<std::string, std::string, int64_t>> seen;
  std::vector<std::string> keys;
  for (const auto& [key, list] : by_model_) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  for (const std::string& key : keys)
    for (const Measurement& m : by_model_.at(key))
      if (seen.insert({key, settings_name(m.workload), m.workload.batch}).second) out.push_back(m.workload);
  return out;
}

std::optional<ReferenceCalibration> fit_reference_calibration(const std::vector<ReferenceLogMs>& refs,
                                                              const std::vector<double>& measured_ms,
                                                              const DeviceCalibration& features) {
  if (refs.size() != measured_ms.size()) throw Error("reference calibration: as many references as measurements needed");
  std::vector<size_t> with_ref;
  for (size_t i = 0; i < refs.size(); ++i)
    if (!refs[i].empty()) with_ref.push_back(i);
  if (with_ref.size() < 3) return std::nullopt;

  std::vector<double> resid;
  double ape = 0, feature_ape = 0;
  size_t n = 0;
  for (size_t i : with_ref) {
    std::vector<size_t> others;
    for (size_t k : with_ref)
      if (k != i) others.push_back(k);
    std::map<std::string, double> offsets;
    for (auto& [device, ratios] : log_ratios(refs, measured_ms, others)) offsets[device] = median(ratios);
    const auto log_pred = predict_log_ms(offsets, refs[i]);
    if (!log_pred) continue;  // its only reference device has no other row: not predictable by this path
    const double pred = std::exp(*log_pred);
    resid.push_back(std::log(measured_ms[i]) - *log_pred);
    ape += std::fabs(pred - measured_ms[i]) / measured_ms[i];
    if (features.loo_log_residuals.size() == refs.size())
      feature_ape += std::fabs(std::exp(-features.loo_log_residuals[i]) - 1.0);
    ++n;
  }
  if (n < 3) return std::nullopt;

  ReferenceCalibration cal;
  for (auto& [device, ratios] : log_ratios(refs, measured_ms, with_ref)) {
    cal.log_offset[device] = median(ratios);
    cal.rows_per_device[device] = ratios.size();
  }
  const LogBand band = loo_log_band(resid);
  cal.log_q_low = band.low;
  cal.log_q_high = band.high;
  cal.n_rows = n;
  cal.loo_mape_pct = 100.0 * ape / static_cast<double>(n);
  cal.feature_loo_mape_pct = features.loo_log_residuals.size() == refs.size()
                                 ? 100.0 * feature_ape / static_cast<double>(n)
                                 : std::numeric_limits<double>::infinity();
  cal.used = cal.loo_mape_pct < cal.feature_loo_mape_pct;
  return cal;
}

std::optional<double> apply_reference(const ReferenceCalibration& cal, const ReferenceLogMs& ref) {
  const auto log_ms = predict_log_ms(cal.log_offset, ref);
  if (!log_ms) return std::nullopt;
  return std::exp(*log_ms);
}

nlohmann::json to_json(const ReferenceCalibration& c) {
  nlohmann::json offsets = nlohmann::json::object();
  for (const auto& [device, v] : c.log_offset)
    offsets[device] = {{"log_offset", v}, {"factor", std::exp(v)}, {"rows", c.rows_per_device.at(device)}};
  nlohmann::json j = {{"devices", offsets},
                      {"log_residual_low", c.log_q_low},
                      {"log_residual_high", c.log_q_high},
                      {"interval_quantiles", {0.1, 0.9}},
                      {"loo_mape_pct", c.loo_mape_pct},
                      {"n_rows", c.n_rows},
                      {"used", c.used},
                      {"formula", "latency_ms = exp(mean over reference devices d of (log reference_ms_d + log_offset_d))"}};
  if (std::isfinite(c.feature_loo_mape_pct)) j["feature_loo_mape_pct_same_rows"] = c.feature_loo_mape_pct;
  return j;
}

ReferenceCalibration reference_calibration_from_json(const nlohmann::json& j, const std::string& origin) {
  try {
    ReferenceCalibration c;
    for (const auto& [device, v] : j.at("devices").items()) {
      c.log_offset[device] = v.at("log_offset").get<double>();
      c.rows_per_device[device] = v.at("rows").get<size_t>();
    }
    c.log_q_low = j.at("log_residual_low").get<double>();
    c.log_q_high = j.at("log_residual_high").get<double>();
    c.loo_mape_pct = j.at("loo_mape_pct").get<double>();
    c.feature_loo_mape_pct = j.value("feature_loo_mape_pct_same_rows", 0.0);
    c.n_rows = j.at("n_rows").get<size_t>();
    c.used = j.at("used").get<bool>();
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: not a reference calibration perfcast can read: {}", origin, e.what()));
  }
}

}  // namespace perfcast::learn
