#pragma once
// Few-shot transfer through reference measurements. When a workload (the same model, image size,
// precision, layout and torch.compile setting) has been measured on GPUs perfcast already knows, its
// time on a new GPU is far better predicted from those measurements than from the model's totals:
// the per-model quirks the tabular features cannot see (a slow kernel, launch-bound small models,
// an op PyTorch does not fuse) carry over from one GPU to the next. The N measured rows of the new
// device fit one offset per known device,
//   log(new ms) = log(reference ms on d) + offset_d          (offset_d = median over the N rows),
// and a prediction averages the devices the workload was measured on. This is the reference-device
// idea of HELP (Lee et al., 2021), without meta-learning: perfcast's rows already give the reference.
//
// It applies only to workloads with a reference measurement; every other workload keeps the
// feature-based correction of learn/few_shot.h. `fit_device_calibration` and this fit are compared
// on the same rows by leave-one-out error, and the reference path is used only when it wins.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "learn/features.h"
#include "learn/few_shot.h"
#include "learn/timm_dataset.h"

namespace perfcast::learn {

// Per reference (a known device, see ReferenceTable::lookup): log of its time for one batch of the workload (ms).
using ReferenceLogMs = std::map<std::string, double>;

class ReferenceTable {
 public:
  // Every row of `data` except those of `exclude_device` (the device being calibrated).
  static ReferenceTable from_timm(const TimmDataset& data, const std::string& exclude_device);

  // The workload's reference on each known device that measured the same model at the same image
  // size: the run with the same precision, layout and torch.compile setting when any device has one
  // (keyed by the device id); else, on every device, the run with the fewest different settings
  // (keyed "device ref-settings for row-settings", so each kind of mismatch gets its own offset).
  // Among those, the same batch first, then the nearest PyTorch version; its throughput is taken
  // to hold at `row.batch`. Empty when no known device measured the model.
  ReferenceLogMs lookup(const WorkloadRow& row) const;

  // One workload per measured (settings, batch), for predicting the whole table on a new device.
  std::vector<WorkloadRow> workloads() const;
  size_t measurements() const { return measurements_; }

 private:
  struct Measurement {
    std::string device_id;
    WorkloadRow workload;
    double samples_per_s = 0;
  };
  std::unordered_map<std::string, std::vector<Measurement>> by_model_;  // model|image size
  size_t measurements_ = 0;
};

struct ReferenceCalibration {
  std::map<std::string, double> log_offset;        // reference label -> median log(measured / reference)
  std::map<std::string, size_t> rows_per_device;   // rows each offset was fitted on
  double log_q_low = 0, log_q_high = 0;            // 80% band of the leave-one-out log residuals
  double loo_mape_pct = 0;                         // on the rows with a reference
  double feature_loo_mape_pct = 0;                 // the feature-based correction on the same rows
  size_t n_rows = 0;                               // rows with a reference
  bool used = false;                               // reference path won on leave-one-out error
};

// Needs 3 or more rows with a reference; nullopt otherwise. `features` is the feature-based
// calibration fitted on all rows (its loo_log_residuals index for index with `refs`).
std::optional<ReferenceCalibration> fit_reference_calibration(const std::vector<ReferenceLogMs>& refs,
                                                              const std::vector<double>& measured_ms,
                                                              const DeviceCalibration& features);

// ms per batch on the new device, or nullopt when none of the workload's reference devices has an offset.
std::optional<double> apply_reference(const ReferenceCalibration& cal, const ReferenceLogMs& ref);

nlohmann::json to_json(const ReferenceCalibration& cal);
ReferenceCalibration reference_calibration_from_json(const nlohmann::json& j, const std::string& origin);

}  // namespace perfcast::learn
