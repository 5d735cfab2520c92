#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace perfcast::measure {

// The NVIDIA Management Library, loaded at run time with dlopen so that perfcast builds and runs
// on machines without NVIDIA software. Only the handful of entry points the energy meter needs are
// resolved; their declarations are perfcast's own (from the public NVML API reference), not nvml.h.
//
// Never throws for a missing or broken NVML: available() is false and unavailable_reason() says
// why ("NVML not available: libnvidia-ml.so.1 not found (...)").
//
// Devices are the physical GPUs NVML enumerates (nvmlDeviceGetHandleByIndex). On a MIG-enabled GPU
// energy and power are only readable on this parent device, so every figure read here is for the
// whole GPU, shared by all of its MIG instances (see GpuInfo::mig_enabled).
class NvmlLibrary {
 public:
  // $PERFCAST_NVML_LIBRARY when set and not empty, else "libnvidia-ml.so.1".
  static std::string default_path();

  // Loads `path`, resolves the functions and calls nvmlInit_v2.
  explicit NvmlLibrary(const std::string& path = default_path());
  ~NvmlLibrary();  // nvmlShutdown and dlclose
  NvmlLibrary(const NvmlLibrary&) = delete;
  NvmlLibrary& operator=(const NvmlLibrary&) = delete;

  bool available() const { return available_; }
  const std::string& unavailable_reason() const { return reason_; }
  const std::string& path() const { return path_; }

  struct GpuInfo {
    unsigned index = 0;
    std::string name;
    bool mig_enabled = false;          // MIG mode currently enabled on this GPU
    bool energy_counter = false;       // nvmlDeviceGetTotalEnergyConsumption works (Volta and newer)
    bool power_readable = false;       // nvmlDeviceGetPowerUsage works
    std::string energy_counter_error;  // why the counter is not used, when it is not
    std::string power_error;           // why power cannot be read, when it cannot
  };
  // One entry per GPU; empty when NVML is not available.
  const std::vector<GpuInfo>& gpus() const { return gpus_; }

  struct Memory {
    std::uint64_t total = 0, free = 0, used = 0;  // bytes
  };
  struct Utilization {
    unsigned gpu = 0, memory = 0;  // percent over the driver's last sample period
  };
  enum class Clock { kGraphics = 0, kSm = 1, kMemory = 2, kVideo = 3 };

  // Readings of GPU `index` (an index into gpus()); nullopt when the GPU or driver does not
  // support it (MIG-enabled GPUs report no utilisation) or NVML is not available. Thread-safe.
  std::optional<std::uint64_t> total_energy_mj(unsigned index) const;
  std::optional<unsigned> power_mw(unsigned index) const;
  std::optional<Memory> memory(unsigned index) const;
  std::optional<Utilization> utilization(unsigned index) const;
  std::optional<unsigned> clock_mhz(unsigned index, Clock clock) const;

  // nvmlErrorString of an NVML return code ("Not Supported"), or "NVML error N" without NVML.
  std::string error_string(int code) const;

 private:
  struct Api;
  void fail(const std::string& why);

  std::string path_;
  void* handle_ = nullptr;
  bool initialised_ = false;
  bool available_ = false;
  std::string reason_;
  std::unique_ptr<Api> api_;
  std::vector<void*> devices_;  // nvmlDevice_t, one per gpus_ entry
  std::vector<GpuInfo> gpus_;
};

}  // namespace perfcast::measure
