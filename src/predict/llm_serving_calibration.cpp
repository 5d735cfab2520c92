#include "predict/llm_serving_calibration.h"

#include <fmt/format.h>

#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/error.h"
#include "common/json_file.h"
#include "hardware/device_catalog.h"

namespace perfcast::predict {

std::string default_llm_serving_calibration_path() {
  return hardware::default_data_dir() + "/calibration/llm_serving.json";
}

LlmServingCalibration load_llm_serving_calibration(const std::string& path) {
  const nlohmann::json j = read_json_file(path, "LLM serving calibration");
  json_number(j, "schema_version", path, 1, 1);
  if (!j.contains("constants") || !j["constants"].is_object()) throw Error(fmt::format("{}: missing object 'constants'", path));
  const auto& k = j["constants"];
  LlmServingCalibration c;
  c.file = path;
  c.compute_efficiency = json_number(k, "compute_efficiency", path, 1e-3, 1);
  c.memory_efficiency = json_number(k, "memory_efficiency", path, 1e-3, 1);
  auto host = [&](const nlohmann::json& h) {
    ServingHostCosts out;
    out.kernel_gap_s = json_number(h, "kernel_gap_s", path, 0, 1e-2);
    out.per_sequence_s = json_number(h, "per_sequence_s", path, 0, 1e-1);
    out.per_step_s = json_number(h, "per_step_s", path, 0, 1);
    return out;
  };
  c.online = host(k);
  c.offline = k.contains("offline") ? host(k["offline"]) : c.online;
  if (j.contains("interval")) {
    c.interval_low_factor = json_number(j["interval"], "low_factor", path, 1e-3, 1);
    c.interval_high_factor = json_number(j["interval"], "high_factor", path, 1, 1e3);
  }
  if (j.contains("fitted_on") && j["fitted_on"].is_string()) c.fitted_on = j["fitted_on"].get<std::string>();
  return c;
}

const LlmServingCalibration& default_llm_serving_calibration() {
  static std::mutex mutex;
  static std::optional<LlmServingCalibration> loaded;
  std::lock_guard lock(mutex);
  if (!loaded) loaded = load_llm_serving_calibration();
  return *loaded;
}

}  // namespace perfcast::predict
