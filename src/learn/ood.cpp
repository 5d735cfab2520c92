#include "learn/ood.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace perfcast::learn {
namespace {

double log10_pos(double v) { return std::log10(std::max(v, 1e-12)); }

double distance(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t k = 0; k < a.size(); ++k) s += (a[k] - b[k]) * (a[k] - b[k]);
  return std::sqrt(s);
}

}  // namespace

const std::vector<std::string>& ood_feature_names() {
  static const std::vector<std::string> names = {"log10_params", "log10_gmacs", "log10_macts", "log10_macs_per_act"};
  return names;
}

std::vector<double> ood_features(const WorkloadRow& row) {
  const double macs_per_act = row.macts_m > 0 ? row.gmacs * 1e3 / row.macts_m : 0.0;
  return {log10_pos(row.param_count_m * 1e6), log10_pos(row.gmacs * 1e9), log10_pos(row.macts_m * 1e6),
          log10_pos(macs_per_act)};
}

OodStats fit_ood(const std::vector<WorkloadRow>& rows, const std::vector<const hardware::Device*>& devices) {
  if (rows.empty() || rows.size() != devices.size()) throw Error("the OOD statistics need training rows with their devices");
  OodStats s;
  s.features = ood_feature_names();
  const size_t d = s.features.size();
  // Distinct workloads: the same model at the same size appears in many files and batches.
  std::set<std::vector<double>> distinct;
  s.batch_min = rows.front().batch;
  s.batch_max = rows.front().batch;
  s.img_size_min = rows.front().img_size;
  s.img_size_max = rows.front().img_size;
  std::set<std::string> ids;
  s.peak_tflops_min = std::numeric_limits<double>::infinity();
  s.peak_tflops_max = 0;
  s.bandwidth_gb_s_min = std::numeric_limits<double>::infinity();
  s.bandwidth_gb_s_max = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    distinct.insert(ood_features(rows[i]));
    s.batch_min = std::min(s.batch_min, rows[i].batch);
    s.batch_max = std::max(s.batch_max, rows[i].batch);
    s.img_size_min = std::min(s.img_size_min, rows[i].img_size);
    s.img_size_max = std::max(s.img_size_max, rows[i].img_size);
    const hardware::Device& dev = *devices[i];
    if (ids.insert(dev.id).second) {
      const double peak = dev.peak_flops(rows[i].precision) / 1e12;
      s.peak_tflops_min = std::min(s.peak_tflops_min, peak);
      s.peak_tflops_max = std::max(s.peak_tflops_max, peak);
      s.bandwidth_gb_s_min = std::min(s.bandwidth_gb_s_min, dev.memory_bandwidth_gb_s);
      s.bandwidth_gb_s_max = std::max(s.bandwidth_gb_s_max, dev.memory_bandwidth_gb_s);
    }
  }
  s.devices.assign(ids.begin(), ids.end());
  std::vector<std::vector<double>> raw(distinct.begin(), distinct.end());
  const double n = static_cast<double>(raw.size());
  s.mean.assign(d, 0);
  s.sd.assign(d, 0);
  s.min.assign(d, std::numeric_limits<double>::infinity());
  s.max.assign(d, -std::numeric_limits<double>::infinity());
  for (const auto& p : raw) {
    for (size_t k = 0; k < d; ++k) {
      s.mean[k] += p[k] / n;
      s.min[k] = std::min(s.min[k], p[k]);
      s.max[k] = std::max(s.max[k], p[k]);
    }
  }
  for (const auto& p : raw)
    for (size_t k = 0; k < d; ++k) s.sd[k] += (p[k] - s.mean[k]) * (p[k] - s.mean[k]) / n;
  for (double& v : s.sd) v = std::max(std::sqrt(v), 1e-9);
  for (auto& p : raw)
    for (size_t k = 0; k < d; ++k) p[k] = (p[k] - s.mean[k]) / s.sd[k];
  std::vector<double> nn(raw.size(), std::numeric_limits<double>::infinity());
  for (size_t i = 0; i < raw.size(); ++i)
    for (size_t j = i + 1; j < raw.size(); ++j) {
      const double dist = distance(raw[i], raw[j]);
      nn[i] = std::min(nn[i], dist);
      nn[j] = std::min(nn[j], dist);
    }
  if (raw.size() > 1) {
    std::sort(nn.begin(), nn.end());
    s.nn_p99 = nn[std::min(nn.size() - 1, static_cast<size_t>(std::ceil(0.99 * static_cast<double>(nn.size()))) - 1)];
  }
  // Round to 4 decimals: the points are stored in the model's sidecar and read at every prediction.
  for (auto& p : raw)
    for (double& v : p) v = std::round(v * 1e4) / 1e4;
  s.points = std::move(raw);
  return s;
}

OodVerdict check_ood(const OodStats& s, const WorkloadRow& row, const hardware::Device& device) {
  OodVerdict v;
  v.nn_threshold = s.nn_p99;
  const std::vector<double> f = ood_features(row);
  std::vector<double> z(f.size());
  for (size_t k = 0; k < f.size() && k < s.mean.size(); ++k) {
    z[k] = (f[k] - s.mean[k]) / s.sd[k];
    if (f[k] < s.min[k] || f[k] > s.max[k]) {
      v.reasons.push_back(fmt::format("{} = {:.2f} is outside the training range [{:.2f}, {:.2f}]", s.features[k], f[k],
                                      s.min[k], s.max[k]));
    }
  }
  v.nn_distance = std::numeric_limits<double>::infinity();
  for (const auto& p : s.points) v.nn_distance = std::min(v.nn_distance, distance(z, p));
  if (!s.points.empty() && v.nn_distance > s.nn_p99) {
    v.reasons.push_back(fmt::format("nearest training model is {:.2f} standardised units away (training 99th "
                                    "percentile {:.2f})",
                                    v.nn_distance, s.nn_p99));
  }
  v.device_seen = std::find(s.devices.begin(), s.devices.end(), device.id) != s.devices.end();
  if (device.supports(row.precision)) {
    const double peak = device.peak_flops(row.precision) / 1e12;
    if (peak < s.peak_tflops_min || peak > s.peak_tflops_max)
      v.reasons.push_back(fmt::format("device peak {:.1f} TFLOP/s is outside the training devices' [{:.1f}, {:.1f}]",
                                      peak, s.peak_tflops_min, s.peak_tflops_max));
  }
  if (device.memory_bandwidth_gb_s < s.bandwidth_gb_s_min || device.memory_bandwidth_gb_s > s.bandwidth_gb_s_max)
    v.reasons.push_back(fmt::format("device bandwidth {:.0f} GB/s is outside the training devices' [{:.0f}, {:.0f}]",
                                    device.memory_bandwidth_gb_s, s.bandwidth_gb_s_min, s.bandwidth_gb_s_max));
  if (row.batch < s.batch_min || row.batch > s.batch_max)
    v.reasons.push_back(fmt::format("batch {} is outside the training batches [{}, {}]", row.batch, s.batch_min, s.batch_max));
  if (s.img_size_max > 0 && (row.img_size < s.img_size_min || row.img_size > s.img_size_max))
    v.reasons.push_back(fmt::format("image side {} px is outside the training images' [{}, {}]", row.img_size,
                                    s.img_size_min, s.img_size_max));
  v.out_of_distribution = !v.reasons.empty();
  return v;
}

nlohmann::json to_json(const OodStats& s) {
  return {{"features", s.features},
          {"mean", s.mean},
          {"sd", s.sd},
          {"min", s.min},
          {"max", s.max},
          {"nn_p99", s.nn_p99},
          {"points", s.points},
          {"peak_tflops_range", {s.peak_tflops_min, s.peak_tflops_max}},
          {"bandwidth_gb_s_range", {s.bandwidth_gb_s_min, s.bandwidth_gb_s_max}},
          {"batch_range", {s.batch_min, s.batch_max}},
          {"img_size_range", {s.img_size_min, s.img_size_max}},
          {"devices", s.devices},
          {"interval_widening", kOodIntervalWidening},
          {"rule",
           "out of distribution when a log-total is outside the training range, the nearest distinct training "
           "workload (standardised log params, GMACs, activations, MACs/activation) is farther than nn_p99, or the "
           "device's peak/bandwidth or the batch is outside the training range"}};
}

nlohmann::json to_json(const OodVerdict& v) {
  return {{"out_of_distribution", v.out_of_distribution},
          {"nearest_training_distance", v.nn_distance},
          {"threshold_p99", v.nn_threshold},
          {"device_in_training_data", v.device_seen},
          {"reasons", v.reasons}};
}

OodStats ood_from_json(const nlohmann::json& j, const std::string& origin) {
  try {
    OodStats s;
    s.features = j.at("features").get<std::vector<std::string>>();
    if (s.features != ood_feature_names())
      throw Error(fmt::format("{}: OOD statistics were computed on other features than this perfcast uses", origin));
    s.mean = j.at("mean").get<std::vector<double>>();
    s.sd = j.at("sd").get<std::vector<double>>();
    s.min = j.at("min").get<std::vector<double>>();
    s.max = j.at("max").get<std::vector<double>>();
    s.nn_p99 = j.at("nn_p99").get<double>();
    s.points = j.at("points").get<std::vector<std::vector<double>>>();
    const auto peak = j.at("peak_tflops_range").get<std::vector<double>>();
    const auto bw = j.at("bandwidth_gb_s_range").get<std::vector<double>>();
    const auto batch = j.at("batch_range").get<std::vector<int64_t>>();
    if (peak.size() != 2 || bw.size() != 2 || batch.size() != 2 || s.mean.size() != s.features.size() ||
        s.sd.size() != s.features.size())
      throw Error(fmt::format("{}: malformed OOD statistics", origin));
    s.peak_tflops_min = peak[0];
    s.peak_tflops_max = peak[1];
    s.bandwidth_gb_s_min = bw[0];
    s.bandwidth_gb_s_max = bw[1];
    s.batch_min = batch[0];
    s.batch_max = batch[1];
    if (j.contains("img_size_range")) {
      const auto img = j.at("img_size_range").get<std::vector<int64_t>>();
      if (img.size() != 2) throw Error(fmt::format("{}: malformed OOD statistics (img_size_range)", origin));
      s.img_size_min = img[0];
      s.img_size_max = img[1];
    }
    s.devices = j.at("devices").get<std::vector<std::string>>();
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: malformed OOD statistics: {}", origin, e.what()));
  }
}

OodStatsByKind fit_ood_by_kind(const std::vector<WorkloadRow>& rows, const std::vector<const hardware::Device*>& devices) {
  if (rows.size() != devices.size()) throw Error("the OOD statistics need training rows with their devices");
  std::map<std::string, std::pair<std::vector<WorkloadRow>, std::vector<const hardware::Device*>>> by_kind;
  for (size_t i = 0; i < rows.size(); ++i) {
    auto& [kind_rows, kind_devices] = by_kind[devices[i]->kind];
    kind_rows.push_back(rows[i]);
    kind_devices.push_back(devices[i]);
  }
  OodStatsByKind out;
  for (const auto& [kind, part] : by_kind) out[kind] = fit_ood(part.first, part.second);
  return out;
}

OodVerdict check_ood(const OodStatsByKind& stats, const WorkloadRow& row, const hardware::Device& device) {
  const auto it = stats.find(device.kind);
  if (it != stats.end()) return check_ood(it->second, row, device);
  std::string kinds;
  for (const auto& [kind, s] : stats) kinds += (kinds.empty() ? "" : ", ") + kind;
  return ood_verdict_for_unknown(fmt::format("no training rows on {} devices (trained on {})", device.kind, kinds));
}

OodVerdict ood_verdict_for_unknown(const std::string& why) {
  OodVerdict v;
  v.out_of_distribution = true;
  v.nn_distance = std::numeric_limits<double>::infinity();
  v.reasons.push_back(why);
  return v;
}

nlohmann::json to_json(const OodStatsByKind& stats) {
  nlohmann::json by_kind = nlohmann::json::object();
  for (const auto& [kind, s] : stats) by_kind[kind] = to_json(s);
  return {{"by_device_kind", by_kind}};
}

OodStatsByKind ood_by_kind_from_json(const nlohmann::json& j, const std::string& origin) {
  if (!j.is_object() || !j.contains("by_device_kind") || !j.at("by_device_kind").is_object())
    throw Error(fmt::format("{}: malformed OOD statistics: no \"by_device_kind\" object", origin));
  OodStatsByKind out;
  for (const auto& [kind, s] : j.at("by_device_kind").items()) out[kind] = ood_from_json(s, origin + " (" + kind + ")");
  if (out.empty()) throw Error(fmt::format("{}: OOD statistics for no device kind", origin));
  return out;
}

}  // namespace perfcast::learn
