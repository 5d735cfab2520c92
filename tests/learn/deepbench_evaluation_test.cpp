// The calibrated roofline per kernel against DeepBench's measured GEMMs and convolutions
// (learn/deepbench_evaluation.h). Nothing in roofline.json was fitted on DeepBench: every row is held out.
// The conv class's a, f, b, g were fitted on DeepBench's fp32 forward convolutions of two GPUs (P100, V100;
// scripts/calibrate_roofline.py): those rows are fit rows, every other DeepBench row is held out (the other
// four GPUs' convolutions, every GEMM, every fp16/int8 and backward pass).
// Measured when written (perfcast evaluate --data deepbench; 4,215 kernels on six GPUs), MAPE and median
// predicted/measured: GEMM fp32 73.7% / 1.37 (V100 SXM2 95% / 1.12 with its die's GEMM scale, 145% / 1.52
// without), fp16 74.1% / 1.14, int8 88.1% / 0.94; convolution forward
// fp32 37.0% / 1.12 (held-out GPUs 31-43%), fp16 83.9% / 1.37, int8 104% / 1.84; backward fp32 38-43% /
// 0.77-0.93, fp16 65-69% / 1.34. With the conv constants fitted on NeuSight's conv rows (before): forward
// fp32 199% / 2.58, fp16 358% / 3.62, all kernels 192% (now 64%). The bounds below are the measured figures
// with a margin: they fail when the roofline moves, better or worse, so that the README's table is rewritten.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <map>

#include <fmt/format.h>

#include "dataset/deepbench_kernels.h"
#include "learn/deepbench_evaluation.h"
#include "predict/roofline.h"

namespace perfcast::learn {
namespace {

const DeepBenchEvaluation* shared_evaluation() {
  static const DeepBenchEvaluation* e = []() -> const DeepBenchEvaluation* {
    const std::string dir = default_deepbench_dir();
    if (dir.empty() || !std::filesystem::exists(dir + "/train/gemm.csv")) return nullptr;
    return new DeepBenchEvaluation(evaluate_deepbench(dataset::load_deepbench_kernels(dir),
                                                      hardware::DeviceCatalog::load(),
                                                      predict::load_roofline_calibration()));
  }();
  return e;
}

const DeepBenchGroup& group(const std::vector<DeepBenchGroup>& groups, const std::string& device,
                            const std::string& kernel, const std::string& precision, const std::string& pass) {
  for (const auto& g : groups)
    if (g.device_id == device && g.kernel == kernel && g.precision == precision && g.pass == pass) return g;
  throw std::runtime_error(fmt::format("no group {} {} {} {}", device, kernel, precision, pass));
}

TEST(DeepBenchEvaluation, EveryCatalogGpuKernelIsScoredAndTheRestIsNamed) {
  const DeepBenchEvaluation* e = shared_evaluation();
  if (e == nullptr) GTEST_SKIP() << "no shared/data/deepbench";
  EXPECT_EQ(e->rows_used, 4215u);
  EXPECT_EQ(e->all.metrics.n, e->rows_used);
  // Six catalog GPUs; DeepBench's other devices are reported, not dropped silently.
  EXPECT_EQ(e->by_device.size(), 6u);
  for (const char* absent : {"NV_M40", "NV_TitanX", "AMD_MI25", "AMD_VegaFE", "IA_KNL7250", "iPhone_7"})
    EXPECT_TRUE(e->skipped.count(fmt::format("device {} is not in the catalog", absent))) << absent;
  size_t grouped = 0;
  for (const auto& g : e->groups) grouped += g.metrics.n;
  EXPECT_EQ(grouped, e->rows_used);
}

TEST(DeepBenchEvaluation, HeldOutKernelErrorsAsMeasured) {
  const DeepBenchEvaluation* e = shared_evaluation();
  if (e == nullptr) GTEST_SKIP() << "no shared/data/deepbench";
  for (const auto& g : e->by_kind)
    std::cout << fmt::format("{} {} {}: n={} MAPE {:.1f}% Acc10 {:.0f}% median pred/meas {:.2f}\n", g.kernel, g.precision,
                             g.pass, g.metrics.n, g.metrics.mape, g.metrics.acc10, g.median_predicted_over_measured);
  struct Expected {
    const char *kernel, *precision, *pass;
    double max_mape_pct, median_low, median_high;
  };
  const Expected expected[] = {
      {"gemm", "fp32", "forward", 80, 1.25, 1.50},          {"gemm", "fp16", "forward", 82, 1.05, 1.25},
      {"gemm", "int8", "forward", 95, 0.85, 1.05},          {"conv", "fp32", "forward", 42, 1.0, 1.25},
      {"conv", "fp16", "forward", 92, 1.25, 1.5},           {"conv", "int8", "forward", 115, 1.65, 2.05},
      {"conv", "fp32", "backward-data", 48, 0.85, 1.02},    {"conv", "fp32", "backward-weights", 43, 0.7, 0.85},
      {"conv", "fp16", "backward-data", 72, 1.22, 1.46},    {"conv", "fp16", "backward-weights", 76, 1.22, 1.46},
  };
  for (const Expected& x : expected) {
    const DeepBenchGroup& g = group(e->by_kind, "all", x.kernel, x.precision, x.pass);
    SCOPED_TRACE(fmt::format("{} {} {}", x.kernel, x.precision, x.pass));
    EXPECT_LT(g.metrics.mape, x.max_mape_pct);
    EXPECT_GT(g.median_predicted_over_measured, x.median_low);
    EXPECT_LT(g.median_predicted_over_measured, x.median_high);
  }
}

TEST(DeepBenchEvaluation, ConvolutionsOfTheGpusLeftOutOfTheConvFit) {
  const DeepBenchEvaluation* e = shared_evaluation();
  if (e == nullptr) GTEST_SKIP() << "no shared/data/deepbench";
  // 31-43% MAPE when written; NeuSight's conv constants gave 155-238% on the same rows.
  for (const char* gpu : {"gtx-1080ti", "titan-x-pascal", "titan-xp", "t4"}) {
    const DeepBenchGroup& g = group(e->groups, gpu, "conv", "fp32", "forward");
    EXPECT_LT(g.metrics.mape, 48) << gpu;
    EXPECT_GT(g.median_predicted_over_measured, 0.8) << gpu;
    EXPECT_LT(g.median_predicted_over_measured, 1.3) << gpu;
  }
}

TEST(DeepBenchEvaluation, V100Sxm2GemmsTakeTheirDiesScale) {
  const DeepBenchEvaluation* e = shared_evaluation();
  if (e == nullptr) GTEST_SKIP() << "no shared/data/deepbench";
  // NeuSight measured GEMMs on a V100 PCIe; DeepBench's V100 is an SXM2 card of the same die (GV100), held out.
  // With scale 1 its fp32 GEMMs were 145% MAPE, x1.52 too slow; with the die's scale 95%, x1.12.
  const DeepBenchGroup& g = group(e->groups, "v100-sxm2-16gb", "gemm", "fp32", "forward");
  EXPECT_LT(g.metrics.mape, 105);
  EXPECT_LT(g.median_predicted_over_measured, 1.2);
  EXPECT_GT(g.median_predicted_over_measured, 0.95);
}

TEST(DeepBenchEvaluation, BackwardPassesAreTimedAsTheTrainingStepTimesThem) {
  // A V100 fp16 convolution: its backward passes use the training multiplier (tensor precision), fp32 not.
  dataset::DeepBenchKernel k;
  k.conv = true;
  k.batch = 16, k.channels = 64, k.height = 56, k.width = 56, k.filters = 64, k.filter_h = 3, k.filter_w = 3;
  k.out_h = 56, k.out_w = 56;
  const auto catalog = hardware::DeviceCatalog::load();
  const auto calibration = predict::load_roofline_calibration();
  const hardware::Device& v100 = catalog.get("NV_V100");
  const predict::KernelWork w = deepbench_work(k);
  EXPECT_DOUBLE_EQ(w.flops, 2.0 * 16 * 64 * 56 * 56 * 64 * 9);
  for (hardware::Precision p : {hardware::Precision::kFp16, hardware::Precision::kFp32}) {
    const double forward_s = predict::time_kernel(w, v100, p, calibration).kernel_s;
    const double backward_s = predict::time_backward_kernel(w, v100, p, calibration).kernel_s;
    const double multiplier = p == hardware::Precision::kFp16 ? calibration.training.backward_multiplier : 1.0;
    // Compute-bound here: the backward kernel is the forward's work at the class's multiplier.
    EXPECT_NEAR(backward_s, multiplier * forward_s, 1e-9 * forward_s) << hardware::precision_name(p);
  }
}

}  // namespace
}  // namespace perfcast::learn
