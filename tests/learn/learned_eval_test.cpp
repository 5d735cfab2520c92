#include <gtest/gtest.h>

#include <filesystem>
#include <cmath>
#include <set>

#include "hardware/device_catalog.h"
#include "learn/evaluation.h"
#include "learn/timm_dataset.h"

namespace perfcast::learn {
namespace {

TimmDataset synthetic_dataset() {
  TimmDataset data;
  const char* models[] = {"resnet18", "resnet50", "vit_tiny_patch16_224", "vit_base_patch16_224", "convnext_tiny",
                          "efficientnet_b0", "efficientnet_b3", "mobilenetv3_large_100", "deit_small", "regnety_016",
                          "densenet121", "swin_tiny"};
  for (const char* m : models) {
    for (const char* dev : {"rtx-3090", "rtx-4090"}) {
      TimmRow r;
      r.workload.model = m;
      r.family = model_family(m);
      r.device_id = dev;
      r.step_time_ms = 10;
      data.rows.push_back(r);
    }
  }
  return data;
}

void expect_disjoint_families(const TimmDataset& data, const Split& split) {
  std::set<std::string> train, test;
  for (size_t i : split.train) train.insert(data.rows[i].family);
  for (size_t i : split.test) test.insert(data.rows[i].family);
  for (const auto& f : test) EXPECT_EQ(train.count(f), 0u) << f << " is on both sides";
  EXPECT_EQ(split.train.size() + split.test.size(), data.rows.size());
  EXPECT_EQ(std::set<std::string>(split.test_families.begin(), split.test_families.end()), test);
}

TEST(LearnedEvalSplit, FamilySplitNeverSharesAFamily) {
  const TimmDataset data = synthetic_dataset();
  for (uint64_t seed = 0; seed < 5; ++seed) {
    const Split split = make_split(data, SplitKind::kFamily, seed);
    expect_disjoint_families(data, split);
    EXPECT_EQ(split.test_families.size(), 2u);  // round(0.2 * 10 families)
  }
  EXPECT_NE(make_split(data, SplitKind::kFamily, 0).test_families, make_split(data, SplitKind::kFamily, 1).test_families);
}

TEST(LearnedEvalSplit, DeviceSplitHoldsOutOneWholeDevicePerSeed) {
  const TimmDataset data = synthetic_dataset();
  for (uint64_t seed = 0; seed < 4; ++seed) {
    const Split split = make_split(data, SplitKind::kDevice, seed);
    const std::string held = seed % 2 == 0 ? "rtx-3090" : "rtx-4090";
    ASSERT_FALSE(split.test.empty());
    for (size_t i : split.test) EXPECT_EQ(data.rows[i].device_id, held);
    for (size_t i : split.train) EXPECT_NE(data.rows[i].device_id, held);
    EXPECT_EQ(split.train.size() + split.test.size(), data.rows.size());
  }
}

TEST(LearnedEvalMetrics, ByHand) {
  const Metrics m = compute_metrics({10, 20, 40}, {11, 18, 60});
  EXPECT_NEAR(m.mape, 100.0 * (0.1 + 0.1 + 0.5) / 3, 1e-12);
  EXPECT_NEAR(m.rmse, std::sqrt((1.0 + 4.0 + 400.0) / 3), 1e-12);
  EXPECT_NEAR(m.acc10, 100.0 * 2 / 3, 1e-9);
  EXPECT_NEAR(m.kendall_tau, 1.0, 1e-12);
  EXPECT_NEAR(kendall_tau_b({1, 2, 3}, {3, 2, 1}), -1.0, 1e-12);
}

bool have_timm() { return std::filesystem::is_directory(default_timm_dir()); }

TEST(LearnedEvalTimm, RealFamilySplitIsDisjointAndSkipsCpuFiles) {
  if (!have_timm()) GTEST_SKIP() << "no timm data at " << default_timm_dir();
  const auto catalog = hardware::DeviceCatalog::load();
  const TimmDataset data = load_timm_inference(default_timm_dir(), catalog);
  EXPECT_GT(data.rows.size(), 20000u);
  std::set<std::string> devices;
  for (const auto& r : data.rows) devices.insert(r.device_id);
  EXPECT_EQ(devices, (std::set<std::string>{"rtx-3090", "rtx-4090", "rtx-5090", "rtx-pro-6000-blackwell-max-q"}));
  // The CPU files are fp32: skipped with the reason, never mixed into the GPU rows.
  int skipped_cpu = 0;
  for (const auto& s : data.files_skipped) skipped_cpu += s.find("-cpu-") != std::string::npos && s.find("fp32") != std::string::npos;
  EXPECT_EQ(skipped_cpu, 3);
  for (uint64_t seed = 0; seed < 5; ++seed) expect_disjoint_families(data, make_split(data, SplitKind::kFamily, seed));
}

TEST(LearnedEvalTimm, ShippedModelReproducesItsRecordedHeldOutMape) {
  if (!have_timm()) GTEST_SKIP() << "no timm data at " << default_timm_dir();
  const std::string model = hardware::default_data_dir() + "/models/learned/xgb_latency.json";
  ASSERT_TRUE(std::filesystem::exists(model)) << model;
  const auto catalog = hardware::DeviceCatalog::load();
  const TimmDataset data = load_timm_inference(default_timm_dir(), catalog);
  const SavedModelCheck check = check_saved_model(model, data, catalog);
  EXPECT_EQ(check.recorded_split.split, SplitKind::kFamily);
  EXPECT_NEAR(check.reproduced.mape, check.recorded_mape, 1e-6);
}

}  // namespace
}  // namespace perfcast::learn
