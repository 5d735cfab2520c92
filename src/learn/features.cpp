#include "learn/features.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace perfcast::learn {

RooflinePrior roofline_prior(const WorkloadRow& row, const hardware::Device& device) {
  RooflinePrior prior;
  const double peak = device.peak_flops(row.precision);
  const double b = hardware::precision_bytes(row.precision);
  const double batch = static_cast<double>(row.batch);
  prior.compute_s = 2.0 * row.gmacs * 1e9 * batch / peak;
  prior.bytes = row.param_count_m * 1e6 * b + row.macts_m * 1e6 * batch * b * 2.0;
  prior.memory_s = prior.bytes / device.bandwidth_bytes_per_s();
  prior.time_s = std::max(prior.compute_s, prior.memory_s);
  return prior;
}

const std::vector<std::string>& feature_names() {
  static const std::vector<std::string> names = {
      "params_m",        "log10_params",     "gmacs",          "log10_gmacs",      "macts_m",
      "log10_macts",     "batch",            "log2_batch",     "img_size",         "macs_per_act",
      "log10_macs_per_act", "peak_tflops",   "bandwidth_gb_s", "memory_gib",       "sm_count",
      "l2_mib",          "tdp_w",            "ridge_flop_per_byte", "log10_roof_ms", "log10_compute_over_memory",
      "channels_last",   "compiled",         "torch_version"};
  return names;
}

namespace {
double safe_log10(double v) { return std::log10(std::max(v, 1e-12)); }
}  // namespace

void append_features(const WorkloadRow& row, const hardware::Device& device, std::vector<float>& out) {
  const RooflinePrior prior = roofline_prior(row, device);
  const double peak = device.peak_flops(row.precision);
  const double macs_per_act = row.macts_m > 0 ? row.gmacs * 1e3 / row.macts_m : 0.0;
  const double values[] = {
      row.param_count_m,
      safe_log10(row.param_count_m * 1e6),
      row.gmacs,
      safe_log10(row.gmacs * 1e9),
      row.macts_m,
      safe_log10(row.macts_m * 1e6),
      static_cast<double>(row.batch),
      std::log2(static_cast<double>(std::max<int64_t>(row.batch, 1))),
      static_cast<double>(row.img_size),
      macs_per_act,
      safe_log10(macs_per_act),
      peak / 1e12,
      device.memory_bandwidth_gb_s,
      device.memory_gib,
      static_cast<double>(device.sm_count),
      device.l2_cache_mib,
      device.tdp_w,
      peak / device.bandwidth_bytes_per_s(),
      safe_log10(prior.time_s * 1e3),
      safe_log10(prior.compute_s) - safe_log10(prior.memory_s),
      row.channels_last ? 1.0 : 0.0,
      row.compiled ? 1.0 : 0.0,
      row.torch_version,
  };
  static_assert(sizeof(values) / sizeof(values[0]) == 23);
  for (double v : values) out.push_back(static_cast<float>(v));
}

std::vector<float> make_features(const WorkloadRow& row, const hardware::Device& device) {
  std::vector<float> out;
  out.reserve(feature_names().size());
  append_features(row, device, out);
  return out;
}

std::string model_family(const std::string& model_name) {
  std::string family;
  for (char c : model_name) {
    if (c == '_' || c == '.' || c == '-' || std::isdigit(static_cast<unsigned char>(c))) break;
    family.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return family.empty() ? model_name : family;
}

}  // namespace perfcast::learn
