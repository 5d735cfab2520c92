#include "measure/nvml_library.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <cstdlib>

namespace perfcast::measure {
namespace {

// Minimal NVML declarations, written from the public NVML API reference. nvmlReturn_t is a C enum
// (int-sized); nvmlDevice_t an opaque pointer; the structs below are laid out as documented.
using nvmlReturn = int;
using nvmlDevice = void*;
constexpr nvmlReturn kNvmlSuccess = 0;
constexpr unsigned kNvmlMigEnable = 1;       // NVML_DEVICE_MIG_ENABLE
constexpr unsigned kNvmlNameBufferSize = 96;  // NVML_DEVICE_NAME_V2_BUFFER_SIZE

struct nvmlMemory {  // nvmlMemory_t (v1): bytes
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
struct nvmlUtilization {  // nvmlUtilization_t: percent
  unsigned int gpu;
  unsigned int memory;
};

}  // namespace

struct NvmlLibrary::Api {
  nvmlReturn (*init)() = nullptr;
  nvmlReturn (*shutdown)() = nullptr;
  nvmlReturn (*device_count)(unsigned*) = nullptr;
  nvmlReturn (*handle_by_index)(unsigned, nvmlDevice*) = nullptr;
  nvmlReturn (*name)(nvmlDevice, char*, unsigned) = nullptr;
  const char* (*error_string)(nvmlReturn) = nullptr;
  // Optional: older drivers lack some; a missing one reads as "not supported".
  nvmlReturn (*total_energy)(nvmlDevice, unsigned long long*) = nullptr;
  nvmlReturn (*power_usage)(nvmlDevice, unsigned*) = nullptr;
  nvmlReturn (*memory_info)(nvmlDevice, nvmlMemory*) = nullptr;
  nvmlReturn (*utilization)(nvmlDevice, nvmlUtilization*) = nullptr;
  nvmlReturn (*clock_info)(nvmlDevice, int, unsigned*) = nullptr;
  nvmlReturn (*mig_mode)(nvmlDevice, unsigned*, unsigned*) = nullptr;
};

std::string NvmlLibrary::default_path() {
  const char* env = std::getenv("PERFCAST_NVML_LIBRARY");
  return env && *env ? std::string(env) : std::string("libnvidia-ml.so.1");
}

void NvmlLibrary::fail(const std::string& why) {
  available_ = false;
  reason_ = "NVML not available: " + why;
  gpus_.clear();
  devices_.clear();
}

NvmlLibrary::NvmlLibrary(const std::string& path) : path_(path), api_(std::make_unique<Api>()) {
  dlerror();
  handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    const char* err = dlerror();
    fail(fmt::format("{} not found ({}); NVIDIA GPUs are measured only where the NVIDIA driver is installed", path,
                     err ? err : "dlopen failed"));
    return;
  }
  auto sym = [&](auto& fn, const char* name) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(handle_, name));
    return fn != nullptr;
  };
  const char* required[] = {"nvmlInit_v2", "nvmlShutdown", "nvmlDeviceGetCount_v2", "nvmlDeviceGetHandleByIndex_v2",
                            "nvmlDeviceGetName", "nvmlErrorString"};
  const bool ok[] = {sym(api_->init, required[0]),         sym(api_->shutdown, required[1]),
                     sym(api_->device_count, required[2]), sym(api_->handle_by_index, required[3]),
                     sym(api_->name, required[4]),         sym(api_->error_string, required[5])};
  for (size_t i = 0; i < std::size(ok); ++i) {
    if (!ok[i]) {
      fail(fmt::format("{} has no {} (not an NVML library, or a very old driver)", path, required[i]));
      return;
    }
  }
  sym(api_->total_energy, "nvmlDeviceGetTotalEnergyConsumption");
  sym(api_->power_usage, "nvmlDeviceGetPowerUsage");
  sym(api_->memory_info, "nvmlDeviceGetMemoryInfo");
  sym(api_->utilization, "nvmlDeviceGetUtilizationRates");
  sym(api_->clock_info, "nvmlDeviceGetClockInfo");
  sym(api_->mig_mode, "nvmlDeviceGetMigMode");

  if (nvmlReturn r = api_->init(); r != kNvmlSuccess) {
    fail(fmt::format("nvmlInit failed: {} (is the NVIDIA kernel driver loaded?)", error_string(r)));
    return;
  }
  initialised_ = true;
  unsigned count = 0;
  if (nvmlReturn r = api_->device_count(&count); r != kNvmlSuccess) {
    fail(fmt::format("nvmlDeviceGetCount failed: {}", error_string(r)));
    return;
  }
  for (unsigned i = 0; i < count; ++i) {
    nvmlDevice device = nullptr;
    if (nvmlReturn r = api_->handle_by_index(i, &device); r != kNvmlSuccess) {
      // A GPU the driver cannot talk to (lost, no permission): skip it, the others still count.
      continue;
    }
    GpuInfo info;
    info.index = static_cast<unsigned>(gpus_.size());
    char name[kNvmlNameBufferSize] = {};
    info.name = api_->name(device, name, sizeof(name)) == kNvmlSuccess ? std::string(name) : fmt::format("GPU {}", i);
    if (api_->mig_mode) {
      unsigned current = 0, pending = 0;
      info.mig_enabled = api_->mig_mode(device, &current, &pending) == kNvmlSuccess && current == kNvmlMigEnable;
    }
    if (!api_->total_energy) {
      info.energy_counter_error = "the driver has no nvmlDeviceGetTotalEnergyConsumption";
    } else {
      unsigned long long mj = 0;
      const nvmlReturn r = api_->total_energy(device, &mj);
      info.energy_counter = r == kNvmlSuccess;
      if (!info.energy_counter) info.energy_counter_error = error_string(r);
    }
    if (!api_->power_usage) {
      info.power_error = "the driver has no nvmlDeviceGetPowerUsage";
    } else {
      unsigned mw = 0;
      const nvmlReturn r = api_->power_usage(device, &mw);
      info.power_readable = r == kNvmlSuccess;
      if (!info.power_readable) info.power_error = error_string(r);
    }
    devices_.push_back(device);
    gpus_.push_back(std::move(info));
  }
  if (gpus_.empty()) {
    fail(count == 0 ? std::string("NVML found no NVIDIA GPU") : fmt::format("none of the {} GPUs could be opened", count));
    return;
  }
  available_ = true;
}

NvmlLibrary::~NvmlLibrary() {
  if (initialised_ && api_->shutdown) api_->shutdown();
  if (handle_) dlclose(handle_);
}

std::string NvmlLibrary::error_string(int code) const {
  if (api_ && api_->error_string) {
    if (const char* s = api_->error_string(code)) return s;
  }
  return fmt::format("NVML error {}", code);
}

std::optional<std::uint64_t> NvmlLibrary::total_energy_mj(unsigned index) const {
  if (!available_ || index >= devices_.size() || !api_->total_energy) return std::nullopt;
  unsigned long long mj = 0;
  if (api_->total_energy(devices_[index], &mj) != kNvmlSuccess) return std::nullopt;
  return static_cast<std::uint64_t>(mj);
}

std::optional<unsigned> NvmlLibrary::power_mw(unsigned index) const {
  if (!available_ || index >= devices_.size() || !api_->power_usage) return std::nullopt;
  unsigned mw = 0;
  if (api_->power_usage(devices_[index], &mw) != kNvmlSuccess) return std::nullopt;
  return mw;
}

std::optional<NvmlLibrary::Memory> NvmlLibrary::memory(unsigned index) const {
  if (!available_ || index >= devices_.size() || !api_->memory_info) return std::nullopt;
  nvmlMemory m{};
  if (api_->memory_info(devices_[index], &m) != kNvmlSuccess) return std::nullopt;
  return Memory{m.total, m.free, m.used};
}

std::optional<NvmlLibrary::Utilization> NvmlLibrary::utilization(unsigned index) const {
  if (!available_ || index >= devices_.size() || !api_->utilization) return std::nullopt;
  nvmlUtilization u{};
  if (api_->utilization(devices_[index], &u) != kNvmlSuccess) return std::nullopt;
  return Utilization{u.gpu, u.memory};
}

std::optional<unsigned> NvmlLibrary::clock_mhz(unsigned index, Clock clock) const {
  if (!available_ || index >= devices_.size() || !api_->clock_info) return std::nullopt;
  unsigned mhz = 0;
  if (api_->clock_info(devices_[index], static_cast<int>(clock), &mhz) != kNvmlSuccess) return std::nullopt;
  return mhz;
}

}  // namespace perfcast::measure
