#pragma once
#include <vector>

#include "hardware/device.h"
#include "hardware/device_catalog.h"

namespace perfcast::advise {

// A MIG instance seen as a device of its own, so the one predictor serves whole cards and
// slices alike: compute scales with the instance's SMs (or compute slices of 7), memory
// bandwidth and L2 with its memory slices of 8, capacity is the profile's; power is the
// whole GPU's split by compute slices (MIG instances share one board).
hardware::Device mig_instance_device(const hardware::Device& gpu, const hardware::MigProfile& profile);

// The profiles one can actually run many of: "+me" media-extension variants are skipped.
std::vector<hardware::MigProfile> usable_mig_profiles(const hardware::Device& gpu);

// "a100-sxm4-40gb" is the whole card; "a100-sxm4-40gb:3g.20gb" one MIG instance of it.
// Throws perfcast::Error listing the card's profiles when the profile is unknown.
hardware::Device device_or_mig_slice(const hardware::DeviceCatalog& catalog, const std::string& spec);

}  // namespace perfcast::advise
