#include "predict/power.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/error.h"
#include "common/json_file.h"
#include "hardware/device_catalog.h"

namespace perfcast::predict {

std::string default_power_calibration_path() { return hardware::default_data_dir() + "/calibration/power.json"; }

PowerCalibration load_power_calibration(const std::string& path) {
  const nlohmann::json j = read_json_file(path, "power calibration");
  json_number(j, "schema_version", path, 1, 1);
  if (!j.contains("coefficients")) throw Error(fmt::format("{}: missing key 'coefficients'", path));
  if (!j.contains("interval")) throw Error(fmt::format("{}: missing key 'interval'", path));
  const auto& k = j["coefficients"];
  const auto& band = j["interval"];
  PowerCalibration c;
  c.file = path;
  c.active = json_number(k, "active", path, -1, 1);
  c.compute = json_number(k, "compute", path, 0, 10);
  c.memory = json_number(k, "memory", path, 0, 10);
  c.interval_low_factor = json_number(band, "low_factor", path, 1e-3, 1);
  c.interval_high_factor = json_number(band, "high_factor", path, 1, 1e3);
  c.calibrated = band.contains("calibrated") && band["calibrated"].is_boolean() && band["calibrated"].get<bool>();
  return c;
}

namespace {
std::mutex default_mutex;
std::optional<PowerCalibration> default_loaded;
std::optional<PowerCalibration> default_override;
}  // namespace

const PowerCalibration& default_power_calibration() {
  std::lock_guard lock(default_mutex);
  if (default_override) return *default_override;
  if (!default_loaded) default_loaded = load_power_calibration();
  return *default_loaded;
}

void override_default_power_calibration(std::optional<PowerCalibration> calibration) {
  std::lock_guard lock(default_mutex);
  default_override = std::move(calibration);
}

PowerEstimate estimate_power(const LatencyPrediction& prediction, const hardware::Device& device,
                             const PowerCalibration& c) {
  PowerEstimate p;
  p.utilisation = std::clamp(prediction.utilisation, 0.0, 1.0);
  const double u_c = std::clamp(prediction.compute_utilisation, 0.0, 1.0);
  const double u_m = std::clamp(prediction.memory_utilisation, 0.0, 1.0);
  const double share = std::clamp(c.active + c.compute * u_c + c.memory * u_m, 0.0, 1.0);
  const double idle = std::min(device.idle_w, device.tdp_w);
  p.average_w = idle + (device.tdp_w - idle) * share;
  // The band never leaves [idle, TDP]: a board's average power cannot.
  const double low_factor = p.average_w > 0 ? std::max(c.interval_low_factor, std::min(1.0, idle / p.average_w)) : 1.0;
  const double high_factor = p.average_w > 0 ? std::min(c.interval_high_factor, std::max(1.0, device.tdp_w / p.average_w)) : 1.0;
  p.power_w = scaled_interval(p.average_w, low_factor, high_factor);
  p.calibrated = c.calibrated;
  // Energy band: log widths of power and latency added in quadrature.
  const Interval& t = prediction.latency_ms;
  auto width = [](double a, double b) { return std::hypot(std::log(a), std::log(b)); };
  const double low = t.value > 0 && t.low > 0 ? std::exp(-width(low_factor, t.low / t.value)) : 1.0;
  const double high = t.value > 0 && t.high > 0 ? std::exp(width(high_factor, t.high / t.value)) : 1.0;
  const double e = p.average_w * t.value * 1e-3;
  p.energy_j = {e, e * low, e * high};
  return p;
}

PowerEstimate estimate_power(const LatencyPrediction& prediction, const hardware::Device& device) {
  return estimate_power(prediction, device, default_power_calibration());
}

}  // namespace perfcast::predict
