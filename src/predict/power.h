#pragma once
// Average board power and energy of a predicted run, with coefficients fitted to measured GPU power
// (data/calibration/power.json, scripts/calibrate_power.py):
//   u_c       = LatencyPrediction::compute_utilisation (FLOPs at the nominal peak / latency)
//   u_m       = LatencyPrediction::memory_utilisation  (bytes at the peak bandwidth / latency)
//   share     = clamp(active + compute * u_c + memory * u_m, 0, 1)
//   power_w   = idle_w + (tdp_w - idle_w) * share      (so never above TDP)
//   energy_j  = power_w * latency
// `active` is the share drawn whenever kernels run (clocks up, SMs resident), whatever they do.
// The power band is the fit's measured/predicted 10th..90th percentile, clipped to [idle, TDP]; the energy band combines it
// with the latency band (independent log errors: the two widths add in quadrature).
#include <optional>
#include <string>

#include "hardware/device.h"
#include "predict/interval.h"
#include "predict/roofline.h"

namespace perfcast::predict {

struct PowerCalibration {
  std::string file;
  double active = 0;   // share of (tdp - idle) drawn whenever kernels run
  double compute = 1;  // share per unit of compute utilisation
  double memory = 0;   // share per unit of memory utilisation
  double interval_low_factor = 1;   // measured / predicted power, 10th percentile
  double interval_high_factor = 1;  // 90th percentile
  bool calibrated = false;          // the band was measured (false: stated assumption)
};

// $PERFCAST_DATA_DIR (else the source tree's data/) + "/calibration/power.json".
std::string default_power_calibration_path();
// Throws perfcast::Error naming the file and the missing or invalid key.
PowerCalibration load_power_calibration(const std::string& path = default_power_calibration_path());
// The default file, loaded once per process.
const PowerCalibration& default_power_calibration();
// Replaces what default_power_calibration() returns, for code that probes the model
// (tests/predict/power_test.cpp exports the utilisation features this way); nullopt restores the file.
void override_default_power_calibration(std::optional<PowerCalibration> calibration);

struct PowerEstimate {
  double average_w = 0;     // = power_w.value
  double utilisation = 0;   // LatencyPrediction::utilisation (busy fraction of the bound resource)
  Interval power_w;
  Interval energy_j;
  bool calibrated = false;  // PowerCalibration::calibrated
};

PowerEstimate estimate_power(const LatencyPrediction& prediction, const hardware::Device& device,
                             const PowerCalibration& calibration);
// With default_power_calibration().
PowerEstimate estimate_power(const LatencyPrediction& prediction, const hardware::Device& device);

}  // namespace perfcast::predict
