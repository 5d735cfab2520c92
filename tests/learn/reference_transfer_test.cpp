#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "learn/reference_transfer.h"

namespace perfcast::learn {
namespace {

TimmRow measured(const std::string& model, const std::string& device, double samples_per_s, int64_t batch = 256,
                 hardware::Precision precision = hardware::Precision::kFp16, double torch_version = 2.4) {
  TimmRow r;
  r.workload.model = model;
  r.workload.batch = batch;
  r.workload.precision = precision;
  r.workload.torch_version = torch_version;
  r.device_id = device;
  r.samples_per_s = samples_per_s;
  r.step_time_ms = static_cast<double>(batch) * 1e3 / samples_per_s;
  return r;
}

TEST(ReferenceTable, PrefersTheSameSettingsThenTheSameBatchThenTheNearestPyTorch) {
  TimmDataset data;
  data.rows = {measured("resnet50", "rtx-4090", 1000, 256, hardware::Precision::kFp16, 2.4),
               measured("resnet50", "rtx-4090", 2000, 256, hardware::Precision::kFp16, 2.9),
               measured("resnet50", "rtx-4090", 4000, 64, hardware::Precision::kFp16, 2.4),
               measured("resnet50", "rtx-3090", 500, 256, hardware::Precision::kBf16, 2.4),
               measured("resnet50", "rtx-5090", 9999, 256, hardware::Precision::kFp16, 2.4)};
  const ReferenceTable table = ReferenceTable::from_timm(data, "rtx-5090");
  EXPECT_EQ(table.measurements(), 4u);

  WorkloadRow q;
  q.model = "resnet50";
  q.batch = 256;
  q.torch_version = 2.8;
  // Same settings exist on the 4090: the 3090's bf16 run is not used; batch 256 at PyTorch 2.9 is nearest.
  ReferenceLogMs ref = table.lookup(q);
  ASSERT_EQ(ref.size(), 1u);
  EXPECT_NEAR(std::exp(ref.at("rtx-4090")), 256 * 1e3 / 2000, 1e-9);

  // bf16 was measured on the 3090 only; the 4090's fp16 run is the closest there, under its own label.
  q.precision = hardware::Precision::kBf16;
  ref = table.lookup(q);
  ASSERT_EQ(ref.size(), 1u);
  EXPECT_NEAR(std::exp(ref.at("rtx-3090")), 256 * 1e3 / 500, 1e-9);

  q.model = "never_measured";
  EXPECT_TRUE(table.lookup(q).empty());
}

TEST(ReferenceCalibration, RecoversEachDevicesFactorAndBeatsAWorseFeatureCorrection) {
  // The new device runs every workload 0.5x the 4090's time and 0.25x the 3090's, with 3% noise.
  std::vector<ReferenceLogMs> refs;
  std::vector<double> measured_ms;
  DeviceCalibration features;
  for (int i = 0; i < 12; ++i) {
    const double true_ms = 10.0 * (i + 1);
    const double noise = 1.0 + 0.03 * ((i % 3) - 1);
    refs.push_back({{"rtx-4090", std::log(true_ms / 0.5)}, {"rtx-3090", std::log(true_ms / 0.25)}});
    measured_ms.push_back(true_ms * noise);
    features.loo_log_residuals.push_back(i % 2 ? 0.2 : -0.2);  // a feature-based correction 20% off
  }
  refs.push_back({});  // a workload no known device measured
  measured_ms.push_back(5.0);
  features.loo_log_residuals.push_back(0.0);

  const auto cal = fit_reference_calibration(refs, measured_ms, features);
  ASSERT_TRUE(cal.has_value());
  EXPECT_EQ(cal->n_rows, 12u);
  EXPECT_NEAR(std::exp(cal->log_offset.at("rtx-4090")), 0.5, 0.02);
  EXPECT_NEAR(std::exp(cal->log_offset.at("rtx-3090")), 0.25, 0.01);
  EXPECT_LT(cal->loo_mape_pct, 4.0);
  EXPECT_TRUE(cal->used);
  EXPECT_LT(cal->log_q_low, 0.0);
  EXPECT_GT(cal->log_q_high, 0.0);

  const ReferenceLogMs only_4090 = {{"rtx-4090", std::log(100.0)}};
  EXPECT_NEAR(*apply_reference(*cal, only_4090), 50.0, 1.0);
  EXPECT_FALSE(apply_reference(*cal, {{"rtx-2080", std::log(100.0)}}).has_value());

  const ReferenceCalibration back = reference_calibration_from_json(to_json(*cal), "test");
  EXPECT_DOUBLE_EQ(*apply_reference(back, only_4090), *apply_reference(*cal, only_4090));
  EXPECT_THROW(reference_calibration_from_json(nlohmann::json::object(), "test"), Error);
}

TEST(ReferenceCalibration, NeedsThreeRowsWithAReferenceAndLosesToABetterFeatureCorrection) {
  DeviceCalibration features;
  features.loo_log_residuals = {0, 0, 0};
  EXPECT_FALSE(fit_reference_calibration({{{"a", 1.0}}, {{"a", 2.0}}, {}}, {3.0, 8.0, 1.0}, features).has_value());

  // References that disagree with the new device row to row; a feature correction that is exact.
  std::vector<ReferenceLogMs> refs;
  std::vector<double> measured_ms;
  features.loo_log_residuals.clear();
  for (int i = 0; i < 8; ++i) {
    refs.push_back({{"a", std::log(10.0 * (i % 2 ? 2.0 : 0.5))}});
    measured_ms.push_back(10.0);
    features.loo_log_residuals.push_back(0.0);
  }
  const auto cal = fit_reference_calibration(refs, measured_ms, features);
  ASSERT_TRUE(cal.has_value());
  EXPECT_FALSE(cal->used);
}

}  // namespace
}  // namespace perfcast::learn
