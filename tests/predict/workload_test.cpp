// The prediction every command returns, on ResNet-50 exported from torchvision.
#include "predict/workload.h"

#include <gtest/gtest.h>

#include "graph/onnx_import.h"
#include "hardware/device_catalog.h"
#include "support/fixtures.h"
#include "support/test_helpers.h"

namespace perfcast::predict {
namespace {

ModelWorkload resnet50(int64_t batch) {
  graph::ImportOptions options;
  options.batch = batch;
  return make_workload("resnet50", graph::import_onnx(testing::fixture_path("resnet50.onnx"), options));
}

const hardware::Device& device(const std::string& id) {
  static const hardware::DeviceCatalog c = hardware::DeviceCatalog::load();
  return c.get(id);
}

void expect_ordered(const Interval& i, const char* what) {
  EXPECT_LE(i.low, i.value) << what;
  EXPECT_LE(i.value, i.high) << what;
  EXPECT_GT(i.low, 0) << what;
}

TEST(WorkloadPrediction, IntervalsAreOrderedAndQuantitiesConsistent) {
  const auto calibration = load_roofline_calibration();
  const WorkloadPrediction p = predict_workload(resnet50(64), device("a100-sxm4-40gb"),
                                                {hardware::Precision::kFp16, Mode::kInference, {}}, calibration);
  expect_ordered(p.latency_ms, "latency");
  expect_ordered(p.throughput_per_s, "throughput");
  expect_ordered(p.peak_memory_mb, "memory");
  expect_ordered(p.avg_power_w, "power");
  expect_ordered(p.energy_j, "energy");
  EXPECT_NEAR(p.throughput_per_s.value, 64 * 1000.0 / p.latency_ms.value, 1e-9);
  EXPECT_NEAR(p.energy_j.value, p.avg_power_w.value * p.latency_ms.value / 1000.0, 1e-9);
  EXPECT_LE(p.avg_power_w.value, device("a100-sxm4-40gb").tdp_w);
  EXPECT_GE(p.avg_power_w.value, device("a100-sxm4-40gb").idle_w);
  EXPECT_TRUE(p.fits_memory);
  // Power's band is fitted (data/calibration/power.json); memory's is measured in fp32 only, so not at fp16
  // (memory_band_test.cpp).
  EXPECT_TRUE(p.power_interval_calibrated);
  EXPECT_FALSE(p.memory_interval_calibrated);
  // The energy band combines the power and latency bands, so it is at least as wide as each.
  EXPECT_LE(p.energy_j.low / p.energy_j.value, p.latency_ms.low / p.latency_ms.value + 1e-12);
  EXPECT_GE(p.energy_j.high / p.energy_j.value, p.avg_power_w.high / p.avg_power_w.value - 1e-12);
}

TEST(WorkloadPrediction, TrainingCostsMoreThanInferenceAndFp16LessThanFp32) {
  const auto calibration = load_roofline_calibration();
  const auto w = resnet50(32);
  const auto& gpu = device("h100-sxm5-80gb");
  const auto infer32 = predict_workload(w, gpu, {hardware::Precision::kFp32, Mode::kInference, {}}, calibration);
  const auto infer16 = predict_workload(w, gpu, {hardware::Precision::kFp16, Mode::kInference, {}}, calibration);
  const auto train = predict_workload(w, gpu, {hardware::Precision::kFp16, Mode::kTraining, Optimizer::kAdam},
                                      calibration);
  EXPECT_LT(infer16.latency_ms.value, infer32.latency_ms.value);
  EXPECT_LT(infer16.peak_memory_mb.value, infer32.peak_memory_mb.value);
  EXPECT_GT(train.latency_ms.value, 2 * infer16.latency_ms.value);
  EXPECT_GT(train.peak_memory_mb.value, infer16.peak_memory_mb.value);
  EXPECT_GT(train.memory.optimizer_state_bytes, 0);
}

TEST(WorkloadPrediction, MissingPrecisionAndOversizedBatchAreReported) {
  const auto calibration = load_roofline_calibration();
  const std::string message = testing::error_of([&] {
    predict_workload(resnet50(1), device("v100-sxm2-16gb"), {hardware::Precision::kFp8, Mode::kInference, {}},
                     calibration);
  });
  EXPECT_NE(message.find("fp8"), std::string::npos);
  const auto big = predict_workload(resnet50(2048), device("t4"), {hardware::Precision::kFp32, Mode::kTraining,
                                                                   Optimizer::kAdam}, calibration);
  EXPECT_FALSE(big.fits_memory);
  ASSERT_FALSE(big.warnings.empty());
  EXPECT_NE(big.warnings.back().find("needs"), std::string::npos);
}

}  // namespace
}  // namespace perfcast::predict
