#include <gtest/gtest.h>

#include <cmath>

#include "hardware/device_catalog.h"
#include "common/error.h"
#include "learn/features.h"

namespace perfcast::learn {
namespace {

// resnet50 at 224 px, batch 1024, AMP fp16 on an RTX 3090 (71 TFLOP/s fp16 with fp32 accumulate,
// 936 GB/s, 82 SMs, 6 MiB L2, 350 W, 24 GiB): timm's figures 25.56 M params, 4.11 GMACs, 11.11 M acts.
WorkloadRow resnet50_row() {
  WorkloadRow row;
  row.model = "resnet50";
  row.param_count_m = 25.56;
  row.gmacs = 4.11;
  row.macts_m = 11.11;
  row.batch = 1024;
  row.img_size = 224;
  row.precision = hardware::Precision::kFp16;
  row.torch_version = 2.4;
  return row;
}

TEST(FeaturesRoofline, KnownRowByHand) {
  const auto catalog = hardware::DeviceCatalog::load();
  const auto& device = catalog.get("rtx-3090");
  const RooflinePrior prior = roofline_prior(resnet50_row(), device);
  // 2 * 4.11e9 * 1024 = 8.41728e12 FLOP / 71e12 = 0.118553 s
  EXPECT_NEAR(prior.compute_s, 8.41728e12 / 71e12, 1e-9);
  // 25.56e6 * 2 + 11.11e6 * 1024 * 2 * 2 = 51.12e6 + 45506.56e6 = 45557.68e6 bytes
  EXPECT_NEAR(prior.bytes, 45557.68e6, 1.0);
  EXPECT_NEAR(prior.memory_s, 45557.68e6 / 936e9, 1e-9);
  EXPECT_NEAR(prior.time_s, 0.1185532394, 1e-9);  // compute-bound
}

TEST(FeaturesVector, KnownRowByHand) {
  const auto catalog = hardware::DeviceCatalog::load();
  const auto& device = catalog.get("rtx-3090");
  const std::vector<float> f = make_features(resnet50_row(), device);
  const auto& names = feature_names();
  ASSERT_EQ(f.size(), names.size());
  auto at = [&](const std::string& name) {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == name) return static_cast<double>(f[i]);
    ADD_FAILURE() << "no feature " << name;
    return 0.0;
  };
  EXPECT_FLOAT_EQ(at("params_m"), 25.56f);
  EXPECT_NEAR(at("log10_params"), std::log10(25.56e6), 1e-5);
  EXPECT_NEAR(at("log10_gmacs"), std::log10(4.11e9), 1e-5);
  EXPECT_NEAR(at("macs_per_act"), 4110.0 / 11.11, 1e-3);  // 369.94 MACs per activation
  EXPECT_EQ(at("batch"), 1024);
  EXPECT_EQ(at("log2_batch"), 10);
  EXPECT_EQ(at("img_size"), 224);
  EXPECT_FLOAT_EQ(at("peak_tflops"), 71.0f);
  EXPECT_FLOAT_EQ(at("bandwidth_gb_s"), 936.0f);
  EXPECT_FLOAT_EQ(at("memory_gib"), 24.0f);
  EXPECT_EQ(at("sm_count"), 82);
  EXPECT_FLOAT_EQ(at("l2_mib"), 6.0f);
  EXPECT_FLOAT_EQ(at("tdp_w"), 350.0f);
  EXPECT_NEAR(at("ridge_flop_per_byte"), 71e12 / 936e9, 1e-3);
  EXPECT_NEAR(at("log10_roof_ms"), std::log10(118.5532394), 1e-5);
  EXPECT_NEAR(at("log10_compute_over_memory"), std::log10((8.41728e12 / 71e12) / (45557.68e6 / 936e9)), 1e-5);
  EXPECT_EQ(at("channels_last"), 0);
  EXPECT_EQ(at("compiled"), 0);
  EXPECT_FLOAT_EQ(at("torch_version"), 2.4f);
}

TEST(FeaturesFamily, PrefixBeforeUnderscoreOrDigits) {
  EXPECT_EQ(model_family("resnet50"), "resnet");
  EXPECT_EQ(model_family("vit_base_patch16_224"), "vit");
  EXPECT_EQ(model_family("efficientnet_b0"), "efficientnet");
  EXPECT_EQ(model_family("convnext_tiny.fb_in1k"), "convnext");
  EXPECT_EQ(model_family("mobilenetv3_large_100"), "mobilenetv");
  EXPECT_EQ(model_family("ResNeXt101"), "resnext");
}

TEST(FeaturesRoofline, MissingPrecisionIsAnError) {
  const auto catalog = hardware::DeviceCatalog::load();
  WorkloadRow row = resnet50_row();
  row.precision = hardware::Precision::kFp8;
  EXPECT_THROW(roofline_prior(row, catalog.get("rtx-3090")), Error);
}

}  // namespace
}  // namespace perfcast::learn
