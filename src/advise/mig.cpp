#include "advise/mig.h"

#include <fmt/format.h>

#include "common/error.h"

namespace perfcast::advise {

namespace {
constexpr double kGpcsPerGpu = 7;       // MIG compute slices on A100/H100/H200
constexpr double kMemorySlicesPerGpu = 8;
}  // namespace

hardware::Device mig_instance_device(const hardware::Device& gpu, const hardware::MigProfile& profile) {
  if (profile.compute_slices <= 0 || profile.memory_slices <= 0 || profile.memory_gib <= 0) {
    throw Error(fmt::format("MIG profile '{}' of {} has no slices or memory in its device file", profile.name, gpu.id));
  }
  const double compute_share = profile.sm_count && gpu.sm_count > 0
                                   ? static_cast<double>(*profile.sm_count) / gpu.sm_count
                                   : profile.compute_slices / kGpcsPerGpu;
  const double memory_share = profile.memory_slices / kMemorySlicesPerGpu;
  const double power_share = profile.compute_slices / kGpcsPerGpu;

  hardware::Device slice = gpu;
  slice.id = gpu.id + ":" + profile.name;
  slice.name = gpu.name + " MIG " + profile.name;
  slice.aliases.clear();
  slice.mig_profiles.clear();
  for (auto& [precision, tflops] : slice.peak_tflops) tflops *= compute_share;
  slice.sm_count = profile.sm_count.value_or(static_cast<int>(gpu.sm_count * compute_share));
  slice.memory_gib = profile.memory_gib;
  slice.memory_bandwidth_gb_s = gpu.memory_bandwidth_gb_s * memory_share;
  slice.l2_cache_mib = gpu.l2_cache_mib * memory_share;
  slice.tdp_w = gpu.tdp_w * power_share;
  slice.idle_w = gpu.idle_w * power_share;
  slice.embodied_kgco2e = gpu.embodied_kgco2e * power_share;
  return slice;
}

std::vector<hardware::MigProfile> usable_mig_profiles(const hardware::Device& gpu) {
  std::vector<hardware::MigProfile> profiles;
  for (const auto& p : gpu.mig_profiles)
    if (p.name.find("+me") == std::string::npos && p.max_instances > 0) profiles.push_back(p);
  return profiles;
}

hardware::Device device_or_mig_slice(const hardware::DeviceCatalog& catalog, const std::string& spec) {
  const auto colon = spec.rfind(':');
  if (colon == std::string::npos || spec.find(".toml") != std::string::npos) return catalog.get(spec);
  const hardware::Device& gpu = catalog.get(spec.substr(0, colon));
  const std::string profile_name = spec.substr(colon + 1);
  std::string known;
  for (const auto& profile : usable_mig_profiles(gpu)) {
    if (profile.name == profile_name) return mig_instance_device(gpu, profile);
    known += (known.empty() ? "" : ", ") + profile.name;
  }
  throw Error(fmt::format("{} has no MIG profile '{}'{}", gpu.id, profile_name,
                          known.empty() ? " (it does not support MIG)" : "; its profiles: " + known));
}

}  // namespace perfcast::advise
