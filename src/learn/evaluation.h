#pragma once
// Evaluation of the learned latency predictor on timm's measurements: metrics, one split at one
// seed (roofline prior alone, roofline prior with one global scale fitted on the train rows, and
// XGBoost correcting the prior), and the saved model + sidecar written by `perfcast fit`.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hardware/device_catalog.h"
#include "learn/timm_dataset.h"
#include "learn/xgb_model.h"

namespace perfcast::learn {

enum class Target { kLatency, kThroughput };  // ms per batch, or samples per second
std::string target_name(Target target);
Target parse_target(const std::string& text);  // "latency" | "throughput"; throws perfcast::Error

struct Metrics {
  size_t n = 0;
  double mape = 0;         // mean |pred - meas| / meas, percent
  double rmse = 0;         // in the target's unit (ms or samples/s)
  double kendall_tau = 0;  // tau-b between predicted and measured
  double acc10 = 0;        // share of rows with |pred - meas| / meas <= 10 %, percent
};
Metrics compute_metrics(const std::vector<double>& measured, const std::vector<double>& predicted);
double kendall_tau_b(const std::vector<double>& a, const std::vector<double>& b);

// Feature matrix of the given rows (device looked up in the catalog).
DenseMatrix feature_matrix(const TimmDataset& data, const std::vector<size_t>& rows,
                           const hardware::DeviceCatalog& catalog);
// Roofline prior, ms per batch, of the given rows.
std::vector<double> prior_ms(const TimmDataset& data, const std::vector<size_t>& rows,
                             const hardware::DeviceCatalog& catalog);
// log(measured / prior) of the given rows: the learned model's target.
std::vector<float> residual_targets(const TimmDataset& data, const std::vector<size_t>& rows,
                                    const std::vector<double>& prior);
// Predicted ms per batch from the model's outputs: prior * exp(output).
std::vector<double> corrected_ms(const std::vector<double>& prior, const std::vector<float>& output);

struct SplitResult {
  SplitKind split = SplitKind::kFamily;
  uint64_t seed = 0;
  Target target = Target::kLatency;
  size_t n_train = 0;
  size_t n_test = 0;
  double global_scale = 1;  // exp(mean log(measured / prior)) over the train rows
  Metrics roofline;         // prior alone
  Metrics roofline_scaled;  // prior x global_scale
  Metrics xgb;              // valid when xgb_trained
  bool xgb_trained = false;
};

// Trains (when `train_xgb`) on the split's train rows and measures every predictor on its test
// rows. The trained model is moved into *model_out when given.
SplitResult evaluate_split(const TimmDataset& data, const hardware::DeviceCatalog& catalog, SplitKind split,
                           uint64_t seed, Target target, const XgbParams& params, bool train_xgb,
                           XgbModel* model_out = nullptr);

// Sidecar of a saved model: MODEL.json -> MODEL.meta.json.
std::string sidecar_path(const std::string& model_path);
nlohmann::json to_json(const Metrics& metrics);
nlohmann::json to_json(const SplitResult& result);
nlohmann::json to_json(const XgbParams& params);
// A sidecar's "interval": the 10th-90th percentiles of held-out log(measured / predicted), their
// factors and the share of held-out rows inside; `computed_on` says which rows.
nlohmann::json held_out_interval_json(const std::vector<double>& log_residuals, const std::string& computed_on);

struct SavedModelCheck {
  SplitResult recorded_split;  // split, seed, target from the sidecar
  double recorded_mape = 0;    // the sidecar's XGBoost test MAPE
  Metrics reproduced;          // the loaded model on the same test rows now
};
// Loads MODEL and MODEL.meta.json, rebuilds the sidecar's split and re-measures the model on its
// test rows. Throws perfcast::Error when a file is missing or its features differ.
SavedModelCheck check_saved_model(const std::string& model_path, const TimmDataset& data,
                                  const hardware::DeviceCatalog& catalog);

}  // namespace perfcast::learn
