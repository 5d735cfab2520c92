// The learned LLM throughput predictor (learn/llm_bench_evaluation.h) on model families it never
// saw: LLM-Inference-Bench, `model` split, seeds 0-3 (each family held out once). The thresholds pin
// what was measured (README, with slack) so a broken feature or prior shows.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "learn/llm_bench_evaluation.h"
#include "predict/roofline_calibration.h"

namespace perfcast::learn {
namespace {

TEST(LlmBenchAccuracy, XgbBeatsTheAnalyticalPriorOnHeldOutModelFamilies) {
  const std::string path = default_llm_bench_path();
  if (path.empty() || !std::filesystem::exists(path)) GTEST_SKIP() << "shared/data/llm-inference-bench not found";
  const LlmBenchDataset data = load_llm_bench(path, hardware::DeviceCatalog::load(), predict::load_roofline_calibration());
  double xgb_mape = 0, scaled_mape = 0, xgb_tau = 0, prior_tau = 0;
  double vllm_xgb = 0, vllm_prior = 0;
  size_t vllm_rows = 0;
  const int seeds = 4;
  for (uint64_t seed = 0; seed < seeds; ++seed) {
    const LlmSplitResult r = evaluate_llm_split(data, LlmSplitKind::kModel, seed, XgbParams{});
    std::printf("[ LLM xgb ] held out %-8s n=%4zu  MAPE prior %7.1f%%  x scale %6.1f%%  xgb %5.1f%%  tau %.3f -> %.3f\n",
                r.held_out.c_str(), r.n_test, r.prior.mape, r.prior_scaled.mape, r.xgb.mape, r.prior.kendall_tau,
                r.xgb.kendall_tau);
    xgb_mape += r.xgb.mape / seeds;
    scaled_mape += r.prior_scaled.mape / seeds;
    xgb_tau += r.xgb.kendall_tau / seeds;
    prior_tau += r.prior.kendall_tau / seeds;
    for (size_t k = 0; k < r.test_rows.size(); ++k) {
      const LlmBenchRow& row = data.rows[r.test_rows[k]];
      if (row.framework != "vLLM") continue;
      ++vllm_rows;
      vllm_xgb += std::fabs(r.xgb_tokens_per_s[k] - row.tokens_per_s) / row.tokens_per_s;
      vllm_prior += std::fabs(r.prior_tokens_per_s[k] - row.tokens_per_s) / row.tokens_per_s;
    }
  }
  vllm_xgb *= 100.0 / static_cast<double>(vllm_rows);
  vllm_prior *= 100.0 / static_cast<double>(vllm_rows);
  std::printf("[ LLM xgb ] mean over seeds: xgb MAPE %.1f%%, prior x scale %.1f%%, tau %.3f vs prior %.3f; "
              "vLLM rows (%zu): xgb %.1f%% vs prior %.1f%%\n",
              xgb_mape, scaled_mape, xgb_tau, prior_tau, vllm_rows, vllm_xgb, vllm_prior);
  // Measured 2026-11-23: xgb 14.2% (prior x scale 571%), tau 0.930 vs 0.412; vLLM rows 15.8% vs 47.3%.
  EXPECT_LT(xgb_mape, 22);
  EXPECT_LT(xgb_mape, 0.2 * scaled_mape);
  EXPECT_GT(xgb_tau, prior_tau + 0.3);
  EXPECT_LT(vllm_xgb, 24);
  EXPECT_LT(vllm_xgb, 0.6 * vllm_prior);
}

}  // namespace
}  // namespace perfcast::learn
