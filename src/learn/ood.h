#pragma once
// Out-of-distribution check for the tabular learned predictors: is a (model, device) request far
// from the rows the model was trained on?
//
// Model side: the workload's totals in log space (log10 params, GMACs, activations, MACs per
// activation), standardised with the training mean and sd. A request is out of distribution when
// a feature lies outside the training range, or when its nearest training workload is farther than
// the 99th percentile of the training workloads' own nearest-neighbour distances.
// Device side: peak FLOP/s of the precision and memory bandwidth outside the training devices'
// range. Batch and image side outside the training ones are reported too.
// Training data whose device kinds differ in batch and scale (NAS-Bench-201: GPUs at batch 32,
// Xeons at batch 1) keeps one set of statistics per device kind (OodStatsByKind).
// The learned interval is widened by kOodIntervalWidening (in log space) when anything is flagged.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hardware/device.h"
#include "learn/features.h"

namespace perfcast::learn {

// An assumption, not fitted: the held-out residual quantiles say nothing about far-away inputs.
inline constexpr double kOodIntervalWidening = 2.0;

struct OodStats {
  std::vector<std::string> features;  // ood_feature_names()
  std::vector<double> mean, sd, min, max;
  std::vector<std::vector<double>> points;  // distinct training workloads, standardised
  double nn_p99 = 0;                        // 99th percentile nearest-neighbour distance among points
  double peak_tflops_min = 0, peak_tflops_max = 0;
  double bandwidth_gb_s_min = 0, bandwidth_gb_s_max = 0;
  int64_t batch_min = 0, batch_max = 0;
  int64_t img_size_min = 0, img_size_max = 0;  // 0: not checked (sidecars written before it was stored)
  std::vector<std::string> devices;  // training device ids
};

const std::vector<std::string>& ood_feature_names();
std::vector<double> ood_features(const WorkloadRow& row);

// Training rows and, index for index, their devices. Throws perfcast::Error when empty.
OodStats fit_ood(const std::vector<WorkloadRow>& rows, const std::vector<const hardware::Device*>& devices);

struct OodVerdict {
  bool out_of_distribution = false;
  double nn_distance = 0;  // standardised distance to the nearest training workload
  double nn_threshold = 0;
  bool device_seen = false;          // the device id is one of the training devices
  std::vector<std::string> reasons;  // one sentence each
};
OodVerdict check_ood(const OodStats& stats, const WorkloadRow& row, const hardware::Device& device);

nlohmann::json to_json(const OodStats& stats);
nlohmann::json to_json(const OodVerdict& verdict);
// Throws perfcast::Error naming `origin` when a key is missing or malformed.
OodStats ood_from_json(const nlohmann::json& j, const std::string& origin);

// Device kind ("gpu", "cpu") -> statistics of the training rows on devices of that kind.
using OodStatsByKind = std::map<std::string, OodStats>;
OodStatsByKind fit_ood_by_kind(const std::vector<WorkloadRow>& rows, const std::vector<const hardware::Device*>& devices);
// The device kind's statistics decide; a kind without training rows is out of distribution.
OodVerdict check_ood(const OodStatsByKind& stats, const WorkloadRow& row, const hardware::Device& device);
// An input the statistics cannot describe (e.g. not an image model): out of distribution, `why`.
OodVerdict ood_verdict_for_unknown(const std::string& why);
nlohmann::json to_json(const OodStatsByKind& stats);  // {"by_device_kind": {kind: stats}}
OodStatsByKind ood_by_kind_from_json(const nlohmann::json& j, const std::string& origin);

}  // namespace perfcast::learn
