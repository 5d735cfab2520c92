#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace perfcast::hardware {

// Numeric precisions a workload can run in; a device supports the ones its spec sheet lists.
enum class Precision { kFp64, kFp32, kTf32, kFp16, kBf16, kFp8, kInt8 };

std::string precision_name(Precision p);
// Throws perfcast::Error listing the accepted names.
Precision parse_precision(const std::string& text);
// Bytes per element of weights and activations stored in this precision (tf32 is stored as fp32).
double precision_bytes(Precision p);

struct MigProfile {
  std::string name;            // as nvidia-smi prints it: "1g.10gb"
  int compute_slices = 0;      // GPCs, out of the GPU's 7
  int memory_slices = 0;       // out of 8
  double memory_gib = 0;
  int max_instances = 0;
  std::optional<int> sm_count;
};

// One device of the catalog (data/devices/ID.toml). Every figure is dense (no sparsity) and
// has a source in the file; absent precisions are unsupported, never zero.
struct Device {
  std::string id;
  std::string name;
  std::string kind;            // "gpu" or "cpu"
  std::string vendor;
  std::string architecture;
  // The GPU die ("GA100", "GV100"): board variants of one die (SXM/PCIe, memory sizes) share it. Optional.
  std::string chip;
  std::vector<std::string> aliases;
  std::string file;            // where it was loaded from

  std::map<Precision, double> peak_tflops;  // int8 in TOPS
  int sm_count = 0;            // SMs, CUs or CPU cores
  double boost_clock_mhz = 0;

  double memory_gib = 0;
  double memory_bandwidth_gb_s = 0;
  double l2_cache_mib = 0;

  double tdp_w = 0;
  double idle_w = 0;

  double nvlink_gb_s = 0;      // 0 when the device has none
  double xgmi_gb_s = 0;        // AMD Infinity Fabric; 0 when the device has none
  double pcie_gb_s = 0;

  double embodied_kgco2e = 0;
  double lifetime_years = 0;
  bool embodied_known = false; // false when the file has no [embodied] figures (both stay 0)

  std::vector<MigProfile> mig_profiles;

  bool supports(Precision p) const { return peak_tflops.count(p) > 0; }
  // Throws perfcast::Error ("a100-sxm4-40gb has no fp8 support; it supports: ...") when absent.
  double peak_flops(Precision p) const;
  double memory_bytes() const { return memory_gib * 1024.0 * 1024.0 * 1024.0; }
  double bandwidth_bytes_per_s() const { return memory_bandwidth_gb_s * 1e9; }
};

}  // namespace perfcast::hardware
