#pragma once
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace perfcast::measure {

struct CharacterizeOptions {
  std::string device = "cpu";  // cpu | cuda
  std::string python = "/usr/bin/python3";
  std::string runner;          // "" = default_runner_path()
  bool quick = false;          // smaller GEMMs and copies (tests)
};

struct Characterization {
  std::string device;          // cpu | cuda
  std::string device_name;     // "AMD EPYC", "NVIDIA H100 80GB HBM3"
  std::string host;
  std::string torch_version;
  std::string date;            // YYYY-MM-DD (UTC)
  int compute_units = 0;       // cores or SMs
  int threads = 0;             // torch threads used for the CPU GEMMs
  double memory_bytes = 0;
  std::map<std::string, double> peak_flops;  // precision -> best GEMM FLOP/s
  double bandwidth_bytes_per_s = 0;          // copy: bytes read + written / time
  std::optional<double> idle_power_w;        // NVML, GPU only
  std::string idle_power_note;
};

// Runs the PyTorch runner's "characterize" task (square matmuls of several sizes per precision,
// best of a few; large tensor copies) and, on cuda, reads idle power from NVML for a second
// before. Throws perfcast::Error when the runner fails.
Characterization characterize(const CharacterizeOptions& options);

// Parses the runner's JSON result (exposed for tests).
Characterization characterization_from_json(const nlohmann::json& result);

// A device file in the catalog schema (data/devices/SOURCES.md). Measured figures: compute
// *_tflops, memory.bandwidth_gb_s, power.idle_w (GPU, NVML). Not measurable here and marked
// ASSUMED in the file's source strings: power.tdp_w (and idle_w without NVML) come from
// `fallback_tdp_w`/`fallback_idle_w`.
std::string characterization_toml(const Characterization& c, const std::string& id, double fallback_tdp_w,
                                   double fallback_idle_w);

}  // namespace perfcast::measure
