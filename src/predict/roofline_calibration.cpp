#include "predict/roofline_calibration.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_file.h"
#include "hardware/device_catalog.h"

namespace perfcast::predict {
namespace {

using nlohmann::json;

size_t class_index(OpClass op_class) {
  op_class = parameter_class(op_class);
  for (size_t i = 0; i < std::size(kTimedClasses); ++i)
    if (kTimedClasses[i] == op_class) return i;
  throw Error(fmt::format("operator class '{}' has no roofline parameters", op_class_name(op_class)));
}

struct Reader {
  const std::string& file;

  const json& at(const json& parent, const std::string& key, const std::string& where) const {
    if (!parent.is_object() || !parent.contains(key))
      throw Error(fmt::format("{}: missing key '{}{}'", file, where.empty() ? "" : where + ".", key));
    return parent.at(key);
  }

  // A finite number in [lo, hi].
  double number(const json& parent, const std::string& key, const std::string& where, double lo, double hi) const {
    at(parent, key, where);
    return json_number(parent, key, file, lo, hi, where.empty() ? key : where + "." + key);
  }
};

}  // namespace

const ClassParams& RooflineCalibration::params(OpClass op_class) const { return classes[class_index(op_class)]; }

double RooflineCalibration::gemm_scale_for(const std::string& device_id, const std::string& chip) const {
  if (const auto it = gemm_device_scale.find(device_id); it != gemm_device_scale.end()) return it->second;
  if (const auto it = gemm_chip_scale.find(chip); !chip.empty() && it != gemm_chip_scale.end()) return it->second;
  return 1.0;
}

double RooflineCalibration::tensor_core_multiplier(OpClass op_class) const {
  if (op_class == OpClass::kGemm) return tensor_core_multiplier_gemm;
  if (parameter_class(op_class) == OpClass::kConv) return tensor_core_multiplier_conv;
  return 1.0;
}

double RooflineCalibration::low_precision_memory_multiplier_for(OpClass op_class) const {
  return parameter_class(op_class) == OpClass::kConv ? low_precision_memory_multiplier_conv
                                                     : low_precision_memory_multiplier;
}

double RooflineCalibration::nhwc_time_factor(OpClass op_class) const {
  op_class = parameter_class(op_class);
  for (size_t i = 0; i < std::size(kTimedClasses); ++i)
    if (kTimedClasses[i] == op_class) return layout.nhwc_time_factor[i];
  return 1.0;
}

double RooflineCalibration::runtime_context_for(const std::string& vendor) const {
  if (auto it = runtime_context_bytes.find(vendor); it != runtime_context_bytes.end()) return it->second;
  double most = 0;
  for (const auto& [name, bytes] : runtime_context_bytes) most = std::max(most, bytes);
  return most;
}

const RooflineCalibration& RooflineCalibration::for_device(const std::string& device_kind) const {
  return device_kind == "cpu" && cpu_variant ? *cpu_variant : *this;
}

std::string default_calibration_path() { return hardware::default_data_dir() + "/calibration/roofline.json"; }

RooflineCalibration load_roofline_calibration(const std::string& path) {
  const json j = read_json_file(path, "roofline calibration");
  const Reader r{path};
  RooflineCalibration c;
  c.file = path;
  const double version = r.number(j, "schema_version", "", 1, 1);
  (void)version;
  if (j.contains("fitted_on") && j["fitted_on"].is_string()) c.fitted_on = j["fitted_on"].get<std::string>();
  if (j.contains("date") && j["date"].is_string()) c.date = j["date"].get<std::string>();
  auto class_params = [&](const json& p, const std::string& where) {
    ClassParams out;
    out.a = r.number(p, "a", where, 1e-6, 1);
    out.f = r.number(p, "f", where, 0, 1e18);
    out.b = r.number(p, "b", where, 1e-6, 1);
    out.g = r.number(p, "g", where, 0, 1e18);
    out.t0_s = r.number(p, "t0_s", where, 0, 1);
    return out;
  };
  const json& classes = r.at(j, "classes", "");
  for (size_t i = 0; i < std::size(kTimedClasses); ++i) {
    const std::string name(op_class_name(kTimedClasses[i]));
    c.classes[i] = class_params(r.at(classes, name, "classes"), "classes." + name);
  }
  if (j.contains("gemm_device_scale")) {
    const json& values = r.at(j["gemm_device_scale"], "values", "gemm_device_scale");
    if (!values.is_object()) throw Error(fmt::format("{}: 'gemm_device_scale.values' must be an object", path));
    for (const auto& item : values.items())
      c.gemm_device_scale[item.key()] = r.number(values, item.key(), "gemm_device_scale.values", 1e-3, 1e3);
    if (j["gemm_device_scale"].contains("by_chip")) {
      const json& chips = j["gemm_device_scale"]["by_chip"];
      if (!chips.is_object()) throw Error(fmt::format("{}: 'gemm_device_scale.by_chip' must be an object", path));
      for (const auto& item : chips.items())
        c.gemm_chip_scale[item.key()] = r.number(chips, item.key(), "gemm_device_scale.by_chip", 1e-3, 1e3);
    }
  }
  if (j.contains("gemm_wave_tile")) c.gemm_wave_tile = r.number(j, "gemm_wave_tile", "", 0, 4096);
  if (j.contains("training")) {
    const json& t = j["training"];
    c.training.backward_multiplier = r.number(t, "backward_multiplier", "training", 1e-3, 1e3);
    c.training.depthwise_conv_backward_multiplier =
        t.contains("depthwise_conv_backward_multiplier")
            ? r.number(t, "depthwise_conv_backward_multiplier", "training", 1e-3, 1e3)
            : c.training.backward_multiplier;
    c.training.optimizer_multiplier = r.number(t, "optimizer_multiplier", "training", 1e-3, 1e3);
    c.training.interval_low_factor = r.number(t, "interval_low_factor", "training", 1e-6, 1);
    c.training.interval_high_factor = r.number(t, "interval_high_factor", "training", 1, 1e6);
  }
  if (j.contains("layout")) {
    const json& factors = r.at(j["layout"], "nhwc_time_factor", "layout");
    for (size_t i = 0; i < std::size(kTimedClasses); ++i) {
      const std::string name(op_class_name(kTimedClasses[i]));
      if (factors.contains(name))
        c.layout.nhwc_time_factor[i] = r.number(factors, name, "layout.nhwc_time_factor", 1e-3, 1e3);
    }
    c.layout.fitted = true;
  }
  c.per_node_overhead_s = r.number(j, "per_node_overhead_s", "", 0, 1);
  const json& multiplier = r.at(j, "tensor_core_multiplier", "");
  c.tensor_core_multiplier_gemm = r.number(multiplier, "gemm", "tensor_core_multiplier", 1e-3, 1e3);
  c.tensor_core_multiplier_conv = r.number(multiplier, "conv", "tensor_core_multiplier", 1e-3, 1e3);
  if (j.contains("grouped_conv"))
    c.grouped_conv_compute_factor =
        r.number(j["grouped_conv"], "compute_efficiency_vs_conv", "grouped_conv", 1e-3, 1e3);
  const json& memory_multiplier = r.at(j, "low_precision_memory_multiplier", "");
  c.low_precision_memory_multiplier =
      r.number(memory_multiplier, "value", "low_precision_memory_multiplier", 1e-3, 1e3);
  c.low_precision_memory_multiplier_conv =
      memory_multiplier.contains("conv")
          ? r.number(memory_multiplier, "conv", "low_precision_memory_multiplier", 1e-3, 1e3)
          : c.low_precision_memory_multiplier;
  const json& interval = r.at(j, "interval", "");
  c.interval_low_factor = r.number(interval, "low_factor", "interval", 1e-6, 1);
  c.interval_high_factor = r.number(interval, "high_factor", "interval", 1, 1e6);
  const json& context = r.at(j, "runtime_context_bytes", "");
  for (const auto& [vendor, value] : context.items()) {
    if (value.is_number()) c.runtime_context_bytes[vendor] = r.number(context, vendor, "runtime_context_bytes", 0, 1e12);
  }
  if (c.runtime_context_bytes.empty()) throw Error(fmt::format("{}: 'runtime_context_bytes' has no vendor entry", path));
  const json& workspace = r.at(j, "workspace", "");
  c.workspace_fraction = r.number(workspace, "fraction_of_largest_operand", "workspace", 0, 100);
  c.workspace_cap_bytes = r.number(workspace, "cap_bytes", "workspace", 0, 1e13);
  if (j.contains("cpu")) {
    const json& cpu = j["cpu"];
    const json& cpu_classes = r.at(cpu, "classes", "cpu");
    for (size_t i = 0; i < std::size(kTimedClasses); ++i) {
      const std::string name(op_class_name(kTimedClasses[i]));
      c.cpu.classes[i] = class_params(r.at(cpu_classes, name, "cpu.classes"), "cpu.classes." + name);
    }
    c.cpu.per_node_overhead_s = cpu.contains("per_node_overhead_s") ? r.number(cpu, "per_node_overhead_s", "cpu", 0, 1) : 0;
    const json& cpu_interval = r.at(cpu, "interval", "cpu");
    c.cpu.interval_low_factor = r.number(cpu_interval, "low_factor", "cpu.interval", 1e-6, 1);
    c.cpu.interval_high_factor = r.number(cpu_interval, "high_factor", "cpu.interval", 1, 1e6);
    const std::string clock = cpu.value("peak_clock", std::string("base"));
    if (clock != "base" && clock != "boost")
      throw Error(fmt::format("{}: 'cpu.peak_clock' must be \"base\" or \"boost\", not '{}'", path, clock));
    c.cpu.peak_at_boost_clock = clock == "boost";
    c.cpu.fitted = true;
    auto variant = std::make_shared<RooflineCalibration>(c);
    variant->classes = c.cpu.classes;
    variant->per_node_overhead_s = c.cpu.per_node_overhead_s;
    variant->interval_low_factor = c.cpu.interval_low_factor;
    variant->interval_high_factor = c.cpu.interval_high_factor;
    variant->peak_at_boost_clock = c.cpu.peak_at_boost_clock;
    variant->gemm_wave_tile = 0;  // CPU BLAS/oneDNN block per core at much smaller tiles than GPU waves
    variant->gemm_device_scale.clear();
    variant->gemm_chip_scale.clear();
    c.cpu_variant = std::move(variant);
  }
  return c;
}

}  // namespace perfcast::predict
