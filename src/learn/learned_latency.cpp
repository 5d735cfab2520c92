#include "learn/learned_latency.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace perfcast::learn {

LearnedLatencyModel LearnedLatencyModel::load(const RegisteredPredictor& entry) {
  LearnedLatencyModel m;
  m.entry = entry;
  if (entry.model_path.empty()) throw Error(fmt::format("{}: names no model_file", entry.meta_path));
  if (entry.meta.value("features", nlohmann::json::array()) != nlohmann::json(feature_names()))
    throw Error(fmt::format("{}: the model was trained on other features than this perfcast computes; re-run perfcast fit",
                            entry.meta_path));
  std::string path = entry.model_path;
  if (entry.meta.contains("fast_load_copy")) {
    const auto& copy = entry.meta.at("fast_load_copy");
    const std::string ubj = (std::filesystem::path(entry.model_path).parent_path() / copy.value("file", "")).string();
    std::error_code ec;
    const auto json_bytes = std::filesystem::file_size(entry.model_path, ec);
    if (!ec && json_bytes == copy.value("model_file_bytes", uintmax_t{0}) && std::filesystem::is_regular_file(ubj, ec))
      path = ubj;
  }
  m.model = XgbModel::load(path);
  m.model.set_nthread(1);
  m.created_utc = entry.meta.value("created_utc", "");
  if (entry.meta.contains("interval")) {
    const auto& i = entry.meta.at("interval");
    m.log_q_low = i.at("log_residual_low").get<double>();
    m.log_q_high = i.at("log_residual_high").get<double>();
    m.interval_known = true;
  }
  if (entry.meta.contains("ood")) m.ood = ood_from_json(entry.meta.at("ood"), entry.meta_path);
  return m;
}

std::optional<DeviceCalibration> load_device_calibration(const LearnedLatencyModel& m, const std::string& device_id,
                                                         std::string* why, std::string* path_out) {
  const std::string path = calibration_path(device_id);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    if (why) *why = "no few-shot calibration for " + device_id;
    return std::nullopt;
  }
  nlohmann::json j;
  try {
    std::ifstream(path) >> j;
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: not valid JSON: {}", path, e.what()));
  }
  const auto& base = j.value("base_model", nlohmann::json::object());
  const std::string model_file = std::filesystem::path(m.entry.model_path).filename().string();
  if (base.value("model_file", "") != model_file || base.value("created_utc", "") != m.created_utc) {
    if (why)
      *why = fmt::format("{} was fitted against another model ({} of {}); re-run perfcast calibrate", path,
                         base.value("model_file", "?"), base.value("created_utc", "?"));
    return std::nullopt;
  }
  if (path_out) *path_out = path;
  return calibration_from_json(j.at("calibration"), path);
}

LearnedPrediction predict_learned_latency(const LearnedLatencyModel& m, const WorkloadRow& row,
                                          const hardware::Device& device,
                                          const std::optional<DeviceCalibration>& calibration,
                                          const std::string& calibration_file) {
  LearnedPrediction p;
  const BaseRow base = base_row(row, device, m.model);
  p.prior_ms = base.prior_ms;
  p.model_ms = base.xgb_ms;
  double lo = m.log_q_low, hi = m.log_q_high;
  if (calibration) {
    p.latency_ms = apply_calibration(*calibration, base);
    lo = calibration->log_q_low;
    hi = calibration->log_q_high;
    p.calibration_file = calibration_file;
    p.interval_from_held_out = true;
    p.notes.push_back(fmt::format("few-shot calibration for {} ({} rows, {} {}, leave-one-out MAPE {:.1f}%)",
                                  device.id, calibration->n_rows, calibration->base, calibration->form,
                                  calibration->loo_mape_pct));
  } else {
    p.latency_ms = base.xgb_ms;
    p.interval_from_held_out = m.interval_known;
    if (!m.interval_known) {
      // No held-out quantiles stored: fall back to the validated MAPE as a symmetric band.
      const double w = std::log1p(m.entry.mape_pct / 100.0);
      lo = -w;
      hi = w;
      p.notes.push_back("interval from the validated MAPE (the sidecar stores no held-out residual quantiles)");
    }
  }
  if (m.ood) {
    p.ood = check_ood(*m.ood, row, device);
    if (p.ood->out_of_distribution) {
      lo *= kOodIntervalWidening;
      hi *= kOodIntervalWidening;
    }
    if (!p.ood->device_seen && !calibration)
      p.notes.push_back(fmt::format("{} is not among the training devices; `perfcast calibrate --device {}` with a few "
                                    "measured rows adapts the model to it",
                                    device.id, device.id));
  }
  // Residual = log(measured / predicted): measured lies in [pred * exp(lo), pred * exp(hi)].
  p.low_ms = p.latency_ms * std::exp(lo);
  p.high_ms = p.latency_ms * std::exp(hi);
  return p;
}

nlohmann::json to_json(const LearnedPrediction& p) {
  nlohmann::json j = {{"latency_ms", {{"value", p.latency_ms}, {"low", p.low_ms}, {"high", p.high_ms}}},
                      {"roofline_prior_ms", p.prior_ms},
                      {"model_ms", p.model_ms},
                      {"interval_from_held_out_residuals", p.interval_from_held_out},
                      {"notes", p.notes}};
  if (!p.calibration_file.empty()) j["calibration_file"] = p.calibration_file;
  if (p.ood) j["ood"] = to_json(*p.ood);
  return j;
}

}  // namespace perfcast::learn
