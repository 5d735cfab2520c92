#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "hardware/device_catalog.h"
#include "learn/few_shot.h"
#include "learn/timm_dataset.h"
#include "support/test_helpers.h"

namespace perfcast::learn {
namespace {

namespace fs = std::filesystem;

using testing::write_temp;

bool have_timm() { return fs::is_directory(default_timm_dir()); }

TEST(FewShotRows, AcceptsPerfcastAndTimmColumnNames) {
  const auto own = read_measured_rows(write_temp(
      "own.csv", "model,params_m,gmacs,macts_m,batch,img_size,latency_ms,precision,channels_last\n"
                 "resnet50,25.6,4.1,11.1,256,224,80.5,bf16,1\n"));
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0].workload.precision, hardware::Precision::kBf16);
  EXPECT_TRUE(own[0].workload.channels_last);
  EXPECT_DOUBLE_EQ(own[0].latency_ms, 80.5);
  // timm's columns, throughput instead of step time; the file name sets bf16 and torch.compile.
  const auto timm = read_measured_rows(write_temp(
      "benchmark-infer-amp_bf16-nchw-pt291-cu130-pro6000maxq-dynamo.csv",
      "model,infer_img_size,infer_samples_per_sec,infer_step_time,infer_batch_size,param_count,infer_gmacs,infer_macts\n"
      "resnet50,224,2000,,256,25.56,4.11,11.11\n"));
  ASSERT_EQ(timm.size(), 1u);
  EXPECT_EQ(timm[0].workload.precision, hardware::Precision::kBf16);
  EXPECT_TRUE(timm[0].workload.compiled);
  EXPECT_NEAR(timm[0].latency_ms, 256 * 1000.0 / 2000, 1e-9);
}

TEST(FewShotRows, BadRowsNameTheLineAndColumn) {
  try {
    read_measured_rows(write_temp("missing.csv", "model,gmacs\nx,1\n"));
    FAIL() << "missing columns accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("params_m"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("latency_ms"), std::string::npos) << e.what();
  }
  try {
    read_measured_rows(write_temp("neg.csv", "model,params_m,gmacs,macts_m,batch,img_size,latency_ms\n"
                                             "a,1,1,1,8,224,5\nb,1,-2,1,8,224,5\n"));
    FAIL() << "negative GMACs accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("neg.csv:3:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'gmacs'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_measured_rows(write_temp("fp32.csv", "model,params_m,gmacs,macts_m,batch,img_size,latency_ms,precision\n"
                                                         "a,1,1,1,8,224,5,fp32\n")),
               Error);
  EXPECT_THROW(read_measured_rows(write_temp("frac.csv", "model,params_m,gmacs,macts_m,batch,img_size,latency_ms\n"
                                                         "a,1,1,1,8.5,224,5\n")),
               Error);
}

TEST(FewShotFit, RecoversAKnownDeviceFactorAndRejectsTooFewRows) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 0.03);
  std::vector<BaseRow> base;
  std::vector<double> meas;
  for (int i = 0; i < 16; ++i) {
    BaseRow b;
    b.prior_ms = 1.0 + i;
    b.xgb_ms = 3.0 * b.prior_ms * (i % 2 ? 1.2 : 0.8);  // the prior is off by a row-dependent factor
    b.log_compute_over_memory = 0.1 * i;
    base.push_back(b);
    meas.push_back(1.5 * b.xgb_ms * std::exp(noise(rng)));
  }
  std::vector<nlohmann::json> candidates;
  const DeviceCalibration cal = fit_device_calibration("dev", base, meas, &candidates);
  EXPECT_EQ(cal.base, "xgb");
  EXPECT_NEAR(std::exp(cal.intercept), 1.5, 0.05);
  EXPECT_LT(cal.loo_mape_pct, 6.0);
  EXPECT_EQ(candidates.size(), 5u);
  EXPECT_LE(cal.log_q_low, 0.0);
  EXPECT_GE(cal.log_q_high, 0.0);
  EXPECT_NEAR(apply_calibration(cal, base[3]) / meas[3], 1.0, 0.12);
  const DeviceCalibration back = calibration_from_json(to_json(cal), "test");
  EXPECT_DOUBLE_EQ(apply_calibration(back, base[5]), apply_calibration(cal, base[5]));
  EXPECT_THROW(fit_device_calibration("dev", {base[0], base[1]}, {meas[0], meas[1]}), Error);
}

// The claim of issue 6: 32 measured rows of a GPU the model never saw make it better on the rest,
// far better for the workloads other GPUs measured.
TEST(FewShotTimm, ThirtyTwoRowsOfAHeldOutDeviceBeatTheUncalibratedModel) {
  if (!have_timm()) GTEST_SKIP() << "no timm data at " << default_timm_dir();
  const auto catalog = hardware::DeviceCatalog::load();
  const TimmDataset data = load_timm_inference(default_timm_dir(), catalog);
  XgbParams params;
  params.rounds = 150;
  params.eta = 0.1;
  const auto rows = evaluate_few_shot(data, catalog, params, {32}, 3, {"rtx-pro-6000-blackwell-max-q"});
  ASSERT_EQ(rows.size(), 1u);
  const FewShotRow& r = rows[0];
  EXPECT_GT(r.n_eval, 5000u);
  EXPECT_LT(r.calibrated.mape, r.uncalibrated.mape - 5.0) << "calibrated " << r.calibrated.mape << "% vs "
                                                          << r.uncalibrated.mape << "%";
  EXPECT_GT(r.calibrated.acc10, r.uncalibrated.acc10);
  EXPECT_LT(r.calibrated.mape, r.roofline.mape / 2);
  EXPECT_GT(r.coverage_pct, 65.0);
  EXPECT_LT(r.coverage_pct, 95.0);
  // Reference transfer: the same workloads measured on the three other GPUs. Half of this device's
  // rows are bf16, measured nowhere else at bf16: they transfer from fp16 runs under their own offset.
  EXPECT_GT(r.reference_share_pct, 95.0);
  EXPECT_EQ(r.reference_used_seeds, 3u);
  EXPECT_LT(r.transfer.mape, 8.0) << r.transfer.mape;
  EXPECT_GT(r.transfer.acc10, 75.0) << r.transfer.acc10;
  EXPECT_GT(r.transfer.acc10, r.calibrated.acc10 + 25.0);
  EXPECT_GT(r.transfer_coverage_pct, 70.0);
  EXPECT_LT(r.transfer_coverage_pct, 95.0);
}

TEST(FewShotTimm, NewCatalogGpusAreInTheDataset) {
  if (!have_timm()) GTEST_SKIP() << "no timm data at " << default_timm_dir();
  const auto catalog = hardware::DeviceCatalog::load();
  const TimmDataset data = load_timm_inference(default_timm_dir(), catalog);
  const auto devices = dataset_devices(data);
  for (const char* id : {"rtx-3090", "rtx-4090", "rtx-5090", "rtx-pro-6000-blackwell-max-q"})
    EXPECT_NE(std::find(devices.begin(), devices.end(), id), devices.end()) << id;
  size_t bf16 = 0;
  for (const auto& r : data.rows) bf16 += r.workload.precision == hardware::Precision::kBf16;
  EXPECT_GT(bf16, 1000u);
  const Split split = make_device_holdout(data, "rtx-5090");
  for (size_t i : split.train) ASSERT_NE(data.rows[i].device_id, "rtx-5090");
  for (size_t i : split.test) ASSERT_EQ(data.rows[i].device_id, "rtx-5090");
  EXPECT_THROW(make_device_holdout(data, "t4"), Error);
}

}  // namespace
}  // namespace perfcast::learn
