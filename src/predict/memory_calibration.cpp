#include "predict/memory_calibration.h"

#include <fmt/format.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/error.h"
#include "common/json_file.h"
#include "hardware/device_catalog.h"

namespace perfcast::predict {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

const nlohmann::json& object_at(const nlohmann::json& parent, const std::string& key, const std::string& path) {
  if (!parent.contains(key) || !parent[key].is_object()) throw Error(fmt::format("{}: missing object '{}'", path, key));
  return parent[key];
}

std::string string_at(const nlohmann::json& parent, const std::string& key, const std::string& path) {
  if (!parent.contains(key) || !parent[key].is_string()) throw Error(fmt::format("{}: missing string '{}'", path, key));
  return parent[key].get<std::string>();
}

FactorBand factor_band(const nlohmann::json& j, const std::string& path, const std::string& name) {
  FactorBand f;
  f.low = json_number(j, "low_factor", path, 1e-3, 1, name + ".low_factor");
  f.high = json_number(j, "high_factor", path, 1, 1e3, name + ".high_factor");
  return f;
}

std::string factor_text(const FactorBand& f) { return fmt::format("x{:.2f}-x{:.2f}", f.low, f.high); }

// "GPU runtime context 300-1000 MiB and workspace 0-100% of its predicted value: documented ranges,
// not measured", or nothing on a CPU.
std::string gpu_parts_text(const ByteRange& context, double workspace_bytes) {
  std::string text;
  if (context.high_bytes > 0)
    text = fmt::format("; GPU runtime context {:.0f}-{:.0f} MiB: documented range, not measured", context.low_bytes / kMiB,
                       context.high_bytes / kMiB);
  if (workspace_bytes > 0) text += "; workspace 0 to its predicted value: assumed, not measured";
  return text;
}

Interval add_ranges(double value_bytes, double tensor_bytes, const FactorBand& tensor, const ByteRange& context,
                    double workspace_bytes) {
  const double low = tensor_bytes * tensor.low + context.low_bytes;
  const double high = tensor_bytes * tensor.high + context.high_bytes + workspace_bytes;
  // The point estimate's context figure (roofline.json) lies inside the range (tested); min/max keeps
  // the band ordered should the two files ever disagree.
  return {value_bytes, std::min(low, value_bytes), std::max(high, value_bytes)};
}

}  // namespace

ByteRange MemoryCalibration::runtime_context_range(const std::string& vendor) const {
  if (auto it = runtime_context_by_vendor.find(vendor); it != runtime_context_by_vendor.end()) return it->second;
  ByteRange widest{0, 0};
  bool first = true;
  for (const auto& [name, range] : runtime_context_by_vendor) {
    if (name == "cpu") continue;
    widest.low_bytes = first ? range.low_bytes : std::min(widest.low_bytes, range.low_bytes);
    widest.high_bytes = std::max(widest.high_bytes, range.high_bytes);
    first = false;
  }
  return widest;
}

std::string default_memory_calibration_path() { return hardware::default_data_dir() + "/calibration/memory.json"; }

MemoryCalibration load_memory_calibration(const std::string& path) {
  const nlohmann::json j = read_json_file(path, "memory calibration");
  json_number(j, "schema_version", path, 1, 1);
  MemoryCalibration c;
  c.file = path;
  const auto& tensor = object_at(j, "tensor_band", path);
  c.measured_on = string_at(tensor, "measured_on", path);
  auto measured = [&](const std::string& mode) {
    const auto& m = object_at(tensor, mode, path);
    const std::string name = "tensor_band." + mode;
    const auto& used = object_at(m, "band", path);
    MeasuredTensorBand band;
    band.factors = factor_band(used, path, name + ".band");
    if (!used.contains("calibrated") || !used["calibrated"].is_boolean())
      throw Error(fmt::format("{}: missing boolean '{}.band.calibrated'", path, name));
    band.calibrated = used["calibrated"].get<bool>();
    band.held_out_coverage_pct = json_number(used, "held_out_coverage_pct", path, 0, 100, name + ".band.held_out_coverage_pct");
    band.fitted_coverage_pct =
        json_number(object_at(m, "fitted", path), "held_out_coverage_pct", path, 0, 100, name + ".fitted.held_out_coverage_pct");
    band.held_out_rows = static_cast<int>(json_number(m, "held_out_rows", path, 1, 1e6, name + ".held_out_rows"));
    return band;
  };
  c.inference = measured("inference");
  c.training = measured("training");
  const auto& context = object_at(j, "runtime_context_bytes_range", path);
  for (const auto& [vendor, range] : context.items()) {
    if (!range.is_object()) continue;
    const std::string name = "runtime_context_bytes_range." + vendor;
    ByteRange r;
    r.low_bytes = json_number(range, "low", path, 0, 1e12, name + ".low");
    r.high_bytes = json_number(range, "high", path, r.low_bytes, 1e12, name + ".high");
    c.runtime_context_by_vendor[vendor] = r;
  }
  if (c.runtime_context_by_vendor.empty())
    throw Error(fmt::format("{}: 'runtime_context_bytes_range' has no vendor entry", path));
  c.llm_assumed = factor_band(object_at(j, "llm", path), path, "llm");
  return c;
}

const MemoryCalibration& default_memory_calibration() {
  static std::mutex mutex;
  static std::optional<MemoryCalibration> loaded;
  std::lock_guard lock(mutex);
  if (!loaded) loaded = load_memory_calibration();
  return *loaded;
}

MemoryBand memory_band(const MemoryEstimate& estimate, Mode mode, hardware::Precision precision,
                       const std::string& vendor, const std::string& activation_liveness,
                       const MemoryCalibration& calibration) {
  const bool training = mode == Mode::kTraining;
  const MeasuredTensorBand& tensor = training ? calibration.training : calibration.inference;
  const ByteRange context = calibration.runtime_context_range(vendor);

  MemoryBand band;
  band.bytes = add_ranges(estimate.total_bytes, estimate.tensor_bytes(), tensor.factors, context, estimate.workspace_bytes);
  const bool measured_precision = precision == hardware::Precision::kFp32 || precision == hardware::Precision::kTf32;
  const bool measured_liveness = training || activation_liveness == "eager-module-scope";
  band.calibrated = tensor.calibrated && measured_precision && measured_liveness;
  const char* mode_name = training ? "training" : "inference";
  if (tensor.calibrated) {
    band.basis = fmt::format("tensor part {}, fitted on measurements: {}; with each model left out of the fit, it "
                             "holds for {:.0f}% of the {} {} rows",
                             factor_text(tensor.factors), calibration.measured_on, tensor.held_out_coverage_pct,
                             tensor.held_out_rows, mode_name);
  } else {
    band.basis = fmt::format("tensor part {}: assumed (with each model left out of the fit, the fitted band held for "
                             "only {:.0f}% of the {} rows); checked on measurements: {}; holds for {:.0f}% of {} {} rows",
                             factor_text(tensor.factors), tensor.fitted_coverage_pct, mode_name, calibration.measured_on,
                             tensor.held_out_coverage_pct, tensor.held_out_rows, mode_name);
  }
  if (!measured_precision)
    band.basis += fmt::format("; measured in fp32, applied to {} unmeasured", hardware::precision_name(precision));
  if (!measured_liveness)
    band.basis += "; the node names carry no PyTorch module scopes, so activations use last-reader liveness, which "
                  "the measurements do not cover";
  band.basis += gpu_parts_text(context, estimate.workspace_bytes);
  return band;
}

MemoryBand llm_memory_band(double tensor_bytes, double workspace_bytes, double runtime_context_bytes,
                           const std::string& vendor, const MemoryCalibration& calibration) {
  const ByteRange context = calibration.runtime_context_range(vendor);
  MemoryBand band;
  band.bytes = add_ranges(tensor_bytes + workspace_bytes + runtime_context_bytes, tensor_bytes, calibration.llm_assumed,
                          context, workspace_bytes);
  band.calibrated = false;
  band.basis = fmt::format("tensor part {}: assumed, not measured (the tensor measurements are CNNs in eager PyTorch; "
                           "KV cache, sharding and serving engines are not covered)",
                           factor_text(calibration.llm_assumed)) +
               gpu_parts_text(context, workspace_bytes);
  return band;
}

}  // namespace perfcast::predict
