#pragma once
// Running the learned (XGBoost) latency predictor for one workload: the model and what its sidecar
// stores for intervals and the OOD check, an optional per-device few-shot calibration, and one
// prediction with its ~80% interval.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hardware/device.h"
#include "learn/few_shot.h"
#include "learn/features.h"
#include "learn/ood.h"
#include "learn/predictor_registry.h"
#include "learn/xgb_model.h"

namespace perfcast::learn {

struct LearnedLatencyModel {
  RegisteredPredictor entry;
  XgbModel model;
  std::optional<OodStats> ood;         // nullopt when the sidecar has none
  double log_q_low = 0, log_q_high = 0;  // held-out log(measured / predicted) quantiles
  bool interval_known = false;
  std::string created_utc;             // the sidecar's, to match calibrations to this model

  // Loads the model file and reads the sidecar's interval and OOD statistics. Throws perfcast::Error.
  static LearnedLatencyModel load(const RegisteredPredictor& entry);
};

struct LearnedPrediction {
  double latency_ms = 0, low_ms = 0, high_ms = 0;
  double prior_ms = 0;  // the roofline prior the model corrects
  double model_ms = 0;  // the model before any device calibration
  bool interval_from_held_out = false;
  std::optional<OodVerdict> ood;
  std::string calibration_file;  // empty when none applied
  std::vector<std::string> notes;
};

// `calibration` (when given) must have been fitted against this model.
LearnedPrediction predict_learned_latency(const LearnedLatencyModel& m, const WorkloadRow& row,
                                          const hardware::Device& device,
                                          const std::optional<DeviceCalibration>& calibration,
                                          const std::string& calibration_file = "");

// The calibration saved for `device_id` (calibration_path), when one exists and was fitted against
// this model; a note in *why otherwise. Throws perfcast::Error when the file exists but is malformed.
std::optional<DeviceCalibration> load_device_calibration(const LearnedLatencyModel& m, const std::string& device_id,
                                                         std::string* why = nullptr, std::string* path_out = nullptr);

nlohmann::json to_json(const LearnedPrediction& p);

}  // namespace perfcast::learn
