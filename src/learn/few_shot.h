#pragma once
// Few-shot transfer of the learned latency predictor to a device it never saw: from N measured rows
// on that device, fit a small correction in log space on top of a base predictor and save it as a
// per-device calibration file that `perfcast predict` applies.
//
// Why a correction and not re-fitted trees: with N = 8 rows, new trees would memorise the rows; the
// error of a base predictor on a new GPU is mostly one factor (achieved fraction of peak) plus a
// trend with how large and how compute-bound the workload is. The correction is
//   log(measured) = log(base) + a + b1 * (log base_ms - c1) + b2 * (log compute/memory - c2)
// with ridge on b (lambda in units of the standardised features). Candidates: the XGBoost output
// unchanged ("xgb/none"); base = XGBoost output or roofline prior with form "scale" (a = median log
// ratio) or, from 6 rows, "loglinear" (a, b1, b2). The one with the lowest leave-one-out MAPE on
// the N rows wins (a third slope on log batch was tried: no better on average, and it extrapolated
// badly on one RTX 5090 draw). Its 80% interval comes from those leave-one-out log residuals (percentiles, or
// a Student-t band when wider).
//
// Rows file (CSV, one header row; timm's benchmark-infer-*.csv files are accepted as they are):
//   model                               name (free text)
//   params_m      | param_count         parameters, millions
//   gmacs         | infer_gmacs         multiply-accumulates per sample, 1e9
//   macts_m       | infer_macts         activation count per sample, millions
//   batch         | infer_batch_size    samples per batch
//   img_size      | infer_img_size      square input side, pixels
//   latency_ms    | infer_step_time     measured ms per batch   (or samples_per_s |
//                                       infer_samples_per_sec: then latency = batch * 1000 / it)
//   optional: precision (fp16|bf16, default from a timm file name, else fp16), channels_last (0|1),
//             compiled (0|1), torch_version (2.4)
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hardware/device_catalog.h"
#include "learn/evaluation.h"
#include "learn/features.h"
#include "learn/timm_dataset.h"
#include "learn/xgb_model.h"

namespace perfcast::learn {

struct MeasuredRow {
  WorkloadRow workload;
  double latency_ms = 0;
  int line = 0;  // line in the file
};

// Throws perfcast::Error naming the file, line and column of the first bad row, or the missing columns.
std::vector<MeasuredRow> read_measured_rows(const std::string& path);

// Base predictions of one row: the roofline prior and the XGBoost-corrected prior (ms per batch), and
// log(compute_s / memory_s) of the prior.
struct BaseRow {
  double prior_ms = 0;
  double xgb_ms = 0;
  double log_compute_over_memory = 0;
};
BaseRow base_row(const WorkloadRow& row, const hardware::Device& device, const XgbModel& model);

struct DeviceCalibration {
  std::string device_id;
  std::string base = "xgb";     // "xgb" or "roofline"
  std::string form = "scale";   // "none", "scale" or "loglinear"
  double intercept = 0;         // a
  std::vector<double> slopes;   // b1, b2 (empty for "scale" and "none")
  std::vector<double> centers;  // c1, c2
  double ridge_lambda = 0;
  double log_q_low = 0, log_q_high = 0;  // 10th / 90th percentile of leave-one-out log(measured / predicted)
  double loo_mape_pct = 0;
  size_t n_rows = 0;
  std::vector<double> loo_log_residuals;  // per fitted row, log(measured / leave-one-out prediction); not saved
};

// The 80% band of leave-one-out log residuals: their 10th-90th percentiles, or mean -/+ t * sd *
// sqrt(1 + 1/n) when wider (a few rows' percentiles understate the spread); always contains 0.
struct LogBand {
  double low = 0, high = 0;
};
LogBand loo_log_band(const std::vector<double>& loo_log_residuals);

inline constexpr double kCalibrationRidgeLambda = 2.0;

// Chooses and fits the correction (see above). `base` index for index with `measured_ms`.
// Throws perfcast::Error with fewer than 3 rows.
DeviceCalibration fit_device_calibration(const std::string& device_id, const std::vector<BaseRow>& base,
                                         const std::vector<double>& measured_ms, std::vector<nlohmann::json>* candidates = nullptr);
// Corrected ms per batch.
double apply_calibration(const DeviceCalibration& cal, const BaseRow& base);

nlohmann::json to_json(const DeviceCalibration& cal);
DeviceCalibration calibration_from_json(const nlohmann::json& j, const std::string& origin);
// $PERFCAST_CALIBRATION_DIR/<device id>.json when set, else data/models/learned/calibration/<device id>.json
std::string calibration_path(const std::string& device_id);

// --- honest evaluation over timm's devices -------------------------------------------------------
struct FewShotRow {
  std::string device_id;
  size_t shots = 0;
  size_t seeds = 0;
  size_t n_eval = 0;           // rows of the device left for evaluation (per seed)
  Metrics roofline;            // prior alone
  Metrics uncalibrated;        // XGBoost trained without the device
  Metrics scale_only;          // prior x one factor fitted on the N rows
  Metrics calibrated;          // the chosen correction
  double coverage_pct = 0;     // share of evaluation rows inside the calibrated 80% interval
  std::string chosen;          // most frequent chosen candidate "base/form"
  // With reference transfer (learn/reference_transfer.h): rows measured on another known GPU are
  // predicted from that measurement when the reference path won on leave-one-out error.
  Metrics transfer;            // every evaluation row: reference path where used, else `calibrated`
  double transfer_coverage_pct = 0;
  double reference_share_pct = 0;  // evaluation rows with a reference measurement
  Metrics reference_rows;      // the chosen correction restricted to the rows with a reference...
  Metrics reference_rows_transfer;  // ...and the transfer prediction on the same rows
  size_t reference_used_seeds = 0;  // draws in which the reference path won
};
// For every device with rows: train XGBoost on the other devices' rows, then for each N in `shots`
// and each seed draw N rows of the device, calibrate and measure on the device's other rows (metrics
// averaged over seeds). The reference measurements are the other devices' rows only. Devices listed in `devices` only, when not empty.
std::vector<FewShotRow> evaluate_few_shot(const TimmDataset& data, const hardware::DeviceCatalog& catalog,
                                          const XgbParams& params, const std::vector<size_t>& shots, size_t seeds,
                                          const std::vector<std::string>& devices = {});

}  // namespace perfcast::learn
