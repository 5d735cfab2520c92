#include "advise/mig.h"

#include <gtest/gtest.h>

#include "support/test_helpers.h"

namespace perfcast::advise {
namespace {

using testing::error_of;

const hardware::DeviceCatalog& catalog() {
  static const hardware::DeviceCatalog c = hardware::DeviceCatalog::load();
  return c;
}

TEST(MigSlice, ScalesComputeBySmsAndBandwidthByMemorySlices) {
  const hardware::Device& gpu = catalog().get("a100-sxm4-40gb");
  const hardware::Device slice = device_or_mig_slice(catalog(), "a100-sxm4-40gb:3g.20gb");
  const hardware::MigProfile* profile = nullptr;
  for (const auto& p : gpu.mig_profiles)
    if (p.name == "3g.20gb") profile = &p;
  ASSERT_NE(profile, nullptr);
  ASSERT_TRUE(profile->sm_count.has_value());
  const double sm_share = static_cast<double>(*profile->sm_count) / gpu.sm_count;
  EXPECT_DOUBLE_EQ(slice.peak_tflops.at(hardware::Precision::kFp16), gpu.peak_tflops.at(hardware::Precision::kFp16) * sm_share);
  EXPECT_DOUBLE_EQ(slice.memory_bandwidth_gb_s, gpu.memory_bandwidth_gb_s * profile->memory_slices / 8.0);
  EXPECT_DOUBLE_EQ(slice.memory_gib, profile->memory_gib);
  EXPECT_DOUBLE_EQ(slice.tdp_w, gpu.tdp_w * 3 / 7.0);
  EXPECT_EQ(slice.id, "a100-sxm4-40gb:3g.20gb");
}

TEST(MigSlice, UnknownProfileOrNoMigIsAnError) {
  EXPECT_NE(error_of([] { device_or_mig_slice(catalog(), "a100-sxm4-40gb:9g.90gb"); }).find("3g.20gb"),
            std::string::npos);
  EXPECT_NE(error_of([] { device_or_mig_slice(catalog(), "t4:1g.5gb"); }).find("does not support MIG"),
            std::string::npos);
}

TEST(MigSlice, MediaExtensionProfilesAreNotOffered) {
  for (const auto& p : usable_mig_profiles(catalog().get("h100-sxm5-80gb")))
    EXPECT_EQ(p.name.find("+me"), std::string::npos) << p.name;
}

}  // namespace
}  // namespace perfcast::advise
